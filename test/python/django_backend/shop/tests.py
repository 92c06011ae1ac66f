"""The backend's tests, run by Django's test runner on both backends (manage.py test)."""

import datetime as dt
import time
import unittest
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import balrog
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import (DatabaseError, IntegrityError, close_old_connections, connection,
                       connections, transaction)
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDay
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone

from .models import Customer, Kitchen, Order

BALROG = settings.ENGINE_NAME.startswith("balrog")
PIPELINE = settings.ENGINE_NAME == "balrog-pipeline"
PARIS = ZoneInfo("Europe/Paris")


def order(customer, **fields):
    fields.setdefault("total", Decimal("9.50"))
    return Order.objects.create(customer=customer, **fields)


class BackendTests(TestCase):
    def test_the_engine_and_its_driver(self):
        connection.ensure_connection()
        driver = type(connection.connection).__module__
        if PIPELINE:
            self.assertEqual(type(connection.connection).__name__, "PipelinedConnection")
            with connection.cursor() as cur:
                driver = type(cur.cursor.connection).__module__
        if BALROG:
            self.assertEqual(connection.vendor, "postgresql")
            self.assertTrue(driver.startswith("balrog.pg"), driver)
            self.assertIs(connection.Database, __import__("balrog.pg").pg)
        else:
            self.assertTrue(driver.startswith("psycopg2"), driver)
        self.assertGreaterEqual(connection.pg_version, 100000)
        with connection.cursor() as cur:
            cur.execute("SHOW TimeZone")
            self.assertEqual(cur.fetchone()[0], "UTC")

    def test_raw_cursor_parameters_and_percent(self):
        with connection.cursor() as cur:
            cur.execute("SELECT %s::int + 1, %s, '100%%', %s", [41, "it's", None])
            self.assertEqual(cur.fetchone(), (42, "it's", "100%", None))
            cur.execute("SELECT '50%'")  # no parameters: % is not special
            self.assertEqual(cur.fetchone(), ("50%",))
            cur.execute("SELECT %(a)s::int * %(a)s::int", {"a": 7})
            self.assertEqual(cur.fetchone(), (49,))
            cur.executemany("SELECT %s::int", [(1,), (2,)])

    def test_captured_queries_show_their_parameters(self):
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            Customer.objects.filter(name="it's", joined__year=2024).exists()
        self.assertIn("'it''s'", queries.captured_queries[-1]["sql"])

    def test_database_errors_are_djangos(self):
        with self.assertRaises(DatabaseError):
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SELECT * FROM no_such_table")
        self.assertEqual(Customer.objects.count(), 0)

    def test_unique_violation_is_an_integrity_error(self):
        Customer.objects.create(name="ada")
        with self.assertRaises(IntegrityError):
            with transaction.atomic():
                Customer.objects.create(name="ada")
        self.assertEqual(Customer.objects.count(), 1)


class OptionsTests(TransactionTestCase):
    def other_connection(self, **options):
        settings_dict = {**connection.settings_dict, "OPTIONS": options}
        return type(connections["default"])(settings_dict, alias="options-test")

    def test_isolation_level_option(self):
        # psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE is 3; balrog's backend takes the
        # name too.
        levels = [(3, "serializable")]
        if BALROG:
            levels += [("repeatable read", "repeatable read")]
        for given, expected in levels:
            other = self.other_connection(isolation_level=given)
            try:
                other.set_autocommit(False)
                with other.cursor() as cur:
                    cur.execute("SHOW transaction_isolation")
                    self.assertEqual(cur.fetchone(), (expected,))
                other.rollback()
                other.set_autocommit(True)
            finally:
                other.close()

    @unittest.skipUnless(BALROG, "OPTIONS['pool'] is an option of balrog's backend only")
    def test_without_the_pool(self):
        other = self.other_connection(pool=False, connect_timeout=5)
        try:
            other.ensure_connection()
            self.assertIsNone(other.connection._pool)
            with other.cursor() as cur:
                cur.execute("SELECT 1")
                self.assertEqual(cur.fetchone(), (1,))
        finally:
            other.close()
        self.assertIsNone(other.connection)


