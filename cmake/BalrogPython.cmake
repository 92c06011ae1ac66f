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
