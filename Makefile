# Everyday targets over the CMake build in build/.
BUILD ?= build
JOBS ?= $(shell nproc)
MODELS ?= models

.PHONY: all build test conformance asan fuzz clean run models

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

# Everything from a fresh checkout: packages (apt-get, needs root or sudo), the build,
# the published weights (~11.4 GB, pinned and checksummed), then a batch over the sample
# portraits with the original preprocess.py defaults.
run:
	scripts/install-deps.sh
	$(MAKE) build
	scripts/download-models.sh --models $(MODELS)
	$(BUILD)/instantid batch --models $(MODELS) --input sample_images \
	  --output generated_images --log generation_log.csv

# Only the weights (resumes; skips files already present and verified).
models:
	scripts/download-models.sh --models $(MODELS)

# The browser test's npm packages (pinned in tests/browser/package-lock.json) come
# first when npm exists, so that this one command runs every test.
test: build
	@if command -v npm >/dev/null 2>&1; then \
	  (cd tests/browser && npm ci --no-audit --no-fund --prefer-offline) || \
	    echo "npm ci failed: the browser test will be skipped"; \
	else echo "npm not found: the browser test will be skipped"; fi
	ctest --test-dir $(BUILD) -j 2 --output-on-failure

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