class MigrationTests(TransactionTestCase):
    def test_migrations_made_the_schema(self):
        # Other TransactionTestCases emptied the tables: the data migration again.
        call_command("migrate", "shop", "0002", verbosity=0)
        call_command("migrate", "shop", verbosity=0)
        tables = connection.introspection.table_names()
        for table in ("shop_customer", "shop_order", "shop_kitchen", "django_migrations"):
            self.assertIn(table, tables)
        with connection.cursor() as cur:
            columns = {c.name: c for c in
                       connection.introspection.get_table_description(cur, "shop_order")}
            constraints = connection.introspection.get_constraints(cur, "shop_order")
            relations = connection.introspection.get_relations(cur, "shop_order")
            cur.execute("SELECT shop_order_total_cents(12.34)")
            self.assertEqual(cur.fetchone(), (1234,))
            cur.execute("SELECT obj_description('shop_order'::regclass, 'pg_class')")
            self.assertEqual(cur.fetchone(), ("orders; one row each",))
        self.assertEqual(columns["items"].type_code, 3802)  # jsonb
        self.assertIn("kitchen_id", relations)
        self.assertIn("order_open_status", constraints)
        self.assertEqual(dict(Kitchen.objects.values_list("name", "capacity")),
                         {"main": 20, "annex": 15})

    def test_migrating_backwards_and_forwards(self):
        call_command("migrate", "shop", "0001", verbosity=0)
        self.assertNotIn("shop_kitchen", connection.introspection.table_names())
        with connection.cursor() as cur:
            columns = [c.name for c in
                       connection.introspection.get_table_description(cur, "shop_order")]
            self.assertNotIn("kitchen_id", columns)
            cur.execute("INSERT INTO shop_customer (name, email, joined) "
                        "VALUES ('old', '', now()) RETURNING id")
            customer_id = cur.fetchone()[0]
            cur.execute("INSERT INTO shop_order (customer_id, items, total, placed_at, status, "
                        "uid) VALUES (%s, '{}', 1, now(), 'new', %s)",
                        [customer_id, uuid.uuid4()])
        call_command("migrate", "shop", verbosity=0)
        self.assertIn("shop_kitchen", connection.introspection.table_names())
        self.assertEqual(Kitchen.objects.count(), 2)
        # The row made before 0002 got its new columns' defaults (literals in the DDL).
        old = Order.objects.get(customer__name="old")
        self.assertEqual((old.note, old.priority, old.kitchen), ("it's 100% fresh", 3, None))

    def test_sqlmigrate_prints_the_ddl(self):
        from io import StringIO

        out = StringIO()
        call_command("sqlmigrate", "shop", "0002", stdout=out)
        self.assertIn("DEFAULT 'it''s 100%", out.getvalue())  # Django 3.2 shows '%%' there
        self.assertIn("CREATE INDEX \"order_open_status\"", out.getvalue())


class TransactionTests(TransactionTestCase):
    def test_atomic_commits(self):
        with transaction.atomic():
            c = Customer.objects.create(name="committed")
            order(c)
        self.assertTrue(connection.get_autocommit())
        self.assertEqual(Order.objects.filter(customer__name="committed").count(), 1)

    def test_atomic_rolls_back_on_an_exception(self):
        with self.assertRaises(ZeroDivisionError):
            with transaction.atomic():
                c = Customer.objects.create(name="doomed")
                order(c)
                1 / 0
        self.assertFalse(Customer.objects.filter(name="doomed").exists())
        self.assertEqual(Order.objects.count(), 0)

    def test_a_savepoint_rolls_back_an_integrity_error_only(self):
        with transaction.atomic():
            Customer.objects.create(name="kept")
            with self.assertRaises(IntegrityError):
                with transaction.atomic():
                    Customer.objects.create(name="inner")
                    Customer.objects.create(name="kept")
            Customer.objects.create(name="after")
        self.assertEqual(sorted(Customer.objects.values_list("name", flat=True)),
                         ["after", "kept"])

    def test_set_rollback_and_on_commit(self):
        done = []
        with transaction.atomic():
            Customer.objects.create(name="a")
            transaction.on_commit(lambda: done.append("a"))
        with transaction.atomic():
            Customer.objects.create(name="b")
            transaction.on_commit(lambda: done.append("b"))
            transaction.set_rollback(True)
        self.assertEqual(done, ["a"])
        self.assertEqual(list(Customer.objects.values_list("name", flat=True)), ["a"])

    def test_manual_transaction_control(self):
        transaction.set_autocommit(False)
        try:
            Customer.objects.create(name="manual")
            transaction.rollback()
            Customer.objects.create(name="manual2")
            transaction.commit()
        finally:
            transaction.set_autocommit(True)
        self.assertEqual(list(Customer.objects.values_list("name", flat=True)), ["manual2"])

    def test_a_serializable_conflict_is_an_operational_error_for_django(self):
        c = Customer.objects.create(name="isolated")
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            self.assertEqual(Customer.objects.get(pk=c.pk).email, "")
            other = balrog.spawn(_update_email_elsewhere, c.pk)
            other.join()
            with self.assertRaises(DatabaseError):
                with transaction.atomic():
                    Customer.objects.filter(pk=c.pk).update(email="mine@x.org")


