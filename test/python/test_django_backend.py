"""The Django test project of test/python/django_backend (models, migrations, transactions,
select_for_update, bulk_create, JSONField, time zones, the admin, greenlets with their own
connections) run by Django's own test runner, `manage.py test`, on both backends: Django's
django.db.backends.postgresql (psycopg2, under balrog.patch()) and balrog's
balrog.django.db.backends.postgresql (balrog.pg and its pool), the latter also with
OPTIONS["pipeline"] (autocommit statements of greenlets pipelined on a shared connection)."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("django")
pytest.importorskip("psycopg2")

PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_backend")


@pytest.mark.parametrize("engine", ["stock", "balrog", "balrog-pipeline"])
def test_manage_py_test_passes(pg_dsn, engine):
    env = dict(os.environ, BALROG_DJANGO_ENGINE=engine, BALROG_TEST_PG_CONNINFO=pg_dsn,
               PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "manage.py", "test", "--noinput", "-v", "2", "shop"],
                         cwd=PROJECT, env=env, capture_output=True, text=True, timeout=240)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "\nOK" in report, report


def test_sql_helpers():
    import datetime as dt
    import uuid
    from decimal import Decimal

    from balrog import pg
    from balrog.django.db.backends.postgresql._sql import compose, quote_literal, split_statements

    assert quote_literal("it's") == "'it''s'"
    assert quote_literal(None) == "NULL"
    assert quote_literal(True) == "true"
    assert quote_literal(Decimal("1.50")) == "1.50"
    assert quote_literal(float("nan")) == "'NaN'::float8"
    assert quote_literal(b"\x00\xff") == "'\\x00ff'::bytea"
    assert quote_literal(dt.date(2024, 1, 2)) == "'2024-01-02'::date"
    assert quote_literal(dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone.utc)) == \
        "'2024-01-02 03:04:00+00:00'::timestamptz"
    assert quote_literal(dt.timedelta(days=1, seconds=2)) == \
        "'1 days 2.000000 seconds'::interval"
    u = uuid.UUID(int=1)
    assert quote_literal(u) == f"'{u}'::uuid"
    assert quote_literal({"a": "b'"}) == "'{\"a\": \"b''\"}'::jsonb"
    assert quote_literal([1, "x"]) == "ARRAY[1, 'x']"
    with pytest.raises(pg.ProgrammingError):
        quote_literal(object())
    with pytest.raises(ValueError):
        quote_literal("a\x00b")
    assert compose("SELECT %s, '100%%', %s", [1, "x"]) == "SELECT 1, '100%', 'x'"
    assert compose("SELECT %(a)s + %(a)s", {"a": 2}) == "SELECT 2 + 2"
    assert compose("SELECT '%'", None) == "SELECT '%'"
    with pytest.raises(pg.ProgrammingError):
        compose("SELECT %s", [1, 2])
    assert split_statements(
        "SET CONSTRAINTS x IMMEDIATE; ALTER TABLE t DROP CONSTRAINT x") == [
        "SET CONSTRAINTS x IMMEDIATE", "ALTER TABLE t DROP CONSTRAINT x"]
    assert split_statements(
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
        "COMMENT ON TABLE t IS 'a; b'; -- c;\nSELECT \"x;y\" /* ; */;") == [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
        "COMMENT ON TABLE t IS 'a; b'", "-- c;\nSELECT \"x;y\" /* ; */"]
    assert split_statements("SELECT $body$ ; $body$") == ["SELECT $body$ ; $body$"]
    assert split_statements(" ; ") == []
