// pg value codecs: C++ values to parameters and fields back, text and binary.
// The first half needs no server (encode, then decode what the server would see, and decode
// bytes written by hand); the second round-trips every type through a real server, with
// results in text and in binary format.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "balrog/await.hpp"
#include "balrog/pg/connection.hpp"
#include "balrog/pg/error.hpp"
#include "balrog/pg/result.hpp"
#include "balrog/pg/types.hpp"
#include "balrog/run.hpp"
#include "support/pg_cluster.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;
namespace pg = balrog::pg;
namespace chr = std::chrono;
using balrog::test::pg_cluster;

namespace {

// What the server would see of v, decoded back as T.
template <class T>
T round_trip(const T& v) {
  return pg::field::of(pg::to_param(v)).template as<T>();
}

pg::field text_field(const std::string& s, std::uint32_t oid) { return pg::field(s, oid, false); }
pg::field binary_field(const std::string& s, std::uint32_t oid) { return pg::field(s, oid, true); }

std::string be(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

chr::system_clock::time_point utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0,
                                  int us = 0) {
  return chr::sys_days(chr::year(y) / chr::month(m) / chr::day(d)) + chr::hours(hh) +
         chr::minutes(mm) + chr::seconds(ss) + chr::microseconds(us);
}

}  // namespace

// A user's type, as types.hpp tells how: a temperature stored as float8.
struct celsius {
  double degrees;
  friend bool operator==(const celsius&, const celsius&) = default;
};
template <>
struct balrog::pg::value_codec<celsius> {
  static constexpr std::uint32_t oid = pg::oids::float8;
  static param encode(const celsius& c) { return to_param(c.degrees); }
  static celsius decode(const field& f) { return celsius{f.as<double>()}; }
};

// --- without a server ----------------------------------------------------------------------