def _update_email_elsewhere(pk):
    try:
        Customer.objects.filter(pk=pk).update(email="other@x.org")
    finally:
        connection.close()


class SelectForUpdateTests(TransactionTestCase):
    def setUp(self):
        self.customer = Customer.objects.create(name="locker")
        self.order = order(self.customer)

    def test_select_for_update_locks_the_row_for_other_connections(self):
        seen = {}

        def other():
            try:
                with transaction.atomic():
                    try:
                        with transaction.atomic():
                            Order.objects.select_for_update(nowait=True).get(pk=self.order.pk)
                    except DatabaseError as e:
                        seen["nowait"] = type(e).__name__
                    seen["skip_locked"] = list(
                        Order.objects.select_for_update(skip_locked=True).all())
            finally:
                connection.close()

        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=self.order.pk)
            balrog.spawn(other).join()
            locked.status = "cooking"
            locked.save()
        self.assertEqual(seen, {"nowait": "OperationalError", "skip_locked": []})
        self.assertEqual(Order.objects.get(pk=self.order.pk).status, "cooking")

    def test_a_waiting_select_for_update_sees_the_committed_row(self):
        order_pk = self.order.pk
        log = []

        def waiter():
            try:
                with transaction.atomic():
                    log.append("waiting")
                    row = Order.objects.select_for_update().get(pk=order_pk)
                    log.append(("got", row.status))
            finally:
                connection.close()

        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order_pk)
            g = balrog.spawn(waiter)
            balrog.sleep(0.3)  # the waiter blocks on the lock meanwhile (only its greenlet)
            self.assertEqual(log, ["waiting"])
            Order.objects.filter(pk=order_pk).update(status="done")
        g.join()
        self.assertEqual(log, ["waiting", ("got", "done")])

    def test_select_for_update_outside_a_transaction_is_refused(self):
        from django.db.transaction import TransactionManagementError

        with self.assertRaises(TransactionManagementError):
            list(Order.objects.select_for_update())


class BulkTests(TestCase):
    def test_bulk_create_returns_ids_and_bulk_update(self):
        c = Customer.objects.create(name="bulk")
        made = Order.objects.bulk_create(
            [Order(customer=c, total=Decimal(n), items={"n": n}) for n in range(500)],
            batch_size=200)
        self.assertTrue(all(o.pk for o in made))
        self.assertEqual(len({o.pk for o in made}), 500)
        self.assertEqual(Order.objects.filter(customer=c).count(), 500)
        self.assertEqual(Order.objects.aggregate(s=Sum("total"))["s"], Decimal(sum(range(500))))
        for o in made[:100]:
            o.status = "bulk-updated"
        Order.objects.bulk_update(made[:100], ["status"])
        self.assertEqual(Order.objects.filter(status="bulk-updated").count(), 100)
        Order.objects.filter(pk__in=[o.pk for o in made[:10]]).update(total=F("total") + 1)
        self.assertEqual(Order.objects.get(pk=made[0].pk).total, Decimal("1.00"))
        self.assertEqual(len(list(Order.objects.iterator(chunk_size=50))), 500)
        Customer.objects.bulk_create([Customer(name="bulk")], ignore_conflicts=True)
        self.assertEqual(Customer.objects.count(), 1)

    def test_values_annotations_and_other_types(self):
        c = Customer.objects.create(name="types", ip="192.168.0.1")
        self.assertEqual(Customer.objects.get(ip="192.168.0.1"), c)
        o = order(c, total=Decimal("12.34"))
        got = Order.objects.get(uid=o.uid)
        self.assertIsInstance(got.uid, uuid.UUID)
        self.assertEqual(got.total, Decimal("12.34"))
        self.assertEqual(got.note, "it's 100% fresh")
        per = Customer.objects.annotate(n=Count("orders")).values_list("name", "n")
        self.assertEqual(list(per), [("types", 1)])
        self.assertEqual(Customer.objects.filter(name__icontains="YP").count(), 1)
        self.assertEqual(Customer.objects.filter(name__regex=r"^ty.e").count(), 1)


class JSONFieldTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        c = Customer.objects.create(name="json")
        cls.a = order(c, items={"pizza": 2, "tags": ["hot", "veg"], "addr": {"city": "Lyon"},
                                "code": "123", "price": 9.5})
        cls.b = order(c, items={"salad": 1, "tags": [], "addr": {"city": "Paris"},
                                "code": 123, "price": 12})
        cls.c = order(c, items={})

    def q(self, **lookup):
        return set(Order.objects.filter(**lookup).values_list("pk", flat=True))

    def test_round_trip(self):
        self.assertEqual(Order.objects.get(pk=self.a.pk).items["addr"], {"city": "Lyon"})
        self.assertEqual(Order.objects.get(pk=self.c.pk).items, {})

    def test_lookups(self):
        a, b, c = self.a.pk, self.b.pk, self.c.pk
        self.assertEqual(self.q(items__contains={"pizza": 2}), {a})
        self.assertEqual(self.q(items__contained_by={"salad": 1, "tags": [],
                                                     "addr": {"city": "Paris"},
                                                     "code": 123, "price": 12, "x": 1}), {b, c})
        self.assertEqual(self.q(items__has_key="salad"), {b})
        self.assertEqual(self.q(items__has_keys=["tags", "addr"]), {a, b})
        self.assertEqual(self.q(items__has_any_keys=["pizza", "salad"]), {a, b})
        self.assertEqual(self.q(items__addr__city="Lyon"), {a})
        self.assertEqual(self.q(items__addr__city__startswith="Pa"), {b})
        self.assertEqual(self.q(items__price__gt=10), {b})
        self.assertEqual(self.q(items__code="123"), {a})
        self.assertEqual(self.q(items__code=123), {b})
        self.assertEqual(self.q(items__tags__contains=["veg"]), {a})
        self.assertEqual(self.q(items__tags__0="hot"), {a})
        self.assertEqual(self.q(items__pizza__isnull=False), {a})
        self.assertEqual(self.q(items={}), {c})
        self.assertEqual(self.q(items__addr__city__in=["Lyon", "Nice"]), {a})

    def test_key_values_keep_their_json_types(self):
        codes = dict(Order.objects.filter(pk__in=[self.a.pk, self.b.pk])
                     .values_list("pk", "items__code"))
        self.assertEqual(codes, {self.a.pk: "123", self.b.pk: 123})
        cities = Order.objects.exclude(pk=self.c.pk).values_list("items__addr", flat=True)
        self.assertEqual(list(cities), [{"city": "Lyon"}, {"city": "Paris"}])


class DateTimeTests(TestCase):
    def test_aware_datetimes_round_trip_in_utc(self):
        c = Customer.objects.create(name="tz")
        placed = dt.datetime(2024, 3, 31, 1, 30, tzinfo=PARIS)  # the DST night, +01:00
        o = order(c, placed_at=placed)
        got = Order.objects.get(pk=o.pk).placed_at
        self.assertEqual(got, placed)
        self.assertEqual(got.utcoffset(), dt.timedelta(0))
        self.assertEqual(timezone.localtime(got).hour, 1)

    def test_date_lookups_use_the_current_time_zone(self):
        c = Customer.objects.create(name="dates")
        # 23:30 UTC on June 1st is June 2nd in Paris (UTC+2 in summer).
        o = order(c, placed_at=dt.datetime(2024, 6, 1, 23, 30, tzinfo=dt.timezone.utc))
        self.assertEqual(list(Order.objects.filter(placed_at__date=dt.date(2024, 6, 2))), [o])
        with timezone.override(dt.timezone.utc):
            self.assertEqual(
                list(Order.objects.filter(placed_at__date=dt.date(2024, 6, 1))), [o])
        day = Order.objects.annotate(d=TruncDay("placed_at")).values_list("d", flat=True)[0]
        self.assertEqual(day, dt.datetime(2024, 6, 2, tzinfo=PARIS))
        self.assertEqual(Order.objects.filter(placed_at__year=2024,
                                              placed_at__hour=1).count(), 1)
        self.assertEqual(Order.objects.dates("placed_at", "month")[0], dt.date(2024, 6, 1))
        self.assertEqual(Order.objects.filter(
            placed_at__gte=dt.datetime(2024, 6, 2, 1, 0, tzinfo=PARIS),
            placed_at__lt=dt.datetime(2024, 6, 2, 2, 0, tzinfo=PARIS)).count(), 1)


