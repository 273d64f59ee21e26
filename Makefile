# Keywarden developer entry points. The two that matter:
#   make run    build (Release) and start a local server on 127.0.0.1:8080
#   make test   unit tests (ASan+UBSan build), fuzz targets (build-fuzz, clang)
#               + integration, SDK and crash tests
# Others: make build, make build-asan, make bench, make test-ha (failover
# under a Patroni cluster; not in make test), make clean.
# Parallelism is capped (JOBS=2) because the build machine is shared.
# CMake is configured only when a build dir is new or was configured with other
# options; after that ninja re-runs CMake itself when CMakeLists change.

SHELL := /bin/bash
.DEFAULT_GOAL := help

JOBS      ?= 2
BUILD     ?= build
ASAN      ?= build-asan
LISTEN    ?= 127.0.0.1:8080
DATA_DIR  ?= ./data

CMAKE_RELEASE := cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DKW_BUILD_TESTS=OFF
CMAKE_ASAN    := cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKW_SANITIZE=address,undefined -DKW_BUILD_TESTS=ON

.PHONY: help deps deps-build deps-test deps-bench deps-ha build build-asan run test test-unit test-node test-ha bench bench-keys clean

help:
	@echo "make run     build (Release) and start keywarden on $(LISTEN), data in $(DATA_DIR)"
	@echo "make test    ASan/UBSan build, ctest, fuzz targets, then integration + SDK + crash tests (Node)"
	@echo "make build   Release binary at $(BUILD)/keywarden"
	@echo "make test-ha failover test: Patroni + etcd + 3 PostgreSQL, kill the leader under load (RUNS=n)"
	@echo "make bench   wrap/unwrap throughput vs nginx (see docs/performance.md)"
	@echo "make clean   remove build directories and tests/node_modules (keeps $(DATA_DIR))"

deps: deps-build deps-test
deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench
deps-ha:
	@scripts/deps.sh ha

build: deps-build
	@if [ ! -f $(BUILD)/build.ninja ] || ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$$' $(BUILD)/CMakeCache.txt; \
	  then $(CMAKE_RELEASE); fi
	ninja -C $(BUILD) -j $(JOBS) keywarden

build-asan: deps-build deps-test
	@if [ ! -f $(ASAN)/build.ninja ] || ! grep -q '^KW_SANITIZE:STRING=address,undefined$$' $(ASAN)/CMakeCache.txt; \
	  then $(CMAKE_ASAN); fi
	ninja -C $(ASAN) -j $(JOBS)

run: build
	@mkdir -p -m 700 $(DATA_DIR)
	@echo
	@echo "Starting keywarden on http://$(LISTEN) (data: $(DATA_DIR); Ctrl-C stops it)."
	@echo "On the first start with an empty data dir the server prints a generated admin"
	@echo "token once on stdout (or uses \$$KEYWARDEN_ADMIN_TOKEN if set). Then, in another shell"
	@echo "(README.md has the same commands):"
	@echo
	@echo "  export KEYWARDEN_TOKEN=<that token>"
	@echo "  INSTANCE=\$$(curl -s -X POST http://$(LISTEN)/admin/v1/instances -d '{\"name\":\"demo\"}' \\"
	@echo "    -H \"Authorization: Bearer \$$KEYWARDEN_TOKEN\" | grep -o '\"id\":\"[^\"]*\"' | cut -d'\"' -f4)"
	@echo "  curl -s http://$(LISTEN)/api/v2/keys -H \"Authorization: Bearer \$$KEYWARDEN_TOKEN\" \\"
	@echo "    -H \"Bluemix-Instance: \$$INSTANCE\" \\"
	@echo "    -d '{\"metadata\":{\"collectionType\":\"application/vnd.ibm.kms.key+json\",\"collectionTotal\":1},\"resources\":[{\"type\":\"application/vnd.ibm.kms.key+json\",\"name\":\"my-root-key\",\"extractable\":false}]}'"
	@echo
	exec $(BUILD)/keywarden server --data-dir $(DATA_DIR) --listen $(LISTEN)

test: deps-build deps-test
	scripts/test.sh

test-unit: build-asan
	ctest --test-dir $(ASAN) --output-on-failure -j $(JOBS)

test-node: deps-test
	cd tests && npm ci --no-audit --no-fund
	cd tests && KEYWARDEN_BIN=$${KEYWARDEN_BIN:-$(CURDIR)/$(ASAN)/keywarden} npm test

# Not in `make test`: 2-3 min per run and Patroni/etcd (docs/operations.md,
# "Failover with Patroni"). Tests the Release binary unless KEYWARDEN_BIN
# names another (e.g. build-asan/keywarden).
test-ha: deps-ha deps-test build
	KEYWARDEN_BIN=$${KEYWARDEN_BIN:-$(CURDIR)/$(BUILD)/keywarden} scripts/test-ha.sh

bench: deps-bench
	bench/run.sh

bench-keys: deps-test
	bench/keys.sh

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz tests/node_modules
