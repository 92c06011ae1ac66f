"""The delivery app's tests: `manage.py test delivery`, on either database backend
(FOOD_DELIVERY_DB_ENGINE: Django's own django.db.backends.postgresql on psycopg2, or
balrog.django.db.backends.postgresql on balrog.pg). manage.py calls balrog.patch() first, as
balrog-wsgi does, so psycopg2, requests and Django's per-thread state behave here as they do
under the server.

The kitchen is a balrog.wsgi.Server in this process (kitchen.py's app, or an answer chosen by
the test) on a free loopback port, with the balrog.ws endpoint at /ws: the view's requests.post
reaches it through balrog's HTTP client while the test waits in the hub, and a WebSocket
client connected to /ws receives what the view sends.
"""

import io
import json
import socket
import time
from unittest import mock

import balrog
from balrog import ws
from balrog.http import websocket_connect
from balrog.wsgi import Server
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from django.test import Client, TestCase, TransactionTestCase, override_settings
from django.utils import timezone

import kitchen

from .models import Order
from .orders import prepare_order

BALROG_BACKEND = settings.DATABASES["default"]["ENGINE"].startswith("balrog.")
KEY = settings.WS_KEY


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_connected(key, timeout=5.0):
    deadline = time.monotonic() + timeout
    while ws.connection(key).connected < 1:
        assert time.monotonic() < deadline, f"no WebSocket client under {key!r}"
        balrog.sleep(0.01)


class FakeKitchen:
    """The kitchen's HTTP server for a test class. `answer(...)` picks what /orders answers;
    by default kitchen.py's own app (201 {"mins": MINS} after DELAY s). Every request's JSON
    body is kept in `received`."""

    MINS, DELAY = 25, 0.05

    def __init__(self):
        self.received = []
        self.reset()
        self.server = Server(self._app, "127.0.0.1:0", websocket_path="/ws",
                             websocket_key=KEY)
        self.server.listen()
        self.url = f"http://127.0.0.1:{self.server.port}/orders"
        self.ws_url = f"ws://127.0.0.1:{self.server.port}/ws"

    def reset(self):
        self.app = kitchen.make_app(self.DELAY, self.MINS)

    def answer(self, status, body, content_type="application/json", delay=0.0):
        def app(environ, start_response):
            if delay:
                balrog.sleep(delay)
            start_response(status, [("Content-Type", content_type)])
            return [body if isinstance(body, bytes) else json.dumps(body).encode()]

        self.app = app

    def _app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        try:
            self.received.append(json.loads(raw))
        except ValueError:
            self.received.append(raw)
        environ["wsgi.input"] = io.BytesIO(raw)  # kitchen.py reads it again
        return self.app(environ, start_response)

    def close(self):
        self.server.close()


class KitchenMixin:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kitchen = FakeKitchen()
        cls.settings_override = override_settings(KITCHEN_URL=cls.kitchen.url,
                                                  KITCHEN_TIMEOUT=5.0)
        cls.settings_override.enable()

    @classmethod
    def tearDownClass(cls):
        cls.settings_override.disable()
        cls.kitchen.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.kitchen.reset()
        self.kitchen.received.clear()

    def place(self, client=None, customer="c-1", **form):
        client = client or self.client
        if customer:
            client.cookies[KEY] = customer
        form.setdefault("dish", "margherita")
        form.setdefault("quantity", 2)
        return client.post("/orders", data=json.dumps(form), content_type="application/json")


class EnvironmentTests(TestCase):
    def test_the_backend_and_the_patching(self):
        connection.ensure_connection()
        driver = type(connection.connection).__module__
        if BALROG_BACKEND:
            self.assertTrue(driver.startswith("balrog.pg"), driver)
        else:
            self.assertTrue(driver.startswith("psycopg2"), driver)
        self.assertTrue(balrog.patching.is_patched("psycopg2"))
        self.assertTrue(balrog.patching.is_patched("requests"))
        self.assertTrue(connection.settings_dict["NAME"].startswith("test_food_delivery_"))


