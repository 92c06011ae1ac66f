"""balrog.pg type adaptation, both ways, against the server's own rendering of the values."""

import datetime as dt
import decimal
import json
import uuid

import pytest

from balrog import pg

UTC = dt.timezone.utc


@pytest.mark.parametrize("sql, expected", [
    ("select true, false", (True, False)),
    ("select 1::int2, 2::int4, 9223372036854775807::int8, 42::oid", (1, 2, 2**63 - 1, 42)),
    ("select 1.5::float4, 'NaN'::float8 = 'NaN'::float8, '-Infinity'::float8",
     (1.5, True, float("-inf"))),
    ("select 1.10::numeric, 'NaN'::numeric::text", (decimal.Decimal("1.10"), "NaN")),
    ("select 'é'::text, 'x'::varchar, 'ab'::char(3), 'n'::name", ("é", "x", "ab ", "n")),
    ("select '\\x00ff'::bytea", (b"\x00\xff",)),
    ("select 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
     (uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),)),
    ("select '{\"a\": [1, null]}'::json, '[1, 2]'::jsonb", ({"a": [1, None]}, [1, 2])),
    ("select '2024-02-29'::date, 'infinity'::date, '-infinity'::date",
     (dt.date(2024, 2, 29), dt.date.max, dt.date.min)),
    ("select '2024-01-02 03:04:05.123456'::timestamp",
     (dt.datetime(2024, 1, 2, 3, 4, 5, 123456),)),
    ("select '2024-01-02 03:04:05+02'::timestamptz",
     (dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC),)),
    ("select '23:59:59.999999'::time, '12:00:00-03:30'::timetz",
     (dt.time(23, 59, 59, 999999),
      dt.time(12, 0, tzinfo=dt.timezone(-dt.timedelta(hours=3, minutes=30))))),
    ("select '1 year 2 mons 3 days 04:05:06.5'::interval, '-00:00:01.5'::interval",
     (dt.timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6.5),
      dt.timedelta(seconds=-1.5))),
    ("select array[1, null, 3], array['a b', 'c\"d', null]::text[], '{}'::int[]",
     ([1, None, 3], ["a b", 'c"d', None], [])),
    ("select array[[1, 2], [3, 4]], '[0:1]={5,6}'::int[]", ([[1, 2], [3, 4]], [5, 6])),
    ("select array['2024-01-02'::date], array[1.5::numeric]",
     ([dt.date(2024, 1, 2)], [decimal.Decimal("1.5")])),
    ("select null::int, null::text", (None, None)),
    ("select '(1,2)'::point, '10.0.0.1'::inet", ("(1,2)", "10.0.0.1")),  # unknown types: str
])
def test_results(autoconn, sql, expected):
    assert autoconn.execute(sql).fetchone() == expected


@pytest.mark.parametrize("value, server_text", [
    (None, None),
    (True, "true"),
    (42, "42"),
    (2**40, "1099511627776"),
    (2**70, "1180591620717411303424"),
    (-1.25, "-1.25"),
    (float("inf"), "Infinity"),
    (decimal.Decimal("-12.3400"), "-12.3400"),
    ("héllo 'q'", "héllo 'q'"),
    (b"\x00\x01'", "\\x000127"),
    (dt.date(2024, 2, 29), "2024-02-29"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 6), "2024-01-02 03:04:05.000006"),
    (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "2024-01-02 01:04:05+00"),
    (dt.time(1, 2, 3), "01:02:03"),
    (dt.timedelta(days=-1, seconds=5, microseconds=7), "-1 days +00:00:05.000007"),
    (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ([1, None, 3], "{1,NULL,3}"),
    ([["a", "b"], ["c", None]], "{{a,b},{c,NULL}}"),
    (pg.Json({"k": [1]}), '{"k": [1]}'),
    ({"k": True}, '{"k": true}'),
])
def test_parameters(autoconn, value, server_text):
    autoconn.execute("set timezone = 'UTC'")
    row = autoconn.execute("select %s::text", (value,)).fetchone()
    assert row == (server_text,)


@pytest.mark.parametrize("value", [
    0, -(2**63), 1.5, decimal.Decimal("3.14159"), "x", b"\xff", dt.date(1, 1, 1),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(2000, 1, 1, tzinfo=UTC),
    dt.time(12, 30), dt.timedelta(days=3, seconds=4), uuid.uuid4(), [1, 2], ["a", "b"],
    [dt.date(2024, 1, 1)], pg.Jsonb({"a": 1}), True,
])
def test_round_trip(autoconn, value):
    got = autoconn.execute("select %s", (value,)).fetchone()[0]
    expected = value.obj if isinstance(value, pg.Json) else value
    assert got == expected and type(got) is type(expected)


def test_values_outside_pythons_range_raise_data_error(autoconn):
    with pytest.raises(pg.DataError):
        autoconn.execute("select '10000-01-01'::date").fetchone()
    with pytest.raises(pg.DataError):
        autoconn.execute("select '24:00:00'::time").fetchone()
    assert autoconn.execute("select 1").fetchone() == (1,)


def test_json_hooks_can_be_replaced(autoconn):
    pg.set_json_loads(lambda s: ("custom", json.loads(s)))
    try:
        assert autoconn.execute("select '1'::json").fetchone() == (("custom", 1),)
    finally:
        pg.set_json_loads(json.loads)


def test_a_cursor_or_connection_can_keep_json_as_text(autoconn, conn):
    sql = "select '{\"a\": 1}'::jsonb, array['[1]'::json], '\"x\"'::jsonb"
    cur = autoconn.cursor()
    cur.json_loads = lambda s: s
    assert cur.execute(sql).fetchone() == ('{"a": 1}', ['[1]'], '"x"')
    # Only that cursor: the others keep decoding.
    assert autoconn.execute(sql).fetchone() == ({"a": 1}, [[1]], "x")
    conn.json_loads = str.upper
    assert conn.execute(sql).fetchall() == [('{"A": 1}', ['[1]'], '"X"')]
    conn.rollback()


def test_rows_convert_lazily_so_a_bad_value_fails_only_when_fetched(autoconn):
    cur = autoconn.execute("select '2024-01-01'::date union all select '10000-01-01'::date")
    assert cur.fetchone() == (dt.date(2024, 1, 1),)
    with pytest.raises(pg.DataError):
        cur.fetchone()
