// A fixture of scripts/check-layout: a/ and b/ include each other.
#pragma once

#include "b/y.hpp"