class OrderModelTests(TestCase):
    def test_defaults_and_str(self):
        before = timezone.now()
        order = Order.objects.create(customer="ada", dish="ramen")
        order.refresh_from_db()
        self.assertEqual((order.quantity, order.address, order.status, order.mins,
                          order.kitchen_answer), (1, "", Order.PLACED, None, None))
        self.assertTrue(timezone.is_aware(order.created_at))
        self.assertGreaterEqual(order.created_at, before)
        self.assertEqual(str(order), f"Order #{order.pk}: 1 x ramen for ada")

    def test_statuses(self):
        self.assertEqual([s for s, _ in Order.STATUSES],
                         ["placed", "accepted", "kitchen_error"])
        order = Order(customer="ada", dish="ramen", status="lost")
        with self.assertRaises(Exception) as caught:
            order.full_clean()
        self.assertIn("status", caught.exception.message_dict)

    def test_a_negative_quantity_is_refused_by_the_database(self):
        with self.assertRaises(IntegrityError):
            with transaction.atomic():
                Order.objects.create(customer="ada", dish="ramen", quantity=-1)
        self.assertFalse(Order.objects.exists())


class MigrationTests(TransactionTestCase):
    def test_the_models_match_the_migrations(self):
        call_command("makemigrations", "delivery", check=True, dry_run=True, verbosity=0)

    def test_the_schema(self):
        self.assertIn("delivery_order", connection.introspection.table_names())
        with connection.cursor() as cur:
            columns = {c.name: c for c in
                       connection.introspection.get_table_description(cur, "delivery_order")}
            constraints = connection.introspection.get_constraints(cur, "delivery_order")
        self.assertEqual(set(columns), {"id", "customer", "dish", "quantity", "address",
                                        "status", "mins", "kitchen_answer", "created_at"})
        self.assertEqual(columns["kitchen_answer"].type_code, 3802)  # jsonb
        self.assertTrue(columns["kitchen_answer"].null_ok)
        self.assertFalse(columns["dish"].null_ok)
        self.assertTrue(any(c["columns"] == ["customer"] and c["index"]
                            for c in constraints.values()))
        self.assertTrue(any(c["columns"] == ["quantity"] and c["check"]
                            for c in constraints.values()))

    def test_migrating_backwards_and_forwards(self):
        Order.objects.create(customer="ada", dish="ramen")
        try:
            call_command("migrate", "delivery", "0001", verbosity=0)
            with connection.cursor() as cur:
                columns = [c.name for c in
                           connection.introspection.get_table_description(cur, "delivery_order")]
                self.assertNotIn("kitchen_answer", columns)
                cur.execute("INSERT INTO delivery_order (customer, dish, quantity, address, "
                            "status, created_at) VALUES (%s, %s, 3, '', 'placed', now())",
                            ["bob", "it's 100% udon"])
        finally:
            call_command("migrate", "delivery", verbosity=0)
        self.assertEqual(sorted(Order.objects.values_list("customer", "dish", "kitchen_answer")),
                         [("ada", "ramen", None), ("bob", "it's 100% udon", None)])
        call_command("migrate", "delivery", "zero", verbosity=0)
        try:
            self.assertNotIn("delivery_order", connection.introspection.table_names())
        finally:
            call_command("migrate", "delivery", verbosity=0)
        self.assertIn("delivery_order", connection.introspection.table_names())

    def test_sqlmigrate(self):
        from io import StringIO

        out = StringIO()
        call_command("sqlmigrate", "delivery", "0002", stdout=out)
        self.assertIn('ADD COLUMN "kitchen_answer" jsonb NULL', out.getvalue())


