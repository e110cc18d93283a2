
/*
 * Unit tests of ngx_k8s_metrics_quantity.c and ngx_k8s_metrics_parser.c,
 * linked alone (no nginx runtime).  Build and run: make -C t/unit
 * (after "make" in the repository root has configured build/).
 *
 *   ./test_parser_quantity          run the tests
 *   ./test_parser_quantity bench    parser throughput on a synthetic payload
 *   ./test_parser_quantity bench worst   the same, every CPU value with 17
 *                                        digits (strtod() for each)
 */


#include "ngx_k8s_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <locale.h>
#include <math.h>


#define MAX_SAMPLES  4096


typedef struct {
    ngx_k8s_metrics_sample_kind_e   kind;
    char                            namespace[320];
    char                            pod[320];
    char                            container[320];
    char                            name[64];
    char                            text[72];
    double                          value;
    int64_t                         timestamp_ms;
} rec_t;


typedef struct {
    rec_t                           recs[MAX_SAMPLES];
    ngx_uint_t                      n;
    ngx_uint_t                      abort_after;    /* 0: never */
    ngx_uint_t                      decline_negative;
    ngx_uint_t                      lines;
    ngx_uint_t                      samples;
    ngx_uint_t                      unknown;
    ngx_uint_t                      malformed;
    ngx_int_t                       rc;
} run_t;


static ngx_uint_t  passed, failed;


#define check(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                      \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)


/* quantities */

typedef u_char *(*format_pt)(u_char *p, uint64_t v);


static void
check_format(const char *what, format_pt fmt, uint64_t v, const char *expect,
    int line)
{
    u_char   buf[NGX_K8S_METRICS_QUANTITY_LEN + 1];
    u_char  *last;

    memset(buf, 'X', sizeof(buf));
    last = fmt(buf, v);
    *last = '\0';

    if (strcmp((char *) buf, expect) == 0
        && last - buf <= NGX_K8S_METRICS_QUANTITY_LEN)
    {
        passed++;

    } else {
        failed++;
        printf("FAIL line %d: %s(%llu) = \"%s\", expected \"%s\"\n", line,
               what, (unsigned long long) v, buf, expect);
    }
}


#define cpu(v, s)  check_format("format_cpu", ngx_k8s_metrics_format_cpu, \
                                v, s, __LINE__)
#define mem(v, s)  check_format("format_memory",                            \
                                ngx_k8s_metrics_format_memory, v, s, __LINE__)


static void
check_duration(int64_t ns, const char *expect, int line)
{
    u_char   buf[NGX_K8S_METRICS_QUANTITY_LEN + 1];
    u_char  *last;

    last = ngx_k8s_metrics_format_duration(buf, ns);
    *last = '\0';

    if (strcmp((char *) buf, expect) == 0) {
        passed++;

    } else {
        failed++;
        printf("FAIL line %d: format_duration(%lld) = \"%s\", expected "
               "\"%s\"\n", line, (long long) ns, buf, expect);
    }
}


#define dur(v, s)  check_duration(v, s, __LINE__)


static void
check_time(time_t t, const char *expect, int line)
{
    u_char   buf[NGX_K8S_METRICS_QUANTITY_LEN + 1];
    u_char  *last;

    last = ngx_k8s_metrics_format_time(buf, t);
    *last = '\0';

    if (strcmp((char *) buf, expect) == 0) {
        passed++;

    } else {
        failed++;
        printf("FAIL line %d: format_time(%lld) = \"%s\", expected \"%s\"\n",
               line, (long long) t, buf, expect);
    }
}


static void
test_quantities(void)
{
    /*
     * CPU: resource.NewScaledQuantity(n, -9), DecimalSI, as metrics-server's
     * uint64Quantity() (pkg/storage/types.go) builds it.  Canonical form
     * from apimachinery pkg/api/resource: quantity.go CanonicalizeBytes ->
     * amount.go int64Amount.AsCanonicalBytes (strip factors of 10, lower
     * the exponent to a multiple of 3) -> suffix.go decSuffixes.
     */
    cpu(0, "0");
    cpu(4710169, "4710169n");
    cpu(123000, "123u");
    cpu(250000000, "250m");
    cpu(2000000000, "2");
    cpu(1500000000, "1500m");
    cpu(5000000000000ULL, "5k");

    /* quantity_test.go TestNewScaledSet: {1, Nano, "1n"}, {1000, Nano, "1u"} */
    cpu(1, "1n");
    cpu(1000, "1u");
    cpu(1000000, "1m");

    /* TestQuantityString: decQuantity(1080, -9) "1080n", (80, -6) "80u" */
    cpu(1080, "1080n");
    cpu(80000, "80u");
    cpu(1080000, "1080u");
    cpu(80000000, "80m");
    cpu(1080000000, "1080m");

    /* 10 and 100 with exponent -9 are not lifted: -8 and -7 round down */
    cpu(10, "10n");
    cpu(100, "100n");
    cpu(10000, "10u");
    cpu(100000000, "100m");
    cpu(999999999, "999999999n");
    cpu(1000000001, "1000000001n");
    cpu(3000000000000000ULL, "3M");
    cpu(1000000000000000000ULL, "1G");
    cpu(9223372036854775807ULL, "9223372036854775807n");

    /* uint64Quantity(): above INT64_MAX the last digit is dropped */
    cpu(9223372036854775809ULL, "9223372036854775800n");
    cpu(18446744073709551615ULL, "18446744073709551610n");
    cpu(10000000000000000000ULL, "10G");

    /*
     * memory: resource.NewQuantity(n, BinarySI).  quantity.go
     * CanonicalizeBytes: a BinarySI value in (-1024, 1024) is printed as
     * DecimalSI; otherwise AsCanonicalBase1024Bytes strips factors of 1024
     * (amount.go, math.go removeInt64Factors) and a remainder that is not
     * a multiple of 1024 is printed in plain bytes.
     */
    mem(0, "0");
    mem(1, "1");
    mem(5, "5");            /* TestQuantityString decQuantity(5, 0, BinarySI) */
    mem(512, "512");
    mem(999, "999");
    mem(1000, "1k");        /* DecimalSI below 1024: TestNewSet {1000, "1k"} */
    mem(1023, "1023");
    mem(1024, "1Ki");       /* TestNewSet {1024, BinarySI, "1Ki"} */
    mem(1025, "1025");      /* TestQuantityString decQuantity(1025) "1025" */
    mem(1536, "1536");
    mem(2000, "2000");
    mem(6 * 1024, "6Ki");
    mem(1000000, "1000000");
    mem(1048575, "1048575");
    mem(1048576, "1Mi");
    mem(12240 * 1024, "12240Ki");
    mem(3 * 1048576, "3Mi");
    mem(300 * 1048576, "300Mi");
    mem(1073741824, "1Gi");
    mem(1001ULL * 1073741824, "1001Gi");
    mem(1099511627776ULL, "1Ti");
    mem(1125899906842624ULL, "1Pi");
    mem(1152921504606846976ULL, "1Ei");
    mem(4611686018427387904ULL, "4Ei");
    mem(9223372036854775807ULL, "9223372036854775807");
    mem(9223372036854775808ULL, "9223372036854775800");
    mem(1536ULL * 1125899906842624ULL, "1536Pi");

    /*
     * Go's time.Duration.String(): src/time/time_test.go durationTests and
     * the algorithm in src/time/time.go (Duration.format, fmtFrac, fmtInt).
     */
    dur(0, "0s");
    dur(1, "1ns");
    dur(1100, "1.1\xc2\xb5s");
    dur(2200000, "2.2ms");
    dur(3300000000LL, "3.3s");
    dur(4 * 60000000000LL + 5000000000LL, "4m5s");
    dur(4 * 60000000000LL + 5001000000LL, "4m5.001s");
    dur(5 * 3600000000000LL + 6 * 60000000000LL + 7001000000LL,
        "5h6m7.001s");
    dur(8 * 60000000000LL + 1, "8m0.000000001s");
    dur(INT64_MAX, "2562047h47m16.854775807s");
    dur(INT64_MIN, "-2562047h47m16.854775808s");
    dur(-1, "-1ns");
    dur(-1100, "-1.1\xc2\xb5s");
    dur(-4 * 60000000000LL - 5000000000LL, "-4m5s");

    dur(1500, "1.5\xc2\xb5s");
    dur(1000, "1\xc2\xb5s");
    dur(999, "999ns");
    dur(999999, "999.999\xc2\xb5s");
    dur(1000000, "1ms");
    dur(500000000, "500ms");
    dur(999999999, "999.999999ms");
    dur(1000000000, "1s");
    dur(15003000000LL, "15.003s");
    dur(15000000000LL, "15s");
    dur(60000000000LL, "1m0s");
    dur(3600000000000LL, "1h0m0s");
    dur(3723500000000LL, "1h2m3.5s");
    dur(90061001000000LL, "25h1m1.001s");

    check_time(0, "1970-01-01T00:00:00Z", __LINE__);
    check_time(1704164645, "2024-01-02T03:04:05Z", __LINE__);
    check_time(951868799, "2000-02-29T23:59:59Z", __LINE__);
    check_time(2147483648LL, "2038-01-19T03:14:08Z", __LINE__);
    check_time(-1, "1969-12-31T23:59:59Z", __LINE__);
    check_time(253402300799LL, "9999-12-31T23:59:59Z", __LINE__);
}


