# Thin front for CMake. `make run` and `make test` set everything up first (scripts/install-deps.sh).
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
CMAKE_FLAGS ?=

.PHONY: all deps build asan test run demo bench fuzz clean format

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE=ON $(CMAKE_FLAGS)

asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Both builds, every test in both, one summary line at the end.
test: deps
	$(MAKE) build asan
	@bash scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

# The hub on the embedded default: ./weft-data (SQLite + local files), http://127.0.0.1:8080.
# The first start creates the user 'admin' and prints its token once.
DATA ?= ./weft-data
LISTEN ?= 127.0.0.1:8080
run: deps build
	$(BUILD)/weft serve --data $(DATA) --listen $(LISTEN)

# The chunk store at work on generated data (put a file, an edited copy, show the dedup).
demo: deps build
	@bash scripts/demo.sh $(BUILD)/weft

bench: deps build
	@bash bench/run.sh $(BUILD)

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DWEFT_FUZZ=ON -DWEFT_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
