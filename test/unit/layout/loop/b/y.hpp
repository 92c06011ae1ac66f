// A fixture of scripts/check-layout: a/ and b/ include each other.
#pragma once

#include "a/x.hpp"
#include "c/z.hpp"
