# mobsim: a multi-echo server on an edge-triggered event loop, and the
# deterministic simulation that proves it. `make` runs the tests.
SHELL := bash
.SHELLFLAGS := -o pipefail -euc
.DEFAULT_GOAL := test
.PHONY: test test-long lint vet cross tidy run sim sim-long fuzz bugs soak bench staticcheck actionlint cover stress

GO          ?= go
# Tools are pinned by the tool directive of tools.mod, the module's second
# go.mod: `go tool` builds them at that version on first use. They are kept
# out of go.mod so that their dependencies (x/tools, a YAML parser, ...) do
# not enter the module graph of every module that depends on mobsim.
TOOL        := $(GO) tool -modfile=tools.mod
STATICCHECK := $(TOOL) staticcheck
ACTIONLINT  := $(TOOL) actionlint
# Packages whose tests start goroutines run under the race detector.
RACE_PKGS   := ./netpoll/... ./cmd/... ./e2e/... ./internal/... ./examples/...
# Packages whose tests run mob on real sockets: `test` runs them once more
# with io_uring off (internal/live.IOUringEnv), so the batched fan-out's
# writev loop is tested live as well as io_uring.
LIVE_PKGS   := ./e2e/... ./cmd/mob/... ./internal/live/...
SEEDS       ?= 10000
FUZZTIME    ?= 30s

# Everything CI checks: format, vet, staticcheck, the cross builds, all tests.
test: lint cross
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)
	MOBSIM_IO_URING=off $(GO) test -count=1 $(LIVE_PKGS)

# Property and seed sweeps at full size.
test-long:
	MOBSIM_SEEDS=20000 $(GO) test -count=1 -timeout 60m ./sim/...
	$(GO) test -count=1 -timeout 60m ./properties/... -rapid.checks=10000

# gofmt, go vet, staticcheck and actionlint. gofmt walks the tree itself, so
# this works outside a git checkout too (a source tarball).
lint: vet staticcheck actionlint
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

