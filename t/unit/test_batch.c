
/*
 * Unit tests of ngx_k8s_metrics_batch.h: a kubelet's response, read by the
 * real parser, to a node's batch or the reason the node fails; containers
 * by pod, pods checked and placed as metrics-server's decoder does; a pod
 * several nodes report kept to one of them.
 */


#include "unit.h"
#include "unit_pool.h"
#include "ngx_k8s_metrics_batch.h"


#define T   " 1700000000000\n"


static ngx_k8s_metrics_parser_t     parser;
static u_char                       line[8192];

static ngx_k8s_metrics_node_conf_t  nodes[3] = {
    { ngx_string("a"), ngx_null_string, ngx_null_string, NULL, 0 },
    { ngx_string("b"), ngx_null_string, ngx_null_string, NULL, 0 },
    { ngx_string("c"), ngx_null_string, ngx_null_string, NULL, 0 }
};


static ngx_int_t
scrape(ngx_k8s_metrics_batcher_t *b, ngx_k8s_metrics_batch_t *batch,
    ngx_uint_t node, const char *text)
{
    memset(batch, 0, sizeof(ngx_k8s_metrics_batch_t));
    batch->node = &nodes[node];

    if (b->max_pods == 0) {
        b->max_pods = 100;
    }

    b->now = 42000;

    if (ngx_k8s_metrics_batch_start(b, batch, unit_pool) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_k8s_metrics_parser_init(&parser, line, sizeof(line),
                                ngx_k8s_metrics_batch_sample, b);

    if (ngx_k8s_metrics_parser_feed(&parser, (u_char *) text, strlen(text))
        != NGX_OK
        || ngx_k8s_metrics_parser_finish(&parser) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_k8s_metrics_batch_finish(b, &parser);
}


static int
str_is(ngx_str_t *s, const char *expect)
{
    return s->len == strlen(expect) && memcmp(s->data, expect, s->len) == 0;
}


static int
str_eq(ngx_str_t *one, ngx_str_t *two)
{
    return one->len == two->len
           && memcmp(one->data, two->data, one->len) == 0;
}


static ngx_k8s_metrics_csample_t *
container(ngx_k8s_metrics_batch_t *batch, ngx_uint_t i)
{
    return (ngx_k8s_metrics_csample_t *) batch->containers.elts + i;
}


#define NODE                                                                 \
    "node_cpu_usage_seconds_total 10.5" T                                    \
    "node_memory_working_set_bytes 1000" T

#define C(ns, pod, c, cpu, mem)                                              \
    "container_cpu_usage_seconds_total{container=\"" c "\",namespace=\""     \
        ns "\",pod=\"" pod "\"} " cpu T                                      \
    "container_memory_working_set_bytes{container=\"" c "\",namespace=\""    \
        ns "\",pod=\"" pod "\"} " mem T


static void
test_node(void)
{
    ngx_int_t                   rc;
    ngx_k8s_metrics_batch_t     batch;
    ngx_k8s_metrics_batcher_t   b;
    ngx_k8s_metrics_csample_t  *cs;

    memset(&b, 0, sizeof(b));

    rc = scrape(&b, &batch, 0, NODE
                C("ns", "p", "z", "2", "20")
                C("ns", "p", "a", "1", "10")
                C("a", "q", "c", "3", "30")
                "container_start_time_seconds{container=\"a\",namespace="
                "\"ns\",pod=\"p\"} 1690000000.5" T);

    check(rc == NGX_OK, "a whole response: rc %d", (int) rc);
    check(batch.point.cpu == 10500000000ULL && batch.point.time
          == 1700000000000LL && batch.memory == 1000,
          "the node's CPU in ns, its time, its memory");
    check(batch.containers.nelts == 3, "3 containers: %lu",
          (unsigned long) batch.containers.nelts);

    /* sorted by namespace, pod, name: the store's order */
    cs = container(&batch, 0);
    check(str_is(&cs->namespace, "a") && str_is(&cs->pod, "q")
          && str_is(&cs->name, "c"), "first: a/q/c");
    cs = container(&batch, 1);
    check(str_is(&cs->name, "a") && cs->point.cpu == 1000000000ULL
          && cs->memory == 10 && cs->start == 1690000000500LL,
          "ns/p/a: its CPU, memory and start merged into one record");
    cs = container(&batch, 2);
    check(str_is(&cs->name, "z") && cs->memory == 20, "ns/p/z last");
    check(!b.unserved && b.zero == 0, "a node with CPU and memory is served");
    unit_pool_reset();

    /* a sample without a timestamp is of the caller's time */
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, "node_cpu_usage_seconds_total 1\n"
                "node_memory_working_set_bytes 1\n");
    check(rc == NGX_OK && batch.point.time == 42000,
          "untimed: the caller's now, %lld", (long long) batch.point.time);
    unit_pool_reset();

    /* metrics-server: a node at CPU or memory 0 is not served, its pods are */
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, "node_cpu_usage_seconds_total 0" T
                "node_memory_working_set_bytes 1000" T
                C("ns", "p", "c", "1", "1"));
    check(rc == NGX_OK && b.unserved && b.zero == 1
          && batch.point.time == 0 && batch.memory == 0
          && batch.containers.nelts == 1,
          "node CPU 0: not served, counted once, its pod kept");
    unit_pool_reset();

    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, "node_cpu_usage_seconds_total 5" T
                "node_memory_working_set_bytes 0" T);
    check(rc == NGX_OK && b.unserved && b.zero == 1,
          "node memory 0: not served");
    unit_pool_reset();
}


