#include "shared.hpp"
int excluded() {
  shared s;
  return 1;
}
