# bench/bench.mk -- included by the root Makefile (-include bench/bench.mk).
#
#   make bench         scrape cost at 1k, 5k, 10k nodes and serve cost at 1k, 5k, against
#                      their floors; writes BENCHMARKS.md (about 15 min; the first run on a
#                      machine also mints 10 000 kubelet certificates, about 4 min, cached
#                      in build/bench-pki)
#   make bench-quick   N = 1000 only, for development; writes build/bench/BENCHMARKS-quick.md
#
# BENCH_ARGS passes options to bench/run (see its header), e.g.
#   make bench BENCH_ARGS="--cycles 5 --profile 0"

BENCH_BIN   := $(BUILD)/bench
BENCH_TOOLS := $(BENCH_BIN)/floor $(BENCH_BIN)/wrk-clientcert.so $(BENCH_BIN)/json-micro
BENCH_ARGS  ?=

.PHONY: bench bench-quick

$(BENCH_BIN)/floor: bench/floor.c
	@mkdir -p $(BENCH_BIN)
	$(CC) -O2 -Wall -Wextra -o $@ $< -lcurl -lssl -lcrypto

$(BENCH_BIN)/wrk-clientcert.so: bench/wrk-clientcert.c
	@mkdir -p $(BENCH_BIN)
	$(CC) -O2 -Wall -Wextra -shared -fPIC -o $@ $< -ldl -lssl -lcrypto

$(BENCH_BIN)/json-micro: bench/json-micro.c
	@mkdir -p $(BENCH_BIN)
	$(CC) -O2 -Wall -Wextra -o $@ $< -ljansson

bench: $(MODULE) $(BENCH_TOOLS)
	bench/run --nodes "1000 5000 10000" --serve "1000 5000" --out $(CURDIR)/BENCHMARKS.md $(BENCH_ARGS)

bench-quick: $(MODULE) $(BENCH_TOOLS)
	bench/run --nodes 1000 --serve 1000 --out $(BENCH_BIN)/BENCHMARKS-quick.md $(BENCH_ARGS)
