#pragma once
#include <unistd.h>

inline void vendored_nap() { sleep(1); }
