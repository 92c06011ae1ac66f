# BalrogWrap.cmake — balrog_wrap(): run balrog-gen over a target's sources at build time and
# compile the rewritten copies instead. Reference and examples: docs/cmake.md.
#
#   balrog_wrap(<target>
#               [CONFIG <file>]            # a .balrog.yaml (--config-file); default: looked up
#                                          # from each source's directory upwards
#               [PASSES <pass>...]         # run these passes instead of the configured ones
#               [HEADER_FILTER <regex>]    # headers matching it are rewritten too (see below)
#               [EXCLUDE <source>...]      # sources compiled as they are
#               [EXTRA_ARGS <arg>...]      # more compiler arguments for balrog-gen's parse
#               [RUN_MAIN])                # also run the run-main pass (--run-main): the
#                                          # program's main() runs on balrog::run_main
#
# For each C++ or C source of <target> (as listed when balrog_wrap is called) one custom command
#   balrog-gen -o <bindir>/balrog_wrap/<target> --base-dir <target's source dir>
#              --depfile <...>.d [--config-file] [--passes=] [--header-filter] <source>
#              -- <CMAKE_CXX_FLAGS[_<CONFIG>], the target's include dirs, definitions,
#                  options (usage requirements included), -std=c++NN>
# (a C source: CMAKE_C_FLAGS[_<CONFIG>] and the target's C_STANDARD instead; balrog-gen
# rewrites it onto the compat layer's C face, balrog_recv..., and the copy is compiled as C)
# writes the rewritten copy <bindir>/balrog_wrap/<target>/<path relative to the source dir>,
# only when its content changed (so an edit that rewrites to the same text recompiles nothing),
# and a depfile naming every file the source includes (so editing a header re-runs it).
# The copies replace the originals in the target's SOURCES; each copy gets the original's
# directory as a quote-include path (-iquote), so `#include "local.hpp"` still finds the
# original's neighbours. The target links balrog::runtime.
#
# Headers. By default only the sources are rewritten: a blocking call in a header stays, and
# balrog-gen reports it. With HEADER_FILTER (or a header-filter in the configuration) balrog-gen
# also writes rewritten headers into the same mirror; for each include directory of the target
# that lies under its source directory, the mirrored directory is put first on the include
# path (for its dependents too, for the directories it gives them), so the rewritten header
# wins over the original everywhere in the build.
#
# At the end of the target's directory, what depends on its final links and precompiled
# headers is added to the parse (-isystem for imported targets' include directories, -include
# for each precompiled header; a precompiled header HEADER_FILTER matches is an error); at the
# end of the top-level directory, unwrapped sources that include a rewritten header as written
# are warned about (two definitions in one program: ODR). docs/cmake.md has the details.
#
# balrog-gen is the imported target balrog::balrog-gen (find_package(balrog)) or, in balrog's
# own build, the balrog-gen target; BALROG_GEN_EXECUTABLE (a path) overrides both.

