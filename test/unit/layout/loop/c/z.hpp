// A fixture of scripts/check-layout: c/ is below both.
#pragma once
