// Names for addresses that dladdr cannot name: functions with internal linkage (lambdas, static
// functions, anonymous namespaces, GCC's coroutine .actor clones) are not exported, but the
// ELF .symtab of an unstripped module lists them. Tables load on first use, once per module.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace balrog::detail {

struct symbol_hit {
  std::string mangled;
  std::uintptr_t offset;  // from the symbol's start
};

// `address` lies in the module at `path`, loaded at `base` (dladdr's dli_fbase).
std::optional<symbol_hit> lookup_elf_symbol(const std::string& path, std::uintptr_t base,
                                            std::uintptr_t address);
// Guards the tables. A leaf: nothing else is locked while it is held. The watchdog's fork
// handlers take it across fork() (watchdog.cpp).
std::mutex& elf_symbols_mutex() noexcept;

}  // namespace balrog::detail