static void
test_invalid(void)
{
    ngx_int_t                  rc;
    ngx_k8s_metrics_batch_t    batch;
    ngx_k8s_metrics_batcher_t  b;
    char                       long_label[200], text[1024], expect[512];

    /* no node CPU, no node memory: the node fails, saying what it read */
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, "node_memory_working_set_bytes 1" T
                "node_cpu_usage_seconds_total abc\n"
                C("ns", "p", "c", "1", "1"));
    check(rc == NGX_DECLINED && str_is(&b.reason, "the response has no node "
          "CPU or memory sample (4 lines, 1 malformed)"),
          "no node CPU: \"%.*s\"", (int) b.reason.len, b.reason.data);
    unit_pool_reset();

    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, "node_cpu_usage_seconds_total 1" T);
    check(rc == NGX_DECLINED && str_is(&b.reason, "the response has no node "
          "CPU or memory sample (1 lines, 0 malformed)"),
          "no node memory: \"%.*s\"", (int) b.reason.len, b.reason.data);
    unit_pool_reset();

    /* a value the store cannot keep: the first, with its labels, counted */
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, NODE
                "container_memory_working_set_bytes{container=\"c\","
                "namespace=\"n\x01s\",pod=\"p\"} -1" T
                "node_memory_working_set_bytes NaN" T);
    check(rc == NGX_DECLINED && b.ninvalid == 2
          && str_is(&b.reason, "invalid value: "
                    "container_memory_working_set_bytes{namespace=\"n s\","
                    "pod=\"p\",container=\"c\"} -1 is negative "
                    "(2 in the response)"),
          "invalid: \"%.*s\"", (int) b.reason.len, b.reason.data);
    check(parser.malformed == 2, "each invalid line malformed: %lu",
          (unsigned long) parser.malformed);
    unit_pool_reset();

    /* a node sample has no labels: no braces */
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, "node_cpu_usage_seconds_total 1e30" T
                "node_memory_working_set_bytes 1" T);
    check(rc == NGX_DECLINED
          && str_is(&b.reason, "invalid value: node_cpu_usage_seconds_total "
                    "1e30 is out of range: CPU seconds x 1e9 must be below "
                    "2^64 (1 in the response)"),
          "out of range: \"%.*s\"", (int) b.reason.len, b.reason.data);
    unit_pool_reset();

    /* bounds: a label value is quoted up to 128 bytes */
    memset(long_label, 'x', sizeof(long_label) - 1);
    long_label[sizeof(long_label) - 1] = '\0';
    snprintf(text, sizeof(text), NODE "container_memory_working_set_bytes{"
             "container=\"%s\",namespace=\"n\",pod=\"p\"} -1" T, long_label);
    snprintf(expect, sizeof(expect), "invalid value: "
             "container_memory_working_set_bytes{namespace=\"n\",pod=\"p\","
             "container=\"%.128s\"} -1 is negative (1 in the response)",
             long_label);
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_DECLINED && str_is(&b.reason, expect),
          "label cut at 128: \"%.*s\"", (int) b.reason.len, b.reason.data);
    unit_pool_reset();
}