# The GitHub workflows (the nightly sweep) must be valid.
actionlint:
	$(ACTIONLINT) .github/workflows/*.yml

# Every darwin and BSD target of this Go: where netpoll's kqueue backend runs.
KQUEUE_TARGETS := $(shell $(GO) tool dist list | grep -E '^(darwin|dragonfly|freebsd|netbsd|openbsd)/')

# The kqueue backend must build and vet, and its tests (the contract suite)
# compile and link, on every darwin and BSD target; 32-bit Linux vets the
# whole module, tests included, for int overflows.
cross:
	GOOS=darwin  GOARCH=amd64 $(GO) vet ./...
	GOOS=darwin  GOARCH=arm64 $(GO) vet ./...
	GOOS=freebsd GOARCH=amd64 $(GO) vet ./...
	GOOS=linux   GOARCH=386   $(GO) vet ./...
	GOOS=netbsd  GOARCH=amd64 $(GO) build ./...
	GOOS=freebsd GOARCH=386   $(GO) build ./...
	GOOS=openbsd GOARCH=amd64 $(GO) build ./...
	GOOS=dragonfly GOARCH=amd64 $(GO) build ./...
	for t in $(KQUEUE_TARGETS); do \
		echo "cross: $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./netpoll/... ./kerneltest/...; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) test -c -o /dev/null ./netpoll; \
	done

# Coverage of the core (package server) under the whole suite, the live
# tests' child processes included. Three things stood in the way:
#   - a binary built with a -coverpkg that leaves out its own main package
#     writes no coverage data at all, so -coverpkg names the main packages
#     the tests build or re-exec (cmd/mob, cmd/mobsoak) besides the core;
#   - the tests build those binaries with their own `go build`, which sees
#     the flags only through GOFLAGS (hence import paths, not ./server: a
#     pattern is resolved in the directory of the go command);
#   - go test points GOCOVERDIR of each test binary at a private temporary
#     directory, which the children inherit and go test then discards;
#     -exec env puts ours back.
# -coverpkg=./server alone therefore records only in-process tests.
# internal/child is instrumented too, though only the core is reported: a
# -cover binary with no instrumented package prints "program not built
# with -cover" on stderr, and internal/child's tests read the exact log of
# their re-executed test binary.
COVER_DIR  := $(CURDIR)/bin/cover
COVER_CORE := github.com/mobsim/mobsim/server
COVER_PKGS := $(COVER_CORE),github.com/mobsim/mobsim/cmd/mob,github.com/mobsim/mobsim/cmd/mobsoak,github.com/mobsim/mobsim/internal/child
cover:
	rm -rf $(COVER_DIR) && mkdir -p $(COVER_DIR)
	GOFLAGS="$$($(GO) env GOFLAGS) -cover -coverpkg=$(COVER_PKGS)" \
		$(GO) test -count=1 -exec "env GOCOVERDIR=$(COVER_DIR)" ./... -args -test.gocoverdir=$(COVER_DIR)
	$(GO) tool covdata textfmt -i=$(COVER_DIR) -pkg=$(COVER_CORE) -o $(COVER_DIR)/server.out
	@echo "per function: go tool cover -func=$(COVER_DIR)/server.out; as HTML: go tool cover -html=$(COVER_DIR)/server.out"
	$(GO) tool covdata percent -i=$(COVER_DIR) -pkg=$(COVER_CORE)

# Fails if go.mod, go.sum, tools.mod or tools.sum would change.
tidy:
	$(GO) mod tidy -diff
	$(GO) mod tidy -modfile=tools.mod -diff

# Run the live server on loopback with line framing (try two `nc 127.0.0.1 7777`).
# It builds and then execs the binary: `go run` exits 1 when its child got a
# signal, so Ctrl-C ended in "make: *** Error 1" although mob exits 0.
run:
	$(GO) build -o bin/mob ./cmd/mob
	exec bin/mob -addr 127.0.0.1:7777

# Sweep $(SEEDS) simulator seeds with a progress line.
sim:
	$(GO) run ./cmd/mobsim -seeds $(SEEDS)

# A long sweep on every core.
sim-long:
	$(GO) run ./cmd/mobsim -seeds 200000

# Native fuzzing of the frame decoders and the simulator's knobs.
fuzz:
	$(GO) test ./properties -run '^$$' -fuzz FuzzLineDecoder -fuzztime $(FUZZTIME)
	$(GO) test ./properties -run '^$$' -fuzz FuzzMobDecoder -fuzztime $(FUZZTIME)
	$(GO) test ./properties -run '^$$' -fuzz FuzzSimSeed -fuzztime $(FUZZTIME)

# The bug catalog: every re-introduced event-loop bug must be caught. It runs
# on the catalog build (package bugs applied through go's -overlay), vetted first.
bugs:
	$(GO) run ./internal/cmd/bugbuild vet ./...
	$(GO) run ./internal/cmd/bugbuild test -count=1 -timeout 30m ./sim -run TestBugCatalog -v

# The live-socket tests $(STRESS_COUNT) times over while two CPU burners load
# the machine: they must pass for real reasons, not thanks to an idle one.
# The burners are this recipe's own children, stopped on every exit.
STRESS_COUNT ?= 10
STRESS_PKGS  := ./e2e/ ./cmd/... ./internal/... ./netpoll/... ./examples/...
stress:
	burn() { while :; do :; done; }; \
	burn & b1=$$!; burn & b2=$$!; \
	trap 'kill $$b1 $$b2 2>/dev/null || true' EXIT INT TERM; \
	$(GO) test -count=$(STRESS_COUNT) -timeout 90m $(STRESS_PKGS); \
	$(GO) test -count=$(STRESS_COUNT) -timeout 30m -run '^TestRoundTripLoopback$$' ./netrec/

# Live soak test on loopback (bounded; SOAK_DURATION, SOAK_CLIENTS).
soak:
	$(GO) run ./cmd/mobsoak -duration $${SOAK_DURATION:-60s} -clients $${SOAK_CLIENTS:-500}

# Short benchmark run against the peers (see BENCHMARKS.md).
bench:
	$(MAKE) -C bench bench