class PrepareOrderTests(TestCase):
    def test_what_the_kitchen_is_told(self):
        order = Order.objects.create(customer="ada", dish="pho", quantity=3,
                                     address="1 Main St")
        told = prepare_order(order)
        self.assertEqual(told, {"order": order.pk, "dish": "pho", "quantity": 3,
                                "address": "1 Main St",
                                "placed_at": order.created_at.isoformat()})
        self.assertEqual(json.loads(json.dumps(told)), told)  # what requests sends
        self.assertEqual(timezone.datetime.fromisoformat(told["placed_at"]), order.created_at)
        self.assertNotIn("customer", told)  # the kitchen does not learn who ordered


class PageTests(TestCase):
    def test_the_page_gives_a_customer_cookie_and_a_csrf_cookie(self):
        r = self.client.get("/")
        self.assertEqual(r.status_code, 200)
        self.assertIn(b"<html", b"".join(r.streaming_content).lower())
        self.assertEqual(len(r.cookies[KEY].value), 16)
        self.assertIn("csrftoken", r.cookies)
        r = self.client.get("/")  # a known customer keeps the cookie
        self.assertNotIn(KEY, r.cookies)

    def test_static_files(self):
        r = self.client.get("/static/app.js")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r["Content-Type"].startswith("text/javascript"))
        self.assertEqual(self.client.get("/static/settings.py").status_code, 404)


