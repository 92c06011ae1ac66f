#include "pyb_demo/api.hpp"

#include <algorithm>
#include <charconv>

#include "balrog/sleep.hpp"
#include "balrog/this_fiber.hpp"

namespace pyb_demo {

std::int64_t add(std::int64_t a, std::int64_t b) { return a + b; }

std::chrono::milliseconds nap(std::chrono::milliseconds d) {
  balrog::this_fiber::sleep_for(d);
  return d;
}

point scale(const point& p, double k) { return {p.x * k, p.y * k, p.label + "*"}; }

color next_color(color c) {
  switch (c) {
    case color::red:
      return color::green;
    case color::green:
      return color::blue;
    case color::blue:
      break;
  }
  return color::red;
}

std::string greet(std::string_view name) { return "hello " + std::string(name); }

std::vector<std::byte> reversed(std::vector<std::byte> data) {
  std::reverse(data.begin(), data.end());
  return data;
}

std::map<std::string, int> count_words(const std::vector<std::string>& words) {
  std::map<std::string, int> out;
  for (const std::string& w : words) ++out[w];
  return out;
}

std::optional<int> find_index(const std::vector<int>& xs, int x) {
  auto it = std::find(xs.begin(), xs.end(), x);
  if (it == xs.end()) return std::nullopt;
  return static_cast<int>(it - xs.begin());
}

std::variant<int, std::string> parse(const std::string& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size()) return value;
  return text;
}

std::chrono::system_clock::time_point later(std::chrono::system_clock::time_point t,
                                            std::chrono::seconds by) {
  return t + by;
}

bool is_fiber() { return static_cast<bool>(balrog::this_fiber::id()); }

void lookup(const std::string& what) { throw not_found("no " + what); }

balrog::task<int> slow_double(int x, int ms) {
  co_await balrog::sleep_for(std::chrono::milliseconds(ms));
  co_return x * 2;
}

}  // namespace pyb_demo
