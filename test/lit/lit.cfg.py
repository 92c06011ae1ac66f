# lit configuration for balrog-gen's tests (test/lit). Run through ctest (`lit` test), or:
#   /usr/lib/llvm-16/build/utils/lit/lit.py -sv build/dev/test/lit
import os
import shutil
import lit.formats

config.name = "balrog-gen"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".cpp", ".c", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "README.md", "check_balrog.py", "check_tidy.py",
                   "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.balrog_binary_dir, "test", "lit")

python = config.python_executable
check = "%s %s --balrog-gen %s --filecheck %s" % (
    python, os.path.join(config.test_source_root, "check_balrog.py"), config.balrog_gen,
    os.path.join(config.llvm_tools_dir, "FileCheck"))
std_flags = "-std=c++20 -I%s" % config.runtime_include_dir
config.substitutions.append(("%check_balrog", check))
config.substitutions.append(("%balrog_gen", config.balrog_gen))
config.substitutions.append(("%balrog_std_flags", std_flags))
config.substitutions.append(("%runtime_include", config.runtime_include_dir))
config.substitutions.append(("%repo_root", os.path.dirname(os.path.dirname(config.test_source_root))))
config.substitutions.append(("%llvm_include", os.path.join(os.path.dirname(config.llvm_tools_dir), "include")))
config.substitutions.append(("%python", python))
# py-bindings: what compiles a generated module (pybind11 and Python headers, the bridge's).
import sysconfig
repo_root = os.path.dirname(os.path.dirname(config.test_source_root))
config.substitutions.append(("%pybind_flags", "-I%s -I%s -isystem %s" % (
    os.path.join(repo_root, "pybridge", "include"), config.runtime_include_dir,
    sysconfig.get_paths()["include"])))
config.substitutions.append(("%clang_apply_replacements",
                             os.path.join(config.llvm_tools_dir, "clang-apply-replacements")))
for tool in ("FileCheck", "not", "count"):
    config.substitutions.append(("%" + tool, os.path.join(config.llvm_tools_dir, tool)))
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, config.environment.get("PATH", "")])
# The balrog-* clang-tidy checks (test/lit/tidy): libbalrog-tidy.so loaded into clang-tidy 16.
clang_tidy = os.path.join(config.llvm_tools_dir, "clang-tidy")
if config.balrog_tidy_plugin and os.path.exists(clang_tidy):
    config.available_features.add("balrog-tidy")
    config.substitutions.append(("%check_tidy", "%s %s --clang-tidy %s --plugin %s --balrog-gen %s --filecheck %s" % (
        python, os.path.join(config.test_source_root, "check_tidy.py"), clang_tidy,
        config.balrog_tidy_plugin, config.balrog_gen, os.path.join(config.llvm_tools_dir, "FileCheck"))))
    config.substitutions.append(("%clang_tidy", clang_tidy))
    config.substitutions.append(("%balrog_tidy_plugin", config.balrog_tidy_plugin))
# `script` (util-linux) runs a command on a pseudo-terminal: tests of terminal-only output.
if shutil.which("script"):
    config.available_features.add("script")
