# Developer entry points. `make test` is what CI runs (.ci/run).
#
#   make deps          install the Debian packages the build needs (only the missing ones)
#   make build         configure and build ./build (RelWithDebInfo, warnings as errors)
#   make test          unit tests, then the same under ASan/UBSan, then a short fuzz smoke run
#   make demo          start a 4-validator localnet, load it for 20 s, summarize, leave it running
#   make bench         run every Google Benchmark program
#   make format        clang-format every source file in place
#   make format-check  fail if any source file is not clang-formatted
#   make clean         remove every build tree

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

JOBS ?= $(shell nproc)
BUILD_TYPE ?= RelWithDebInfo
FUZZ_SECONDS ?= 20
CMAKE_CONFIGURE := cmake -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
SOURCE_DIRS := src tests bench fuzz
SOURCES = $(shell find $(SOURCE_DIRS) \( -name '*.h' -o -name '*.cc' \) 2>/dev/null | sort)

.PHONY: all deps build test test-unit test-asan fuzz-smoke demo bench format format-check clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(CMAKE_CONFIGURE) -B build
	ninja -C build -j $(JOBS)

test: deps build
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz-smoke

# Runs the tests of an already built ./build.
test-unit:
	ctest --test-dir build --output-on-failure --no-tests=error -j $(JOBS)

# The whole test suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	$(CMAKE_CONFIGURE) -B build-asan -DBALLAST_SANITIZE=ON -DBALLAST_BUILD_BENCH=OFF \
	  -DBALLAST_BUILD_E2E=OFF
	ninja -C build-asan -j $(JOBS)
	UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build-asan --output-on-failure --no-tests=error -j $(JOBS) -LE e2e

# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS over a copy of its seed
# corpus (fuzz/corpus/NAME/). Crash inputs are kept in build-fuzz/artifacts/NAME/.
fuzz-smoke: deps
	@if ! command -v clang++ >/dev/null 2>&1; then \
	  echo "fuzz: clang++ not found; the fuzz smoke run is skipped"; \
	  exit 0; \
	fi; \
	CC=clang CXX=clang++ $(CMAKE_CONFIGURE) -B build-fuzz -DBALLAST_FUZZ=ON \
	  -DBALLAST_BUILD_BENCH=OFF; \
	ninja -C build-fuzz -j $(JOBS) ballast_fuzzers; \
	ran=0; \
	for fuzzer in build-fuzz/fuzz/fuzz_*; do \
	  [[ -f "$$fuzzer" && -x "$$fuzzer" ]] || continue; \
	  name="$$(basename "$$fuzzer")"; \
	  work="$$(mktemp -d "$${TMPDIR:-/tmp}/ballast-$$name.XXXXXX")"; \
	  mkdir -p "$$work/corpus" "build-fuzz/artifacts/$$name"; \
	  if [[ -d "fuzz/corpus/$$name" ]]; then cp -R "fuzz/corpus/$$name/." "$$work/corpus/"; fi; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	  if ! "$$fuzzer" -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	      -artifact_prefix="build-fuzz/artifacts/$$name/" "$$work/corpus" >"$$work/log" 2>&1; then \
	    tail -n 80 "$$work/log"; \
	    echo "fuzz: $$name FAILED; crash inputs are in build-fuzz/artifacts/$$name/"; \
	    rm -rf "$$work"; \
	    exit 1; \
	  fi; \
	  echo "fuzz: $$name passed: $$(grep -E '^Done [0-9]+ runs' "$$work/log" | tail -n 1)"; \
	  rm -rf "$$work"; \
	  ran=$$((ran + 1)); \
	done; \
	if [[ $$ran -eq 0 ]]; then echo "fuzz: no fuzz targets were built"; exit 1; fi

demo: deps build
	./scripts/demo-localnet

bench: deps build
	@ran=0; \
	for program in build/bench/bench_*; do \
	  [[ -f "$$program" && -x "$$program" ]] || continue; \
	  echo "== $$program"; \
	  "$$program"; \
	  ran=$$((ran + 1)); \
	done; \
	if [[ $$ran -eq 0 ]]; then echo "bench: no programs in build/bench"; exit 1; fi

format:
	@echo "clang-format -i: $(words $(SOURCES)) files under $(SOURCE_DIRS)"
	@clang-format -i $(SOURCES)

format-check:
	@echo "clang-format --dry-run --Werror: $(words $(SOURCES)) files under $(SOURCE_DIRS)"
	@clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build build-asan build-fuzz
