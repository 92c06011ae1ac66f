#include "api.hpp"
#include "shared.hpp"
int api() {
  shared s;
  return 0;
}
