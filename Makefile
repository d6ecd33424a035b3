# TUNA — see README.md.
GO       ?= go
FUZZTIME ?= 30s
BENCH    ?= .

.PHONY: run test build check fuzz bench ab overhead profile scale reload soak microbench clean

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
	$(GO) test ./session -run='^$$' -fuzz=FuzzDecodeBinary -fuzztime=$(FUZZTIME)
	$(GO) test ./components/payment/boltstore -run='^$$' -fuzz=FuzzMarshalPayment -fuzztime=$(FUZZTIME)
	$(GO) test ./engine -run='^$$' -fuzz=FuzzParseProtocol -fuzztime=$(FUZZTIME)
	$(GO) test ./components/payment/window -run='^$$' -fuzz=FuzzResend -fuzztime=$(FUZZTIME)
	$(GO) test ./components/payment/window -run='^$$' -fuzz=FuzzReturnURL -fuzztime=$(FUZZTIME)

## bench: floor, the hand-written baseline and TUNA under load on this machine (BENCH_SECONDS, BENCH_REPEATS)
bench:
	./bench/run.sh

## ab: two builds under load at the same time, swapped pair by pair (AB_A ref, AB_B ref or worktree, AB_PREFIX, AB_PAIRS)
ab:
	./bench/ab.sh

## overhead: the engine's CPU per payment flow over hand-written handlers, in one process (OVERHEAD_ROUNDS, OVERHEAD_FLOWS)
overhead:
	./bench/overhead.sh

## profile: CPU and heap profiles of TUNA under load, in profiles/ (PROFILE_SECONDS, PROFILE_PREFIX)
profile:
	./bench/profile.sh

## scale: per-step latency, file size and server RSS with 1k, 100k and 1M live sessions (SCALE_COUNTS, SCALE_SECONDS)
scale:
	./bench/scale.sh

## reload: hot reload under load: failed steps and p99 around a reload every 5 s (RELOAD_SECONDS, RELOAD_CONCURRENCY)
reload:
	./bench/reload.sh

## soak: the server's RSS over a steady load (SOAK_SECONDS, SOAK_CONCURRENCY, SOAK_SAMPLE)
soak:
	./bench/soak.sh

## microbench: Go benchmarks of the hot paths
microbench:
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem ./engine/... ./server/... ./session/... ./components/... ./internal/...

clean:
	rm -rf bin data profiles
