// balrog/pg/result.hpp — the rows a statement returned.
//
//   pg::result r = co_await conn.query("select id, name, born from person where id = $1", 7);
//   for (pg::row row : r) {
//     auto id = row.get<std::int64_t>("id");
//     auto name = row.get<std::optional<std::string>>(1);  // NULL -> nullopt
//   }
//
//   auto [id, name] = r[0].as<std::int64_t, std::string>();  // all the row's columns, in order
//
//   struct person { std::int64_t id; std::string name; std::optional<year_month_day> born; };
//   person p = r.one<person>();                  // the only row, into a struct (Boost.PFR)
//   std::vector<person> all = r.all<person>();   // every row
//   std::optional<std::string> n = r.opt<std::string>();  // a one-column row, or none
//
// A result owns its PGresult (freed on destruction); rows and fields are views into it and
// must not outlive it. Values convert with get<T>() / as<T...>() / to<T>(): see
// balrog/pg/types.hpp for the types, the formats and the errors (pg::conversion_error and its
// subclasses; a NULL read as anything but std::optional<...> throws pg::unexpected_null).
// Column lookups by name are case-sensitive, like PQfnumber with a quoted name.
//
// Rows into types (row::to<T>, result::one/opt/all<T>). T is
//  - an aggregate struct with no value_codec of its own: its fields are filled from the
//    columns in order (Boost.PFR; the row must have exactly as many columns as T has fields,
//    names are not matched);
//  - a std::tuple<...>: likewise, element by element;
//  - anything else: a value_codec type, read from the row's only column.
// A wrong number of columns is balrog::usage_error; a wrong number of rows (one() of zero or
// two rows, opt() of two) is pg::unexpected_rows.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/pfr/core.hpp>

#include "balrog/pg/types.hpp"

struct pg_result;  // libpq's PGresult

namespace balrog::pg {

class row;

class result {
 public:
  result() noexcept = default;
  explicit result(pg_result* owned) noexcept : res_(owned) {}

  [[nodiscard]] std::size_t size() const noexcept;  // rows
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t columns() const noexcept;
  [[nodiscard]] std::string_view column_name(std::size_t column) const;
  // The column's index; throws pg::error when there is no such column.
  [[nodiscard]] std::size_t column_index(std::string_view name) const;
  [[nodiscard]] std::uint32_t column_type(std::size_t column) const;  // the type's OID
  // "INSERT 0 1", "SELECT 3"... and the count in it (rows inserted, updated, deleted, copied...).
  [[nodiscard]] std::string_view command_tag() const noexcept;
  [[nodiscard]] std::uint64_t rows_affected() const noexcept;

  [[nodiscard]] row operator[](std::size_t i) const;
  // The only row's only column (throws pg::error unless the result is 1x1).
  template <class T>
  [[nodiscard]] T scalar() const;
  // The only row as T (see "Rows into types" above); unexpected_rows unless there is exactly
  // one row.
  template <class T>
  [[nodiscard]] T one() const;
  // The only row as T, or nullopt when there is none; unexpected_rows for two or more.
  template <class T>
  [[nodiscard]] std::optional<T> opt() const;
  // Every row as T.
  template <class T>
  [[nodiscard]] std::vector<T> all() const;
  // Throws unexpected_rows unless the result has at least `least` and at most `most` rows.
  void expect_rows(std::size_t least, std::size_t most) const;

  class iterator;
  [[nodiscard]] iterator begin() const noexcept;
  [[nodiscard]] iterator end() const noexcept;

  // The libpq result, still owned by this object.
  [[nodiscard]] pg_result* native_handle() const noexcept { return res_.get(); }

 private:
  struct deleter {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, deleter> res_;
};

class row {
 public:
  row(const result& r, std::size_t index) noexcept : r_(&r), index_(index) {}
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] std::size_t size() const noexcept { return r_->columns(); }
  [[nodiscard]] field operator[](std::size_t column) const { return at(column); }
  [[nodiscard]] field operator[](std::string_view name) const { return at(r_->column_index(name)); }

  template <class T>
  [[nodiscard]] T get(std::size_t column) const {
    return at(column).template as<T>();
  }
  template <class T>
  [[nodiscard]] T get(std::string_view name) const {
    return at(r_->column_index(name)).template as<T>();
  }
  // Every column, converted: as<std::int64_t, std::string>() for a two-column row. Throws
  // balrog::usage_error when the row does not have exactly sizeof...(T) columns.
  template <class... T>
  [[nodiscard]] std::tuple<T...> as() const {
    check_columns(sizeof...(T));
    return as_impl<T...>(std::index_sequence_for<T...>{});
  }
  // The row as T: a struct, a tuple or one value (see "Rows into types" above).
  template <class T>
  [[nodiscard]] T to() const;

