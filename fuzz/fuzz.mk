# Fuzzing and memory checking (included by the root Makefile; see
# fuzz/README.md).
#
#   make fuzz          every libFuzzer target for FUZZ_SECONDS (60) each
#   make fuzz-ci       the regression inputs and seed corpus replayed, then
#                      every target for FUZZ_CI_SECONDS (10) each
#   make fuzz-regress  only the replay
#   make test-asan     the module built with ASan+UBSan into build-asan/,
#                      and the core Test::Nginx suites run with it
#
# FUZZ_TARGETS=parser make fuzz  runs one target.  Everything is written
# under build/fuzz and build-asan (not committed).

FUZZ_CC          ?= clang
FUZZ_SECONDS     ?= 60
FUZZ_CI_SECONDS  ?= 10
FUZZ_TARGETS     ?= parser selector extra_key quantity emit accept
FUZZ_OUT         := $(BUILD)/fuzz

FUZZ_NGX   := $(BUILD)/nginx-src/src
FUZZ_MOD   := $(CURDIR)/ngx_metrics_module
FUZZ_INCS  := -I $(FUZZ_NGX)/core -I $(FUZZ_NGX)/event \
              -I $(FUZZ_NGX)/event/modules -I $(FUZZ_NGX)/os/unix \
              -I $(FUZZ_NGX)/http -I $(FUZZ_NGX)/http/modules \
              -I $(FUZZ_NGX)/http/v2 -I $(FUZZ_NGX)/http/v3 \
              -I $(BUILD) -I $(FUZZ_MOD) -I $(CURDIR)/fuzz \
              -I $(CURDIR)/t/unit
FUZZ_SAN   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
FUZZ_FLAGS := -g -O1 $(FUZZ_SAN) -Wall -Wextra -Wno-unused-parameter -Werror

# the module source each target tests
FUZZ_SRC_parser    := $(FUZZ_MOD)/ngx_k8s_metrics_parser.c
FUZZ_SRC_selector  := $(FUZZ_MOD)/ngx_k8s_metrics_selector.c \
                      $(FUZZ_MOD)/ngx_k8s_metrics_selector_field.c \
                      $(FUZZ_MOD)/ngx_k8s_metrics_selector_match.c \
                      $(FUZZ_MOD)/ngx_k8s_metrics_selector_text.c \
                      $(FUZZ_MOD)/ngx_k8s_metrics_utf8.c
FUZZ_SRC_extra_key := $(FUZZ_MOD)/ngx_k8s_metrics_identity.c
FUZZ_SRC_quantity  := $(FUZZ_MOD)/ngx_k8s_metrics_quantity.c
FUZZ_SRC_emit      := $(FUZZ_MOD)/ngx_k8s_metrics_emit.c
FUZZ_SRC_accept    := $(FUZZ_MOD)/ngx_k8s_metrics_media.c

# identity.c is linked whole and unmodified: the linker drops all of it but
# ngx_k8s_metrics_decode_extra_key() (see fuzz/fuzz_extra_key.c)
FUZZ_GC              := -ffunction-sections -fdata-sections \
                        -Wl,--gc-sections -Wl,-z,start-stop-gc
FUZZ_EXTRA_extra_key := $(FUZZ_GC)
FUZZ_EXTRA_emit      := $(FUZZ_GC)
FUZZ_EXTRA_accept    := $(FUZZ_GC)

# libraries, after the sources (jansson: the emit target's oracle)
FUZZ_LIBS_emit       := -ljansson

FUZZ_BINS := $(foreach t,$(FUZZ_TARGETS),$(FUZZ_OUT)/bin/fuzz_$(t))

.PHONY: fuzz fuzz-ci fuzz-build fuzz-regress fuzz-clean test-asan \
        test-valgrind

fuzz-build: $(FUZZ_BINS)

