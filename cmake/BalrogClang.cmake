# Clang 16 for balrog-gen, as one INTERFACE target: balrog_clang.
# clang 14 cannot parse libstdc++-12's <ranges>, hence 16 exactly (Debian: /usr/lib/llvm-16).
find_package(Clang 16 CONFIG QUIET
  HINTS /usr/lib/llvm-16/lib/cmake/clang /usr/lib/cmake/clang-16)
if(NOT Clang_FOUND)
  message(WARNING "Clang 16 (libclang-16-dev) not found: balrog-gen is not built. "
                  "Run scripts/bootstrap, or configure with -DBALROG_BUILD_TOOL=OFF.")
  set(BALROG_BUILD_TOOL OFF)
  return()
endif()

add_library(balrog_clang INTERFACE)
# SYSTEM: LLVM's headers are not held to balrog's warning flags.
target_include_directories(balrog_clang SYSTEM INTERFACE ${CLANG_INCLUDE_DIRS} ${LLVM_INCLUDE_DIRS})
separate_arguments(_llvm_definitions UNIX_COMMAND "${LLVM_DEFINITIONS}")
target_compile_definitions(balrog_clang INTERFACE ${_llvm_definitions})
# The shared libraries: one link instead of dozens of static archives, and a fast one.
target_link_libraries(balrog_clang INTERFACE clang-cpp LLVM balrog::compile_options)
# LLVM is built without exceptions; balrog-gen uses them only in its own code.
set(BALROG_CLANG_RESOURCE_DIR "${LLVM_LIBRARY_DIR}/clang/${LLVM_VERSION_MAJOR}" CACHE PATH
    "clang's resource directory (builtin headers) that balrog-gen falls back to")
# GCC 12 at -O2/-O3 reports -Wnull-dereference and -Wrestrict false positives inside Clang's
# and libstdc++'s inline code (DeclBase.h getKind(), char_traits::copy) once it inlines them
# into the passes. They are not in our code and -Werror would break the Release tool, so the
# targets built on Clang set BALROG_GCC_FALSE_POSITIVES (cmake/BalrogCompileOptions.cmake).