static void
test_swap(void)
{
    ngx_int_t                  rc;
    ngx_k8s_metrics_batch_t    batch;
    ngx_k8s_metrics_batcher_t  b;

    const char  *text = NODE "node_swap_usage_bytes 7" T
                        C("ns", "p", "c", "1", "1")
                        "container_swap_usage_bytes{container=\"c\","
                        "namespace=\"ns\",pod=\"p\"} 9" T;

    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_OK && !batch.has_swap && batch.swap == 0
          && !container(&batch, 0)->has_swap, "k8s_metrics_swap off: none");
    unit_pool_reset();

    memset(&b, 0, sizeof(b));
    b.swap = 1;
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_OK && batch.has_swap && batch.swap == 7
          && container(&batch, 0)->has_swap
          && container(&batch, 0)->swap == 9, "k8s_metrics_swap on: kept");
    unit_pool_reset();
}


/* many containers: the slots grow, every container found again */

static void
test_slots(void)
{
    char                       *text, *p;
    ngx_int_t                   rc;
    ngx_uint_t                  i, n, ok;
    ngx_k8s_metrics_batch_t     batch;
    ngx_k8s_metrics_batcher_t   b;
    ngx_k8s_metrics_csample_t  *cs;

    n = 1000;
    text = malloc(n * 2 * 160 + 200);
    p = text + sprintf(text, NODE);

    /* CPU of all, then memory of all: each memory sample finds its record */
    for (i = 0; i < n; i++) {
        p += sprintf(p, "container_cpu_usage_seconds_total{container=\"c\","
                     "namespace=\"ns\",pod=\"p%04lu\"} %lu" T,
                     (unsigned long) i, (unsigned long) i + 1);
    }

    for (i = 0; i < n; i++) {
        p += sprintf(p, "container_memory_working_set_bytes{container=\"c\","
                     "namespace=\"ns\",pod=\"p%04lu\"} %lu" T,
                     (unsigned long) i, (unsigned long) i + 1);
    }

    memset(&b, 0, sizeof(b));
    b.max_pods = n;
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_OK && batch.containers.nelts == n,
          "%lu containers, one record each: %lu", (unsigned long) n,
          (unsigned long) batch.containers.nelts);
    check(b.nslots >= 2 * n && (b.nslots & (b.nslots - 1)) == 0,
          "slots grown to a power of two past twice the records: %lu",
          (unsigned long) b.nslots);

    cs = batch.containers.elts;
    ok = 1;

    for (i = 0; i < batch.containers.nelts; i++) {
        if (cs[i].memory != i + 1 || cs[i].point.cpu != (i + 1) * 1000000000ULL
            || !cs[i].has_cpu || !cs[i].has_memory)
        {
            ok = 0;
        }
    }

    check(ok, "each container's CPU and memory in its own record");
    unit_pool_reset();

    /* more pods than k8s_metrics_kubelet_max_pods: the node fails */
    memset(&b, 0, sizeof(b));
    b.max_pods = n - 1;
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_DECLINED && str_is(&b.reason, "the kubelet reports 1000 "
          "pods, more than k8s_metrics_kubelet_max_pods (999)"),
          "max_pods: \"%.*s\"", (int) b.reason.len, b.reason.data);
    unit_pool_reset();

    /* no memory for a record: the parser is stopped, nothing half made */
    memset(&b, 0, sizeof(b));
    b.max_pods = n;
    unit_pool_fail_at(5);
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_ERROR && unit_pool_failed(), "no memory: an error");
    unit_pool_reset();

    free(text);
}


