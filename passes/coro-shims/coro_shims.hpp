// coro-shims: blocking-style wrappers of the functions that return awaitables.
// See README.md beside this file and docs/passes/coro-shims.md.
//
// This pass does not rewrite files (its registry entry has no `make`): balrog-gen's
// --emit-shims mode (tool/src/shims/) parses each input header, calls collect() on it, checks
// the shims of all headers together with check_collisions(), and writes render()'s text.
//
//   namespace db {
//   struct connection { task<result> async_query(std::string_view sql, deadline until = 5s); };
//   task<connection> async_connect(std::string conninfo);
//   }
//   // becomes
//   namespace db::blocking {
//   inline db::connection connect(std::string conninfo) {
//     return balrog::await(db::async_connect(std::move(conninfo)));
//   }
//   inline db::result query(db::connection& self, std::string_view sql, balrog::deadline until =
//   5s) {
//     return balrog::await(self.async_query(sql, until));
//   }
//   }  // namespace db::blocking
#pragma once

#include <clang/AST/ASTContext.h>
#include <clang/Basic/SourceLocation.h>

#include <functional>
#include <string>
#include <vector>

#include "pass.hpp"

namespace clang {
class Sema;
}

namespace balrog::gen::coro_shims {

inline constexpr const char* pass_name = "coro-shims";

// One component of a namespace name: `inline v1` is {"v1", true}.
struct namespace_part {
  std::string name;
  bool is_inline = false;

  friend bool operator==(const namespace_part&, const namespace_part&) = default;
};

// One wrapper, as text (no AST pointers: shims of several headers are checked and rendered
// together after their translation units are gone).
struct shim {
  std::vector<namespace_part> target;  // where it goes; empty: the global namespace
  std::string heading;                 // "Members of ns::C", "Functions of ns": a comment above
  std::string template_head;           // "template <class T>" or empty
  std::string specifiers;              // "inline", "static inline" (beside a static function)...
  std::string result;                  // "void", "std::size_t", or "auto" when unknown
  std::string name;
  std::vector<std::string> params;  // "balrog::net::stream& self", "int n = 3"...
  std::string trailing_requires;    // "requires ..." or empty
  std::string call;                 // the awaitable expression: "self.async_read_some(into, until)"

  std::string key;     // what makes two shims the same function (target, name, parameter types)
  std::string origin;  // the wrapped function, for messages: "db::connection::async_query"
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
};

struct message {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  severity level = severity::warning;
  std::string text;
};

struct options {
  // --shims-namespace, already split; empty: a `blocking` namespace inside each function's own.
  std::vector<namespace_part> target;
  bool target_is_global = false;  // --shims-namespace=::
  // Whether a declaration at this location is under a NOBALROG(coro-shims) comment.
  std::function<bool(clang::SourceLocation)> suppressed;
  // The translation unit's Sema, if it is still alive: completes class template
  // specializations that the header only names (to tell their result types and whether a
  // by-value parameter is worth moving).
  clang::Sema* sema = nullptr;
};

// Parses --shims-namespace ("a::b", "a::inline b", "::"); false (and `error`) when malformed.
bool parse_namespace(const std::string& text, options& out, std::string& error);

// The shims of the awaitable-returning functions declared in the main file of `ctx`, in
// declaration order. Problems (a shim that cannot be written, one that would redeclare an
// existing function) are appended to `messages`; errors among them mean "write nothing".
std::vector<shim> collect(clang::ASTContext& ctx, const options& opts,
                          std::vector<message>& messages);

// Reports shims that would be the same function (two overloads that map to one signature);
// returns false if there is any.
bool check_collisions(const std::vector<shim>& shims, std::vector<message>& messages);

// The generated header, unformatted. `sources`: the input headers as the header includes them
// ("balrog/net/stream.hpp"), in order.
std::string render(const std::vector<std::string>& sources, const std::vector<shim>& shims);

}  // namespace balrog::gen::coro_shims
