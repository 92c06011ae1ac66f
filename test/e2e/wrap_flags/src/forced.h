// Included by "SHELL:-include forced.h" (target_compile_options), never by name.
#pragma once
#define WRAP_FLAGS_NAP_US 1
