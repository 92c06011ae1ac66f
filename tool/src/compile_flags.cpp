#include "compile_flags.hpp"

#include <clang/Driver/Options.h>
#include <llvm/Option/ArgList.h>
#include <llvm/Option/OptTable.h>

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