 private:
  [[nodiscard]] field at(std::size_t column) const;
  void check_columns(std::size_t wanted) const;
  template <class... T, std::size_t... I>
  std::tuple<T...> as_impl(std::index_sequence<I...>) const {
    // Braced initialization: the columns convert left to right.
    return std::tuple<T...>{field(*r_, index_, I).template as<T>()...};
  }
  template <class T, std::size_t... I>
  void fill(T& out, std::index_sequence<I...>) const {
    ((boost::pfr::get<I>(out) =
          field(*r_, index_, I).template as<boost::pfr::tuple_element_t<I, T>>()),
     ...);
  }
  template <class T>
  struct tuple_of;
  template <class... E>
  struct tuple_of<std::tuple<E...>> {
    static std::tuple<E...> read(const row& r) { return r.as<E...>(); }
  };
  const result* r_;
  std::size_t index_;
};

// Rows by index. A C++20 random-access iterator whose reference is a row (a small view, made
// on demand): std::distance, std::vector<row>(r.begin(), r.end()) and std::ranges algorithms
// work. (As a C++17 iterator it is an input iterator: *it is not a true reference.)
class result::iterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using iterator_concept = std::random_access_iterator_tag;
  using value_type = row;
  using difference_type = std::ptrdiff_t;
  using reference = row;
  struct pointer {  // what operator-> returns: a row kept alive for the member access
    row r;
    const row* operator->() const noexcept { return &r; }
  };

  iterator() noexcept = default;
  iterator(const result* r, std::size_t i) noexcept : r_(r), i_(i) {}
  row operator*() const noexcept { return row(*r_, i_); }
  pointer operator->() const noexcept { return pointer{row(*r_, i_)}; }
  row operator[](difference_type n) const noexcept { return *(*this + n); }

  iterator& operator++() noexcept { return *this += 1; }
  iterator operator++(int) noexcept { return iterator(r_, i_++); }
  iterator& operator--() noexcept { return *this -= 1; }
  iterator operator--(int) noexcept { return iterator(r_, i_--); }
  iterator& operator+=(difference_type n) noexcept {
    i_ = static_cast<std::size_t>(static_cast<difference_type>(i_) + n);
    return *this;
  }
  iterator& operator-=(difference_type n) noexcept { return *this += -n; }
  friend iterator operator+(iterator it, difference_type n) noexcept { return it += n; }
  friend iterator operator+(difference_type n, iterator it) noexcept { return it += n; }
  friend iterator operator-(iterator it, difference_type n) noexcept { return it -= n; }
  friend difference_type operator-(const iterator& a, const iterator& b) noexcept {
    return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
  }
  friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }
  friend auto operator<=>(const iterator& a, const iterator& b) noexcept { return a.i_ <=> b.i_; }

 private:
  const result* r_ = nullptr;
  std::size_t i_ = 0;
};

namespace detail {

template <class T>
struct is_tuple : std::false_type {};
template <class... E>
struct is_tuple<std::tuple<E...>> : std::true_type {};

// A value_codec decodes T: then T is one value, even when it is an aggregate (pg::uuid...).
template <class T>
concept decodable = requires(const field& f) { value_codec<T>::decode(f); };

// A struct whose fields are filled from the columns in order.
template <class T>
concept row_struct = std::is_class_v<T> && std::is_aggregate_v<T> && !decodable<T> &&
                     !is_tuple<T>::value && std::is_default_constructible_v<T>;

}  // namespace detail

template <class T>
T row::to() const {
  if constexpr (detail::is_tuple<T>::value) {
    return tuple_of<T>::read(*this);
  } else if constexpr (detail::row_struct<T>) {
    check_columns(boost::pfr::tuple_size_v<T>);
    T out{};
    fill(out, std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    return out;
  } else {
    check_columns(1);
    return at(0).template as<T>();
  }
}

template <class T>
T result::scalar() const {
  if (size() != 1 || columns() != 1) {
    throw_usage("result::scalar: the result has " + std::to_string(size()) + " row(s) and " +
                std::to_string(columns()) + " column(s), not one value");
  }
  return (*this)[0].template get<T>(0);
}

template <class T>
T result::one() const {
  expect_rows(1, 1);
  return (*this)[0].template to<T>();
}

template <class T>
std::optional<T> result::opt() const {
  expect_rows(0, 1);
  if (empty()) return std::nullopt;
  return (*this)[0].template to<T>();
}

template <class T>
std::vector<T> result::all() const {
  std::vector<T> out;
  out.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) out.push_back((*this)[i].template to<T>());
  return out;
}

}  // namespace balrog::pg
