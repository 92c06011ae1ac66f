// A small library exported to Python with balrog_python_module() (test_py_bindings.py).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "balrog/python/export.hpp"
#include "balrog/task.hpp"

namespace pyb_demo {

/// Base class of the demo's errors.
struct BALROG_EXPORT demo_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Raised when a lookup finds nothing.
struct BALROG_EXPORT not_found : demo_error {
  using demo_error::demo_error;
};

/// Primary colours.
enum class BALROG_EXPORT color { red, green, blue };

/// A labelled point on the plane.
struct BALROG_EXPORT point {
  double x = 0;
  double y = 0;
  /// What the point is called.
  std::string label;
};

/// Adds two integers.
BALROG_EXPORT std::int64_t add(std::int64_t a, std::int64_t b);

/// Sleeps on a balrog fiber for `d`, then returns it.
BALROG_EXPORT std::chrono::milliseconds nap(std::chrono::milliseconds d);

BALROG_EXPORT point scale(const point& p, double k);
BALROG_EXPORT color next_color(color c);
BALROG_EXPORT std::string greet(std::string_view name);
BALROG_EXPORT std::vector<std::byte> reversed(std::vector<std::byte> data);
BALROG_EXPORT std::map<std::string, int> count_words(const std::vector<std::string>& words);
BALROG_EXPORT std::optional<int> find_index(const std::vector<int>& xs, int x);
BALROG_EXPORT std::variant<int, std::string> parse(const std::string& text);
BALROG_EXPORT std::chrono::system_clock::time_point later(std::chrono::system_clock::time_point t,
                                                          std::chrono::seconds by);
BALROG_EXPORT bool is_fiber();

/// Throws not_found naming `what`.
BALROG_EXPORT void lookup(const std::string& what);

/// Doubles `x` after `ms` milliseconds, as a coroutine.
BALROG_EXPORT balrog::task<int> slow_double(int x, int ms);

}  // namespace pyb_demo
