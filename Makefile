# Thin wrapper over CMake presets. The two commands of the README:
#   make demo   — the main job: builds and runs the demo
#   make test   — every test: dev preset, then ASan+UBSan preset
# Both run scripts/bootstrap first, which installs whatever Debian packages are missing.

.PHONY: all bootstrap demo test test-dev test-asan bench format check-format clean

all: test

bootstrap:
	@scripts/bootstrap

# Part 1: 10,000 clients, fibers vs threads (examples/demo). Part 2: a sync libpq program
# rewritten by balrog-gen, sync vs balrog against a PostgreSQL it starts (examples/pg-sessions);
# it needs balrog-gen, and is skipped, saying so, when that or the example does not build.
demo: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target balrog_demo
	@part2=yes; cmake --build --preset release --target pg_sessions || part2=no; \
	build/release/examples/demo/balrog_demo || exit 1; \
	if [ $$part2 = yes ]; then \
	  /usr/bin/python3 examples/pg-sessions/run_demo.py --build build/release; \
	else \
	  echo; echo "balrog demo, part 2 (balrog-gen on a libpq program) SKIPPED: building balrog-gen"; \
	  echo "or examples/pg-sessions failed (the errors are above)."; \
	fi

test: test-dev test-asan

test-dev: bootstrap
	cmake --preset dev
	cmake --build --preset dev
	ctest --preset dev

test-asan: bootstrap
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

bench: bootstrap
	scripts/bench all

format:
	scripts/check-format --fix

check-format:
	scripts/check-format

clean:
	rm -rf build