TEST(PgCodecs, ScalarsRoundTrip) {
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(false), false);
  for (std::int16_t v : {std::int16_t{0}, std::numeric_limits<std::int16_t>::min(),
                         std::numeric_limits<std::int16_t>::max()}) {
    EXPECT_EQ(round_trip(v), v);
  }
  for (std::int64_t v : {std::int64_t{0}, std::numeric_limits<std::int64_t>::min(),
                         std::numeric_limits<std::int64_t>::max()}) {
    EXPECT_EQ(round_trip(v), v);
  }
  EXPECT_EQ(round_trip(std::uint64_t{9'000'000'000'000'000'000ULL}), 9'000'000'000'000'000'000ULL);
  EXPECT_EQ(round_trip(0.1), 0.1);
  EXPECT_EQ(round_trip(-0.0f), -0.0f);
  EXPECT_EQ(round_trip(std::numeric_limits<double>::denorm_min()),
            std::numeric_limits<double>::denorm_min());
  EXPECT_TRUE(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(round_trip(-std::numeric_limits<float>::infinity()),
            -std::numeric_limits<float>::infinity());
  EXPECT_EQ(round_trip(""s), "");
  EXPECT_EQ(round_trip("a\"b\\c"s), "a\"b\\c");
  EXPECT_EQ(round_trip(pg::numeric{"-12.3400"}), pg::numeric{"-12.3400"});
  EXPECT_EQ(round_trip(bytes("a\0b"sv)), bytes("a\0b"sv));
  EXPECT_EQ(round_trip(pg::bytea{}), pg::bytea{});
  const auto u = pg::uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(round_trip(u), u);
  EXPECT_EQ(round_trip(pg::jsonb{R"({"a": [1, null]})"}), pg::jsonb{R"({"a": [1, null]})"});
  const auto t = utc(2024, 2, 29, 23, 59, 59, 999'999);
  EXPECT_EQ(round_trip(t), t);
  EXPECT_EQ(round_trip(utc(1677, 9, 22)), utc(1677, 9, 22));
  EXPECT_EQ(round_trip(chr::system_clock::time_point::max()), chr::system_clock::time_point::max());
  EXPECT_EQ(round_trip(chr::system_clock::time_point::min()), chr::system_clock::time_point::min());
  const pg::timestamp bc{chr::sys_days(chr::year(-43) / 3 / 15) + 12h};  // 44 BC
  EXPECT_EQ(round_trip(bc), bc);
  const chr::year_month_day d = chr::year(1) / 1 / 1;
  EXPECT_EQ(round_trip(d), d);
  EXPECT_EQ(round_trip(std::optional<int>()), std::nullopt);
  EXPECT_EQ(round_trip(std::optional<int>(5)), 5);
}

TEST(PgCodecs, ParametersSayTheirTypeAndFormat) {
  EXPECT_EQ(pg::to_param(std::int32_t{7}).oid, pg::oids::int4);
  EXPECT_EQ(pg::to_param(7L).oid, pg::oids::int8);
  EXPECT_EQ(pg::to_param(std::uint16_t{7}).oid, pg::oids::int4);
  EXPECT_EQ(*pg::to_param(-7).value, "-7");
  EXPECT_FALSE(pg::to_param(-7).binary);
  EXPECT_EQ(pg::to_param("abc").oid, 0U);  // strings: the server infers
  EXPECT_EQ(*pg::to_param("abc").value, "abc");
  EXPECT_FALSE(pg::to_param(static_cast<const char*>(nullptr)).value);
  EXPECT_TRUE(pg::to_param(pg::bytea{bytes("x")}).binary);
  const auto null_int = pg::to_param(std::optional<std::int64_t>());
  EXPECT_EQ(null_int.oid, pg::oids::int8);
  EXPECT_FALSE(null_int.value);
  EXPECT_FALSE(pg::to_param(std::nullopt).value);
  EXPECT_EQ(*pg::to_param(utc(2000, 1, 1, 0, 0, 0, 5)).value, "2000-01-01 00:00:00.000005+00");
  EXPECT_EQ(*pg::to_param(utc(1969, 12, 31, 23, 59, 59, 500'000)).value,
            "1969-12-31 23:59:59.5+00");
  EXPECT_EQ(*pg::to_param(chr::system_clock::time_point::max()).value, "infinity");
  EXPECT_EQ(*pg::to_param(chr::year_month_day(chr::year(-43) / 3 / 15)).value, "0044-03-15 BC");
  EXPECT_EQ(*pg::to_param(std::vector<std::string>{"a", "b,c", "\"", "\\", "NULL", ""}).value,
            R"({"a","b,c","\"","\\","NULL",""})");
  EXPECT_EQ(pg::to_param(std::vector<int>{}).oid, pg::oids::int4_array);
  EXPECT_EQ(*pg::to_param(std::vector<std::optional<int>>{1, std::nullopt}).value, R"({"1",NULL})");
  EXPECT_THROW((void)pg::to_param(std::numeric_limits<std::uint64_t>::max()),
               pg::value_out_of_range);
}

TEST(PgCodecs, ArraysRoundTrip) {
  const std::vector<std::optional<std::int64_t>> ints{1, std::nullopt,
                                                      std::numeric_limits<std::int64_t>::min()};
  EXPECT_EQ(round_trip(ints), ints);
  const std::vector<std::string> strings{"", "a b", "{}", "\"q\"", "back\\slash", "NULL", " sp "};
  EXPECT_EQ(round_trip(strings), strings);
  const std::vector<std::optional<std::vector<std::byte>>> blobs{bytes("\0\1"sv), std::nullopt,
                                                                 bytes("")};
  EXPECT_EQ(round_trip(blobs), blobs);  // bytea elements: the binary array format
  EXPECT_TRUE(pg::to_param(blobs).binary);
  EXPECT_EQ(round_trip(std::vector<bool>{true, false}), (std::vector<bool>{true, false}));
  EXPECT_EQ(round_trip(std::vector<double>{}), std::vector<double>{});
}

TEST(PgCodecs, DecodesBinaryWrittenByHand) {
  EXPECT_EQ(binary_field(be(0x8000000000000000ULL, 8), pg::oids::int8).as<std::int64_t>(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(binary_field(be(0xfffe, 2), pg::oids::int2).as<std::int64_t>(), -2);
  EXPECT_EQ(binary_field(be(0xffffffff, 4), pg::oids::oid).as<std::uint32_t>(), 0xffffffffU);
  EXPECT_TRUE(
      std::isnan(binary_field(be(0x7ff8000000000000ULL, 8), pg::oids::float8).as<double>()));
  EXPECT_EQ(binary_field(be(0x3fc00000, 4), pg::oids::float4).as<double>(), 1.5);
  EXPECT_EQ(binary_field("\x01", pg::oids::bool_).as<bool>(), true);
  // numeric 12345.6780: ndigits 3, weight 1, sign +, dscale 4, digits 1 2345 6780.
  const std::string num =
      be(3, 2) + be(1, 2) + be(0, 2) + be(4, 2) + be(1, 2) + be(2345, 2) + be(6780, 2);
  EXPECT_EQ(binary_field(num, pg::oids::numeric).as<pg::numeric>().digits, "12345.6780");
  EXPECT_EQ(binary_field(num, pg::oids::numeric).as<std::string>(), "12345.6780");
  EXPECT_EQ(binary_field(num, pg::oids::numeric).as<double>(), 12345.678);
  // -0.00012: ndigits 2, weight -1, sign -, dscale 5, digits 0001 2000.
  const std::string small =
      be(2, 2) + be(0xffff, 2) + be(0x4000, 2) + be(5, 2) + be(1, 2) + be(2000, 2);
  EXPECT_EQ(binary_field(small, pg::oids::numeric).as<std::string>(), "-0.00012");
  const std::string nan = be(0, 2) + be(0, 2) + be(0xC000, 2) + be(0, 2);
  EXPECT_EQ(binary_field(nan, pg::oids::numeric).as<std::string>(), "NaN");
  // timestamptz: microseconds since 2000-01-01.
  EXPECT_EQ(binary_field(be(1, 8), pg::oids::timestamptz).as<chr::system_clock::time_point>(),
            utc(2000, 1, 1, 0, 0, 0, 1));
  EXPECT_EQ(binary_field(be(0x7fffffffffffffffULL, 8), pg::oids::timestamptz)
                .as<chr::system_clock::time_point>(),
            chr::system_clock::time_point::max());
  EXPECT_EQ(binary_field(be(1, 8), pg::oids::timestamptz).as<std::string>(),
            "2000-01-01 00:00:00.000001+00");
  EXPECT_EQ(binary_field(be(0xffffffff, 4), pg::oids::date).as<chr::year_month_day>(),
            chr::year(1999) / 12 / 31);
  EXPECT_EQ(binary_field("\x01{}", pg::oids::jsonb).as<pg::jsonb>().text, "{}");
  // int4[] {7, NULL} with lower bound 0.
  const std::string arr = be(1, 4) + be(1, 4) + be(pg::oids::int4, 4) + be(2, 4) + be(0, 4) +
                          be(4, 4) + be(7, 4) + be(0xffffffff, 4);
  EXPECT_EQ(binary_field(arr, pg::oids::int4_array).as<std::vector<std::optional<int>>>(),
            (std::vector<std::optional<int>>{7, std::nullopt}));
  EXPECT_THROW((void)binary_field(arr, pg::oids::int4_array).as<std::vector<int>>(),
               pg::unexpected_null);
}

TEST(PgCodecs, DecodesTextAsPostgresPrintsIt) {
  using tp = chr::system_clock::time_point;
  EXPECT_EQ(text_field("2024-01-02 03:04:05.5+05:30", pg::oids::timestamptz).as<tp>(),
            utc(2024, 1, 1, 21, 34, 5, 500'000));
  EXPECT_EQ(text_field("1900-01-01 00:00:00+00:09:21", pg::oids::timestamptz).as<tp>(),
            utc(1899, 12, 31, 23, 50, 39));
  EXPECT_EQ(text_field("2024-01-02 03:04:05-08", pg::oids::timestamptz).as<tp>(),
            utc(2024, 1, 2, 11, 4, 5));
  EXPECT_EQ(text_field("-infinity", pg::oids::timestamptz).as<tp>(), tp::min());
  EXPECT_EQ(text_field("0044-03-15 12:00:00 BC", pg::oids::timestamp).as<pg::timestamp>(),
            (pg::timestamp{chr::sys_days(chr::year(-43) / 3 / 15) + 12h}));
  EXPECT_EQ(text_field("2024-02-29", pg::oids::date).as<chr::year_month_day>(),
            chr::year(2024) / 2 / 29);
  EXPECT_EQ(text_field("\\x00ff", pg::oids::bytea).as<std::vector<std::byte>>(), bytes("\0\xff"sv));
  EXPECT_EQ(text_field("a\\000\\\\b", pg::oids::bytea).as<std::vector<std::byte>>(),
            bytes("a\0\\b"sv));  // bytea_output = escape
  EXPECT_EQ(text_field("Infinity", pg::oids::float8).as<double>(),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(text_field("t", pg::oids::bool_).as<bool>(), true);
  EXPECT_EQ(text_field(R"([0:3]={"a\"b", NULL ,  c d  ,"NULL"})", pg::oids::text_array)
                .as<std::vector<std::optional<std::string>>>(),
            (std::vector<std::optional<std::string>>{"a\"b", std::nullopt, "c d", "NULL"}));
  EXPECT_EQ(text_field("{}", pg::oids::int8_array).as<std::vector<long>>(), std::vector<long>{});
  EXPECT_EQ(text_field("{A0EEBC999C0B4EF8BB6D6BB9BD380A11}", pg::oids::uuid_array)
                .as<std::vector<pg::uuid>>()[0]
                .to_string(),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

TEST(PgCodecs, ConversionErrorsAreTyped) {
  const pg::field null(std::nullopt, pg::oids::int4, false);
  EXPECT_THROW((void)null.as<int>(), pg::unexpected_null);
  EXPECT_EQ(null.as<std::optional<int>>(), std::nullopt);
  try {
    (void)null.as<int>();
  } catch (const pg::unexpected_null& e) {
    EXPECT_EQ(e.sqlstate(), "22004");
    EXPECT_NE(std::string(e.what()).find("std::optional<int>"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)text_field("x", pg::oids::text).as<int>(), pg::type_mismatch);
  EXPECT_THROW((void)text_field("1", pg::oids::int4).as<pg::uuid>(), pg::type_mismatch);
  EXPECT_THROW((void)text_field("1", pg::oids::int4).as<std::vector<int>>(), pg::type_mismatch);
  EXPECT_THROW((void)text_field("{{1},{2}}", pg::oids::int4_array).as<std::vector<int>>(),
               pg::type_mismatch);
  EXPECT_THROW((void)text_field("2024-01-01 00:00:00", pg::oids::timestamp)
                   .as<chr::system_clock::time_point>(),
               pg::type_mismatch);  // a timestamp without zone is pg::timestamp
  EXPECT_THROW((void)text_field("40000", pg::oids::int4).as<std::int16_t>(),
               pg::value_out_of_range);
  EXPECT_THROW((void)text_field("-1", pg::oids::int4).as<unsigned>(), pg::value_out_of_range);
  EXPECT_THROW((void)text_field("99999999999999999999", pg::oids::int8).as<std::int64_t>(),
               pg::value_out_of_range);
  EXPECT_THROW((void)text_field("3000-01-01 00:00:00+00", pg::oids::timestamptz)
                   .as<chr::system_clock::time_point>(),
               pg::value_out_of_range);
  EXPECT_THROW((void)text_field("1e300", pg::oids::float8).as<float>(), pg::value_out_of_range);
  EXPECT_THROW((void)text_field("12x", pg::oids::int4).as<int>(), pg::malformed_value);
  EXPECT_THROW((void)text_field("2024-02-30", pg::oids::date).as<chr::year_month_day>(),
               pg::malformed_value);
  EXPECT_THROW((void)binary_field("abc", pg::oids::int8).as<std::int64_t>(), pg::malformed_value);
  EXPECT_THROW((void)text_field("{1,2", pg::oids::int4_array).as<std::vector<int>>(),
               pg::malformed_value);
  EXPECT_THROW((void)pg::uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"), pg::malformed_value);
  EXPECT_THROW((void)pg::uuid::parse("a0eebc99--9c0b4ef8bb6d6bb9bd380a11"), pg::malformed_value);
  EXPECT_EQ(pg::uuid::parse("{a0eebc999c0b4ef8bb6d6bb9bd380a11}"),
            pg::uuid::parse("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"));
  // Every conversion error is a pg::error with the SQLSTATE the server would use.
  try {
    (void)text_field("12x", pg::oids::int4).as<int>();
  } catch (const pg::error& e) {
    EXPECT_EQ(e.sqlstate(), "22P02");
  }
}

// --- against a server ----------------------------------------------------------------------

class PgCodecsServer : public ::testing::TestWithParam<bool> {  // param: binary results
 protected:
  // Start the cluster outside the runtime (it blocks in popen).
  static void SetUpTestSuite() { (void)pg_cluster::conninfo(); }
  pg::connection connect() {
    pg::connect_options o;
    o.binary_results = GetParam();
    auto c = balrog::await(pg::connection::connect(pg_cluster::conninfo(), o));
    balrog::await(c.execute_script("SET TimeZone = 'UTC'"));
    return c;
  }
  template <class T, class... A>
  T one(pg::connection& c, std::string sql, const A&... args) {
    auto r = balrog::await(c.query(std::move(sql), std::vector<pg::param>{pg::to_param(args)...}));
    EXPECT_EQ(r[0][0].is_binary(), GetParam());
    return r.template scalar<T>();
  }
  // Sends v as $1::type and reads it back as T.
  template <class T>
  T echo(pg::connection& c, const std::string& type, const T& v) {
    return one<T>(c, "SELECT $1::" + type, v);
  }
};

TEST_P(PgCodecsServer, ScalarsRoundTripThroughTheServer) {
  balrog::run([this] {
    auto c = connect();
    EXPECT_EQ(echo(c, "bool", true), true);
    EXPECT_EQ(echo(c, "bool", false), false);
    EXPECT_EQ(echo<std::int16_t>(c, "int2", -32768), -32768);
    EXPECT_EQ(echo<std::int32_t>(c, "int4", std::numeric_limits<std::int32_t>::max()),
              std::numeric_limits<std::int32_t>::max());
    for (std::int64_t v : {std::numeric_limits<std::int64_t>::min(), std::int64_t{0},
                           std::numeric_limits<std::int64_t>::max()}) {
      EXPECT_EQ(echo(c, "int8", v), v);
    }
    EXPECT_EQ(echo(c, "float4", 0.1f), 0.1f);
    EXPECT_EQ(echo(c, "float8", 0.1), 0.1);
    EXPECT_EQ(echo(c, "float8", 1e308), 1e308);
    EXPECT_EQ(echo(c, "float8", std::numeric_limits<double>::denorm_min()),
              std::numeric_limits<double>::denorm_min());
    EXPECT_TRUE(std::isnan(echo(c, "float8", std::nan(""))));
    EXPECT_TRUE(std::isnan(echo(c, "float4", std::nanf(""))));
    EXPECT_EQ(echo(c, "float8", -std::numeric_limits<double>::infinity()),
              -std::numeric_limits<double>::infinity());
    EXPECT_EQ(echo(c, "text", ""s), "");
    EXPECT_EQ(echo(c, "text", "żółw ✓"s), "żółw ✓");
    EXPECT_EQ(echo(c, "varchar", "v"s), "v");
    EXPECT_EQ(echo(c, "numeric", pg::numeric{"-123456789012345678901234567890.000000001"}),
              pg::numeric{"-123456789012345678901234567890.000000001"});
    EXPECT_EQ(echo(c, "numeric", pg::numeric{"0.0000"}), pg::numeric{"0.0000"});
    EXPECT_EQ(echo(c, "numeric", pg::numeric{"NaN"}), pg::numeric{"NaN"});
    EXPECT_EQ(echo(c, "numeric", pg::numeric{"-Infinity"}), pg::numeric{"-Infinity"});
    EXPECT_EQ(echo(c, "numeric", pg::numeric{"10000"}), pg::numeric{"10000"});
    EXPECT_EQ(echo(c, "bytea", bytes("\0a\0\xff\\"sv)), bytes("\0a\0\xff\\"sv));
    EXPECT_EQ(echo(c, "bytea", pg::bytea{}), pg::bytea{});
    const auto u = pg::uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    EXPECT_EQ(echo(c, "uuid", u), u);
    EXPECT_EQ(echo(c, "json", pg::json{R"({"b": 1,  "a": [true]})"}).text,
              R"({"b": 1,  "a": [true]})");  // json keeps the text as it was
    EXPECT_EQ(echo(c, "jsonb", pg::jsonb{R"({"b": 1,  "a": [true]})"}).text,
              R"({"a": [true], "b": 1})");  // jsonb normalizes
    EXPECT_EQ(echo(c, "date", chr::year_month_day(chr::year(2024) / 2 / 29)),
              chr::year(2024) / 2 / 29);
    EXPECT_EQ(echo(c, "date", chr::year_month_day(chr::year(-4713) / 11 / 24)),
              chr::year(-4713) / 11 / 24);  // 4714-11-24 BC: the first date Postgres has
  });
}

TEST_P(PgCodecsServer, TimestampsAndTimeZones) {
  balrog::run([this] {
    using tp = chr::system_clock::time_point;
    auto c = connect();
    for (tp t :
         {utc(2024, 3, 31, 1, 30, 0, 123'456), utc(1970, 1, 1), utc(1969, 12, 31, 23, 59, 59, 1),
          utc(1677, 9, 22), utc(2262, 4, 11), tp::max(), tp::min()}) {
      EXPECT_EQ(echo(c, "timestamptz", t), t);
    }
    // Nanoseconds go down to microseconds.
    EXPECT_EQ(echo(c, "timestamptz", utc(2000, 1, 1) + 1999ns), utc(2000, 1, 1) + 1us);
    // The session's time zone changes the text, never the instant.
    balrog::await(c.execute_script("SET TimeZone = 'Asia/Kathmandu'"));  // +05:45
    const tp instant = utc(2024, 1, 1, 0, 0, 0, 1);
    EXPECT_EQ(echo(c, "timestamptz", instant), instant);
    EXPECT_EQ(one<tp>(c, "SELECT '2024-01-01 05:45:00.000001'::timestamptz"), instant);
    if (!GetParam()) {
      EXPECT_EQ(one<std::string>(c, "SELECT $1::timestamptz", instant),
                "2024-01-01 05:45:00.000001+05:45");
    }
    balrog::await(c.execute_script("SET TimeZone = 'America/St_Johns'"));  // -03:30 in winter
    EXPECT_EQ(one<tp>(c, "SELECT '2024-01-01 00:00:00-03:30'::timestamptz"),
              utc(2024, 1, 1, 3, 30));
    balrog::await(c.execute_script("SET TimeZone = 'UTC'"));
    // Timestamps without zone: the wall clock, whatever the session's zone; Postgres' range
    // up to year 294246.
    const pg::timestamp wall{chr::sys_days(chr::year(-4713) / 11 / 24) + 1us};
    EXPECT_EQ(echo(c, "timestamp", wall), wall);
    const pg::timestamp far{chr::sys_days(chr::days(106'751'981)) + 23h};  // 294246-12-31
    EXPECT_EQ(pg::to_param(far).value, "294246-12-31 23:00:00");
    EXPECT_EQ(echo(c, "timestamp", far), far);
    EXPECT_EQ(one<pg::timestamp>(c, "SELECT 'infinity'::timestamp").value,
              chr::sys_time<chr::microseconds>::max());
    // Out of a time_point's range, or not a timestamptz at all: typed errors.
    EXPECT_THROW(one<tp>(c, "SELECT '3000-01-01'::timestamptz"), pg::value_out_of_range);
    EXPECT_THROW(one<tp>(c, "SELECT '2000-01-01'::timestamp"), pg::type_mismatch);
    EXPECT_THROW(one<chr::year_month_day>(c, "SELECT 'infinity'::date"), pg::value_out_of_range);
  });
}

TEST_P(PgCodecsServer, NullsAndTypedErrors) {
  balrog::run([this] {
    auto c = connect();
    EXPECT_EQ(one<std::optional<int>>(c, "SELECT $1::int4", std::optional<int>()), std::nullopt);
    EXPECT_EQ(one<std::optional<std::string>>(c, "SELECT $1::text", std::nullopt), std::nullopt);
    EXPECT_EQ(one<bool>(c, "SELECT $1 IS NULL", std::optional<std::int64_t>()), true);
    EXPECT_THROW(one<int>(c, "SELECT NULL::int4"), pg::unexpected_null);
    EXPECT_THROW(one<int>(c, "SELECT 'x'::text"), pg::type_mismatch);
    EXPECT_THROW(one<std::int16_t>(c, "SELECT 40000::int4"), pg::value_out_of_range);
    EXPECT_THROW(one<pg::uuid>(c, "SELECT 1"), pg::type_mismatch);
    // Integers widen and narrow between int2/4/8 when the value fits.
    EXPECT_EQ(one<std::int16_t>(c, "SELECT count(*) FROM generate_series(1, 3)"), 3);
    EXPECT_EQ(one<std::int64_t>(c, "SELECT 7::int2"), 7);
    EXPECT_EQ(one<double>(c, "SELECT 2.5::numeric"), 2.5);
    // A C++ int fills an int8 or numeric slot (parameters are text).
    EXPECT_EQ(one<std::int64_t>(c, "SELECT $1::int8 * 2", 21), 42);
    EXPECT_EQ(one<pg::numeric>(c, "SELECT $1::numeric / 4", 10).digits, "2.5000000000000000");
  });
}

TEST_P(PgCodecsServer, ArraysRoundTripThroughTheServer) {
  balrog::run([this] {
    auto c = connect();
    const std::vector<std::optional<std::int32_t>> ints{1, std::nullopt, -3};
    EXPECT_EQ(echo(c, "int4[]", ints), ints);
    const std::vector<std::int64_t> longs{std::numeric_limits<std::int64_t>::min(), 0};
    EXPECT_EQ(echo(c, "int8[]", longs), longs);
    EXPECT_EQ(echo(c, "int4[]", std::vector<int>{}), std::vector<int>{});
    const std::vector<std::optional<std::string>> texts{
        "", "a,b", "{x}", "q\"q", "b\\s", "NULL", std::nullopt, " pad ", "ü"};
    EXPECT_EQ(echo(c, "text[]", texts), texts);
    const std::vector<std::optional<std::vector<std::byte>>> blobs{bytes("\0\0"sv), std::nullopt};
    EXPECT_EQ(echo(c, "bytea[]", blobs), blobs);
    const std::vector<double> doubles{0.1, std::numeric_limits<double>::infinity()};
    EXPECT_EQ(echo(c, "float8[]", doubles), doubles);
    const std::vector<bool> bools{true, false};
    EXPECT_EQ(echo(c, "bool[]", bools), bools);
    const std::vector<pg::uuid> uuids{pg::uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")};
    EXPECT_EQ(echo(c, "uuid[]", uuids), uuids);
    const std::vector<chr::system_clock::time_point> times{utc(2024, 1, 1, 12), utc(1999, 1, 1)};
    EXPECT_EQ(echo(c, "timestamptz[]", times), times);
    const std::vector<pg::numeric> nums{{"1.50"}, {"NaN"}};
    EXPECT_EQ(echo(c, "numeric[]", nums), nums);
    const std::vector<pg::jsonb> docs{{"[1]"}, {R"({"a": "}"})"}};
    EXPECT_EQ(echo(c, "jsonb[]", docs), docs);
    // Arrays the server builds, with a NULL, and with a lower bound other than 1.
    EXPECT_EQ(one<std::vector<std::optional<std::string>>>(c, "SELECT ARRAY['a', NULL, 'c']"),
              (std::vector<std::optional<std::string>>{"a", std::nullopt, "c"}));
    EXPECT_EQ(one<std::vector<int>>(c, "SELECT '[0:1]={5,6}'::int4[]"), (std::vector<int>{5, 6}));
    EXPECT_THROW(one<std::vector<int>>(c, "SELECT ARRAY[1, NULL]"), pg::unexpected_null);
    EXPECT_THROW(one<std::vector<int>>(c, "SELECT '{{1},{2}}'::int4[]"), pg::type_mismatch);
    // = ANY($1): the common use of an array parameter.
    EXPECT_EQ(
        one<std::int64_t>(c, "SELECT count(*) FROM generate_series(1, 10) g WHERE g = ANY($1)",
                          std::vector<int>{2, 3, 42}),
        2);
  });
}

TEST_P(PgCodecsServer, StringsReadEveryBuiltInTypeAsPostgresPrintsIt) {
  balrog::run([this] {
    auto c = connect();
    // In text format this is the server's own output; in binary format balrog renders it, and
    // the two must agree.
    const std::vector<std::pair<std::string, std::string>> cases{
        {"true", "t"},
        {"(-32768)::int2", "-32768"},
        {"(-9223372036854775808)::int8", "-9223372036854775808"},
        {"4294967295::oid", "4294967295"},
        {"1.5::float4", "1.5"},
        {"0.1::float8", "0.1"},
        {"'NaN'::float8", "NaN"},
        {"'-Infinity'::float4", "-Infinity"},
        {"123.4500::numeric", "123.4500"},
        {"0.000001::numeric", "0.000001"},
        {"100000000::numeric", "100000000"},
        {"'-0.5'::numeric", "-0.5"},
        {"'\\x00ff'::bytea", "\\x00ff"},
        {"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        {"'{\"a\": 1}'::jsonb", "{\"a\": 1}"},
        {"'2024-02-29'::date", "2024-02-29"},
        {"'0044-03-15 BC'::date", "0044-03-15 BC"},
        {"'2024-02-29 01:02:03.5'::timestamp", "2024-02-29 01:02:03.5"},
        {"'2024-02-29 01:02:03+00'::timestamptz", "2024-02-29 01:02:03+00"},
        {"'infinity'::timestamptz", "infinity"},
        {"'x'::char(3)", "x  "},
        {"'n'::name", "n"},
    };
    for (const auto& [expr, want] : cases) {
      EXPECT_EQ(one<std::string>(c, "SELECT " + expr), want) << expr;
    }
    // A type balrog has no codec for reads as a string in text format only.
    if (GetParam()) {
      EXPECT_THROW(one<std::string>(c, "SELECT '1 day'::interval"), pg::type_mismatch);
    } else {
      EXPECT_EQ(one<std::string>(c, "SELECT '1 day'::interval"), "1 day");
    }
  });
}

TEST_P(PgCodecsServer, RowsConvertAsTuples) {
  balrog::run([this] {
    auto c = connect();
    auto r =
        balrog::await(c.query("SELECT 1::int8 AS id, 'ann'::text AS name, NULL::date AS born"));
    auto [id, name, born] =
        r[0].as<std::int64_t, std::string, std::optional<chr::year_month_day>>();
    EXPECT_EQ(id, 1);
    EXPECT_EQ(name, "ann");
    EXPECT_EQ(born, std::nullopt);
    EXPECT_EQ(r[0].get<std::string>("name"), "ann");
    EXPECT_THROW((void)r[0].as<std::int64_t>(), balrog::usage_error);
    try {
      (void)r[0].get<chr::year_month_day>("born");
      FAIL();
    } catch (const pg::unexpected_null& e) {
      EXPECT_NE(std::string(e.what()).find("column 2 \"born\""), std::string::npos) << e.what();
    }
  });
}

TEST_P(PgCodecsServer, UserCodecsWorkAloneInOptionalsAndInArrays) {
  balrog::run([this] {
    auto c = connect();
    EXPECT_EQ(echo(c, "float8", celsius{-40}), celsius{-40});
    EXPECT_EQ(echo(c, "float8", std::optional<celsius>()), std::nullopt);
    EXPECT_EQ(pg::to_param(std::vector<celsius>{}).oid, pg::oids::float8_array);
    const std::vector<std::optional<celsius>> temps{celsius{36.6}, std::nullopt};
    EXPECT_EQ(echo(c, "float8[]", temps), temps);
  });
}

INSTANTIATE_TEST_SUITE_P(Formats, PgCodecsServer, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "BinaryResults" : "TextResults";
                         });
