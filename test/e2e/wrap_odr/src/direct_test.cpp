#include "shared.hpp"
int main() {
  shared s;
  return 0;
}
