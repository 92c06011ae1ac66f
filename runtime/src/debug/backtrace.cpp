#include "debug/backtrace.hpp"

#include "debug/elf_symbols.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

namespace balrog::detail {

std::size_t walk_frames(std::uintptr_t pc, std::uintptr_t fp, stack_bounds bounds,
                        std::uintptr_t* out, std::size_t max) noexcept {
  std::size_t n = 0;
  if (max == 0 || pc == 0) return 0;
  out[n++] = pc;
  // Each frame: [fp] = the caller's fp, [fp + 8] = the return address into the caller.
  while (n < max && fp % sizeof(std::uintptr_t) == 0 && bounds.contains(fp, 2 * sizeof(fp))) {
    const auto* frame = reinterpret_cast<const std::uintptr_t*>(fp);
    const std::uintptr_t next_fp = frame[0];
    const std::uintptr_t ret = frame[1];
    if (ret == 0) break;
    out[n++] = ret;
    if (next_fp <= fp) break;  // stacks grow down: callers' frames are higher
    fp = next_fp;
  }
  return n;
}

std::size_t walk_suspended(const void* fctx, stack_bounds bounds, std::uintptr_t* out,
                           std::size_t max) noexcept {
  const auto base = reinterpret_cast<std::uintptr_t>(fctx);
  if (!bounds.contains(base, 0x48)) return 0;
  const auto* save = reinterpret_cast<const std::uintptr_t*>(base);
  return walk_frames(save[8], save[7], bounds, out, max);  // return address, rbp
}

namespace {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(name);
}

}  // namespace

std::string symbolize_one(std::uintptr_t pc, bool is_return_address) {
  const std::uintptr_t lookup = is_return_address && pc > 0 ? pc - 1 : pc;
  Dl_info info{};
  char buf[32];
  std::string line;
  std::optional<symbol_hit> local;
  if (::dladdr(reinterpret_cast<void*>(lookup), &info) != 0 && info.dli_sname == nullptr &&
      info.dli_fname != nullptr) {
    local =
        lookup_elf_symbol(info.dli_fname, reinterpret_cast<std::uintptr_t>(info.dli_fbase), lookup);
  }
  if (info.dli_sname != nullptr) {
    line = demangle(info.dli_sname);
    std::snprintf(
        buf, sizeof buf, "+0x%lx",
        static_cast<unsigned long>(lookup - reinterpret_cast<std::uintptr_t>(info.dli_saddr)));
    line += buf;
  } else if (local) {
    line = demangle(local->mangled.c_str());
    std::snprintf(buf, sizeof buf, "+0x%lx", static_cast<unsigned long>(local->offset));
    line += buf;
  } else if (info.dli_fbase != nullptr) {
    // No exported symbol (internal linkage, or not built with -rdynamic): the offset in the
    // module is what addr2line -e <module> takes.
    std::snprintf(
        buf, sizeof buf, "+0x%lx",
        static_cast<unsigned long>(lookup - reinterpret_cast<std::uintptr_t>(info.dli_fbase)));
    line = std::string(info.dli_fname != nullptr ? info.dli_fname : "?") + buf;
    return line;
  } else {
    std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(pc));
    line = buf;
  }
  if (info.dli_fname != nullptr) {
    line += " (";
    line += info.dli_fname;
    line += ")";
  }
  return line;
}

std::vector<std::string> symbolize(const std::uintptr_t* pcs, std::size_t n) {
  std::vector<std::string> lines;
  lines.reserve(n);
  for (std::size_t i = 0; i < n; ++i) lines.push_back(symbolize_one(pcs[i], i > 0));
  return lines;
}

}  // namespace balrog::detail