class ConnectionLifeTests(TransactionTestCase):
    """CONN_MAX_AGE as in Django: 0 gives the connection up at the end of each request
    (close_old_connections, on request_started/request_finished), a positive age keeps it."""

    def backend_pid(self):
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            return cur.fetchone()[0]

    def test_conn_max_age_zero_gives_the_connection_up_after_a_request(self):
        first = self.backend_pid()
        if BALROG:
            pool = connection.connection._pool
            connects = pool.stats()["connects"]
        close_old_connections()
        self.assertIsNone(connection.connection)
        second = self.backend_pid()
        if BALROG:
            # Given back to balrog's pool and borrowed again: no new server session.
            self.assertIs(connection.connection._pool, pool)
            self.assertEqual(pool.stats()["connects"], connects)
        else:
            self.assertNotEqual(first, second)

    def test_a_positive_conn_max_age_keeps_the_connection(self):
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = 600
        try:
            first = self.backend_pid()
            raw = connection.connection
            close_old_connections()
            self.assertIs(connection.connection, raw)
            self.assertEqual(self.backend_pid(), first)
            connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE now
            close_old_connections()
            self.assertIsNone(connection.connection)
        finally:
            connection.settings_dict["CONN_MAX_AGE"] = 0
            connection.close()

    @unittest.skipUnless(BALROG, "balrog's pool")
    def test_the_default_pool_lends_more_than_ten_connections(self):
        # OPTIONS["pool"] without max_size: DEFAULT_POOL_MAX_SIZE (64), not balrog.pg.Pool's 10,
        # so that a busy worker's requests (each holding its connection to its end) do not
        # queue behind ten connections.
        from balrog.django.db.backends.postgresql.base import DEFAULT_POOL_MAX_SIZE

        self.assertEqual(DEFAULT_POOL_MAX_SIZE, 64)
        params = dict(connection.get_connection_params(), pool={"timeout": 0.5})
        params.pop("pipeline", None)  # each borrows its connection now
        wrapper = type(connections["default"])(dict(connection.settings_dict),
                                               alias="default_pool_test")
        borrowed = []
        try:
            for _ in range(DEFAULT_POOL_MAX_SIZE):  # a pool of 10 times out on the 11th
                borrowed.append(wrapper.get_new_connection(params))
            pool = borrowed[0]._pool
            self.assertEqual(pool.stats()["open"], DEFAULT_POOL_MAX_SIZE)
            with self.assertRaises(balrog.pg.PoolTimeout):  # full: waits 0.5 s, then fails
                wrapper.get_new_connection(params)
        finally:
            for conn in borrowed:
                conn.close()
            if borrowed:
                borrowed[0]._pool.close()

    def test_a_time_zone_change_stays_with_its_connection(self):
        with override_settings(USE_TZ=False, TIME_ZONE="Asia/Tokyo"):
            with connection.cursor() as cur:
                cur.execute("SHOW TimeZone")
                self.assertEqual(cur.fetchone()[0], "Asia/Tokyo")
            connection.close()
        with connection.cursor() as cur:
            cur.execute("SHOW TimeZone")
            self.assertEqual(cur.fetchone()[0], "UTC")


