# cmake -DMIRROR=<bindir>/balrog_wrap/wrap_flags -DSOURCE=<this dir> -P check_mirror.cmake
# The rewritten main.cpp calls balrog::compat::usleep and names its original in #line; the
# system headers that HEADER_FILTER matches were not rewritten into the mirror.
file(READ "${MIRROR}/src/main.cpp" text)
if(NOT text MATCHES "balrog::compat::usleep\\(WRAP_FLAGS_NAP_US\\)")
  message(FATAL_ERROR "main.cpp was not rewritten:\n${text}")
endif()
if(NOT text MATCHES "^#line 1 \"${SOURCE}/src/main.cpp\"\n")
  message(FATAL_ERROR "main.cpp's copy does not start with #line 1 \"${SOURCE}/src/main.cpp\":\n${text}")
endif()
foreach(header vendor_imported/include/vendor_imported.h vendor_system/include/vendor_system.h)
  if(EXISTS "${MIRROR}/${header}")
    message(FATAL_ERROR "${header}, a system header, was rewritten into the mirror")
  endif()
endforeach()
message(STATUS "mirror ok")
