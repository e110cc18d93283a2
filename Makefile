# ngx_metrics_module: build, test and run against the distribution's nginx.
#
#   make deps    install every build/test/run dependency (Debian packages)
#   make         build build/ngx_http_k8s_metrics_module.so
#   make test    run the Test::Nginx suites (single process, then master + 2 workers)
#   make test-real, make test-lite   the same with the real Test::Nginx::Socket
#                (or fail), or with the bundled runner
#   make run     local demo (see README)
#   make deb     build/libnginx-mod-http-k8s-metrics_<version>_<arch>.deb,
#                checked by lintian; make deb-test installs it with apt-get,
#                loads it from modules-enabled with nginx -t, purges it
#                (root; changes the machine's /etc/nginx while it runs)
#   make image   build/ngx-metrics-module.oci.tar from deploy/Dockerfile
#                (buildah, debootstrap base); make image-test runs it
#   make lint    no cycle among the module's files (tools/callgraph)
#
# NGINX_SRC=/path/to/nginx-x.y.z builds against an upstream source tree
# instead of Debian's /usr/share/nginx/src.
#
# The suites' runner (t/lib/K8sMetricsTest.pm): TEST_RUNNER=auto takes the
# real Test::Nginx::Socket when Perl finds it (installed: cpanm Test::Nginx),
# else the one in TEST_NGINX_LIB when that folder holds it, else the bundled
# t/lib/Test/Nginx/Lite.pm; TEST_RUNNER=real insists on the real one,
# TEST_RUNNER=lite takes the bundled one.

NGINX_SRC      ?= /usr/share/nginx/src
NGINX_BIN      ?= /usr/sbin/nginx
BUILD          := $(CURDIR)/build
MODULE         := $(BUILD)/ngx_http_k8s_metrics_module.so
EXTRA_CC_OPT   ?=
EXTRA_LD_OPT   ?=
PROVE          ?= prove
TEST_FILES     ?= t/*.t
TEST_WORKERS   ?= 2
TEST_RUNNER    ?= auto
TEST_NGINX_LIB ?= $(abspath $(CURDIR)/../shared/vendor/test-nginx/lib)
export TEST_NGINX_LIB

# TEST_NGINX_LITE for the runner asked for (auto: as the environment says)
RUNNER_ENV = $(if $(filter real,$(TEST_RUNNER)),TEST_NGINX_LITE=0,$(if \
             $(filter lite,$(TEST_RUNNER)),TEST_NGINX_LITE=1,))

SOURCES := config $(wildcard ngx_metrics_module/*.c ngx_metrics_module/*.h)

DEB_PACKAGES := nginx nginx-dev libnginx-mod-http-js \
	gcc make libc6-dev libssl-dev libpcre2-dev zlib1g-dev \
	libcurl4-openssl-dev libjansson-dev \
	openssl curl perl libtest-base-perl libtest-longstring-perl \
	libyaml-libyaml-perl wrk clang libclang-rt-14-dev valgrind gdb \
	libtext-diff-perl libwww-perl liburi-perl liblist-moreutils-perl \
	libipc-run-perl libio-socket-ssl-perl python3-prometheus-client jq \
	dpkg-dev lintian buildah debootstrap protobuf-compiler

.PHONY: all deps test lint unit test-single test-workers test-real \
        test-lite run deb deb-test image image-test clean

all: $(MODULE)

# Configure a private copy of the nginx tree with the distribution's own
# flags, so the module is binary compatible with /usr/sbin/nginx.
$(BUILD)/Makefile: config
	rm -rf $(BUILD)/nginx-src
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(BUILD)/nginx-src
	cd $(BUILD)/nginx-src && \
	    if [ -f conf_flags ]; then . ./conf_flags; else NGX_CONF_FLAGS=(--with-compat --with-http_ssl_module --with-http_v2_module); fi; \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$(EXTRA_CC_OPT)" --with-ld-opt="$(EXTRA_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) --builddir=$(BUILD) >$(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE): $(BUILD)/Makefile $(SOURCES)
	cd $(BUILD)/nginx-src && $(MAKE) -f $(BUILD)/Makefile modules

SHELL := /bin/bash

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if ! command -v kubectl >/dev/null; then missing="$$missing kubernetes-client"; fi; \
	if [ -n "$$(echo $$missing)" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all dependencies present"; fi

test: lint unit test-single test-workers

# the module's files form layers: a cycle among them fails (and the check
# itself must see the cycle of tools/callgraph-cycle)
lint:
	perl tools/callgraph ngx_metrics_module
	! perl tools/callgraph tools/callgraph-cycle >/dev/null

# the pure units, each linked alone against the unconfigured sources
unit:
	$(MAKE) -s -C t/unit NGINX_SRC=$(NGINX_SRC)

test-single: $(MODULE)
	$(RUNNER_ENV) K8S_METRICS_TEST_WORKERS=0 $(PROVE) -r $(TEST_FILES)

test-workers: $(MODULE)
	$(RUNNER_ENV) K8S_METRICS_TEST_WORKERS=$(TEST_WORKERS) \
	    $(PROVE) -r $(TEST_FILES)

test-real test-lite: $(MODULE)
	$(MAKE) --no-print-directory TEST_RUNNER=$(@:test-%=%) \
	    test-single test-workers

# the local demo: simulated kubelets, nginx with the module, a front proxy
# standing in for kube-apiserver, and a kubeconfig for kubectl top
run: $(MODULE)
	conf/local-demo $(RUN_ARGS)

# the packaged module: built apart (build/deb-build) with Debian's hardening
# flags, as Debian builds its libnginx-mod-* packages
DEB_BUILD := $(BUILD)/deb-build
DEB_BUILDFLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags
DEB_CFLAGS = $(shell $(DEB_BUILDFLAGS) --get CFLAGS) \
             $(shell $(DEB_BUILDFLAGS) --get CPPFLAGS)
DEB_LDFLAGS = $(shell $(DEB_BUILDFLAGS) --get LDFLAGS)

deb:
	rm -rf $(DEB_BUILD)
	$(MAKE) --no-print-directory BUILD=$(DEB_BUILD) \
	    EXTRA_CC_OPT="$(DEB_CFLAGS)" EXTRA_LD_OPT="$(DEB_LDFLAGS)" \
	    $(DEB_BUILD)/ngx_http_k8s_metrics_module.so
	rm -f $(BUILD)/libnginx-mod-http-k8s-metrics_*.deb
	deb=$$(pkg/deb/build-deb $(DEB_BUILD)/ngx_http_k8s_metrics_module.so \
	    $(BUILD)) && lintian --fail-on error --suppress-tags \
	    no-manual-page "$$deb" && ls -l "$$deb"

deb-test: deb
	pkg/deb/test-deb $(BUILD)/libnginx-mod-http-k8s-metrics_*.deb

# the container image from deploy/Dockerfile, built with buildah from a
# debootstrap base (deploy/image/README.md); image-test runs it (uid 101,
# read-only root) against the kubelet simulator and the fake apiserver
IMAGE_TAG     ?= localhost/ngx-metrics-module:latest
IMAGE_ARCHIVE := $(BUILD)/ngx-metrics-module.oci.tar

image:
	deploy/image/build-image $(IMAGE_ARCHIVE) $(IMAGE_TAG)

image-test:
	deploy/image/test-image $(IMAGE_TAG) $(TEST_NGINX_SERVER_PORT)

# make bench (bench/bench.mk), make fuzz (fuzz/fuzz.mk)
-include bench/bench.mk
-include fuzz/fuzz.mk

clean:
	rm -rf $(BUILD) t/servroot t/servroot-* t/servroot.*
