# kubectl-tokens: three kubectl plugins on one shared plumbing.
#   make build     the three plugin binaries into bin/
#   make test      unit and end-to-end tests on a real control plane (builds what it needs)
#   make demo      a throwaway control plane and each plugin's headline flow
#   make install   copy the plugins to $(INSTALL_DIR) (put it on PATH for kubectl plugin list)
#   make bench     side-by-side benchmarks on the real control plane, written to BENCHMARKS.md
#   make release-snapshot  an unpublished release of every platform into dist/

SHELL := /usr/bin/env bash
GO ?= go
PLUGINS := regtoken exttoken bootstrap
BIN := $(CURDIR)/bin
INSTALL_DIR ?= $(shell $(GO) env GOPATH)/bin

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/kubectl-tokens/kubectl-tokens/internal/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).Date=$(DATE)

# Test timeout for go test: the control plane starts once per package.
TEST_TIMEOUT ?= 30m

.PHONY: all build testbin helm test fuzz demo install clean fmt vet release-check release-snapshot bench bench-smoke

# Fuzz targets and the time each gets in make test (a short run that keeps
# them from rotting; run longer with FUZZTIME=10m make fuzz).
FUZZTIME ?= 10s
FUZZ_TARGETS := ./internal/shellquote:FuzzQuote ./internal/plugins/regtoken:FuzzHelmCommand ./internal/plugins/bootstrap:FuzzJoinCommands

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/kubectl-,$(PLUGINS))

testbin:
	hack/testbin.sh

# helm (hack/tools/helm) for the regtoken tests that run the printed helm
# commands against test/charts/fleet-agent.
helm:
	hack/helm.sh

vet:
	$(GO) vet ./...

test: testbin helm build vet release-check
	KUBEBUILDER_ASSETS=$(BIN)/testbin PLUGIN_BIN_DIR=$(BIN) HELM=$(BIN)/tools/helm $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) fuzz
	$(MAKE) bench-smoke

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz: $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# goreleaser check, a snapshot release for this machine's platform, for the
# krew manifest validator and the krew-style install test in test/release.
release-check:
	hack/release-snapshot.sh --single-target

release-snapshot:
	hack/release-snapshot.sh --all

bench: testbin build
	KUBEBUILDER_ASSETS=$(BIN)/testbin PLUGIN_BIN_DIR=$(BIN) $(GO) run ./test/bench -out BENCHMARKS.md

# One round at small scale, into a scratch file: keeps make bench working.
bench-smoke: testbin build
	KUBEBUILDER_ASSETS=$(BIN)/testbin PLUGIN_BIN_DIR=$(BIN) $(GO) run ./test/bench -smoke

demo: testbin build
	hack/demo.sh

install: build
	mkdir -p $(INSTALL_DIR)
	install -m 0755 $(addprefix $(BIN)/kubectl-,$(PLUGINS)) $(INSTALL_DIR)/

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) dist