class OrderViewTests(KitchenMixin, TestCase):
    """The seed's view end to end: the ORM, requests to the kitchen, the WebSocket send."""

    def test_an_accepted_order_with_a_test_double_for_the_websocket(self):
        with mock.patch("delivery.views.get_ws_connection") as get_ws:
            get_ws.return_value.send.return_value = 1
            r = self.place(customer="c-double", dish="pad thai", quantity=2, address="here")
        self.assertEqual(r.status_code, 201, r.content)
        order = Order.objects.get()
        self.assertEqual(r.json(), {"order": order.pk, "mins": FakeKitchen.MINS})
        self.assertEqual((order.customer, order.dish, order.quantity, order.address),
                         ("c-double", "pad thai", 2, "here"))
        self.assertEqual((order.status, order.mins), (Order.ACCEPTED, FakeKitchen.MINS))
        self.assertEqual(order.kitchen_answer, {"mins": FakeKitchen.MINS, "order": order.pk})
        self.assertEqual(self.kitchen.received, [prepare_order(order)])
        (request,), _ = get_ws.call_args
        self.assertEqual(request.COOKIES[KEY], "c-double")
        get_ws.return_value.send.assert_called_once_with(
            f"Order #{order.pk} will be delivered in {FakeKitchen.MINS} minutes.")

    def test_the_message_reaches_the_customers_websocket(self):
        with websocket_connect(self.kitchen.ws_url,
                               headers={"Cookie": f"{KEY}=c-ws"}) as mine, \
                websocket_connect(self.kitchen.ws_url + f"?{KEY}=someone-else") as other:
            wait_connected("c-ws")
            wait_connected("someone-else")
            r = self.place(customer="c-ws")
            self.assertEqual(r.status_code, 201, r.content)
            n = r.json()["order"]
            self.assertEqual(mine.recv(5), f"Order #{n} will be delivered in 25 minutes.")
            ws.connection("someone-else").send("only for you")
            self.assertEqual(other.recv(5), "only for you")  # it got nothing before

    def test_no_websocket_client_is_not_an_error(self):
        r = self.place(customer="c-offline")
        self.assertEqual(r.status_code, 201)
        self.assertEqual(Order.objects.get().status, Order.ACCEPTED)

    def assertKitchenError(self, r, kitchen_status, kitchen_answer):
        self.assertEqual(r.status_code, 502, r.content)
        order = Order.objects.get()
        self.assertEqual(r.json(), {"order": order.pk,
                                    "error": "the kitchen did not take the order",
                                    "kitchen_status": kitchen_status,
                                    "kitchen_answer": kitchen_answer})
        self.assertEqual((order.status, order.mins), (Order.KITCHEN_ERROR, None))
        self.assertEqual(order.kitchen_answer, kitchen_answer)
        return order

    def test_kitchen_errors_send_nothing(self):
        cases = [
            ("503 Service Unavailable", {"error": "closed"}, 503, {"error": "closed"}),
            ("500 Internal Server Error", b"<h1>oops</h1>", 500, None),  # not JSON
            ("201 Created", b"{not json", 201, None),                       # bad JSON
            ("201 Created", {"eta": 25}, 201, {"eta": 25}),                 # no "mins"
            ("201 Created", {"mins": "25"}, 201, {"mins": "25"}),           # not an int
            ("201 Created", [25], 201, [25]),                               # not an object
            ("200 OK", {"mins": 25}, 200, {"mins": 25}),                    # not 201
        ]
        for status, body, kitchen_status, kitchen_answer in cases:
            with self.subTest(status=status, body=body):
                Order.objects.all().delete()
                self.kitchen.answer(status, body)
                with mock.patch("delivery.views.get_ws_connection") as get_ws:
                    r = self.place()
                self.assertKitchenError(r, kitchen_status, kitchen_answer)
                get_ws.assert_not_called()

    def test_the_real_kitchens_400(self):
        # kitchen.py itself refuses a body that is not a JSON object.
        with mock.patch("delivery.views.prepare_order", return_value=["not", "an", "order"]):
            r = self.place()
        self.assertKitchenError(r, 400, None)

    def test_an_unreachable_kitchen(self):
        with override_settings(KITCHEN_URL=f"http://127.0.0.1:{free_port()}/orders"):
            r = self.place()
        self.assertEqual(r.json()["kitchen_status"], None)
        self.assertIsInstance(r.json()["kitchen_answer"], str)
        self.assertKitchenError(r, None, r.json()["kitchen_answer"])

    def test_a_kitchen_slower_than_the_timeout(self):
        self.kitchen.answer("201 Created", {"mins": 5}, delay=1.0)
        started = time.monotonic()
        with override_settings(KITCHEN_TIMEOUT=0.2):
            r = self.place()
        self.assertLess(time.monotonic() - started, 0.9)
        self.assertEqual(r.status_code, 502)
        self.assertEqual(Order.objects.get().status, Order.KITCHEN_ERROR)

    def test_bad_requests_make_no_order(self):
        self.assertEqual(self.place(customer=None).status_code, 400)  # no cookie
        c = Client()
        c.cookies[KEY] = "c-bad"
        self.assertEqual(c.post("/orders", data="{", content_type="application/json")
                         .status_code, 400)
        self.assertEqual(c.post("/orders", data="{}", content_type="application/json")
                         .status_code, 400)  # no dish
        self.assertEqual(c.post("/orders", data='{"dish": "x", "quantity": "many"}',
                                content_type="application/json").status_code, 400)
        self.assertEqual(c.get("/orders").status_code, 405)
        self.assertFalse(Order.objects.exists())
        self.assertEqual(self.kitchen.received, [])

    def test_csrf_is_enforced_for_browsers(self):
        c = Client(enforce_csrf_checks=True)
        c.get("/")  # the customer and csrftoken cookies
        r = c.post("/orders", data='{"dish": "x"}', content_type="application/json")
        self.assertEqual(r.status_code, 403)
        r = c.post("/orders", data='{"dish": "x"}', content_type="application/json",
                   HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)
        self.assertEqual(r.status_code, 201, r.content)


