# balrog_python_add_module(<name> [sources...]) — a pybind11 extension module whose C++ calls
# balrog's runtime and drivers from Python greenlets (balrog/python/await.hpp: await_task,
# await_fiber). It links balrog::python (libbalrog_python.so, installed inside the balrog
# package), so the module and `import balrog` share one hub per thread.
#
#   find_package(balrog CONFIG REQUIRED)        # with the Python package installed
#   balrog_python_add_module(fetcher fetcher.cpp)
#
# Needs pybind11 and the Python the package was built for (find_package(balrog) finds both).
# The module finds libbalrog_python.so through its RPATH (the balrog package folder), and in
# any case uses the copy `import balrog` loaded first (same soname).
function(balrog_python_add_module name)
  if(NOT TARGET balrog::python)
    message(FATAL_ERROR "balrog_python_add_module: this balrog has no Python package "
                        "(it was built without BALROG_BUILD_PYTHON)")
  endif()
  pybind11_add_module(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE balrog::python)
  set_target_properties(${name} PROPERTIES
    BUILD_RPATH "$<TARGET_FILE_DIR:balrog::python>"
    INSTALL_RPATH "$<TARGET_FILE_DIR:balrog::python>")
endfunction()

# balrog_python_module(<name> HEADERS <header>... [SOURCES <source>...] [EXTRA_ARGS <arg>...])
# — a Python module generated from C++ headers (the py-bindings pass of balrog-gen; see
# docs/python.md, "Binding your C++ with balrog-gen py-bindings").
#
#   balrog_python_module(shop HEADERS include/shop/api.hpp SOURCES src/api.cpp)
#   target_include_directories(shop PRIVATE include)
#
# At build time one custom command runs
#   balrog-gen --emit-py-bindings <bindir>/balrog_py/<name>/<name>_module.cpp
#              --emit-pyi <bindir>/balrog_py/<name>/<name>.pyi --py-module <name> <headers>
#              -- <the module's include dirs, definitions, options, -std=c++20> <EXTRA_ARGS>
# over the declarations marked BALROG_EXPORT (balrog/python/export.hpp); an unsupported one
# fails the build with a diagnostic naming it, and nothing is written. The generated source and
# SOURCES (the headers' implementation, or link a library) are built with
# balrog_python_add_module(); <name>.pyi is copied next to the module after each build.
# The command reruns when a listed header or balrog-gen changes (not when a header they
# include does: list those too when they declare exported types).
function(balrog_python_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "HEADERS;SOURCES;EXTRA_ARGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "balrog_python_module: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_HEADERS)
    message(FATAL_ERROR "balrog_python_module: give the HEADERS whose BALROG_EXPORT declarations "
                        "the module binds")
  endif()
  _balrog_wrap_tool(gen_cmd gen_dep)
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/balrog_py/${name}")
  set(cpp "${out_dir}/${name}_module.cpp")
  set(pyi "${out_dir}/${name}.pyi")
  set(headers "")
  foreach(h IN LISTS arg_HEADERS)
    get_filename_component(h "${h}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND headers "${h}")
  endforeach()
  set(tp "$<TARGET_PROPERTY:${name},")
  set(includes "$<REMOVE_DUPLICATES:${tp}INCLUDE_DIRECTORIES>>")
  set(definitions "$<REMOVE_DUPLICATES:${tp}COMPILE_DEFINITIONS>>")
  set(flags
    "$<$<BOOL:${includes}>:-I$<JOIN:${includes},$<SEMICOLON>-I>>"
    "$<$<BOOL:${definitions}>:-D$<JOIN:${definitions},$<SEMICOLON>-D>>"
    "-std=c++20"
    ${arg_EXTRA_ARGS})
  file(MAKE_DIRECTORY "${out_dir}")
  add_custom_command(
    OUTPUT "${cpp}" "${pyi}"
    COMMAND ${gen_cmd} --quiet --emit-py-bindings "${cpp}" --emit-pyi "${pyi}"
            --py-module ${name} ${headers} -- ${flags}
    DEPENDS ${gen_dep} ${headers}
    WORKING_DIRECTORY "${out_dir}"
    COMMENT "balrog-gen: Python bindings ${name}"
    COMMAND_EXPAND_LISTS VERBATIM)
  balrog_python_add_module(${name} "${cpp}" ${arg_SOURCES})
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${pyi}" "$<TARGET_FILE_DIR:${name}>/${name}.pyi"
    VERBATIM)
endfunction()
