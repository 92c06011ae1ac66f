// The calling thread's hub, made on first use.
#pragma once

#include "hub/hub.hpp"

namespace balrog::python {

// This thread's hub; makes one (through the Python package, which owns it) when there is none.
// Raises what making it raises.
hub& this_thread_hub();

}  // namespace balrog::python