class ConcurrentOrderTests(KitchenMixin, TransactionTestCase):
    """Orders placed at once from greenlets (as balrog-wsgi runs requests) wait for the
    kitchen side by side; each greenlet has its own database connection."""

    def test_orders_wait_for_the_kitchen_side_by_side(self):
        n, delay = 8, 1.0
        self.kitchen.app = kitchen.make_app(delay, 30)
        clients = {}

        def customer(i):
            try:
                with websocket_connect(self.kitchen.ws_url + f"?{KEY}=side-{i}") as sock:
                    wait_connected(f"side-{i}")
                    r = self.place(client=Client(), customer=f"side-{i}", dish=f"dish {i}")
                    clients[i] = (r.status_code, r.json()["order"], sock.recv(5))
            finally:
                connection.close()

        started = time.monotonic()
        greenlets = [balrog.spawn(customer, i) for i in range(n)]
        for g in greenlets:
            g.join(30)
        took = time.monotonic() - started
        self.assertEqual(sorted(clients), list(range(n)))
        for i, (status, pk, message) in clients.items():
            self.assertEqual(status, 201)
            self.assertEqual(message, f"Order #{pk} will be delivered in 30 minutes.")
            self.assertEqual(Order.objects.get(pk=pk).customer, f"side-{i}")
        self.assertEqual(Order.objects.filter(status=Order.ACCEPTED).count(), n)
        self.assertLess(took, delay * n / 2, "the orders did not wait side by side")


class TransactionTests(KitchenMixin, TransactionTestCase):
    def test_atomic_commits(self):
        with transaction.atomic():
            Order.objects.create(customer="ada", dish="ramen")
            Order.objects.create(customer="ada", dish="gyoza")
        self.assertEqual(Order.objects.count(), 2)

    def test_atomic_rolls_back_on_an_exception(self):
        with self.assertRaises(RuntimeError):
            with transaction.atomic():
                Order.objects.create(customer="ada", dish="ramen")
                self.assertEqual(Order.objects.count(), 1)
                raise RuntimeError("the card was declined")
        self.assertEqual(Order.objects.count(), 0)

    def test_a_database_error_rolls_back_the_whole_block(self):
        with self.assertRaises(IntegrityError):
            with transaction.atomic():
                Order.objects.create(customer="ada", dish="ramen")
                Order.objects.create(customer="ada", dish="gyoza", quantity=-2)
        self.assertEqual(Order.objects.count(), 0)

    def test_a_savepoint_rolls_back_only_its_part(self):
        with transaction.atomic():
            Order.objects.create(customer="ada", dish="ramen")
            try:
                with transaction.atomic():
                    Order.objects.create(customer="ada", dish="gyoza")
                    Order.objects.create(customer="ada", dish="bad", quantity=-1)
            except IntegrityError:
                pass
            Order.objects.create(customer="ada", dish="mochi")
        self.assertEqual(sorted(Order.objects.values_list("dish", flat=True)),
                         ["mochi", "ramen"])

    def test_on_commit_runs_after_commit_only(self):
        done = []
        with transaction.atomic():
            o = Order.objects.create(customer="ada", dish="ramen")
            transaction.on_commit(lambda: done.append(o.pk))
            self.assertEqual(done, [])
        self.assertEqual(done, [o.pk])
        with self.assertRaises(ValueError):
            with transaction.atomic():
                transaction.on_commit(lambda: done.append("rolled back"))
                raise ValueError
        self.assertEqual(done, [o.pk])

    def test_an_uncommitted_order_is_invisible_to_other_connections(self):
        seen = []

        def other():
            try:
                seen.append(Order.objects.count())
            finally:
                connection.close()

        with transaction.atomic():
            Order.objects.create(customer="ada", dish="ramen")
            balrog.spawn(other).join(10)
        balrog.spawn(other).join(10)
        self.assertEqual(seen, [0, 1])

    def test_the_views_order_survives_a_kitchen_error(self):
        # The view runs in autocommit: the order is committed before the kitchen is called,
        # so a failed kitchen leaves it recorded as kitchen_error, seen by other connections.
        self.kitchen.answer("500 Internal Server Error", {"error": "fire"})
        self.assertEqual(self.place().status_code, 502)
        seen = []

        def other():
            try:
                seen.extend(Order.objects.values_list("status", "kitchen_answer"))
            finally:
                connection.close()

        balrog.spawn(other).join(10)
        self.assertEqual(seen, [(Order.KITCHEN_ERROR, {"error": "fire"})])

    def test_a_view_error_inside_atomic_rolls_the_order_back(self):
        # Were the view wrapped in atomic() (ATOMIC_REQUESTS), a failure after the insert
        # would take the order back with it.
        with mock.patch("delivery.views.get_ws_connection", side_effect=RuntimeError("ws")), \
                self.assertLogs("django.request", "ERROR"):
            with self.assertRaises(RuntimeError):
                with transaction.atomic():
                    self.place()
        self.assertEqual(Order.objects.count(), 0)
        self.assertEqual(len(self.kitchen.received), 1)  # the kitchen was told, though


