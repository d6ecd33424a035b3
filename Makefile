# TUNA — see README.md.
GO       ?= go
FUZZTIME ?= 30s
BENCH    ?= .

.PHONY: run test build check fuzz bench profile microbench clean

## run: serve on the embedded defaults (127.0.0.1:8080, admin on 127.0.0.1:8081)
run:
	$(GO) run ./cmd/tuna serve

## test: vet and race-test everything (fuzz targets run their seed corpora)
test:
	$(GO) vet ./...
	$(GO) test -race ./...

## build: build bin/tuna
build:
	$(GO) build -o bin/tuna ./cmd/tuna

## check: load the repository's protocols and scripts as the server would
check:
	$(GO) run ./cmd/tuna check

## fuzz: run each fuzz target for FUZZTIME
fuzz:
	$(GO) test ./server -run='^$$' -fuzz=FuzzParseBody -fuzztime=$(FUZZTIME)
	$(GO) test ./engine -run='^$$' -fuzz=FuzzParseProtocol -fuzztime=$(FUZZTIME)
	$(GO) test ./components/payment/window -run='^$$' -fuzz=FuzzResend -fuzztime=$(FUZZTIME)
	$(GO) test ./components/payment/window -run='^$$' -fuzz=FuzzReturnURL -fuzztime=$(FUZZTIME)

## bench: floor, the hand-written baseline and TUNA under load on this machine (BENCH_SECONDS, BENCH_REPEATS)
bench:
	./bench/run.sh

## profile: CPU and heap profiles of TUNA under load, in profiles/ (PROFILE_SECONDS, PROFILE_PREFIX)
profile:
	./bench/profile.sh

## microbench: Go benchmarks of the hot paths
microbench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem ./engine/... ./server/... ./session/... ./components/... ./internal/...

clean:
	rm -rf bin data profiles
