#include "compile_flags.hpp"

#include <clang/Driver/Options.h>
#include <llvm/Option/ArgList.h>
#include <llvm/Option/OptTable.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/StringSaver.h>

#include <vector>

#include "output.hpp"

namespace balrog::gen {

void dropped_flags::add(const std::string& flag) {
  std::lock_guard lk(mutex_);
  flags_.insert(flag);
}

std::set<std::string> dropped_flags::all() const {
  std::lock_guard lk(mutex_);
  return flags_;
}

std::vector<const char*> expand_shell_options(int argc, const char** argv,
                                              std::vector<std::string>& storage) {
  bool after_dashes = false;
  std::vector<std::pair<int, std::size_t>> split;  // argv index -> first of its pieces
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (!after_dashes) {
      after_dashes = arg == "--";
      continue;
    }
    if (!arg.consume_front("SHELL:")) continue;
    llvm::BumpPtrAllocator allocator;
    llvm::StringSaver saver(allocator);
    llvm::SmallVector<const char*, 4> pieces;
    llvm::cl::TokenizeGNUCommandLine(arg, saver, pieces);
    split.emplace_back(i, storage.size());
    for (const char* p : pieces) storage.emplace_back(p);
    split.emplace_back(-1, storage.size());  // end marker
  }
  std::vector<const char*> out;
  std::size_t next = 0;
  for (int i = 0; i < argc; ++i) {
    if (next < split.size() && split[next].first == i) {
      for (std::size_t k = split[next].second; k < split[next + 1].second; ++k) {
        out.push_back(storage[k].c_str());
      }
      next += 2;
    } else {
      out.push_back(argv[i]);
    }
  }
  return out;
}

clang::tooling::ArgumentsAdjuster drop_unknown_flags(dropped_flags& log) {
  return [&log](const clang::tooling::CommandLineArguments& args, llvm::StringRef) {
    if (args.size() < 2) return args;
    const llvm::opt::OptTable& table = clang::driver::getDriverOptTable();
    std::vector<const char*> argv;
    for (size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
    unsigned missing_index = 0;
    unsigned missing_count = 0;
    const llvm::opt::InputArgList parsed = table.ParseArgs(argv, missing_index, missing_count);
    std::vector<bool> drop(argv.size(), false);
    for (const llvm::opt::Arg* a : parsed) {
      if (a->getOption().getID() != clang::driver::options::OPT_UNKNOWN) continue;
      drop[a->getIndex()] = true;
      log.add(a->getAsString(parsed));
    }
    clang::tooling::CommandLineArguments out{args[0]};
    for (size_t i = 0; i < argv.size(); ++i) {
      if (!drop[i]) out.push_back(args[i + 1]);
    }
    return out;
  };
}

clang::tooling::ArgumentsAdjuster add_resource_dir(std::string dir) {
  return [dir = std::move(dir)](const clang::tooling::CommandLineArguments& args, llvm::StringRef) {
    if (dir.empty()) return args;
    for (const std::string& a : args) {
      if (llvm::StringRef(a).startswith("-resource-dir")) return args;
    }
    clang::tooling::CommandLineArguments out(args);
    out.insert(out.begin() + (out.empty() ? 0 : 1), "-resource-dir=" + dir);
    return out;
  };
}

void print_dropped(const dropped_flags& dropped, const diagnostic_printer& printer) {
  for (const std::string& flag : dropped.all()) {
    printer.print({"", 0, 0, severity::note,
                   "dropped '" + flag + "' from the compile command: clang does not know it", ""});
  }
}

}  // namespace balrog::gen
