// Which return types are awaitables, and what co_await on them yields.
//
// A function returns an awaitable when it returns by value (a prvalue) one of:
//  - balrog::task<T> (yields T);
//  - a class with await_ready, await_suspend and await_resume members (an awaiter; yields
//    what await_resume returns);
//  - a class with a member operator co_await that an rvalue can call (unqualified, &&, or
//    const&), or with a non-member operator co_await that takes it by value, const& or && and
//    is declared in its namespace or as its friend (yields what the returned awaiter's
//    await_resume returns).
// Class templates count through their definition, so `template <class T> my_future<T> f()`
// is recognized without instantiating anything. Not recognized: references and pointers to
// awaitables, types made awaitable only by a coroutine's await_transform, or by an operator
// co_await declared in an unrelated namespace.
#pragma once

#include <clang/AST/ASTContext.h>
#include <clang/AST/TypeLoc.h>

#include <optional>

namespace clang {
class Sema;
}

namespace balrog::gen::coro_shims {

struct awaitable_info {
  bool is_task = false;
  // What co_await yields, without references or cv (balrog::await returns values). Null when
  // it cannot be told without instantiating templates: the shim then returns `auto`.
  clang::QualType result;
  // Where the yield is spelled in the declaration, if it is (copied as written): task<T>'s T,
  // or a foreign awaitable's template argument of the same type (my_future<std::string>).
  clang::TypeLoc result_loc;
};

// `sema`, when given, instantiates class template specializations that the declaration does
// not instantiate itself (a return type needs no definition), so their yield is known exactly.
std::optional<awaitable_info> classify_awaitable(const clang::FunctionDecl& fd,
                                                 clang::ASTContext& ctx, clang::Sema* sema);

}  // namespace balrog::gen::coro_shims
