#include "api.hpp"
int main() { return api(); }
