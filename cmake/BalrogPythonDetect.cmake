# Whether to build the Python package (pybridge/, docs/python.md), and the interpreter for it.
#
# The package is for Debian's CPython (/usr/bin/python3, with Debian's python3-* packages:
# greenlet, pytest, psycopg2...), not whatever `python3` comes first on PATH (pyenv and the like
# lack those packages and may be another version), so that interpreter is asked for by path.
# BALROG_BUILD_PYTHON defaults to ON when it and pybind11 (pybind11-dev) are found.
if(NOT DEFINED Python_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the balrog package is built for")
endif()
find_package(Python 3.9 COMPONENTS Interpreter Development.Module QUIET)
set(PYBIND11_FINDPYTHON ON)  # pybind11 uses the Python found above
find_package(pybind11 2.10 CONFIG QUIET)
if(Python_FOUND AND pybind11_FOUND)
  set(_balrog_python_default ON)
else()
  set(_balrog_python_default OFF)
endif()
option(BALROG_BUILD_PYTHON "Build the Python package balrog (needs Python headers and pybind11)"
       ${_balrog_python_default})
if(BALROG_BUILD_PYTHON)
  if(NOT Python_FOUND OR NOT pybind11_FOUND)
    message(FATAL_ERROR "BALROG_BUILD_PYTHON needs Python ${Python_EXECUTABLE} with its headers "
                        "(python3-dev) and pybind11 (pybind11-dev): run scripts/bootstrap")
  endif()
  # The runtime and the Postgres driver are linked into a shared library the Python modules
  # load (libbalrog_python.so, one copy of the scheduler per process), so they are compiled as
  # position-independent code. -fno-semantic-interposition keeps GCC inlining across their
  # global functions as it does without -fPIC (balrog never relies on interposing them).
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  add_compile_options($<$<CXX_COMPILER_ID:GNU>:-fno-semantic-interposition>)
  message(STATUS "balrog: Python package for ${Python_EXECUTABLE} (${Python_VERSION}), "
                 "pybind11 ${pybind11_VERSION}")
endif()
