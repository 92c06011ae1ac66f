#include "bindings/bindings.hpp"
#include "bindings/errors.hpp"

namespace balrog::python {

void define_native_module(pybind11::module_& m) {
  m.doc() = "balrog's native half: the hub and the drivers (see balrog/_native.pyi)";
  register_error_translators(m);
  define_hub(m);
  define_pg(m);
  define_http(m);
  define_wsgi(m);
  define_ws(m);
}

}  // namespace balrog::python