/* the parser */

static ngx_int_t
record(void *data, ngx_k8s_metrics_sample_t *s)
{
    run_t  *run = data;
    rec_t  *r;

    if (run->n == MAX_SAMPLES) {
        return NGX_ERROR;
    }

    if (run->decline_negative && s->value < 0) {
        return NGX_DECLINED;
    }

    r = &run->recs[run->n++];

    memset(r, 0, sizeof(rec_t));
    r->kind = s->kind;
    r->value = s->value;
    r->timestamp_ms = s->timestamp_ms;

    if (s->namespace.len >= sizeof(r->namespace)
        || s->pod.len >= sizeof(r->pod)
        || s->container.len >= sizeof(r->container)
        || s->name->len >= sizeof(r->name)
        || s->text.len >= sizeof(r->text))
    {
        return NGX_ERROR;
    }

    memcpy(r->name, s->name->data, s->name->len);
    memcpy(r->text, s->text.data, s->text.len);

    memcpy(r->namespace, s->namespace.data, s->namespace.len);
    memcpy(r->pod, s->pod.data, s->pod.len);
    memcpy(r->container, s->container.data, s->container.len);

    if (run->abort_after && run->n == run->abort_after) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* feeds the payload in chunks ending at the given offsets */

static void
run_chunks(run_t *run, const char *payload, size_t len, size_t *cuts,
    ngx_uint_t ncuts, size_t bufsize)
{
    u_char                    *copy, *buf;
    size_t                     from, to;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_uint_t                 decline;
    ngx_k8s_metrics_parser_t   parser;

    decline = run->decline_negative;
    memset(run, 0, sizeof(run_t));
    run->decline_negative = decline;

    buf = malloc(bufsize ? bufsize : 1);

    ngx_k8s_metrics_parser_init(&parser, buf, bufsize, record, run);

    from = 0;
    rc = NGX_OK;

    for (i = 0; i <= ncuts && rc == NGX_OK; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        /* each chunk in its own allocation, so ASan sees any overread */
        copy = malloc(to - from ? to - from : 1);
        memcpy(copy, payload + from, to - from);

        rc = ngx_k8s_metrics_parser_feed(&parser, copy, to - from);

        /* the bytes are gone once feed() returns */
        memset(copy, '#', to - from);
        free(copy);

        from = to;
    }

    if (rc == NGX_OK) {
        rc = ngx_k8s_metrics_parser_finish(&parser);
    }

    run->rc = rc;
    run->lines = parser.lines;
    run->samples = parser.samples;
    run->unknown = parser.unknown;
    run->malformed = parser.malformed;

    free(buf);
}


static void
run_whole(run_t *run, const char *payload, size_t bufsize)
{
    run_chunks(run, payload, strlen(payload), NULL, 0, bufsize);
}


static ngx_uint_t
same_run(run_t *a, run_t *b)
{
    ngx_uint_t  i;

    if (a->n != b->n || a->lines != b->lines || a->samples != b->samples
        || a->unknown != b->unknown || a->malformed != b->malformed
        || a->rc != b->rc)
    {
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        if (a->recs[i].kind != b->recs[i].kind
            || memcmp(&a->recs[i].value, &b->recs[i].value, sizeof(double))
            || a->recs[i].timestamp_ms != b->recs[i].timestamp_ms
            || strcmp(a->recs[i].namespace, b->recs[i].namespace)
            || strcmp(a->recs[i].pod, b->recs[i].pod)
            || strcmp(a->recs[i].container, b->recs[i].container))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A kubelet v1.28 /metrics/resource body (the kubelet's resource metrics
 * collector, pkg/kubelet/metrics/collectors/resource_metrics.go, written by
 * client_golang's expfmt: metric families sorted by name, values with
 * strconv 'g' -1, so large ones in exponent form), with a few additions
 * to exercise escapes, label order and exponent spellings.
 */

static const char  kubelet_payload[] =
    "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time "
    "consumed by the container in core-seconds\n"
    "# TYPE container_cpu_usage_seconds_total counter\n"
    "container_cpu_usage_seconds_total{container=\"coredns\","
    "namespace=\"kube-system\",pod=\"coredns-5d78c9869d-7xk2p\"} "
    "12.345678901 1700000000123\n"
    "container_cpu_usage_seconds_total{container=\"etcd\","
    "namespace=\"kube-system\",pod=\"etcd-node-1\"} 1234.56789 "
    "1700000000456\n"
    "container_cpu_usage_seconds_total{pod=\"web-0\",container=\"nginx\","
    "namespace=\"default\"} 4.56E-3 1700000000789\n"
    "# HELP container_memory_working_set_bytes [STABLE] Current working set "
    "of the container in bytes\n"
    "# TYPE container_memory_working_set_bytes gauge\n"
    "container_memory_working_set_bytes{container=\"coredns\","
    "namespace=\"kube-system\",pod=\"coredns-5d78c9869d-7xk2p\"} "
    "1.5609856e+07 1700000000123\n"
    "container_memory_working_set_bytes{container=\"etcd\","
    "namespace=\"kube-system\",pod=\"etcd-node-1\"} 1.2e+09 1700000000456\n"
    "container_memory_working_set_bytes{container=\"we\\\"ird\\\\c\\n\","
    "namespace=\"default\",pod=\"web-0\",extra=\"x\\\\y\"} 8192 "
    "1700000000789\n"
    "# HELP container_start_time_seconds [STABLE] Start time of the "
    "container since unix epoch in seconds\n"
    "# TYPE container_start_time_seconds gauge\n"
    "container_start_time_seconds{container=\"coredns\","
    "namespace=\"kube-system\",pod=\"coredns-5d78c9869d-7xk2p\"} "
    "1.6999920001234567e+09\n"
    "container_start_time_seconds{container=\"etcd\","
    "namespace=\"kube-system\",pod=\"etcd-node-1\"} 1.699990000e+09\n"
    "# HELP container_swap_usage_bytes [ALPHA] Current amount of the "
    "container swap usage in bytes. Reported only on non-windows systems\n"
    "# TYPE container_swap_usage_bytes gauge\n"
    "container_swap_usage_bytes{container=\"coredns\","
    "namespace=\"kube-system\",pod=\"coredns-5d78c9869d-7xk2p\"} 0 "
    "1700000000123\n"
    "# HELP kubelet_container_log_filesystem_used_bytes [ALPHA] unknown\n"
    "kubelet_container_log_filesystem_used_bytes{container=\"etcd\"} 4096\n"
    "\n"
    "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time "
    "consumed by the node in core-seconds\n"
    "# TYPE node_cpu_usage_seconds_total counter\n"
    "node_cpu_usage_seconds_total 357.35491 1700000000999\n"
    "# HELP node_memory_working_set_bytes [STABLE] Current working set of "
    "the node in bytes\n"
    "# TYPE node_memory_working_set_bytes gauge\n"
    "node_memory_working_set_bytes 1.764917248e+09 1700000000999\n"
    "# HELP node_swap_usage_bytes [ALPHA] Current swap usage of the node in "
    "bytes. Reported only on non-windows systems\n"
    "# TYPE node_swap_usage_bytes gauge\n"
    "node_swap_usage_bytes 1.048576e+06 1700000000999\n"
    "# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time "
    "consumed by the pod in core-seconds\n"
    "# TYPE pod_cpu_usage_seconds_total counter\n"
    "pod_cpu_usage_seconds_total{namespace=\"kube-system\","
    "pod=\"etcd-node-1\"} 1234.6 1700000000456\n"
    "# HELP pod_memory_working_set_bytes [STABLE] Current working set of "
    "the pod in bytes\n"
    "# TYPE pod_memory_working_set_bytes gauge\n"
    "pod_memory_working_set_bytes{namespace=\"kube-system\","
    "pod=\"etcd-node-1\"} 1.2e+09 1700000000456\n"
    "# HELP pod_swap_usage_bytes [ALPHA] Current amount of the pod swap "
    "usage in bytes. Reported only on non-windows systems\n"
    "# TYPE pod_swap_usage_bytes gauge\n"
    "pod_swap_usage_bytes{namespace=\"kube-system\",pod=\"etcd-node-1\"} 0 "
    "1700000000456\n"
    "# HELP resource_scrape_error [STABLE] 1 if there was an error while "
    "getting container metrics, 0 otherwise\n"
    "# TYPE resource_scrape_error gauge\n"
    "resource_scrape_error 0\n";


typedef struct {
    ngx_k8s_metrics_sample_kind_e   kind;
    const char                     *namespace;
    const char                     *pod;
    const char                     *container;
    double                          value;
    int64_t                         timestamp_ms;
} expect_t;


static expect_t  kubelet_expect[] = {
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU, "kube-system",
      "coredns-5d78c9869d-7xk2p", "coredns", 12.345678901, 1700000000123LL },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU, "kube-system", "etcd-node-1",
      "etcd", 1234.56789, 1700000000456LL },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU, "default", "web-0", "nginx",
      4.56e-3, 1700000000789LL },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY, "kube-system",
      "coredns-5d78c9869d-7xk2p", "coredns", 15609856, 1700000000123LL },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY, "kube-system", "etcd-node-1",
      "etcd", 1.2e9, 1700000000456LL },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY, "default", "web-0",
      "we\"ird\\c\n", 8192, 1700000000789LL },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_START, "kube-system",
      "coredns-5d78c9869d-7xk2p", "coredns", 1.6999920001234567e+09, -1 },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_START, "kube-system", "etcd-node-1",
      "etcd", 1699990000, -1 },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP, "kube-system",
      "coredns-5d78c9869d-7xk2p", "coredns", 0, 1700000000123LL },
    { NGX_K8S_METRICS_SAMPLE_NODE_CPU, "", "", "", 357.35491,
      1700000000999LL },
    { NGX_K8S_METRICS_SAMPLE_NODE_MEMORY, "", "", "", 1764917248,
      1700000000999LL },
    { NGX_K8S_METRICS_SAMPLE_NODE_SWAP, "", "", "", 1048576,
      1700000000999LL },
    { NGX_K8S_METRICS_SAMPLE_POD_CPU, "kube-system", "etcd-node-1", "",
      1234.6, 1700000000456LL },
    { NGX_K8S_METRICS_SAMPLE_POD_MEMORY, "kube-system", "etcd-node-1", "",
      1.2e9, 1700000000456LL },
    { NGX_K8S_METRICS_SAMPLE_POD_SWAP, "kube-system", "etcd-node-1", "",
      0, 1700000000456LL },
    { NGX_K8S_METRICS_SAMPLE_SCRAPE_ERROR, "", "", "", 0, -1 }
};


