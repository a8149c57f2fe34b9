# Everyday targets over the CMake build in build/.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all build test conformance asan fuzz clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure

conformance: build
	$(BUILD)/tests/conformance

asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DIID_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure

fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DIID_FUZZ=ON -DIID_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
