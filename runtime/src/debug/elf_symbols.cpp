#include "debug/elf_symbols.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace balrog::detail {

namespace {

struct symbol {
  std::uintptr_t value;
  std::uintptr_t size;
  std::string name;
};

struct module_table {
  bool position_independent = true;  // ET_DYN: symbol values are offsets from the load base
  std::vector<symbol> functions;     // sorted by value
};

// Reads FUNC symbols from .symtab. Empty when the file is stripped or not ELF64.
module_table load(const std::string& path) {
  module_table t;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return t;
  struct stat st {};
  void* map = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  if (map == MAP_FAILED) return t;
  const auto* bytes = static_cast<const unsigned char*>(map);
  const auto size = static_cast<std::size_t>(st.st_size);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(bytes);
  const bool elf64 =
      std::equal(bytes, bytes + SELFMAG, ELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64;
  if (elf64 && eh->e_shoff + std::size_t{eh->e_shnum} * sizeof(Elf64_Shdr) <= size) {
    t.position_independent = eh->e_type == ET_DYN;
    const auto* sh = reinterpret_cast<const Elf64_Shdr*>(bytes + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; ++i) {
      if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
      const Elf64_Shdr& strtab = sh[sh[i].sh_link];
      if (sh[i].sh_offset + sh[i].sh_size > size || strtab.sh_offset + strtab.sh_size > size) {
        continue;
      }
      const auto* syms = reinterpret_cast<const Elf64_Sym*>(bytes + sh[i].sh_offset);
      const std::size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
      const char* names = reinterpret_cast<const char*>(bytes + strtab.sh_offset);
      for (std::size_t k = 0; k < count; ++k) {
        const Elf64_Sym& s = syms[k];
        if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0 ||
            s.st_name >= strtab.sh_size) {
          continue;
        }
        t.functions.push_back({s.st_value, s.st_size, names + s.st_name});
      }
    }
    std::sort(t.functions.begin(), t.functions.end(),
              [](const symbol& a, const symbol& b) { return a.value < b.value; });
  }
  ::munmap(map, size);
  return t;
}

}  // namespace

std::mutex& elf_symbols_mutex() noexcept {
  static std::mutex mutex;
  return mutex;
}

std::optional<symbol_hit> lookup_elf_symbol(const std::string& path, std::uintptr_t base,
                                            std::uintptr_t address) {
  static std::map<std::string, std::unique_ptr<module_table>> tables;
  std::lock_guard lk(elf_symbols_mutex());
  auto& slot = tables[path];
  if (!slot) slot = std::make_unique<module_table>(load(path));
  const module_table& t = *slot;
  const std::uintptr_t key = t.position_independent ? address - base : address;
  auto it = std::upper_bound(t.functions.begin(), t.functions.end(), key,
                             [](std::uintptr_t k, const symbol& s) { return k < s.value; });
  if (it == t.functions.begin()) return std::nullopt;
  --it;
  if (key >= it->value + std::max<std::uintptr_t>(it->size, 1)) return std::nullopt;
  return symbol_hit{it->name, key - it->value};
}

}  // namespace balrog::detail