static void
check_expected(run_t *run, expect_t *expect, ngx_uint_t n, const char *what)
{
    rec_t       *r;
    ngx_uint_t   i;

    check(run->n == n, "%s: %lu samples, expected %lu", what,
          (unsigned long) run->n, (unsigned long) n);

    for (i = 0; i < n && i < run->n; i++) {
        r = &run->recs[i];

        check(r->kind == expect[i].kind
              && strcmp(r->namespace, expect[i].namespace) == 0
              && strcmp(r->pod, expect[i].pod) == 0
              && strcmp(r->container, expect[i].container) == 0
              && r->value == expect[i].value
              && r->timestamp_ms == expect[i].timestamp_ms,
              "%s: sample %lu is {%d, \"%s\", \"%s\", \"%s\", %.17g, %lld}",
              what, (unsigned long) i, (int) r->kind, r->namespace, r->pod,
              r->container, r->value, (long long) r->timestamp_ms);
    }
}


static char *
to_crlf(const char *s)
{
    char    *out, *d;
    size_t   n;

    n = strlen(s);
    out = malloc(2 * n + 1);

    for (d = out; *s; s++) {
        if (*s == '\n') {
            *d++ = '\r';
        }

        *d++ = *s;
    }

    *d = '\0';

    return out;
}


