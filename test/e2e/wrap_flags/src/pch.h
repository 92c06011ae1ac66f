// A project header in the target's precompiled header (target_precompile_headers).
#pragma once
inline int pch_value() { return 5; }
