# The two commands a new user runs: `make demo` (the embedded default) and `make test`.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
FUZZ_DIR ?= build-fuzz
FUZZ_BUDGET ?= 60s
ASAN_DIR ?= build-asan
# The stages whose tests `make test-asan` builds and runs (all: + model generate rl dist cli).
ASAN_STAGES ?= io log text reward data eval
empty :=
space := $(empty) $(empty)

.PHONY: deps configure build test demo bench format format-check clean fuzz test-asan \
        build-torch2 test-torch2 gpu-prebuilt gpu-dry-run

deps:
	@bash scripts/deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/CMakeCache.txt

# TARGETS="empo ...": build only those (bench/gpu/run.sh builds just what it runs).
TARGETS ?=
build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) $(if $(TARGETS),--target $(TARGETS))

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The demo needs only the binary: skip the tests and benchmarks so a new user waits less.
demo: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target empo
	$(BUILD_DIR)/empo demo

# The GPU build: the same sources against the PyPI torch wheel's libtorch 2.x (CUDA compiled
# in; without a GPU it runs, and is tested, on CPU). Needs `pip install torch` and the CUDA
# toolkit. The torch folder itself goes first in CMAKE_PREFIX_PATH, so that CMake's library
# search finds the wheel's libtorch before a system one.
TORCH2_BUILD_DIR ?= build-torch2
CUDA_HOME ?= /usr/local/cuda
TORCH2_PREFIX = $(shell python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
TORCH2_FLAGS = -DCMAKE_PREFIX_PATH=$(TORCH2_PREFIX) -DCUDAToolkit_ROOT=$(CUDA_HOME) \
               -DCMAKE_CUDA_COMPILER=$(CUDA_HOME)/bin/nvcc

build-torch2:
	@test -n "$(TORCH2_PREFIX)" || { echo "python3 cannot import torch: pip install torch" >&2; exit 1; }
	$(MAKE) build BUILD_DIR=$(TORCH2_BUILD_DIR) CMAKE_FLAGS="$(TORCH2_FLAGS) $(CMAKE_FLAGS)"

test-torch2: build-torch2
	cd $(TORCH2_BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# bench/gpu/prebuilt/empo-gpu.tar.xz: the programs bench/gpu/run.sh runs on a lent GPU machine
# (no network there), built here against that machine's torch (2.11.0+cu130) with one job, plus
# the Debian libraries they need; then `bash bench/gpu/run.sh` there (README: GPUs).
gpu-prebuilt:
	bash bench/gpu/prepare.sh

# run.sh without a GPU: the archive made and loaded, CPU steps run, GPU steps printed and skipped.
gpu-dry-run:
	bash bench/gpu/run.sh --dry-run

bench: build
	@for b in $(BUILD_DIR)/bench/*_bench; do echo "== $$b"; $$b; done

# libFuzzer targets (fuzz/*_fuzz.cpp, clang, ASan+UBSan) on the torch-free readers, each from
# its seed corpus fuzz/corpus/<target>/ for FUZZ_BUDGET (60s, or e.g. 3000runs: seeded, the same
# inputs on every machine); a finding fails.
fuzz:
	@bash scripts/deps.sh sanitizers
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
	  -DEMPO_FUZZ=ON -DEMPO_WERROR=OFF
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	bash fuzz/run.sh $(FUZZ_DIR)/fuzz $(FUZZ_BUDGET)

# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (UB is fatal). The build
# runs the test binaries too (gtest_discover_tests), so the options apply to both.
test-asan: export LSAN_OPTIONS = suppressions=$(CURDIR)/fuzz/lsan.supp:print_suppressions=0
test-asan: export UBSAN_OPTIONS = print_stacktrace=1
test-asan:
	@bash scripts/deps.sh
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Release -DEMPO_SANITIZE=ON -DEMPO_BUILD_BENCH=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS) --target $(patsubst %,empo_%_tests,$(ASAN_STAGES))
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS) -L '^($(subst $(space),|,$(strip $(ASAN_STAGES))))$$'

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check: deps
	clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