static void
test_kubelet_payload(const char *payload, const char *what)
{
    run_t       *whole, *run;
    size_t       len, i, *cuts;
    ngx_uint_t   n, bad;

    len = strlen(payload);

    whole = malloc(sizeof(run_t));
    run = malloc(sizeof(run_t));
    cuts = malloc(len * sizeof(size_t));

    run_whole(whole, payload, 1024);

    check_expected(whole, kubelet_expect,
                   sizeof(kubelet_expect) / sizeof(expect_t), what);

    check(whole->rc == NGX_OK && whole->unknown == 1 && whole->malformed == 0
          && whole->samples == 16,
          "%s: rc %ld, lines %lu, unknown %lu, malformed %lu", what,
          (long) whole->rc, (unsigned long) whole->lines,
          (unsigned long) whole->unknown, (unsigned long) whole->malformed);

    /* one byte at a time */

    for (i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }

    run_chunks(run, payload, len, cuts, len - 1, 1024);
    check(same_run(whole, run), "%s: byte at a time differs", what);

    /* two chunks, split at every position */

    bad = 0;

    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        run_chunks(run, payload, len, cuts, 1, 1024);

        if (!same_run(whole, run)) {
            if (bad++ < 5) {
                printf("FAIL %s: split at %lu differs\n", what,
                       (unsigned long) i);
            }
        }
    }

    check(bad == 0, "%s: %lu of %lu split points differ", what,
          (unsigned long) bad, (unsigned long) len + 1);

    /* three chunks, at random */

    bad = 0;
    srand(1);

    for (n = 0; n < 2000; n++) {
        cuts[0] = rand() % (len + 1);
        cuts[1] = cuts[0] + rand() % (len - cuts[0] + 1);
        run_chunks(run, payload, len, cuts, 2, 1024);
        bad += !same_run(whole, run);
    }

    check(bad == 0, "%s: %lu of 2000 random 3-way splits differ", what,
          (unsigned long) bad);

    /* the same body without its final newline */

    cuts[0] = len - 1;
    run_chunks(run, payload, len - 1, cuts, 0, 1024);
    check(same_run(whole, run), "%s: no final newline differs", what);

    free(whole);
    free(run);
    free(cuts);
}


typedef struct {
    const char                     *line;
    ngx_uint_t                      samples;
    ngx_uint_t                      unknown;
    ngx_uint_t                      malformed;
} line_case_t;