class SelectForUpdateTests(TransactionTestCase):
    def setUp(self):
        self.order = Order.objects.create(customer="ada", dish="ramen")

    def test_a_locked_order_waits_for_its_holder(self):
        log = []

        def accept_too():
            try:
                with transaction.atomic():
                    log.append("waiting")
                    row = Order.objects.select_for_update().get(pk=self.order.pk)
                    log.append(("got", row.status, row.mins))
            finally:
                connection.close()

        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=self.order.pk)
            g = balrog.spawn(accept_too)
            balrog.sleep(0.3)  # only the other greenlet waits for the lock
            self.assertEqual(log, ["waiting"])
            locked.status, locked.mins = Order.ACCEPTED, 20
            locked.save()
        g.join(10)
        self.assertEqual(log, ["waiting", ("got", Order.ACCEPTED, 20)])

    def test_nowait_and_skip_locked(self):
        second = Order.objects.create(customer="bob", dish="udon")
        seen = {}

        def other():
            try:
                with transaction.atomic():
                    try:
                        with transaction.atomic():
                            Order.objects.select_for_update(nowait=True).get(pk=self.order.pk)
                    except DatabaseError as e:
                        seen["nowait"] = type(e).__name__
                    # A kitchen worker takes the next order no one holds.
                    seen["next"] = (Order.objects.select_for_update(skip_locked=True)
                                    .filter(status=Order.PLACED).order_by("id")
                                    .values_list("pk", flat=True).first())
            finally:
                connection.close()

        with transaction.atomic():
            Order.objects.select_for_update().get(pk=self.order.pk)
            balrog.spawn(other).join(10)
        self.assertEqual(seen, {"nowait": "OperationalError", "next": second.pk})

    def test_outside_a_transaction_it_is_refused(self):
        with self.assertRaises(TransactionManagementError):
            list(Order.objects.select_for_update())


class BulkTests(TestCase):
    def test_bulk_create_and_bulk_update(self):
        orders = Order.objects.bulk_create(
            Order(customer=f"c{i % 5}", dish=f"dish {i}", quantity=1 + i % 3) for i in range(100))
        self.assertTrue(all(o.pk for o in orders))
        self.assertEqual(len({o.pk for o in orders}), 100)
        self.assertEqual(Order.objects.count(), 100)
        for o in orders[:40]:
            o.status, o.mins, o.kitchen_answer = Order.ACCEPTED, 10 + o.quantity, {"mins": 1}
        Order.objects.bulk_update(orders[:40], ["status", "mins", "kitchen_answer"],
                                  batch_size=15)
        by_status = dict(Order.objects.values_list("status").annotate(n=Count("id")))
        self.assertEqual(by_status, {Order.ACCEPTED: 40, Order.PLACED: 60})
        self.assertEqual(Order.objects.filter(kitchen_answer__mins=1).count(), 40)
        self.assertEqual(set(Order.objects.in_bulk([orders[0].pk, orders[1].pk])),
                         {orders[0].pk, orders[1].pk})

    def test_bulk_create_ignoring_conflicts(self):
        first = Order.objects.create(customer="ada", dish="ramen")
        Order.objects.bulk_create([Order(pk=first.pk, customer="dup", dish="x"),
                                   Order(customer="bob", dish="udon")], ignore_conflicts=True)
        self.assertEqual(sorted(Order.objects.values_list("customer", flat=True)),
                         ["ada", "bob"])


class JSONFieldTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        answers = [{"mins": 25, "order": 1}, {"mins": 40, "order": 2, "note": "busy"},
                   {"error": "closed"}, "connection refused", [1, 2], None]
        Order.objects.bulk_create(Order(customer=f"c{i}", dish="d", kitchen_answer=a)
                                  for i, a in enumerate(answers))

    def test_round_trip(self):
        self.assertEqual(list(Order.objects.order_by("id")
                              .values_list("kitchen_answer", flat=True)),
                         [{"mins": 25, "order": 1}, {"mins": 40, "order": 2, "note": "busy"},
                          {"error": "closed"}, "connection refused", [1, 2], None])

    def test_lookups(self):
        def customers(**lookup):
            return sorted(Order.objects.filter(**lookup).values_list("customer", flat=True))

        self.assertEqual(customers(kitchen_answer__mins=25), ["c0"])
        self.assertEqual(customers(kitchen_answer__mins__gte=30), ["c1"])
        self.assertEqual(customers(kitchen_answer__has_key="error"), ["c2"])
        self.assertEqual(customers(kitchen_answer__contains={"note": "busy"}), ["c1"])
        self.assertEqual(customers(kitchen_answer="connection refused"), ["c3"])
        self.assertEqual(customers(kitchen_answer__isnull=True), ["c5"])
        self.assertEqual(customers(kitchen_answer__1=2), ["c4"])
        self.assertEqual(sorted(Order.objects.filter(kitchen_answer__has_key="mins")
                                .values_list("kitchen_answer__mins", flat=True)), [25, 40])


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class AdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.boss = User.objects.create_superuser("boss", "boss@example.org", "secret-pw")
        for i, status in enumerate([Order.PLACED, Order.ACCEPTED, Order.KITCHEN_ERROR]):
            Order.objects.create(customer=f"cust{i}", dish=f"dish {i}", status=status,
                                 mins=20 if status == Order.ACCEPTED else None,
                                 kitchen_answer={"mins": 20} if i == 1 else None)

    def test_order_is_registered(self):
        self.assertTrue(admin.site.is_registered(Order))

    def test_login_page_and_login(self):
        r = self.client.get("/admin/login/?next=/admin/")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, 'name="username"')
        self.assertEqual(self.client.get("/admin/delivery/order/").status_code, 302)
        r = self.client.post("/admin/login/?next=/admin/",
                             {"username": "boss", "password": "secret-pw", "next": "/admin/"})
        self.assertRedirects(r, "/admin/")
        self.assertContains(self.client.get("/admin/"), "Orders")

    def test_changelist_search_filter_and_change(self):
        self.client.force_login(self.boss)
        r = self.client.get("/admin/delivery/order/")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "3 orders")
        self.assertContains(self.client.get("/admin/delivery/order/?q=cust1"), "1 order")
        r = self.client.get("/admin/delivery/order/?status__exact=kitchen_error")
        self.assertContains(r, "1 order")
        self.assertContains(r, "cust2")
        now = timezone.now()
        r = self.client.get(f"/admin/delivery/order/?created_at__year={now.year}")
        self.assertEqual(r.status_code, 200)
        order = Order.objects.get(customer="cust1")
        r = self.client.get(f"/admin/delivery/order/{order.pk}/change/")
        self.assertContains(r, "mins")  # the read-only kitchen answer
        r = self.client.post(f"/admin/delivery/order/{order.pk}/change/", {
            "customer": "cust1", "dish": "dish 1", "quantity": "4", "address": "5 Elm St",
            "status": "accepted", "mins": "35"})
        self.assertEqual(r.status_code, 302, r.content[:3000])
        order.refresh_from_db()
        self.assertEqual((order.quantity, order.address, order.mins), (4, "5 Elm St", 35))
        self.assertEqual(order.kitchen_answer, {"mins": 20})  # read-only: kept