/* metrics-server's checkContainerMetrics(): a pod is taken whole or not */

static void
test_pods(void)
{
    ngx_int_t                  rc;
    ngx_k8s_metrics_batch_t    batch;
    ngx_k8s_metrics_batcher_t  b;

    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, NODE
                /* p1: a container without memory, then one at CPU 0 */
                "container_cpu_usage_seconds_total{container=\"a\","
                "namespace=\"ns\",pod=\"p1\"} 1" T
                C("ns", "p1", "b", "0", "5")
                /* p2: a container at memory 0 */
                C("ns", "p2", "a", "1", "5")
                C("ns", "p2", "b", "1", "0")
                /* p3: whole */
                C("ns", "p3", "a", "1", "1")
                /* p4: a start time only */
                "container_start_time_seconds{container=\"a\",namespace="
                "\"ns\",pod=\"p4\"} 1" T);

    check(rc == NGX_OK && batch.containers.nelts == 1
          && str_is(&container(&batch, 0)->pod, "p3"),
          "only the whole pod is taken: %lu",
          (unsigned long) batch.containers.nelts);
    check(b.incomplete == 3 && b.zero == 2,
          "dropped by reason, in containers: incomplete %lu (p1, p4), "
          "zero %lu (p2)", (unsigned long) b.incomplete,
          (unsigned long) b.zero);
    unit_pool_reset();
}


/* the apiserver's spec.nodeName decides which kubelet a pod is taken from */

static ngx_int_t
pod_node(void *data, ngx_str_t *namespace, ngx_str_t *pod, ngx_str_t *node)
{
    (void) data;
    (void) namespace;

    if (pod->len == 8 && memcmp(pod->data, "unlisted", 8) == 0) {
        return NGX_DECLINED;
    }

    if (pod->len == 5 && memcmp(pod->data, "other", 5) == 0) {
        ngx_str_set(node, "b");
        return NGX_OK;
    }

    ngx_str_set(node, "a");
    return NGX_OK;
}


static void
test_place(void)
{
    ngx_int_t                  rc;
    ngx_k8s_metrics_batch_t    batch;
    ngx_k8s_metrics_batcher_t  b;

    const char  *text = NODE C("ns", "mine", "c", "1", "1")
                        C("ns", "other", "c", "1", "1")
                        C("ns", "other", "d", "1", "1")
                        C("ns", "unlisted", "c", "1", "1");

    memset(&b, 0, sizeof(b));
    b.pod_node = pod_node;
    rc = scrape(&b, &batch, 0, text);

    check(rc == NGX_OK && batch.containers.nelts == 1
          && str_is(&container(&batch, 0)->pod, "mine"),
          "only the pod the apiserver places on node a is taken from it");
    check(b.unlisted == 1 && b.misplaced == 2 && batch.misplaced == 1,
          "unlisted %lu containers, misplaced %lu containers in %lu pod",
          (unsigned long) b.unlisted, (unsigned long) b.misplaced,
          (unsigned long) batch.misplaced);
    check(str_is(&batch.example_ns, "ns")
          && str_is(&batch.example_pod, "other")
          && str_is(&batch.example_node, "b"),
          "the example: ns/other on node b");
    unit_pool_reset();

    /* the same response from node b: "other" is its own */
    memset(&b, 0, sizeof(b));
    b.pod_node = pod_node;
    rc = scrape(&b, &batch, 1, text);
    check(rc == NGX_OK && batch.containers.nelts == 2
          && str_is(&container(&batch, 0)->pod, "other")
          && batch.misplaced == 1, "from node b: its pod taken, mine not");
    unit_pool_reset();

    /* no apiserver: every pod is taken */
    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batch, 0, text);
    check(rc == NGX_OK && batch.containers.nelts == 4 && b.misplaced == 0
          && b.unlisted == 0, "no apiserver: all taken");
    unit_pool_reset();
}