static line_case_t  line_cases[] = {

    /* malformed */
    { "node_cpu_usage_seconds_total", 0, 0, 1 },
    { "node_cpu_usage_seconds_total ", 0, 0, 1 },
    { "node_cpu_usage_seconds_total abc", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1.2.3", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1e", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1e+", 0, 0, 1 },
    { "node_cpu_usage_seconds_total .", 0, 0, 1 },
    { "node_cpu_usage_seconds_total -", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 0x10", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1_000", 0, 0, 1 },
    { "node_cpu_usage_seconds_total +NaN", 0, 0, 1 },
    { "node_cpu_usage_seconds_total -nan", 0, 0, 1 },
    { "node_cpu_usage_seconds_total na", 0, 0, 1 },
    { "node_cpu_usage_seconds_total nanx", 0, 0, 1 },
    { "node_cpu_usage_seconds_total NaN1", 0, 0, 1 },
    { "node_cpu_usage_seconds_total in", 0, 0, 1 },
    { "node_cpu_usage_seconds_total +in", 0, 0, 1 },
    { "node_cpu_usage_seconds_total infin", 0, 0, 1 },
    { "node_cpu_usage_seconds_total infinityy", 0, 0, 1 },
    { "node_cpu_usage_seconds_total Infx 1", 0, 0, 1 },
    { "node_cpu_usage_seconds_total +-Inf", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1Inf", 0, 0, 1 },
    { "node_cpu_usage_seconds_total .Inf", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1 abc", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1 1.5", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1 2 3", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1 99999999999999999999", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1 9223372036854775808", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 1 -", 0, 0, 1 },
    { "node_cpu_usage_seconds_total-x 1", 0, 0, 1 },
    { "node_cpu_usage_seconds_total{ 1", 0, 0, 1 },
    { "node_cpu_usage_seconds_total{} ", 0, 0, 1 },
    { "node_cpu_usage_seconds_total 00000000000000000000000000000000000000"
      "000000000000000000000000001", 0, 0, 1 },
    { "123 4", 0, 0, 1 },
    { "{pod=\"a\"} 4", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a\",namespace=\"b\","
      "pod=\"c\" 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a\",namespace=\"b\","
      "pod=\"c\"", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a\" namespace=\"b\","
      "pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=a,namespace=\"b\","
      "pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container,namespace=\"b\","
      "pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a\\t\",namespace=\"b\","
      "pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a\\", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{x:y=\"1\",container=\"a\","
      "namespace=\"b\",pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{1x=\"1\",container=\"a\","
      "namespace=\"b\",pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{,container=\"a\",namespace=\"b\","
      "pod=\"c\"} 1", 0, 0, 1 },

    /* missing labels */
    { "container_cpu_usage_seconds_total{namespace=\"b\",pod=\"c\"} 1",
      0, 0, 1 },
    { "container_memory_working_set_bytes{container=\"a\",pod=\"c\"} 1",
      0, 0, 1 },
    { "container_start_time_seconds{container=\"a\",namespace=\"b\"} 1",
      0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"\",namespace=\"b\","
      "pod=\"c\"} 1", 0, 0, 1 },
    { "container_cpu_usage_seconds_total{container=\"a\",namespace=\"b\","
      "pod=\"c\",pod=\"\"} 1", 0, 0, 1 },
    { "pod_cpu_usage_seconds_total{pod=\"c\"} 1", 0, 0, 1 },
    { "pod_memory_working_set_bytes{namespace=\"b\"} 1", 0, 0, 1 },
    { "pod_swap_usage_bytes 1", 0, 0, 1 },
    { "container_swap_usage_bytes 1", 0, 0, 1 },

    /* unknown, skipped before their labels are looked at */
    { "go_goroutines 5", 0, 1, 0 },
    { "machine_cpu_cores{broken 4", 0, 1, 0 },
    { "node_cpu_usage_seconds 1", 0, 1, 0 },
    { "node_cpu_usage_seconds_totalx 1", 0, 1, 0 },
    { "Node_cpu_usage_seconds_total 1", 0, 1, 0 },
    { "scrape_errors 1", 0, 1, 0 },
    { ":colon 1", 0, 1, 0 },

    /* skipped, not counted */
    { "", 0, 0, 0 },
    { "   ", 0, 0, 0 },
    { "\r", 0, 0, 0 },
    { "# HELP node_cpu_usage_seconds_total Cumulative", 0, 0, 0 },
    { "# TYPE node_cpu_usage_seconds_total counter", 0, 0, 0 },
    { "#node_cpu_usage_seconds_total 1", 0, 0, 0 },
    { "  # comment", 0, 0, 0 },

    /* accepted */
    { "node_cpu_usage_seconds_total 1", 1, 0, 0 },
    { "node_cpu_usage_seconds_total 1 -5", 1, 0, 0 },
    { "node_cpu_usage_seconds_total 1 +5", 1, 0, 0 },
    { "node_cpu_usage_seconds_total\t1\t2", 1, 0, 0 },
    { "  node_cpu_usage_seconds_total 1 2  ", 1, 0, 0 },
    { "node_cpu_usage_seconds_total 1 2\r", 1, 0, 0 },
    { "node_cpu_usage_seconds_total{} 1", 1, 0, 0 },
    { "node_cpu_usage_seconds_total{}1", 1, 0, 0 },
    { "node_cpu_usage_seconds_total{ } 1", 1, 0, 0 },
    { "node_cpu_usage_seconds_total{a=\"b\"} 1", 1, 0, 0 },
    { "node_cpu_usage_seconds_total 1 9223372036854775807", 1, 0, 0 },
    { "node_cpu_usage_seconds_total NaN", 1, 0, 0 },
    { "node_cpu_usage_seconds_total nan 1", 1, 0, 0 },
    { "node_cpu_usage_seconds_total +Inf", 1, 0, 0 },
    { "node_cpu_usage_seconds_total -Inf 1700000000000", 1, 0, 0 },
    { "node_cpu_usage_seconds_total Inf", 1, 0, 0 },
    { "node_cpu_usage_seconds_total -infinity\t5", 1, 0, 0 },
    { "node_cpu_usage_seconds_total 1e400", 1, 0, 0 },
    { "node_cpu_usage_seconds_total -3.0e+10", 1, 0, 0 },
    { "node_cpu_usage_seconds_total 1 -9223372036854775808", 1, 0, 0 },
    { "scrape_error 1", 1, 0, 0 },
    { "resource_scrape_error 1", 1, 0, 0 },
    { "container_cpu_usage_seconds_total{ container = \"a\" , "
      "namespace=\"b\",pod=\"c\", } 1", 1, 0, 0 },
    { "container_cpu_usage_seconds_total{container=\"a\",namespace=\"b\","
      "pod=\"c\",} 1", 1, 0, 0 },
    { "container_cpu_usage_seconds_total{Pod=\"x\",container=\"a\","
      "namespace=\"b\",pod=\"c\",_x1=\"\\n\"} 1", 1, 0, 0 },
    { "pod_cpu_usage_seconds_total{pod=\"c\",namespace=\"b\",container=\"\"} 1",
      1, 0, 0 }
};


typedef struct {
    const char                     *number;
    double                          value;
} number_case_t;


static number_case_t  number_cases[] = {
    { "0", 0 },
    { "-0", -0.0 },
    { "+0", 0 },
    { "1", 1 },
    { "-1", -1 },
    { ".5", 0.5 },
    { "5.", 5 },
    { "1.2e+09", 1.2e9 },
    { "4.56E-3", 4.56e-3 },
    { "1e-400", 0 },
    { "1E5", 1e5 },
    { "2.5e0", 2.5 },
    { "0.1", 0.1 },
    { "0.30000000000000004", 0.30000000000000004 },
    { "9007199254740993", 9007199254740993.0 },
    { "123456789012345678901234567890", 123456789012345678901234567890.0 },
    { "1.7976931348623157e308", 1.7976931348623157e308 },
    { "4.9406564584124654e-324", 4.9406564584124654e-324 },
    { "2.2250738585072014e-308", 2.2250738585072014e-308 },
    { "1.6999920001234567e+09", 1.6999920001234567e+09 },
    { "000000000000000000000000000000000000000000123", 123 },
    { "0.000000000000000000000000000000000000000000123", 1.23e-43 },
    { "+Inf", HUGE_VAL },
    { "-Inf", -HUGE_VAL },
    { "inf", HUGE_VAL },
    { "INFINITY", HUGE_VAL },
    { "-Infinity", -HUGE_VAL },
    { "1e400", HUGE_VAL },
    { "-1.8e308", -HUGE_VAL },
    { "-3.0e+10", -3e10 }
};


static void
test_lines(void)
{
    run_t        *run;
    char          line[512];
    ngx_uint_t    i;
    line_case_t  *lc;

    run = malloc(sizeof(run_t));

    for (i = 0; i < sizeof(line_cases) / sizeof(line_case_t); i++) {
        lc = &line_cases[i];

        /* once with a newline, once as the last line of the body */

        snprintf(line, sizeof(line), "%s\n", lc->line);
        run_whole(run, line, 256);

        check(run->rc == NGX_OK && run->samples == lc->samples
              && run->n == lc->samples && run->unknown == lc->unknown
              && run->malformed == lc->malformed && run->lines == 1,
              "line \"%s\": samples %lu, unknown %lu, malformed %lu, "
              "lines %lu", lc->line, (unsigned long) run->samples,
              (unsigned long) run->unknown, (unsigned long) run->malformed,
              (unsigned long) run->lines);

        run_whole(run, lc->line, 256);

        check(run->samples == lc->samples && run->unknown == lc->unknown
              && run->malformed == lc->malformed
              && run->lines == (lc->line[0] != '\0'),
              "line \"%s\" without newline: samples %lu, unknown %lu, "
              "malformed %lu", lc->line, (unsigned long) run->samples,
              (unsigned long) run->unknown, (unsigned long) run->malformed);
    }

    for (i = 0; i < sizeof(number_cases) / sizeof(number_case_t); i++) {
        snprintf(line, sizeof(line), "node_cpu_usage_seconds_total %s\n",
                 number_cases[i].number);
        run_whole(run, line, 256);

        check(run->n == 1 && memcmp(&run->recs[0].value,
                                    &number_cases[i].value,
                                    sizeof(double)) == 0,
              "number \"%s\" = %.17g, expected %.17g", number_cases[i].number,
              run->n ? run->recs[0].value : -1.0, number_cases[i].value);
    }

    /* NaN, and what the handler sees of a sample: name, value as written */

    run_whole(run, "node_memory_working_set_bytes NaN 5\n"
                   "container_start_time_seconds{container=\"c\","
                   "namespace=\"n\",pod=\"p\"}\t 1.7e+09 \n", 256);

    check(run->n == 2 && isnan(run->recs[0].value)
          && strcmp(run->recs[0].name, "node_memory_working_set_bytes") == 0
          && strcmp(run->recs[0].text, "NaN") == 0
          && run->recs[0].timestamp_ms == 5
          && strcmp(run->recs[1].name, "container_start_time_seconds") == 0
          && strcmp(run->recs[1].text, "1.7e+09") == 0,
          "NaN, names and texts: %lu samples", (unsigned long) run->n);

    /* a sample the handler declines is a malformed line, not a sample */

    run->decline_negative = 1;
    run_whole(run, "node_cpu_usage_seconds_total -1\n"
                   "node_cpu_usage_seconds_total 2\n"
                   "node_memory_working_set_bytes -Inf 3\n", 256);

    check(run->rc == NGX_OK && run->n == 1 && run->samples == 1
          && run->malformed == 2 && run->lines == 3
          && run->recs[0].value == 2,
          "declined: %lu samples, %lu malformed", (unsigned long) run->samples,
          (unsigned long) run->malformed);

    run->decline_negative = 0;

    /* a known metric after a bad line: parsing goes on */

    run_whole(run, "node_cpu_usage_seconds_total x\n"
                   "node_cpu_usage_seconds_total{\n"
                   "node_cpu_usage_seconds_total 7 8\n", 256);

    check(run->n == 1 && run->recs[0].value == 7
          && run->recs[0].timestamp_ms == 8 && run->malformed == 2,
          "recovery after malformed lines");

    /* the handler's NGX_ERROR stops the feed and is returned */

    memset(run, 0, sizeof(run_t));

    {
        ngx_k8s_metrics_parser_t  parser;
        u_char                    buf[64];
        u_char                    body[] = "node_cpu_usage_seconds_total 1\n"
                                           "node_cpu_usage_seconds_total 2\n"
                                           "node_cpu_usage_seconds_total 3\n";

        run->abort_after = 2;
        ngx_k8s_metrics_parser_init(&parser, buf, sizeof(buf), record, run);

        check(ngx_k8s_metrics_parser_feed(&parser, body, sizeof(body) - 1)
              == NGX_ERROR && run->n == 2,
              "handler error: %lu samples", (unsigned long) run->n);
    }

    {
        ngx_k8s_metrics_parser_t  parser;
        u_char                    buf[64];
        u_char                    body[] = "node_cpu_usage_seconds_total 1";

        memset(run, 0, sizeof(run_t));
        run->abort_after = 1;
        ngx_k8s_metrics_parser_init(&parser, buf, sizeof(buf), record, run);

        check(ngx_k8s_metrics_parser_feed(&parser, body, sizeof(body) - 1)
              == NGX_OK
              && ngx_k8s_metrics_parser_finish(&parser) == NGX_ERROR
              && run->n == 1,
              "handler error in finish");
    }

    free(run);
}


/* the conversion to the store's units: what fits, and why not */

typedef struct {
    ngx_k8s_metrics_sample_kind_e   kind;
    double                          value;
    const char                     *reason;     /* NULL: fits */
    uint64_t                        result;
} value_case_t;


#define CPU     NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU
#define MEMORY  NGX_K8S_METRICS_SAMPLE_NODE_MEMORY
#define START   NGX_K8S_METRICS_SAMPLE_CONTAINER_START

#define NEGATIVE    "is negative"
#define NAN_        "is not a number"
#define CPU_RANGE   "is out of range: CPU seconds x 1e9 must be below 2^64"
#define BYTES_RANGE "is out of range: bytes must be below 2^64"
#define MS_RANGE    "is out of range: seconds x 1000 must be below 2^63"


static value_case_t  value_cases[] = {
    { CPU, 0, NULL, 0 },
    { CPU, -0.0, NULL, 0 },
    { CPU, 1.5, NULL, 1500000000 },
    { CPU, 357.35491, NULL, 357354910000ULL },
    /* the largest double below 2^64 / 1e9, and the next */
    { CPU, 18446744073.70955, NULL, 18446744073709549568ULL },
    { CPU, 18446744073.709553, CPU_RANGE, 0 },
    { CPU, 1e30, CPU_RANGE, 0 },
    { CPU, HUGE_VAL, CPU_RANGE, 0 },
    { CPU, -HUGE_VAL, NEGATIVE, 0 },
    { CPU, -1e-300, NEGATIVE, 0 },
    { CPU, NAN, NAN_, 0 },
    { NGX_K8S_METRICS_SAMPLE_NODE_CPU, -1, NEGATIVE, 0 },
    { NGX_K8S_METRICS_SAMPLE_POD_CPU, 1e20, CPU_RANGE, 0 },

    { MEMORY, 0, NULL, 0 },
    { MEMORY, 1.764917248e+09, NULL, 1764917248 },
    /* fractions of a byte are dropped, as metrics-server's uint64() */
    { MEMORY, 1048576.75, NULL, 1048576 },
    { MEMORY, 0.5, NULL, 0 },
    { MEMORY, 18446744073709549568.0, NULL, 18446744073709549568ULL },
    { MEMORY, 18446744073709551615.0, BYTES_RANGE, 0 },
    { MEMORY, 1e30, BYTES_RANGE, 0 },
    { MEMORY, -3.0e+10, NEGATIVE, 0 },
    { MEMORY, HUGE_VAL, BYTES_RANGE, 0 },
    { MEMORY, NAN, NAN_, 0 },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY, -1, NEGATIVE, 0 },
    { NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP, 1e20, BYTES_RANGE, 0 },
    { NGX_K8S_METRICS_SAMPLE_NODE_SWAP, 4096, NULL, 4096 },
    { NGX_K8S_METRICS_SAMPLE_POD_MEMORY, NAN, NAN_, 0 },

    { START, 0, NULL, 0 },
    { START, 1.6999920001234567e+09, NULL, 1699992000123ULL },
    /* the largest double below 2^63 / 1000, and the next */
    { START, 9223372036854774.0, NULL, 9223372036854773760ULL },
    { START, 9223372036854776.0, MS_RANGE, 0 },
    { START, 1e300, MS_RANGE, 0 },
    { START, -1, NEGATIVE, 0 },
    { START, NAN, NAN_, 0 }
};


static void
test_values(void)
{
    uint64_t                   v;
    ngx_uint_t                 i;
    const char                *reason;
    value_case_t              *vc;
    ngx_k8s_metrics_sample_t   sample;

    memset(&sample, 0, sizeof(sample));

    for (i = 0; i < sizeof(value_cases) / sizeof(value_case_t); i++) {
        vc = &value_cases[i];

        sample.kind = vc->kind;
        sample.value = vc->value;
        v = 12345;

        reason = ngx_k8s_metrics_sample_value(&sample, &v);

        if (vc->reason == NULL) {
            check(reason == NULL && v == vc->result,
                  "value %d: %.17g kind %d: \"%s\", %llu, expected %llu",
                  (int) i, vc->value, (int) vc->kind,
                  reason ? reason : "fits", (unsigned long long) v,
                  (unsigned long long) vc->result);

        } else {
            check(reason != NULL && strcmp(reason, vc->reason) == 0
                  && v == 12345,
                  "value %d: %.17g kind %d: \"%s\", expected \"%s\"",
                  (int) i, vc->value, (int) vc->kind,
                  reason ? reason : "fits", vc->reason);
        }
    }
}


static void
test_overlong(void)
{
    run_t       *whole, *run;
    char        *body, *p;
    size_t       len, i, cuts[1], bufsize;
    ngx_uint_t   bad;

    whole = malloc(sizeof(run_t));
    run = malloc(sizeof(run_t));

    /* the carry-over buffer holds 64 bytes; one line of 300 and a long
     * comment are skipped, lines of exactly 64 bytes are kept */

    bufsize = 64;

    body = malloc(4096);
    p = body;

    p += sprintf(p, "node_cpu_usage_seconds_total 1 10\n");
    p += sprintf(p, "container_cpu_usage_seconds_total{container=\"");
    memset(p, 'c', 200);
    p += 200;
    p += sprintf(p, "\",namespace=\"n\",pod=\"p\"} 1 2\n");
    p += sprintf(p, "# ");
    memset(p, 'h', 150);
    p += 150;
    p += sprintf(p, "\n");

    /* 64 bytes, then 65 bytes with "\r" */
    p += sprintf(p, "node_memory_working_set_bytes 12345678901234567890123"
                    "456789 0123\n");
    p += sprintf(p, "node_memory_working_set_bytes 12345678901234567890123"
                    "456789 0123\r\n");
    p += sprintf(p, "node_cpu_usage_seconds_total 2 20\n");

    len = p - body;
    *p = '\0';

    run_chunks(whole, body, len, NULL, 0, bufsize);

    check(whole->n == 3 && whole->malformed == 3 && whole->lines == 6
          && whole->recs[0].value == 1 && whole->recs[2].value == 2
          && whole->recs[2].timestamp_ms == 20,
          "overlong: %lu samples, %lu malformed, %lu lines",
          (unsigned long) whole->n, (unsigned long) whole->malformed,
          (unsigned long) whole->lines);

    bad = 0;

    for (i = 0; i <= len; i++) {
        cuts[0] = i;
        run_chunks(run, body, len, cuts, 1, bufsize);
        bad += !same_run(whole, run);
    }

    check(bad == 0, "overlong: %lu split points differ", (unsigned long) bad);

    /* an overlong last line without newline, fed byte by byte */

    p = body;
    p += sprintf(p, "node_cpu_usage_seconds_total 3\n# ");
    memset(p, 'x', 500);
    p += 500;
    len = p - body;

    for (i = 0; i < len; i++) {
        cuts[0] = i;
        run_chunks(run, body, len, cuts, 1, bufsize);
        bad += !(run->n == 1 && run->malformed == 1 && run->lines == 2);
    }

    check(bad == 0, "overlong last line");

    /* no carry-over buffer at all: only whole lines in a chunk parse */

    run_chunks(run, "node_cpu_usage_seconds_total 3\n", 31, NULL, 0, 0);
    check(run->n == 0 && run->malformed == 1, "zero-size buffer");

    /* escaped label values longer than the scratch area */

    p = body;
    p += sprintf(p, "container_cpu_usage_seconds_total{container=\"\\\\");
    memset(p, 'c', 600);
    p += 600;
    p += sprintf(p, "\",namespace=\"n\",pod=\"p\"} 1 2\n"
                    "container_cpu_usage_seconds_total{container=\"\\\\");
    memset(p, 'c', 300);
    p += 300;
    p += sprintf(p, "\",namespace=\"n\\\\");
    memset(p, 'n', 300);
    p += 300;
    p += sprintf(p, "\",pod=\"p\"} 1 2\n"
                    "container_cpu_usage_seconds_total{container=\"\\\\");
    memset(p, 'c', 200);
    p += 200;
    p += sprintf(p, "\",namespace=\"n\\\\");
    memset(p, 'n', 200);
    p += 200;
    p += sprintf(p, "\",pod=\"p\"} 1 2\n");

    len = p - body;
    run_chunks(run, body, len, NULL, 0, 4096);

    /* 601 bytes, then 301 + 301, do not fit; 201 + 201 do */

    check(run->n == 1 && run->malformed == 2
          && strlen(run->recs[0].container) == 201
          && run->recs[0].container[0] == '\\'
          && strlen(run->recs[0].namespace) == 202
          && strcmp(run->recs[0].pod, "p") == 0,
          "scratch overflow: %lu samples, %lu malformed",
          (unsigned long) run->n, (unsigned long) run->malformed);

    free(body);
    free(whole);
    free(run);
}


/* the fast path of number parsing must equal strtod() bit for bit */

static void
test_numbers(void)
{
    run_t       *run;
    char         line[128], *num;
    double       v, expect;
    uint64_t     bits;
    ngx_uint_t   i, f, bad;
    static const char  *formats[] = { "%.17g", "%.16g", "%.15g", "%.6g",
                                      "%.3e", "%.10f", "%.1f", "%.0f" };

    run = malloc(sizeof(run_t));
    bad = 0;
    srand(42);

    for (i = 0; i < 100000; i++) {
        bits = ((uint64_t) rand() << 40) ^ ((uint64_t) rand() << 20)
               ^ (uint64_t) rand();

        switch (i % 4) {
        case 0:
            v = (double) (bits % 100000000000ULL) / 1e9;
            break;
        case 1:
            v = (double) (bits % 100000000000000ULL);
            break;
        case 2:
            memcpy(&v, &bits, sizeof(double));
            if (v != v || v - v != 0) {
                v = 1.5;
            }
            break;
        default:
            v = (double) (bits % 1000000) * 1e-7 + 1e9;
        }

        f = i % (sizeof(formats) / sizeof(formats[0]));

        num = line + sprintf(line, "node_cpu_usage_seconds_total ");

        if (snprintf(num, 64, formats[f], v) >= 64) {
            continue;
        }

        expect = strtod(num, NULL);
        strcat(line, "\n");

        run_whole(run, line, 128);

        if (run->n != 1
            || memcmp(&run->recs[0].value, &expect, sizeof(double)) != 0)
        {
            if (bad++ < 5) {
                printf("FAIL number \"%s\": %.17g, strtod %.17g\n", num,
                       run->n ? run->recs[0].value : -1.0, expect);
            }
        }
    }

    check(bad == 0, "%lu numbers differ from strtod()", (unsigned long) bad);

    free(run);
}


/* random bytes and mutated payloads: no crash, counters consistent */

static void
test_garbage(void)
{
    run_t       *run;
    char        *body;
    size_t       len, i, n, cuts[3];
    ngx_uint_t   round, bad;
    static const char  alphabet[] = "{}\"\\=, \t\n\r#e.+-0123456789nNaIf"
                                    "podcntaierms_:";

    run = malloc(sizeof(run_t));
    len = sizeof(kubelet_payload) - 1;
    body = malloc(len + 1);
    bad = 0;
    srand(7);

    for (round = 0; round < 3000; round++) {
        memcpy(body, kubelet_payload, len);

        n = 1 + rand() % 20;

        for (i = 0; i < n; i++) {
            body[rand() % len] = (round & 1)
                                 ? alphabet[rand() % (sizeof(alphabet) - 1)]
                                 : (char) rand();
        }

        cuts[0] = rand() % (len + 1);
        cuts[1] = cuts[0] + rand() % (len - cuts[0] + 1);
        cuts[2] = cuts[1] + rand() % (len - cuts[1] + 1);

        run_chunks(run, body, len, cuts, 3, 96 + rand() % 300);

        bad += (run->rc != NGX_OK || run->n != run->samples);
    }

    check(bad == 0, "garbage: %lu inconsistent runs", (unsigned long) bad);

    free(body);
    free(run);
}


/* throughput */

static ngx_int_t
count_sample(void *data, ngx_k8s_metrics_sample_t *s)
{
    double  *sum = data;

    *sum += s->value + s->pod.len + s->container.len;

    return NGX_OK;
}


/* the shortest "%g" that reads back, as Go's strconv 'g' -1 would be */

static int
shortest(char *p, double v)
{
    int  prec, n;

    for (prec = 1; prec < 17; prec++) {
        n = sprintf(p, "%.*g", prec, v);

        if (strtod(p, NULL) == v) {
            return n;
        }
    }

    return sprintf(p, "%.17g", v);
}


static int
bench(int worst)
{
    char                      *body, *p;
    double                     v, sum, secs, best;
    size_t                     len, off, chunk;
    ngx_uint_t                 node, pod, c, rounds, r;
    struct timespec            t0, t1;
    ngx_k8s_metrics_parser_t   parser;
    u_char                     buf[4096];

    /* 30 pods x 3 containers per node, as in a busy node: ~180 lines */

    body = malloc(64 << 20);
    p = body;

    for (node = 0; (size_t) (p - body) < (48 << 20); node++) {
        p += sprintf(p, "# HELP container_cpu_usage_seconds_total [STABLE] "
                        "Cumulative cpu time consumed by the container in "
                        "core-seconds\n"
                        "# TYPE container_cpu_usage_seconds_total counter\n");

        for (pod = 0; pod < 30; pod++) {
            for (c = 0; c < 3; c++) {
                p += sprintf(p, "container_cpu_usage_seconds_total{"
                             "container=\"app-%lu\",namespace=\"team-%lu\","
                             "pod=\"deployment-%lu-7d9f8b6c5d-x%lu\"} ",
                             c, pod % 7, pod, node);

                /* cumulative nanoseconds / 1e9, as the kubelet has them */

                v = (double) ((node * 7919 + pod * 104729 + c) * 1000003)
                    / 1e9;

                p += worst ? sprintf(p, "%.17g", v) : shortest(p, v);
                p += sprintf(p, " 1700000000%03lu\n", pod);
            }
        }

        p += sprintf(p, "# HELP container_memory_working_set_bytes "
                        "[STABLE] Current working set of the container in "
                        "bytes\n"
                        "# TYPE container_memory_working_set_bytes gauge\n");

        for (pod = 0; pod < 30; pod++) {
            for (c = 0; c < 3; c++) {
                p += sprintf(p, "container_memory_working_set_bytes{"
                             "container=\"app-%lu\",namespace=\"team-%lu\","
                             "pod=\"deployment-%lu-7d9f8b6c5d-x%lu\"} "
                             "%g 1700000000%03lu\n", c, pod % 7, pod,
                             node, (double) (pod * 1048576 + node * 4096),
                             pod);
            }
        }

        p += sprintf(p, "node_cpu_usage_seconds_total 357.35491 "
                        "1700000000999\n"
                        "node_memory_working_set_bytes 1.764917248e+09 "
                        "1700000000999\n"
                        "resource_scrape_error 0\n");
    }

    len = p - body;
    rounds = 5;
    best = 1e9;
    sum = 0;

    for (chunk = 16384; ; chunk = len) {

        for (r = 0; r < rounds; r++) {
            clock_gettime(CLOCK_MONOTONIC, &t0);

            ngx_k8s_metrics_parser_init(&parser, buf, sizeof(buf),
                                        count_sample, &sum);

            for (off = 0; off < len; off += chunk) {
                (void) ngx_k8s_metrics_parser_feed(&parser,
                                                   (u_char *) body + off,
                                                   ngx_min(chunk, len - off));
            }

            (void) ngx_k8s_metrics_parser_finish(&parser);

            clock_gettime(CLOCK_MONOTONIC, &t1);

            secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
            best = ngx_min(best, secs);
        }

        printf("%s%s chunks: %.1f MB in %.3f s: %.0f MB/s, %.1f M lines/s, "
               "%lu samples, %lu malformed (%lu nodes)\n",
               worst ? "17 digits, " : "", chunk == len ? "whole" : "16 KB",
               len / 1e6, best, len / 1e6 / best,
               parser.lines / 1e6 / best, (unsigned long) parser.samples,
               (unsigned long) parser.malformed, (unsigned long) node);

        if (chunk == len) {
            break;
        }

        best = 1e9;
    }

    free(body);

    return sum == 0;
}


int
main(int argc, char **argv)
{
    char  *crlf;

    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        return bench(argc > 2 && strcmp(argv[2], "worst") == 0);
    }

    test_quantities();

    test_kubelet_payload(kubelet_payload, "kubelet payload");

    crlf = to_crlf(kubelet_payload);
    test_kubelet_payload(crlf, "kubelet payload with CRLF");
    free(crlf);

    test_lines();
    test_values();
    test_overlong();
    test_numbers();
    test_garbage();

    /* a decimal comma in the locale must not change anything */

    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL
        || setlocale(LC_NUMERIC, "de_DE") != NULL
        || setlocale(LC_NUMERIC, "fr_FR.UTF-8") != NULL)
    {
        /* the libc does read numbers the German way now */
        check(strtod("0.5", NULL) != 0.5, "locale without a decimal comma");

        test_kubelet_payload(kubelet_payload, "kubelet payload, de_DE");
        test_lines();
        setlocale(LC_NUMERIC, "C");

    } else {
        printf("note: no locale with a decimal comma installed, "
               "locale test skipped\n");
    }

    printf("%lu passed, %lu failed\n", (unsigned long) passed,
           (unsigned long) failed);

    return failed != 0;
}
