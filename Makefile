# mobsim: a multi-echo server on an edge-triggered event loop, and the
# deterministic simulation that proves it. `make` runs the tests.
SHELL := bash
.SHELLFLAGS := -o pipefail -euc
.DEFAULT_GOAL := test
.PHONY: test test-long lint vet cross tidy run sim sim-long fuzz bugs soak bench staticcheck stress

GO          ?= go
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
# Packages whose tests start goroutines run under the race detector.
RACE_PKGS   := ./netpoll/... ./cmd/... ./e2e/... ./internal/... ./examples/...
SEEDS       ?= 10000
FUZZTIME    ?= 30s

# Everything CI checks: format, vet, staticcheck, the cross builds, all tests.
test: lint cross
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)

# Property and seed sweeps at full size.
test-long:
	MOBSIM_SEEDS=20000 $(GO) test -count=1 -timeout 60m ./sim/...
	$(GO) test -count=1 -timeout 60m ./properties/... -rapid.checks=10000

# gofmt, go vet and staticcheck (installed on demand at the pinned version).
lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

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

# Fails if go.mod or go.sum would change.
tidy:
	$(GO) mod tidy -diff

# Run the live server on loopback with line framing (try two `nc 127.0.0.1 7777`).
run:
	$(GO) run ./cmd/mob -addr 127.0.0.1:7777

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