# Script mode, the second step of each custom command: cmake -P BalrogWrap.cmake with
#   BALROG_WRAP_RAW    balrog-gen's depfile: a rule for the rewritten source and one per
#                      rewritten header it also wrote into the mirror
#   BALROG_WRAP_OUT    the rewritten source (the command's one declared output)
#   BALROG_WRAP_DEPFILE  where to write the depfile the build tool reads
#   BALROG_WRAP_BASE, BALROG_WRAP_MIRROR   the --base-dir and -o of the command
# Ninja rejects a depfile that names outputs the command did not declare, and the rewritten
# headers cannot be declared (nobody knows them before the tool runs): one rule is written,
# the source's, with every dependency. And since the build tool does not know about the
# headers' copies either, the source's copy is touched when one of them changed or went stale
# (removed: the header no longer needs rewriting), so that what includes them is recompiled.
if(CMAKE_SCRIPT_MODE_FILE AND DEFINED BALROG_WRAP_RAW)
  cmake_policy(VERSION 3.20...3.25)
  function(_balrog_wrap_unescape token out)  # a path as Make spells it -> the path
    string(REPLACE "\\ " " " token "${token}")
    string(REPLACE "\\#" "#" token "${token}")
    string(REPLACE "$$" "$" token "${token}")
    set(${out} "${token}" PARENT_SCOPE)
  endfunction()

  file(READ "${BALROG_WRAP_RAW}" text)
  string(REPLACE "\\\n" " " text "${text}")
  string(REPLACE "\\ " "<balrog-space>" text "${text}")
  string(REPLACE ";" "<balrog-semicolon>" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(targets "")
  set(deps "")
  foreach(line IN LISTS lines)
    string(FIND "${line}" ": " colon)
    if(colon LESS 0)
      string(REGEX REPLACE ":[ \t]*$" "" target "${line}")
      set(rest "")
    else()
      string(SUBSTRING "${line}" 0 ${colon} target)
      math(EXPR colon "${colon} + 2")
      string(SUBSTRING "${line}" ${colon} -1 rest)
    endif()
    string(STRIP "${target}" target)
    if(target STREQUAL "")
      continue()
    endif()
    list(APPEND targets "${target}")
    string(REGEX REPLACE "[ \t]+" ";" rest "${rest}")
    list(APPEND deps ${rest})
  endforeach()
  list(REMOVE_DUPLICATES deps)
  list(REMOVE_ITEM deps "")

  set(touch FALSE)
  set(written "")
  set(headers "${targets}")
  list(POP_FRONT headers)
  foreach(header IN LISTS headers)
    string(REPLACE "<balrog-space>" "\\ " header "${header}")
    string(REPLACE "<balrog-semicolon>" ";" header "${header}")
    _balrog_wrap_unescape("${header}" header)
    list(APPEND written "${header}")
    if("${header}" IS_NEWER_THAN "${BALROG_WRAP_OUT}")
      set(touch TRUE)
    endif()
  endforeach()
  # A copy of an included header that this run did not write is stale.
  foreach(dep IN LISTS deps)
    string(REPLACE "<balrog-space>" "\\ " dep "${dep}")
    _balrog_wrap_unescape("${dep}" dep)
    cmake_path(IS_PREFIX BALROG_WRAP_BASE "${dep}" NORMALIZE under)
    if(NOT under)
      continue()
    endif()
    file(RELATIVE_PATH rel "${BALROG_WRAP_BASE}" "${dep}")
    set(copy "${BALROG_WRAP_MIRROR}/${rel}")
    if(EXISTS "${copy}" AND NOT copy STREQUAL BALROG_WRAP_OUT AND NOT copy IN_LIST written)
      file(REMOVE "${copy}")
      set(touch TRUE)
    endif()
  endforeach()
  if(touch)
    file(TOUCH "${BALROG_WRAP_OUT}")
  endif()

  list(GET targets 0 first)
  set(rule "${first}:")
  foreach(dep IN LISTS deps)
    string(APPEND rule " \\\n  ${dep}")
  endforeach()
  string(REPLACE "<balrog-space>" "\\ " rule "${rule}")
  string(REPLACE "<balrog-semicolon>" ";" rule "${rule}")
  file(WRITE "${BALROG_WRAP_DEPFILE}" "${rule}\n")
  return()
endif()

include_guard(GLOBAL)

# DEPFILE paths relative to the top of the build tree, under Ninja (recorded with the function).
if(POLICY CMP0116)
  cmake_policy(SET CMP0116 NEW)
endif()

set(BALROG_GEN_EXECUTABLE "" CACHE FILEPATH
    "balrog-gen for balrog_wrap() (empty: the balrog::balrog-gen target)")

# The target <name> stands for (itself unless it is an ALIAS), into <out>.
function(_balrog_wrap_unalias name out)
  get_target_property(aliased "${name}" ALIASED_TARGET)
  if(aliased)
    set(${out} "${aliased}" PARENT_SCOPE)
  else()
    set(${out} "${name}" PARENT_SCOPE)
  endif()
endfunction()

# The command and the dependency that run balrog-gen, into <out_cmd> and <out_dep>.
function(_balrog_wrap_tool out_cmd out_dep)
  if(BALROG_GEN_EXECUTABLE)
    set(${out_cmd} "${BALROG_GEN_EXECUTABLE}" PARENT_SCOPE)
    set(${out_dep} "${BALROG_GEN_EXECUTABLE}" PARENT_SCOPE)
    return()
  endif()
  set(tool "")
  foreach(candidate IN ITEMS balrog::balrog-gen balrog-gen)
    if(TARGET ${candidate})
      set(tool ${candidate})
      break()
    endif()
  endforeach()
  if(NOT tool)
    message(FATAL_ERROR "balrog_wrap: balrog-gen is not available (no balrog::balrog-gen target): "
                        "find_package(balrog CONFIG) from an install built with the tool, or set "
                        "BALROG_GEN_EXECUTABLE")
  endif()
  _balrog_wrap_unalias(${tool} tool)
  get_target_property(imported ${tool} IMPORTED)
  set(${out_cmd} "$<TARGET_FILE:${tool}>" PARENT_SCOPE)
  if(imported)
    set(${out_dep} "$<TARGET_FILE:${tool}>" PARENT_SCOPE)
  else()
    set(${out_dep} ${tool} PARENT_SCOPE)  # target- and file-level: rebuilt tool, rerun
  endif()
endfunction()

# A flags string (CMAKE_CXX_FLAGS...) as a list of arguments, into <out>.
function(_balrog_wrap_split_flags text out)
  separate_arguments(list UNIX_COMMAND "${text}")
  set(${out} ${list} PARENT_SCOPE)
endfunction()

function(balrog_wrap target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "RUN_MAIN" "CONFIG;HEADER_FILTER"
                        "PASSES;EXCLUDE;EXTRA_ARGS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "balrog_wrap: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "balrog_wrap: '${target}' is not a target")
  endif()
  _balrog_wrap_unalias(${target} target)
  get_target_property(type ${target} TYPE)
  get_target_property(imported ${target} IMPORTED)
  set(wrappable EXECUTABLE STATIC_LIBRARY SHARED_LIBRARY MODULE_LIBRARY OBJECT_LIBRARY)
  if(imported OR NOT type IN_LIST wrappable)
    message(FATAL_ERROR "balrog_wrap: '${target}' (${type}) has no sources of its own to rewrite")
  endif()
  get_target_property(already ${target} BALROG_WRAPPED_DIR)
  if(already)
    message(FATAL_ERROR "balrog_wrap: '${target}' is already wrapped")
  endif()
  get_target_property(source_dir ${target} SOURCE_DIR)
  get_target_property(binary_dir ${target} BINARY_DIR)
  if(NOT binary_dir STREQUAL CMAKE_CURRENT_BINARY_DIR)
    # A custom command's output can only be a source of targets of the same directory.
    message(FATAL_ERROR "balrog_wrap: call it in the directory that creates '${target}' "
                        "(${source_dir})")
  endif()
  if(NOT TARGET balrog::runtime)
    message(FATAL_ERROR "balrog_wrap: balrog::runtime is not defined (find_package(balrog))")
  endif()
  _balrog_wrap_tool(gen_cmd gen_dep)

  set(out_dir "${binary_dir}/balrog_wrap/${target}")
  set(dep_dir "${binary_dir}/balrog_wrap/${target}.deps")

  # balrog-gen's options.
  set(options --quiet)
  set(extra_depends "")
  if(arg_CONFIG)
    get_filename_component(config "${arg_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND options "--config-file=${config}")
    list(APPEND extra_depends "${config}")
  endif()
  if(arg_PASSES)
    list(JOIN arg_PASSES "," passes)
    list(APPEND options "--passes=${passes}")
  endif()
  if(DEFINED arg_HEADER_FILTER)
    list(APPEND options "--header-filter=${arg_HEADER_FILTER}")
  endif()
  if(arg_RUN_MAIN)  # added to the configured passes, or to PASSES
    list(APPEND options --run-main)
  endif()

  # The target's own compile flags, as the compiler will see them (generator expressions, so
  # usage requirements of linked targets and later target_* calls are included).
  set(tp "$<TARGET_PROPERTY:${target},")
  # balrog-gen reads the original headers, never their rewritten copies in the mirror.
  string(REGEX REPLACE "([][+.*()^$?|\\{}])" "\\\\\\1" out_dir_regex "${out_dir}")
  set(includes "$<REMOVE_DUPLICATES:${tp}INCLUDE_DIRECTORIES>>")
  set(includes "$<FILTER:${includes},EXCLUDE,^${out_dir_regex}(/|$)>")
  set(definitions "$<REMOVE_DUPLICATES:${tp}COMPILE_DEFINITIONS>>")
  # "SHELL:" options (several arguments in one string) go through as they are: balrog-gen
  # splits them as CMake does.
  set(compile_options "${tp}COMPILE_OPTIONS>")
  # Include directories that are system ones in the target's compile stay system in the parse
  # (balrog-gen never edits a system header, and treats blocking calls in it as such): the
  # INTERFACE_SYSTEM_INCLUDE_DIRECTORIES of what it links (SYSTEM_INCLUDE_DIRECTORIES, below)
  # and imported targets' include directories (BALROG_WRAP_PARSE_FLAGS, computed at the end of
  # the directory by _balrog_wrap_finish, with the -include of its precompiled headers). A
  # directory given both as -I and -isystem is a system one for clang, as for GCC.
  set(system_includes "$<REMOVE_DUPLICATES:${tp}SYSTEM_INCLUDE_DIRECTORIES>>")
  # The compiler's own directories (/usr/include, libstdc++'s) never go on the command line, as
  # CMake leaves them off the compile: -isystem /usr/include would put it before libstdc++'s
  # directory, and <cstdlib>'s #include_next <stdlib.h> would find nothing.
  _balrog_wrap_implicit_dirs_regex(implicit_regex)
  set(includes "$<FILTER:${includes},EXCLUDE,${implicit_regex}>")
  set(system_includes "$<FILTER:${system_includes},EXCLUDE,${implicit_regex}>")
  # -std=: the target's standard, at least C++20 (balrog's headers need it; clang 16 spells
  # C++23 and later c++2b); GNU extensions unless the target turns them off, as CMake does.
  set(std "$<TARGET_PROPERTY:${target},CXX_STANDARD>")
  set(ext "$<TARGET_PROPERTY:${target},CXX_EXTENSIONS>")
  set(std "$<IF:$<OR:$<STREQUAL:${std},23>,$<STREQUAL:${std},26>>,2b,20>")
  set(ext "$<IF:$<OR:$<STREQUAL:${ext},>,$<BOOL:${ext}>>,gnu,c>")
  # CMAKE_CXX_FLAGS and CMAKE_CXX_FLAGS_<CONFIG> (-DNDEBUG...), as the compile line has them:
  # the preprocessor must select the same branches for the parse as for the compile.
  _balrog_wrap_split_flags("${CMAKE_CXX_FLAGS}" global_flags)
  set(config_flags "")
  set(configs ${CMAKE_CONFIGURATION_TYPES} ${CMAKE_BUILD_TYPE} Debug Release RelWithDebInfo
              MinSizeRel)
  list(REMOVE_DUPLICATES configs)
  foreach(config IN LISTS configs)
    string(TOUPPER "${config}" upper)
    _balrog_wrap_split_flags("${CMAKE_CXX_FLAGS_${upper}}" these)
    if(these)
      list(JOIN these "$<SEMICOLON>" these)
      list(APPEND config_flags "$<$<CONFIG:${config}>:${these}>")
    endif()
  endforeach()
  # One list; $<SEMICOLON> splits only after evaluation (COMMAND_EXPAND_LISTS).
  set(common_flags
    "$<$<BOOL:${includes}>:-I$<JOIN:${includes},$<SEMICOLON>-I>>"
    "$<$<BOOL:${definitions}>:-D$<JOIN:${definitions},$<SEMICOLON>-D>>"
    "${compile_options}"
    "$<$<BOOL:${system_includes}>:-isystem$<JOIN:${system_includes},$<SEMICOLON>-isystem>>"
    "$<TARGET_GENEX_EVAL:${target},${tp}BALROG_WRAP_PARSE_FLAGS>>")
  set(flags_CXX ${global_flags} ${config_flags} ${common_flags} "-std=${ext}++${std}"
                ${arg_EXTRA_ARGS})
  # C sources: CMAKE_C_FLAGS[_<CONFIG>], and the target's C_STANDARD when it has one (else the
  # compiler's default, as CMake compiles it); clang 16 spells C23 c2x.
  _balrog_wrap_split_flags("${CMAKE_C_FLAGS}" global_c_flags)
  set(config_c_flags "")
  foreach(config IN LISTS configs)
    string(TOUPPER "${config}" upper)
    _balrog_wrap_split_flags("${CMAKE_C_FLAGS_${upper}}" these)
    if(these)
      list(JOIN these "$<SEMICOLON>" these)
      list(APPEND config_c_flags "$<$<CONFIG:${config}>:${these}>")
    endif()
  endforeach()
  set(c_std "$<TARGET_PROPERTY:${target},C_STANDARD>")
  set(c_ext "$<TARGET_PROPERTY:${target},C_EXTENSIONS>")
  set(c_ext "$<IF:$<OR:$<STREQUAL:${c_ext},>,$<BOOL:${c_ext}>>,gnu,c>")
  set(c_std_flag "$<$<BOOL:${c_std}>:-std=${c_ext}$<IF:$<STREQUAL:${c_std},23>,2x,${c_std}>>")
  set(flags_C ${global_c_flags} ${config_c_flags} ${common_flags} "${c_std_flag}"
              ${arg_EXTRA_ARGS})

  # Sources to rewrite: C++ and C ones, not excluded, not generator expressions.
  set(excluded "")
  foreach(src IN LISTS arg_EXCLUDE)
    get_filename_component(src "${src}" ABSOLUTE BASE_DIR "${source_dir}")
    list(APPEND excluded "${src}")
  endforeach()
  set(cxx_extensions cpp cc cxx c++ C CPP)
  get_target_property(sources ${target} SOURCES)
  set(new_sources "")
  set(wrapped 0)
  foreach(src IN LISTS sources)
    if(src MATCHES "\\$<")
      list(APPEND new_sources "${src}")
      continue()
    endif()
    if(IS_ABSOLUTE "${src}")
      set(path "${src}")
    elseif(NOT EXISTS "${source_dir}/${src}" AND EXISTS "${binary_dir}/${src}")
      set(path "${binary_dir}/${src}")
    else()
      set(path "${source_dir}/${src}")
    endif()
    cmake_path(NORMAL_PATH path)
    get_source_file_property(language "${path}" LANGUAGE)
    get_filename_component(ext "${path}" LAST_EXT)
    string(REGEX REPLACE "^\\." "" ext "${ext}")
    set(lang "")
    if(language STREQUAL "CXX" OR language STREQUAL "C")
      set(lang ${language})
    elseif(NOT language AND ext IN_LIST cxx_extensions)
      set(lang CXX)
    elseif(NOT language AND ext STREQUAL "c")
      set(lang C)
    endif()
    if(path IN_LIST excluded OR NOT lang)
      list(APPEND new_sources "${src}")
      set_property(TARGET ${target} APPEND PROPERTY BALROG_WRAP_UNWRAPPED_SOURCES "${path}")
      continue()
    endif()
    set(flags ${flags_${lang}})
    if(lang STREQUAL "C" AND NOT ext STREQUAL "c")  # C by its LANGUAGE property: say so
      list(APPEND flags -x c)
    endif()

    # Mirrored relative to the target's source directory; anything elsewhere (../common/x.cpp,
    # a generated source) relative to its own directory, under _ext/<hash of that directory>.
    get_filename_component(src_parent "${path}" DIRECTORY)
    cmake_path(IS_PREFIX source_dir "${path}" NORMALIZE under_source_dir)
    if(under_source_dir)
      set(base "${source_dir}")
      file(RELATIVE_PATH rel "${source_dir}" "${path}")
      set(out_root "${out_dir}")
    else()
      set(base "${src_parent}")
      string(MD5 hash "${src_parent}")
      string(SUBSTRING "${hash}" 0 12 hash)
      get_filename_component(rel "${path}" NAME)
      set(out_root "${out_dir}/_ext/${hash}")
    endif()
    set(out "${out_root}/${rel}")
    if(language)  # the copy is compiled in the original's language
      set_property(SOURCE "${out}" PROPERTY LANGUAGE ${language})
    endif()
    set(depfile "${dep_dir}/${rel}.d")
    if(NOT under_source_dir)
      set(depfile "${dep_dir}/_ext/${hash}/${rel}.d")
    endif()

    # The source's own properties apply to the parse and to the copy.
    set(src_flags "")
    foreach(property IN ITEMS INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)
      get_source_file_property(value "${path}" ${property})
      if(value)
        set_property(SOURCE "${out}" APPEND PROPERTY ${property} "${value}")
        if(property STREQUAL "INCLUDE_DIRECTORIES")
          list(TRANSFORM value PREPEND "-I")
        elseif(property STREQUAL "COMPILE_DEFINITIONS")
          list(TRANSFORM value PREPEND "-D")
        endif()
        list(APPEND src_flags ${value})
      endif()
    endforeach()

    file(RELATIVE_PATH shown "${CMAKE_BINARY_DIR}" "${out}")
    add_custom_command(
      OUTPUT "${out}"
      COMMAND ${gen_cmd} -o "${out_root}" --base-dir "${base}" "--depfile=${depfile}.raw"
              ${options} "${path}" -- ${flags} ${src_flags}
      COMMAND "${CMAKE_COMMAND}" "-DBALROG_WRAP_RAW=${depfile}.raw" "-DBALROG_WRAP_OUT=${out}"
              "-DBALROG_WRAP_DEPFILE=${depfile}" "-DBALROG_WRAP_BASE=${base}"
              "-DBALROG_WRAP_MIRROR=${out_root}" -P "${CMAKE_CURRENT_FUNCTION_LIST_FILE}"
      DEPFILE "${depfile}"
      DEPENDS ${gen_dep} "${path}" ${extra_depends}
      WORKING_DIRECTORY "${binary_dir}"
      COMMENT "balrog-gen: rewriting ${shown}"
      COMMAND_EXPAND_LISTS VERBATIM)
    # `#include "x.hpp"` searches the includer's directory first: the copy's, then (-iquote)
    # the original's, before any -I directory, as it did for the original.
    if(CMAKE_${lang}_COMPILER_ID MATCHES "GNU|Clang|IntelLLVM")
      set_property(SOURCE "${out}" APPEND PROPERTY COMPILE_OPTIONS "-iquote" "${src_parent}")
    else()
      set_property(SOURCE "${out}" APPEND PROPERTY INCLUDE_DIRECTORIES "${src_parent}")
    endif()
    list(APPEND new_sources "${out}")
    math(EXPR wrapped "${wrapped} + 1")
  endforeach()
  if(wrapped EQUAL 0)
    message(WARNING "balrog_wrap: '${target}' has no C++ or C source to rewrite")
  endif()
  set_property(TARGET ${target} PROPERTY SOURCES ${new_sources})

  # Rewritten headers (HEADER_FILTER) land in the mirror: its twin of each include directory
  # under the source directory comes first, for the target and, for the directories it gives
  # its dependents (PUBLIC, INTERFACE), for them too, so that both see the same rewritten
  # class definitions (a std::mutex member became a balrog::mutex for everyone).
  foreach(scope IN ITEMS PRIVATE INTERFACE)
    if(scope STREQUAL "PRIVATE")
      get_target_property(include_dirs ${target} INCLUDE_DIRECTORIES)
    else()
      get_target_property(include_dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
    endif()
    set(mirrored_dirs "")
    get_target_property(system_dirs ${target} INTERFACE_SYSTEM_INCLUDE_DIRECTORIES)
    foreach(dir IN LISTS include_dirs)
      string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" dir "${dir}")
      if(dir MATCHES "\\$<" OR NOT IS_ABSOLUTE "${dir}" OR dir IN_LIST system_dirs)
        continue()  # balrog-gen never rewrites a system header: no twin needed
      endif()
      cmake_path(IS_PREFIX source_dir "${dir}" NORMALIZE under)
      if(under)
        file(RELATIVE_PATH rel "${source_dir}" "${dir}")
        list(APPEND mirrored_dirs "$<BUILD_INTERFACE:${out_dir}/${rel}>")
      endif()
    endforeach()
    if(mirrored_dirs)
      target_include_directories(${target} BEFORE ${scope} ${mirrored_dirs})
    endif()
  endforeach()

  # Rewritten code calls balrog::compat and balrog:: (C: the C face, balrog_recv...), all in
  # balrog::runtime, a C++ library: CMake links a target of C sources with the C++ driver.
  # Link the runtime. Through the properties
  # rather than target_link_libraries, which cannot mix its plain and keyword forms.
  set_property(TARGET ${target} APPEND PROPERTY LINK_LIBRARIES balrog::runtime)
  if(type STREQUAL "STATIC_LIBRARY" OR type STREQUAL "OBJECT_LIBRARY")
    set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                 "$<LINK_ONLY:balrog::runtime>")
  endif()
  set_property(TARGET ${target} PROPERTY BALROG_WRAPPED_DIR "${out_dir}")
  set_property(TARGET ${target} PROPERTY BALROG_WRAP_HEADER_FILTER "${arg_HEADER_FILTER}")
  # What depends on the target's final links and precompiled headers waits for the end of the
  # directory (target_link_libraries and target_precompile_headers may come after this call);
  # the ODR check for the end of the top-level directory, when every target exists.
  cmake_language(EVAL CODE "cmake_language(DEFER CALL _balrog_wrap_finish [[${target}]])")
  get_property(odr_check_deferred GLOBAL PROPERTY _BALROG_WRAP_ODR_CHECK_DEFERRED)
  if(NOT odr_check_deferred)
    set_property(GLOBAL PROPERTY _BALROG_WRAP_ODR_CHECK_DEFERRED TRUE)
    cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _balrog_wrap_check_odr)
  endif()
  set_property(GLOBAL APPEND PROPERTY _BALROG_WRAP_TARGETS ${target})
endfunction()

# A regex matching the compilers' implicit include directories (C and C++), which CMake never
# puts on a compile line.
function(_balrog_wrap_implicit_dirs_regex out)
  set(dirs ${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES} ${CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES}
           /usr/include /usr/local/include)
  list(REMOVE_DUPLICATES dirs)
  set(alternatives "")
  foreach(dir IN LISTS dirs)
    string(REGEX REPLACE "([][+.*()^$?|\\{}])" "\\\\\\1" escaped "${dir}")
    list(APPEND alternatives "${escaped}")
  endforeach()
  list(JOIN alternatives "|" alternatives)
  set(${out} "^(${alternatives})/?$" PARENT_SCOPE)
endfunction()

# The targets <target> links, through what it links and their link interfaces, each once (an
# alias as its target) in the order found, into <out>. With COMPILE_ONLY, not through
# $<LINK_ONLY:...>, which brings no compile requirements. Other generator expressions are
# skipped.
function(_balrog_wrap_linked_targets target out)
  cmake_parse_arguments(PARSE_ARGV 2 arg "COMPILE_ONLY" "" "")
  get_target_property(queue ${target} LINK_LIBRARIES)
  set(seen "")
  while(queue)
    list(POP_FRONT queue item)
    if(NOT arg_COMPILE_ONLY)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    endif()
    if(item MATCHES "\\$<" OR NOT TARGET "${item}")
      continue()
    endif()
    _balrog_wrap_unalias("${item}" item)
    if(item IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${item}")
    get_target_property(next "${item}" INTERFACE_LINK_LIBRARIES)
    if(next)
      list(APPEND queue ${next})
    endif()
  endwhile()
  set(${out} "${seen}" PARENT_SCOPE)
endfunction()

# The include directories of the imported targets <target> links (through the link
# interfaces of what it links), as CMake makes them system ones in <target>'s compile: unless
# <target> has NO_SYSTEM_FROM_IMPORTED or the imported target says SYSTEM OFF.
function(_balrog_wrap_imported_includes target out)
  set(result "")
  get_target_property(no_system ${target} NO_SYSTEM_FROM_IMPORTED)
  if(no_system)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  _balrog_wrap_linked_targets(${target} linked COMPILE_ONLY)
  foreach(item IN LISTS linked)
    get_target_property(imported "${item}" IMPORTED)
    get_target_property(system "${item}" SYSTEM)
    get_target_property(no_system "${item}" IMPORTED_NO_SYSTEM)
    if(imported AND NOT no_system AND (system OR system STREQUAL "system-NOTFOUND"))
      list(APPEND result "$<TARGET_PROPERTY:${item},INTERFACE_INCLUDE_DIRECTORIES>")
    endif()
  endforeach()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# Deferred to the end of the directory of a wrapped <target>: the parse flags that depend on
# its final links and precompiled headers (BALROG_WRAP_PARSE_FLAGS).
function(_balrog_wrap_finish target)
  set(flags "")
  _balrog_wrap_imported_includes(${target} imported)
  _balrog_wrap_implicit_dirs_regex(implicit_regex)
  foreach(dirs IN LISTS imported)
    set(dirs "$<FILTER:${dirs},EXCLUDE,${implicit_regex}>")
    list(APPEND flags "$<$<BOOL:${dirs}>:-isystem$<JOIN:${dirs},$<SEMICOLON>-isystem>>")
  endforeach()

  # Precompiled headers: the copies are compiled with the target's PCH as the originals were
  # (CMake builds it from the original headers), and balrog-gen's parse sees the same headers
  # first (-include each). A precompiled header that balrog-gen may rewrite (HEADER_FILTER)
  # cannot be: the PCH would hold its original, blocking definitions, which its include guard
  # or #pragma once would then keep in force over the rewritten copy.
  get_target_property(source_dir ${target} SOURCE_DIR)
  get_target_property(reuse ${target} PRECOMPILE_HEADERS_REUSE_FROM)
  set(from ${target})
  if(reuse)
    set(from ${reuse})
  endif()
  get_target_property(headers ${from} PRECOMPILE_HEADERS)
  if(NOT headers)
    set(headers "")  # not "headers-NOTFOUND"
  endif()
  get_target_property(filter ${target} BALROG_WRAP_HEADER_FILTER)
  foreach(header IN LISTS headers)
    if(header MATCHES "\\$<")
      message(WARNING "balrog_wrap: '${target}' precompiles '${header}', a generator expression: "
                      "balrog-gen's parse does not include it (list the header plainly)")
      continue()
    elseif(header MATCHES "^<(.*)>$")  # one MATCHES per test: a failed one clears CMAKE_MATCH_1
      list(APPEND flags -include "${CMAKE_MATCH_1}")
      continue()
    elseif(header MATCHES "^\"(.*)\"$")
      list(APPEND flags -include "${CMAKE_MATCH_1}")
      continue()
    endif()
    get_filename_component(header "${header}" ABSOLUTE BASE_DIR "${source_dir}")
    if(filter AND header MATCHES "${filter}")
      message(FATAL_ERROR
              "balrog_wrap: '${target}' precompiles ${header}, which HEADER_FILTER lets "
              "balrog-gen rewrite; the precompiled header is built from the original and its "
              "blocking definitions would win over the rewritten copy. Remove it from "
              "target_precompile_headers(${from}) or narrow HEADER_FILTER.")
    endif()
    list(APPEND flags -include "${header}")
  endforeach()
  set_property(TARGET ${target} PROPERTY BALROG_WRAP_PARSE_FLAGS "${flags}")
endfunction()

# The #include names spelled in <file> (direct includes only), into <out>.
function(_balrog_wrap_includes_of file out)
  set(names "")
  if(EXISTS "${file}")
    file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS lines)
      if(line MATCHES "#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
        list(APPEND names "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# Every buildsystem target under <dir>, into <out>.
function(_balrog_wrap_all_targets dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _balrog_wrap_all_targets("${sub}" more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} "${targets}" PARENT_SCOPE)
endfunction()

# Deferred to the end of the top-level directory: the one-definition rule. A header that
# balrog-gen rewrites (it matches the HEADER_FILTER of a wrapped target) has two definitions in
# a program that also compiles, unrewritten, a source that includes the original: its classes
# (a std::mutex member became a balrog::mutex) and inline functions differ between the two.
# Checked for the unwrapped sources of the wrapped target itself (EXCLUDE, other languages)
# and of the targets that link it, for direct includes that resolve to the original: a
# quoted include of a header next to the source, or one found through the including target's
# own include directories (which come before the rewritten copies its links bring).
function(_balrog_wrap_check_odr)
  get_property(wrapped GLOBAL PROPERTY _BALROG_WRAP_TARGETS)
  _balrog_wrap_all_targets("${CMAKE_SOURCE_DIR}" all_targets)
  foreach(target IN LISTS wrapped)
    get_target_property(filter ${target} BALROG_WRAP_HEADER_FILTER)
    if(NOT filter)
      continue()
    endif()
    foreach(user IN LISTS all_targets)
      get_target_property(type ${user} TYPE)
      if(type STREQUAL "INTERFACE_LIBRARY" OR type STREQUAL "UTILITY")
        continue()
      endif()
      if(user STREQUAL target)
        get_target_property(sources ${user} BALROG_WRAP_UNWRAPPED_SOURCES)
      else()
        _balrog_wrap_linked_targets(${user} linked)
        if(NOT target IN_LIST linked)
          continue()
        endif()
        get_target_property(sources ${user} BALROG_WRAP_UNWRAPPED_SOURCES)
        get_target_property(already ${user} BALROG_WRAPPED_DIR)
        if(NOT already)
          get_target_property(sources ${user} SOURCES)
        endif()
      endif()
      get_target_property(user_source_dir ${user} SOURCE_DIR)
      get_target_property(user_includes ${user} INCLUDE_DIRECTORIES)
      foreach(src IN LISTS sources)
        if(src MATCHES "\\$<" OR NOT src MATCHES "\\.(c|cc|cpp|cxx|c\\+\\+|C|CPP|m|mm)$")
          continue()
        endif()
        get_filename_component(src "${src}" ABSOLUTE BASE_DIR "${user_source_dir}")
        get_filename_component(src_dir "${src}" DIRECTORY)
        _balrog_wrap_includes_of("${src}" names)
        foreach(name IN LISTS names)
          set(found "")
          foreach(dir IN ITEMS "${src_dir}" ${user_includes})
            string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" dir "${dir}")
            if(NOT dir MATCHES "\\$<" AND IS_ABSOLUTE "${dir}" AND EXISTS "${dir}/${name}")
              set(found "${dir}/${name}")
              cmake_path(NORMAL_PATH found)
              break()
            endif()
          endforeach()
          if(found AND found MATCHES "${filter}")
            if(user STREQUAL target)
              set(advice "Let balrog_wrap() rewrite it too (not EXCLUDE)")
            else()
              set(advice "Wrap '${user}' too")
            endif()
            message(WARNING
                    "balrog_wrap: ${src} (target '${user}') is compiled as written and includes "
                    "${found}, which balrog_wrap(${target} HEADER_FILTER ...) rewrites for "
                    "${target}'s sources: one program would hold two different definitions of "
                    "its classes and inline functions (an ODR violation). ${advice}, or keep "
                    "rewritten headers out of unwrapped sources.")
          endif()
        endforeach()
      endforeach()
    endforeach()
  endforeach()
endfunction()
