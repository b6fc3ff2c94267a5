# vireo — the two commands a user needs: `make run` and `make test`.
# Both work on a fresh Debian 12 machine as root (apt + npm reachable).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PYTHON     ?= /usr/bin/python3
DEMO_MODEL ?= models/demo-qwen3
PORT       ?= 8000

APT_PACKAGES = build-essential cmake ninja-build pkg-config git \
  libuv1-dev libsimdjson-dev libdnnl-dev libpcre2-dev libutf8proc-dev node-llhttp \
  python3 python3-numpy python3-jinja2 libopenblas0-pthread curl

.PHONY: all deps build run test test-unit test-asan bench clean demo-model

all: build

# Install only what is missing (apt-get update is slow; skip it when possible).
deps:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  echo "installing Debian packages..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@command -v node >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; fi

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo-model: build
	@[ -f $(DEMO_MODEL)/config.json ] || $(PYTHON) tools/gen_fixture.py --preset qwen3-tiny --out $(DEMO_MODEL) --node-modules node_modules

run: demo-model
	./$(BUILD)/vireo serve $(DEMO_MODEL) --port $(PORT)

# Every test, through ctest (its summary line closes the run).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIREO_SANITIZE=ON -DVIREO_CUDA=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit --timeout 900

bench: build
	@echo "see benchmarks/README.md"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