class GreenletTests(TransactionTestCase):
    """Under balrog.patch(), each greenlet has its own Django connection (its own server
    session and transaction state), as each thread does."""

    def test_concurrent_greenlets_each_have_their_own_connection_state(self):
        n = 10
        arrived, looked = [], []
        everyone_in, everyone_looked = balrog.Event(), balrog.Event()
        results = {}

        def work(i):
            try:
                with transaction.atomic():
                    Customer.objects.create(name=f"g{i}")
                    arrived.append(i)
                    if len(arrived) == n:
                        everyone_in.set()
                    everyone_in.wait()  # all ten transactions are open now
                    with connection.cursor() as cur:
                        cur.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
                        pid = cur.fetchone()[0]
                    names = list(Customer.objects.filter(name__startswith="g")
                                 .values_list("name", flat=True))
                    results[i] = (pid, id(connection.connection), names,
                                  connection.in_atomic_block, connection.get_autocommit())
                    looked.append(i)
                    if len(looked) == n:
                        everyone_looked.set()
                    everyone_looked.wait()  # no one commits before all have looked
            finally:
                connection.close()

        main_pid = None
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            main_pid = cur.fetchone()[0]
        started = time.monotonic()
        greenlets = [balrog.spawn(work, i) for i in range(n)]
        for g in greenlets:
            g.join()
        took = time.monotonic() - started
        self.assertEqual(sorted(results), list(range(n)))
        pids = {r[0] for r in results.values()}
        self.assertEqual(len(pids), n)
        self.assertNotIn(main_pid, pids)
        self.assertEqual(len({r[1] for r in results.values()}), n)
        for i, (_, _, names, in_atomic, autocommit) in results.items():
            self.assertEqual(names, [f"g{i}"])  # only its own uncommitted row
            self.assertTrue(in_atomic)
            self.assertFalse(autocommit)
        # The main greenlet's connection took no part in their transactions.
        self.assertFalse(connection.in_atomic_block)
        self.assertTrue(connection.get_autocommit())
        self.assertEqual(Customer.objects.filter(name__startswith="g").count(), n)
        self.assertLess(took, 0.3 * n / 2, "the greenlets' queries did not overlap")

    def test_autocommit_statements_of_concurrent_greenlets(self):
        n = 30
        pids = {}

        def work(i):
            try:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid(), %s::int * 2", [i])
                    pid, doubled = cur.fetchone()
                self.assertEqual(doubled, 2 * i)
                self.assertFalse(Customer.objects.filter(name=f"x{i}").exists())
                pids[i] = pid
            finally:
                connection.close()

        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            main_pid = cur.fetchone()[0]
        greenlets = [balrog.spawn(work, i) for i in range(n)]
        for g in greenlets:
            g.join()
        self.assertEqual(sorted(pids), list(range(n)))
        if PIPELINE:
            # All on the thread's shared connection, the main greenlet's too: pipelined.
            self.assertEqual(set(pids.values()), {main_pid})
        else:
            self.assertNotIn(main_pid, set(pids.values()))

    def test_a_failing_greenlet_does_not_disturb_the_others(self):
        def bad():
            try:
                with transaction.atomic():
                    Customer.objects.create(name="dup")
                    Customer.objects.create(name="dup")
            finally:
                connection.close()

        def good(i):
            try:
                with transaction.atomic():
                    Customer.objects.create(name=f"ok{i}")
                    balrog.sleep(0.05)
            finally:
                connection.close()

        gs = [balrog.spawn(bad)] + [balrog.spawn(good, i) for i in range(5)]
        with self.assertRaises(IntegrityError):
            gs[0].join()
        for g in gs[1:]:
            g.join()
        self.assertEqual(Customer.objects.filter(name__startswith="ok").count(), 5)
        self.assertFalse(Customer.objects.filter(name="dup").exists())


class AdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("boss", "boss@example.org", "secret-pw")
        c = Customer.objects.create(name="Zoé")
        for n in range(3):
            order(c, status=["new", "cooking", "done"][n],
                  placed_at=dt.datetime(2024, 5, 1 + n, 12, tzinfo=PARIS))

    def test_login_page_and_login(self):
        r = self.client.get("/admin/login/?next=/admin/")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, 'name="username"')
        r = self.client.post("/admin/login/?next=/admin/",
                             {"username": "boss", "password": "secret-pw",
                              "next": "/admin/"})
        self.assertRedirects(r, "/admin/")
        r = self.client.get("/admin/")
        self.assertContains(r, "Orders")

    def test_changelists_search_filter_and_change(self):
        self.client.force_login(self.admin)
        r = self.client.get("/admin/shop/order/")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "3 orders")
        r = self.client.get("/admin/shop/order/?q=Zo%C3%A9&status__exact=cooking")
        self.assertContains(r, "1 order")
        r = self.client.get("/admin/shop/order/?placed_at__year=2024&placed_at__month=5")
        self.assertEqual(r.status_code, 200)
        r = self.client.get("/admin/shop/customer/?q=zo")
        self.assertContains(r, "Zoé")
        customer = Customer.objects.get()
        r = self.client.post(f"/admin/shop/customer/{customer.pk}/change/", {
            "name": "Zoé B.", "email": "zoe@example.org",
            "joined_0": "2024-01-02", "joined_1": "10:00:00", "ip": ""})
        self.assertEqual(r.status_code, 302, r.content[:2000])
        customer.refresh_from_db()
        self.assertEqual(customer.email, "zoe@example.org")
        self.assertEqual(customer.joined, dt.datetime(2024, 1, 2, 10, tzinfo=PARIS))
        r = self.client.get("/admin/admin/logentry/")  # not registered: 404 from the admin
        self.assertEqual(r.status_code, 404)
        r = self.client.get("/admin/auth/user/")
        self.assertContains(r, "boss")