static void
test_rejected_level(void)
{
    ngx_uint_t  last;

    last = 0;
    check(ngx_k8s_metrics_batch_rejected_level(&last, 0) == 0 && last == 0,
          "none: nothing to log");
    check(ngx_k8s_metrics_batch_rejected_level(&last, 3) == NGX_LOG_WARN
          && last == 3, "the first cycle: a warning");
    check(ngx_k8s_metrics_batch_rejected_level(&last, 2) == NGX_LOG_INFO
          && last == 2, "while it goes on: info");
    check(ngx_k8s_metrics_batch_rejected_level(&last, 0) == 0 && last == 0,
          "it stops: nothing");
    check(ngx_k8s_metrics_batch_rejected_level(&last, 1) == NGX_LOG_WARN,
          "it starts again: a warning again");
}


/*
 * The dedup as the scraper runs it: steps of at most max pods, one per
 * turn of the event loop; *steps: how many it took
 */

static ngx_int_t
dedup(ngx_k8s_metrics_batch_t *batches, ngx_uint_t n, ngx_uint_t max,
    ngx_uint_t *npods, ngx_uint_t *steps)
{
    ngx_int_t                rc;
    ngx_k8s_metrics_dedup_t  d;

    *steps = 0;

    if (ngx_k8s_metrics_batch_dedup_init(&d, batches, n, unit_pool)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    do {
        rc = ngx_k8s_metrics_batch_dedup_step(&d, max);
        (*steps)++;
    } while (rc == NGX_AGAIN);

    *npods = d.npods;

    return rc;
}


/* without an apiserver, a pod several nodes report is served from the
 * first by name only */

static void
test_dedup(void)
{
    ngx_int_t                  rc;
    ngx_uint_t                 npods, dropped, steps;
    ngx_k8s_metrics_batch_t    batches[3];
    ngx_k8s_metrics_batcher_t  b;

    memset(&b, 0, sizeof(b));
    rc = scrape(&b, &batches[0], 0, NODE C("ns", "shared", "c", "1", "1")
                C("ns", "ab", "c", "1", "1"));
    batches[0].ok = (rc == NGX_OK);
    rc = scrape(&b, &batches[1], 1, NODE C("ns", "shared", "c", "1", "1")
                C("ns", "shared", "d", "1", "1")
                C("ns", "ab", "c", "1", "1")
                C("ns", "bc", "c", "1", "1")
                C("ns", "own", "c", "1", "1"));
    batches[1].ok = (rc == NGX_OK);
    rc = scrape(&b, &batches[2], 2, NODE C("ns", "bc", "c", "1", "1")
                C("ns", "shared", "c", "1", "1"));
    batches[2].ok = (rc == NGX_OK);

    rc = dedup(batches, 3, 1, &npods, &steps);
    check(rc == NGX_OK && npods == 8 && steps == 8,
          "dedup, a pod a step: %lu pods reported in %lu steps",
          (unsigned long) npods, (unsigned long) steps);
    check(batches[0].duplicates == 0, "node a, the first: keeps all");
    check(batches[1].duplicates == 2 && str_is(&batches[1].example_pod,
          "ab") && str_is(&batches[1].example_node, "a"),
          "node b: 2 pods node a has, e.g. ns/ab on a: %lu",
          (unsigned long) batches[1].duplicates);
    check(batches[2].duplicates == 2 && str_is(&batches[2].example_node, "b"),
          "node c: bc (b's) and shared (a's), e.g. on b");

    dropped = ngx_k8s_metrics_batch_drop_duplicates(&batches[1]);
    check(dropped == 3 && batches[1].containers.nelts == 2
          && str_is(&container(&batches[1], 0)->pod, "bc")
          && str_is(&container(&batches[1], 1)->pod, "own"),
          "node b keeps bc and own: dropped %lu containers",
          (unsigned long) dropped);
    unit_pool_reset();

    /* a node that failed claims nothing: the next one serves the pod */
    memset(&b, 0, sizeof(b));
    (void) scrape(&b, &batches[0], 0, NODE C("ns", "p", "c", "1", "1"));
    batches[0].ok = 0;
    (void) scrape(&b, &batches[1], 1, NODE C("ns", "p", "c", "1", "1"));
    batches[1].ok = 1;
    rc = dedup(batches, 2, 1, &npods, &steps);
    check(rc == NGX_OK && npods == 1 && batches[1].duplicates == 0,
          "a failed node's pods are not counted against others");
    unit_pool_reset();

    /* no memory for the pod list: an error, nothing marked */
    (void) scrape(&b, &batches[0], 0, NODE C("ns", "p", "c", "1", "1"));
    batches[0].ok = 1;
    unit_pool_fail_at(unit_pool_allocs());
    rc = dedup(batches, 1, 1, &npods, &steps);
    check(rc == NGX_ERROR, "dedup without memory: an error");
    unit_pool_reset();
}


/* a pod on three nodes, at the start and the end of the lists, and an
 * empty list between them: the merge of the sorted batches finds each */

/* node i's batch from text; ok: it counts in the cycle (if it parses) */

static void
scrape_ok(ngx_k8s_metrics_batch_t *batches, ngx_uint_t i, ngx_uint_t ok,
    const char *text)
{
    ngx_k8s_metrics_batcher_t  b;

    memset(&b, 0, sizeof(b));
    batches[i].ok = (scrape(&b, &batches[i], i, text) == NGX_OK && ok);
}


static void
test_dedup_ends(void)
{
    ngx_int_t                  rc;
    ngx_uint_t                 npods, dropped, steps;
    ngx_k8s_metrics_batch_t    batches[3];

    scrape_ok(batches, 0, 1, NODE C("ns", "p", "c", "1", "1")
              C("ns", "z", "c", "1", "1"));
    scrape_ok(batches, 1, 1, NODE C("ns", "a0", "c", "1", "1")
              C("ns", "p", "c", "1", "1"));
    scrape_ok(batches, 2, 1, NODE C("ns", "z", "c", "1", "1")
              C("ns", "z", "d", "1", "1") C("ns", "p", "c", "1", "1")
              C("ns", "a0", "c", "1", "1"));

    rc = dedup(batches, 3, 2, &npods, &steps);
    check(rc == NGX_OK && npods == 7 && steps == 4,
          "three nodes, two pods a step: %lu pods reported in %lu steps",
          (unsigned long) npods, (unsigned long) steps);
    check(batches[0].duplicates == 0 && batches[1].duplicates == 1
          && str_is(&batches[1].example_pod, "p")
          && str_is(&batches[1].example_node, "a"),
          "node b: p, a's (its last pod)");
    check(batches[2].duplicates == 3 && str_is(&batches[2].example_pod, "a0")
          && str_is(&batches[2].example_node, "b"),
          "node c: a0 (b's first), p (a's, on three nodes), z (a's last), "
          "e.g. a0 on b: %lu", (unsigned long) batches[2].duplicates);

    dropped = ngx_k8s_metrics_batch_drop_duplicates(&batches[2]);
    check(dropped == 4 && batches[2].containers.nelts == 0,
          "node c keeps nothing: dropped %lu containers",
          (unsigned long) dropped);
    unit_pool_reset();

    /* an empty list between two that share a pod */
    scrape_ok(batches, 0, 1, NODE C("ns", "p", "c", "1", "1"));
    scrape_ok(batches, 1, 1, NODE);
    scrape_ok(batches, 2, 1, NODE C("ns", "p", "c", "1", "1"));
    rc = dedup(batches, 3, NGX_MAX_UINT32_VALUE, &npods, &steps);
    check(rc == NGX_OK && npods == 2 && steps == 1
          && batches[1].duplicates == 0
          && batches[2].duplicates == 1
          && str_is(&batches[2].example_node, "a"),
          "an empty node between: c's p is a's");
    unit_pool_reset();
}


#define DEDUP_NODES  8
#define DEDUP_PODS   12


/* random nodes against the rule itself: a pod is a duplicate on a node
 * when a node before it that did not fail has it too */

static void
test_dedup_random(void)
{
    u_char                      text[16384], *p;
    ngx_int_t                   rc;
    ngx_uint_t                  round, i, j, k, npods, expect, bad, has;
    ngx_uint_t                  steps;
    ngx_uint_t                  pods[DEDUP_NODES][DEDUP_PODS];
    ngx_k8s_metrics_batch_t     batches[DEDUP_NODES];
    ngx_k8s_metrics_batcher_t   b;
    ngx_k8s_metrics_csample_t  *cs, *example;

    static ngx_k8s_metrics_node_conf_t  conf[DEDUP_NODES];
    static u_char                       names[DEDUP_NODES][2];

    for (i = 0; i < DEDUP_NODES; i++) {
        names[i][0] = (u_char) ('a' + i);
        conf[i].name.data = names[i];
        conf[i].name.len = 1;
    }

    srandom(15);
    bad = 0;

    for (round = 0; round < 300; round++) {
        expect = 0;

        for (i = 0; i < DEDUP_NODES; i++) {
            p = ngx_cpymem(text, NODE, sizeof(NODE) - 1);

            /* pods written in a random order: the batch sorts them */
            for (j = 0; j < DEDUP_PODS; j++) {
                k = (j * 7 + round) % DEDUP_PODS;
                pods[i][k] = (random() % 3 == 0);

                if (!pods[i][k]) {
                    continue;
                }

                p += sprintf((char *) p, C("ns%lu", "p%lu", "c", "1", "1"),
                             (unsigned long) k % 3, (unsigned long) k,
                             (unsigned long) k % 3, (unsigned long) k);

                if (random() % 2) {
                    p += sprintf((char *) p,
                                 C("ns%lu", "p%lu", "d", "1", "1"),
                                 (unsigned long) k % 3, (unsigned long) k,
                                 (unsigned long) k % 3, (unsigned long) k);
                }
            }

            *p = '\0';

            memset(&b, 0, sizeof(b));
            rc = scrape(&b, &batches[i], 0, (char *) text);
            batches[i].node = &conf[i];
            batches[i].ok = (rc == NGX_OK && random() % 6 != 0);

            for (k = 0; batches[i].ok && k < DEDUP_PODS; k++) {
                expect += pods[i][k];
            }
        }

        /* a step of 1 to 4 pods, or all at once */
        rc = dedup(batches, DEDUP_NODES,
                   (round % 5) ? round % 5 : NGX_MAX_UINT32_VALUE, &npods,
                   &steps);
        if (rc != NGX_OK || npods != expect) {
            bad++;
        }

        for (i = 0; i < DEDUP_NODES; i++) {
            cs = batches[i].containers.elts;
            example = NULL;
            expect = 0;

            for (k = 0; batches[i].ok && k < batches[i].containers.nelts;
                 k++)
            {
                /* "p<k>": which pod of the pool this container is of */
                for (j = 0, has = 1; has < cs[k].pod.len; has++) {
                    j = j * 10 + cs[k].pod.data[has] - '0';
                }

                for (has = 0; has < i; has++) {
                    if (batches[has].ok && pods[has][j]) {
                        break;
                    }
                }

                if ((has < i) != cs[k].duplicate) {
                    bad++;
                }

                if (has < i && ngx_k8s_metrics_new_pod(cs, k)) {
                    expect++;

                    if (example == NULL) {
                        example = &cs[k];

                        if (!str_is(&batches[i].example_node,
                                    (char *) conf[has].name.data))
                        {
                            bad++;
                        }
                    }
                }
            }

            if (batches[i].duplicates != expect
                || (example
                    && (!str_eq(&batches[i].example_pod, &example->pod)
                        || !str_eq(&batches[i].example_ns,
                                   &example->namespace))))
            {
                bad++;
            }
        }

        unit_pool_reset();
    }

    check(bad == 0, "300 random cycles of 8 nodes, in steps of 1 to 4 pods "
          "or all at once: %lu mismatches with the rule", (unsigned long) bad);
}


int
main(void)
{
    test_node();
    test_invalid();
    test_swap();
    test_slots();
    test_pods();
    test_place();
    test_rejected_level();
    test_dedup();
    test_dedup_ends();
    test_dedup_random();

    return unit_done("test_batch");
}