$(FUZZ_OUT)/bin/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_shim.c fuzz/fuzz_shim.h \
                        t/unit/unit_pool.c t/unit/unit_pool.h \
                        $(BUILD)/Makefile \
                        $(SOURCES)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_EXTRA_$*) $(FUZZ_INCS) -o $@ \
	    fuzz/fuzz_$*.c fuzz/fuzz_shim.c t/unit/unit_pool.c $(FUZZ_SRC_$*) \
	    $(FUZZ_LIBS_$*)

# each target over its regression inputs and seed corpus, once
fuzz-regress: $(FUZZ_BINS)
	FUZZ_OUT=$(FUZZ_OUT) fuzz/run.sh regress $(FUZZ_TARGETS)

fuzz: $(FUZZ_BINS)
	FUZZ_OUT=$(FUZZ_OUT) fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci: $(FUZZ_BINS)
	FUZZ_OUT=$(FUZZ_OUT) fuzz/run.sh regress $(FUZZ_TARGETS)
	FUZZ_OUT=$(FUZZ_OUT) fuzz/run.sh fuzz $(FUZZ_CI_SECONDS) $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_OUT)


# make test-asan: the module built with AddressSanitizer and UBSan by the
# root Makefile itself (BUILD, EXTRA_CC_OPT and EXTRA_LD_OPT given on its
# command line: a configured copy of the nginx tree in build/asan/, under
# build/ so that git ignores it), loaded by Debian's uninstrumented nginx
# with gcc's libasan preloaded (t/asan/nginx, the TEST_NGINX_BINARY
# wrapper), the core suites run by t/asan/run.sh.  See t/asan/README.md.

ASAN_BUILD    ?= $(CURDIR)/build/asan
ASAN_MODULE   := $(ASAN_BUILD)/ngx_http_k8s_metrics_module.so
ASAN_SUITES   ?= t/010-discovery.t t/020-authn-matrix.t t/040-collection.t \
                 t/048-share.t t/050-kubelet-faults.t t/112-no-stall.t
ASAN_WORKERS  ?= 2
ASAN_PORT     ?= 5984
ASAN_SERVROOT ?= /tmp/asan-servroot
ASAN_CC_OPT   ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_LD_OPT   ?= -fsanitize=address,undefined

.PHONY: asan-module

# the sub-make decides whether anything is out of date; configure's test
# programs must not fail on leaks of their own
asan-module:
ifneq ($(BUILD),$(ASAN_BUILD))
	ASAN_OPTIONS=detect_leaks=0 $(MAKE) --no-print-directory \
	    BUILD=$(ASAN_BUILD) EXTRA_CC_OPT="$(ASAN_CC_OPT)" \
	    EXTRA_LD_OPT="$(ASAN_LD_OPT)" all
endif

test-asan: asan-module
	ASAN_PORT=$(ASAN_PORT) ASAN_SERVROOT=$(ASAN_SERVROOT) \
	ASAN_WORKERS=$(ASAN_WORKERS) PROVE="$(PROVE)" \
	    t/asan/run.sh $(ASAN_MODULE) $(ASAN_SUITES)


# make test-valgrind: the module as `make` builds it, nginx under
# valgrind's memcheck (t/asan/valgrind-nginx), the suites that exercise
# nginx's own code on the module's objects the most (requests, TLS peers,
# the apiserver client and the ConfigMap-driven stores); see
# t/asan/README.md.

VALGRIND_SUITES   ?= t/020-authn-matrix.t t/040-collection.t t/090-apiserver.t
VALGRIND_WORKERS  ?= 2
VALGRIND_PORT     ?= 3984
VALGRIND_SERVROOT ?= /tmp/valgrind-servroot

test-valgrind: $(MODULE)
	MEMCHECK=valgrind ASAN_PORT=$(VALGRIND_PORT) \
	ASAN_SERVROOT=$(VALGRIND_SERVROOT) ASAN_WORKERS=$(VALGRIND_WORKERS) \
	PROVE="$(PROVE)" t/asan/run.sh $(MODULE) $(VALGRIND_SUITES)
