# Thin wrapper over CMake presets. The two commands of the README:
#   make demo   — the main job: builds and runs the demo
#   make test   — every test: dev preset, ASan+UBSan preset, TSan preset (the runtime and its
#                 unit tests), then the fuzzers (fuzz preset)
# Both run scripts/bootstrap first, which installs whatever Debian packages are missing.

.PHONY: all bootstrap demo test test-dev test-asan test-tsan test-fuzz bench format check-format clean

all: test

bootstrap:
	@scripts/bootstrap

# Part 1: 10,000 clients, fibers vs threads (examples/demo). Part 2: a sync libpq program
# rewritten by balrog-gen, sync vs balrog against a PostgreSQL it starts (examples/pg-sessions);
# it needs balrog-gen, and is skipped, saying so, when that or the example does not build; then
# many short sessions on 20 server connections (issue 11 §5 at demo scale): threads + PgBouncer vs
# balrog multiplexed (bench_pg_mux_sessions; that half is skipped, saying so, without it).
# Part 3: stock Django (examples/food-delivery) under wrk, balrog-wsgi vs gunicorn gevent and
# gthread, in under a minute (bench/django/demo.py): a table, and a PNG plot whose path it
# prints; build output and diagnostics go to build/release/django-demo/.
demo: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target balrog_demo
	@part2=yes; cmake --build --preset release --target pg_sessions || part2=no; \
	cmake --build --preset release --target bench_pg_mux_sessions || true; \
	build/release/examples/demo/balrog_demo || exit 1; \
	if [ $$part2 = yes ]; then \
	  /usr/bin/python3 examples/pg-sessions/run_demo.py --build build/release; \
	else \
	  echo; echo "balrog demo, part 2 (balrog-gen on a libpq program) SKIPPED: building balrog-gen"; \
	  echo "or examples/pg-sessions failed (the errors are above)."; \
	fi
	@mkdir -p build/release/django-demo; \
	echo; echo "balrog demo, part 3: building the Python package (build/release/django-demo/build.log)"; \
	if cmake --build --preset release --target balrog_native_module \
	    >build/release/django-demo/build.log 2>&1; then \
	  /usr/bin/python3 bench/django/demo.py --package build/release/pybridge \
	    --out build/release/django-demo || exit 1; \
	else \
	  echo; echo "balrog demo, part 3 (Django) SKIPPED: building the Python package failed"; \
	  echo "(build/release/django-demo/build.log)."; \
	fi

test: test-dev test-asan test-tsan test-fuzz

test-dev: bootstrap
	cmake --preset dev
	cmake --build --preset dev
	ctest --preset dev

test-asan: bootstrap
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

# ThreadSanitizer on the runtime and its unit tests only (BALROG_BUILD_DRIVERS=OFF, label
# `unit`); what differs under TSan is in docs/debugging.md, "ThreadSanitizer".
test-tsan: bootstrap
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan

# The libFuzzer targets (clang-16, ASan + UBSan; test/fuzz), each for FUZZ_SECONDS starting
# from its seed corpus (test/fuzz/<target>/corpus, read only); inputs it finds go to
# build/fuzz/corpus, and any crash fails the run (the input is kept in build/fuzz/artifacts).
FUZZ_SECONDS ?= 60
FUZZERS = http_request websocket_frame
test-fuzz: bootstrap
	cmake --preset fuzz
	cmake --build --preset fuzz --target $(addsuffix _fuzzer,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p build/fuzz/corpus/$$f build/fuzz/artifacts/$$f; \
	  echo "fuzzing $$f for $(FUZZ_SECONDS) s"; \
	  build/fuzz/test/fuzz/$${f}_fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/artifacts/$$f/ \
	    build/fuzz/corpus/$$f test/fuzz/$$f/corpus; \
	done

bench: bootstrap
	scripts/bench all

format:
	scripts/check-format --fix

check-format:
	scripts/check-format

clean:
	rm -rf build
