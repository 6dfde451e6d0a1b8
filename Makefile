# kubectl-tokens: three kubectl plugins on one shared plumbing.
#   make build     the three plugin binaries into bin/
#   make test      lint, unit and end-to-end tests on a real control plane (builds what it needs)
#   make test-unit the tests that need no control plane (go test -short)
#   make test-e2e  every test, the control-plane packages included (-tags e2e)
#   make test-race those tests under the race detector (part of make test)
#   make golden    rewrite the golden files from the current output, for review
#   make lint      golangci-lint (.golangci.yml), built from the module proxy
#   make deadcode  functions no plugin's main can reach (golang.org/x/tools deadcode)
#   make demo      a throwaway control plane and each plugin's headline flow
#   make fleet     the real Fleet v0.16.1 (controller, agent, charts) into bin/testbin,
#                  from ../shared/upstream/fleet-v0.16.1.tar.gz
#   make install   copy the plugins to $(INSTALL_DIR) (put it on PATH for kubectl plugin list)
#   make bench     side-by-side benchmarks on the real control plane, written to BENCHMARKS.md
#   make release-snapshot  an unpublished release of every platform into dist/, signed
#                          with a throwaway key and checked like release-check (heavy)
#   make release-check     a snapshot for this platform, checked by the real krew

SHELL := /usr/bin/env bash
GO ?= go
PLUGINS := regtoken exttoken bootstrap
BIN := $(CURDIR)/bin
INSTALL_DIR ?= $(shell $(GO) env GOPATH)/bin
# The pinned tools (hack/tools.sh builds them from hack/tools/*/go.mod).
TOOLS_DIR ?= $(BIN)/tools
export TOOLS_DIR

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/kubectl-tokens/kubectl-tokens/pkg/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).Date=$(DATE)

# Test timeout for go test: the control plane starts once per package.
TEST_TIMEOUT ?= 30m

# The test files that start a control plane (test/e2e, test/integration,
# test/multicluster, the emulators' own tests, test/testenv's restart) build
# only with this tag, so go test -short ./... links none of them. With the
# tag and without -short they run and never skip: a missing binary fails.
E2E_TAGS := e2e

.PHONY: all build testbin fleet helm test test-unit test-e2e test-race tidy-check golden lint deadcode tools fuzz demo install clean fmt vet release-check release-snapshot bench bench-smoke

# Fuzz targets and the time each gets in make test (a short run that keeps
# them from rotting; run longer with FUZZTIME=10m make fuzz).
FUZZTIME ?= 10s
FUZZ_TARGETS := ./pkg/shellquote:FuzzQuote ./plugins/regtoken:FuzzHelmCommand ./plugins/bootstrap:FuzzJoinCommands

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/kubectl-,$(PLUGINS))

testbin:
	hack/testbin.sh

# The real Fleet (test/realfleet runs it): without the source archive one
# line says where to put it; make demo then uses the emulator and the
# real-Fleet tests fail.
fleet:
	hack/fleet.sh

# helm (hack/tools/helm) for the regtoken tests that run the printed helm
# commands against test/charts/fleet-agent.
helm:
	hack/tools.sh helm

vet:
	$(GO) vet -tags $(E2E_TAGS) ./...

# Every pinned tool, built once (each is skipped while its pins are unchanged).
tools:
	hack/tools.sh goreleaser krew golangci-lint deadcode

lint:
	hack/tools.sh golangci-lint
	$(TOOLS_DIR)/golangci-lint run ./...

# Reports (does not fail on) functions that no plugin's main reaches.
deadcode:
	hack/tools.sh deadcode
	$(TOOLS_DIR)/deadcode ./cmd/...

test-unit:
	$(GO) test -short ./...

# The in-process tests again under the race detector: the engine's fan-out
# and the progress redraws run concurrently.
test-race:
	$(GO) test -short -race -count=1 ./pkg/... ./plugins/...

# go.mod and go.sum say exactly what the code imports.
tidy-check:
	$(GO) mod tidy -diff

# Rewrites every golden file from what the tests print now, for review
# with git diff (CI never does this).
golden:
	$(GO) test -short -count=1 $$(find . -path ./bin -prune -o -name '*.golden' -print | xargs -n1 dirname | xargs -n1 dirname | sort -u) -args -update

# test/release already ran in release-check, on the snapshot it made.
test: tidy-check testbin fleet helm build vet lint test-race release-check
	$(MAKE) test-e2e
	$(MAKE) fuzz
	$(MAKE) bench-smoke

# Every package's tests with the control-plane files (E2E_TAGS), on the
# binaries make test builds first.
test-e2e:
	KUBEBUILDER_ASSETS=$(BIN)/testbin PLUGIN_BIN_DIR=$(BIN) HELM=$(BIN)/tools/helm $(GO) test -tags $(E2E_TAGS) -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list -tags $(E2E_TAGS) ./... | grep -v '/test/release$$')

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz: $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# goreleaser check and a snapshot release for this machine's platform; then
# test/release: the real validate-krew-manifest on dist/krew/*.yaml (with
# its install test) and on the krew-manifests/ templates, and
# `kubectl krew install` of the archives with the real krew and kubectl.
release-check:
	hack/release-snapshot.sh --single-target
	hack/tools.sh krew
	$(GO) test -count=1 ./test/release/...

# Every platform: the six archives per plugin, both images (the arm64 one
# run under qemu-user when it is installed, else its ELF headers checked),
# checksums.txt and the image signed with a throwaway key by the pinned
# cosign (built here, not in make test), then test/release on all of it.
release-snapshot:
	hack/release-snapshot.sh --all
	hack/tools.sh krew
	$(GO) test -count=1 ./test/release/...

# Every comparison side by side in one run, the real Fleet's (make fleet) and
# the Rancher import's included; refuses a working tree with uncommitted
# changes (the report records the commit it measured).
bench: testbin fleet build helm
	KUBEBUILDER_ASSETS=$(BIN)/testbin PLUGIN_BIN_DIR=$(BIN) HELM=$(BIN)/tools/helm $(GO) run ./test/bench -out BENCHMARKS.md

# One round at small scale, into a scratch file: keeps make bench working.
bench-smoke: testbin fleet build helm
	KUBEBUILDER_ASSETS=$(BIN)/testbin PLUGIN_BIN_DIR=$(BIN) HELM=$(BIN)/tools/helm $(GO) run ./test/bench -smoke

demo: testbin fleet helm build
	hack/demo.sh

install: build
	mkdir -p $(INSTALL_DIR)
	install -m 0755 $(addprefix $(BIN)/kubectl-,$(PLUGINS)) $(INSTALL_DIR)/

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) dist
