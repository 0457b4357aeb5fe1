# omq — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       ?= bin/omq
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit by ldflag too: GOFLAGS=-buildvcs=false or a build without .git
# (the container) leaves the toolchain's vcs stamp out.
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS   := -s -w -X github.com/openmoove/omq/internal/cli.Version=$(VERSION) -X github.com/openmoove/omq/internal/cli.Commit=$(COMMIT)
# -race needs cgo; the machine has gcc. Tests take a few minutes on 2 cores.
TESTFLAGS ?= -race -timeout 20m

.PHONY: help run build test lint bench fuzz clean release image

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-8s %s\n", $$1, $$2}'

run: build ## run everything: embedded NATS, the local sandbox, every worker (Ctrl-C stops)
	./$(BIN) run

build: ## build bin/omq
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/omq

test: ## run every test (embedded NATS, the sandbox over real HTTP, the console in headless Chromium)
	@command -v chromium >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...
	cd deploy/prometheus/ruletest && $(GO) test ./...
	cd deploy/kubernetes/test && $(GO) vet ./... && $(GO) test ./...

lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The nats CLI, for the `nats bench` row of the bench table (installed into
# $(go env GOPATH)/bin when missing; only the Go module proxy is needed).
NATSCLI_VERSION ?= v0.5.0

bench: ## run the benchmarks and print their tables, about 5 minutes (see BENCHMARKS.md)
	@command -v nats >/dev/null 2>&1 || test -x "$$($(GO) env GOPATH)/bin/nats" || $(GO) install github.com/nats-io/natscli/nats@$(NATSCLI_VERSION)
	cd bench && $(GO) run .
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

# Every fuzz target as package:Name; `make test` runs their seed corpora
# (testdata/fuzz), `make fuzz` fuzzes each in turn. See docs/fuzzing.md.
FUZZTIME ?= 60s
# A new input that widens coverage is minimized first, up to 60 s by default:
# with large seeds that took a whole FUZZTIME. Failing inputs are minimized too.
FUZZMINIMIZETIME ?= 10s
FUZZ_TARGETS := \
	./events:FuzzParseEvent \
	./events:FuzzDecodeCreateProperty \
	./events:FuzzLoadMilestoneMap \
	./internal/imports:FuzzImportCSV \
	./internal/imports:FuzzImportJSONL \
	./internal/webhookreceiver:FuzzVerify \
	./internal/webhookreceiver:FuzzEventOf \
	./workers/webhooks:FuzzDecodeEnvelope \
	./deadletter:FuzzValidateEdit \
	./deadletter:FuzzReplayMsg \
	./assign:FuzzParseTable \
	./openmoove:FuzzHTTPError

fuzz: ## fuzz every decoder of outside input, FUZZTIME (60s) each, one at a time
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) -parallel 1 $$pkg; \
	done

# Static binaries (no cgo) for each platform, named omq-VERSION-OS-ARCH,
# and SHA256SUMS over them. Tag first (git tag v1.2.0) so VERSION is the tag.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64

release: ## build static binaries for linux/amd64, linux/arm64, darwin/arm64 into dist/ with SHA256SUMS
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%%/*}; arch=$${p##*/}; out=dist/omq-$(VERSION)-$$os-$$arch; \
		echo "== $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/omq; \
	done
	cd dist && sha256sum omq-* > SHA256SUMS
	@cat dist/SHA256SUMS

IMAGE ?= omq:$(VERSION)

image: ## build the container image (needs a Docker engine; see deploy/README.md)
	@command -v docker >/dev/null 2>&1 || { echo "make image: no docker command here; install Docker (or use: make release, and deploy the static binary)"; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make image: docker is installed but no Docker engine answers (docker info failed); start the engine, then run make image again"; exit 1; }
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

clean: ## remove the binary, dist/ and the local data dir
	rm -rf bin dist omq-data
