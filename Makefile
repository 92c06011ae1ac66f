# Thin wrapper over CMake presets. The two commands of the README:
#   make demo   — the main job: builds and runs the demo
#   make test   — every test: dev preset, then ASan+UBSan preset
# Both run scripts/bootstrap first, which installs whatever Debian packages are missing.

.PHONY: all bootstrap demo test test-dev test-asan bench format check-format clean

all: test

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target balrog_demo
	@build/release/examples/demo/balrog_demo

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
