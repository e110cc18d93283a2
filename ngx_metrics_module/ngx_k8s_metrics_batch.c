
/*
 * ngx_metrics_module: samples to a node's batch.  The scraper hands each
 * sample its parser reads from a kubelet, then the finished response;
 * this file keeps the samples the store can take, by container, checks
 * them as metrics-server's decoder does, places each pod on its node and
 * says why a node fails.  Without an apiserver it also keeps a pod that
 * several kubelets report to one node.  The caller logs and counts.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_batch.h"
#include "ngx_k8s_metrics_merge.h"


/* of a label value quoted in a reason */
#define NGX_K8S_METRICS_REASON_LABEL    128


static ngx_int_t ngx_k8s_metrics_batch_invalid(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_sample_t *sample, const char *reason);
static uint32_t ngx_k8s_metrics_container_hash(
    ngx_k8s_metrics_sample_t *sample);
static ngx_k8s_metrics_csample_t *ngx_k8s_metrics_batch_container(
    ngx_k8s_metrics_batcher_t *b, ngx_k8s_metrics_sample_t *sample);
static ngx_int_t ngx_k8s_metrics_batch_grow_slots(
    ngx_k8s_metrics_batcher_t *b);
static ngx_int_t ngx_k8s_metrics_batch_fail(ngx_k8s_metrics_batcher_t *b,
    const char *fmt, ...);
static ngx_int_t ngx_k8s_metrics_batch_keep(ngx_k8s_metrics_batcher_t *b,
    ngx_str_t *dst, u_char *buf, u_char *last);
static ngx_int_t ngx_k8s_metrics_batch_pods(ngx_k8s_metrics_batcher_t *b);
static ngx_uint_t ngx_k8s_metrics_batch_place(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_csample_t *cs, ngx_str_t *node);
static void ngx_k8s_metrics_batch_duplicate(ngx_k8s_metrics_batch_t *batch,
    ngx_uint_t first, ngx_uint_t end, ngx_str_t *node);
static ngx_int_t ngx_k8s_metrics_cmp_batch_run(void *data,
    ngx_k8s_metrics_run_t *one, ngx_k8s_metrics_run_t *two);
static int ngx_libc_cdecl ngx_k8s_metrics_cmp_csample(const void *one,
    const void *two);


/* where a pod reported by a kubelet is taken from (batch_place) */
#define NGX_K8S_METRICS_POD_TAKEN       0
#define NGX_K8S_METRICS_POD_UNLISTED    1
#define NGX_K8S_METRICS_POD_MISPLACED   2


ngx_int_t
ngx_k8s_metrics_batch_start(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_pool_t *pool)
{
    b->batch = batch;
    b->pool = pool;
    ngx_str_null(&b->reason);
    ngx_str_null(&b->invalid);
    b->ninvalid = 0;
    b->node_memory = 0;
    b->unserved = 0;
    b->slots = NULL;
    b->nslots = 0;
    b->zero = 0;
    b->incomplete = 0;
    b->unlisted = 0;
    b->misplaced = 0;

    return ngx_array_init(&batch->containers, pool, 64,
                          sizeof(ngx_k8s_metrics_csample_t));
}


ngx_int_t
ngx_k8s_metrics_batch_sample(void *data, ngx_k8s_metrics_sample_t *sample)
{
    ngx_k8s_metrics_batcher_t *b = data;

    int64_t                     time;
    uint64_t                    value;
    const char                 *reason;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_csample_t  *cs;

    batch = b->batch;

    switch (sample->kind) {

    case NGX_K8S_METRICS_SAMPLE_NODE_CPU:
    case NGX_K8S_METRICS_SAMPLE_NODE_MEMORY:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_START:
        break;

    case NGX_K8S_METRICS_SAMPLE_NODE_SWAP:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP:
        if (b->swap) {
            break;
        }

        return NGX_OK;

    default:
        return NGX_OK;
    }

    reason = ngx_k8s_metrics_sample_value(sample, &value);
    if (reason) {
        return ngx_k8s_metrics_batch_invalid(b, sample, reason);
    }

    /* a sample without a timestamp is of the caller's time */
    time = sample->timestamp_ms > 0 ? sample->timestamp_ms : b->now;

    switch (sample->kind) {

    case NGX_K8S_METRICS_SAMPLE_NODE_CPU:
        batch->point.cpu = value;
        batch->point.time = time;
        return NGX_OK;

    case NGX_K8S_METRICS_SAMPLE_NODE_MEMORY:
        batch->memory = value;
        b->node_memory = 1;
        return NGX_OK;

    case NGX_K8S_METRICS_SAMPLE_NODE_SWAP:
        batch->swap = value;
        batch->has_swap = 1;
        return NGX_OK;

    default:
        break;
    }

    cs = ngx_k8s_metrics_batch_container(b, sample);
    if (cs == NULL) {
        return NGX_ERROR;
    }

    switch (sample->kind) {

    case NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU:
        cs->point.cpu = value;
        cs->point.time = time;
        cs->has_cpu = 1;
        break;

    case NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY:
        cs->memory = value;
        cs->has_memory = 1;
        break;

    case NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP:
        cs->swap = value;
        cs->has_swap = 1;
        break;

    default: /* NGX_K8S_METRICS_SAMPLE_CONTAINER_START */
        cs->start = (int64_t) value;
        break;
    }

    return NGX_OK;
}


/*
 * A value the store cannot keep fails the node (batch_finish()): the
 * first one, with its metric and labels, is its reason; the parser counts
 * each such line as malformed.
 */

static ngx_int_t
ngx_k8s_metrics_batch_invalid(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_sample_t *sample, const char *reason)
{
    u_char     *p, *last, sep;
    ngx_str_t  *label[3];
    ngx_uint_t  i;
    u_char      buf[NGX_MAX_ERROR_STR];

    static const char  *names[] = { "namespace", "pod", "container" };

    if (b->ninvalid++) {
        return NGX_DECLINED;
    }

    label[0] = &sample->namespace;
    label[1] = &sample->pod;
    label[2] = &sample->container;

    /* at most 3 labels of 128 bytes, a value of 64: the buffer holds all */

    last = buf + sizeof(buf);
    p = ngx_slprintf(buf, last, "%V", sample->name);
    sep = '{';

    for (i = 0; i < 3; i++) {
        if (label[i]->len == 0) {
            continue;
        }

        p = ngx_slprintf(p, last, "%c%s=\"", sep, names[i]);
        p = ngx_k8s_metrics_printable(p, label[i]->data,
                                      ngx_min(label[i]->len,
                                              NGX_K8S_METRICS_REASON_LABEL));
        *p++ = '"';
        sep = ',';
    }

    if (sep == ',') {
        *p++ = '}';
    }

    p = ngx_slprintf(p, last, " %V %s", &sample->text, reason);

    return ngx_k8s_metrics_batch_keep(b, &b->invalid, buf, p);
}


/* control characters and bytes past ASCII as spaces: for the log */

u_char *
ngx_k8s_metrics_printable(u_char *dst, u_char *src, size_t n)
{
    while (n--) {
        *dst++ = (*src >= 0x20 && *src < 0x7f) ? *src : ' ';
        src++;
    }

    return dst;
}


static uint32_t
ngx_k8s_metrics_container_hash(ngx_k8s_metrics_sample_t *sample)
{
    uint32_t  hash;

    hash = ngx_murmur_hash2(sample->namespace.data, sample->namespace.len);
    hash = hash * 31 + ngx_murmur_hash2(sample->pod.data, sample->pod.len);
    hash = hash * 31 + ngx_murmur_hash2(sample->container.data,
                                        sample->container.len);
    return hash;
}


/* finds or adds the record of a container, by an open-addressing hash */

static ngx_k8s_metrics_csample_t *
ngx_k8s_metrics_batch_container(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_sample_t *sample)
{
    uint32_t                    hash, slot;
    ngx_array_t                *a;
    ngx_k8s_metrics_csample_t  *cs;

    a = &b->batch->containers;

    if (a->nelts * 2 >= b->nslots
        && ngx_k8s_metrics_batch_grow_slots(b) != NGX_OK)
    {
        return NULL;
    }

    hash = ngx_k8s_metrics_container_hash(sample);
    cs = a->elts;

    for (slot = hash & (b->nslots - 1); b->slots[slot];
         slot = (slot + 1) & (b->nslots - 1))
    {
        cs = (ngx_k8s_metrics_csample_t *) a->elts + b->slots[slot] - 1;

        if (cs->hash == hash
            && cs->name.len == sample->container.len
            && cs->pod.len == sample->pod.len
            && cs->namespace.len == sample->namespace.len
            && ngx_memcmp(cs->name.data, sample->container.data,
                          cs->name.len) == 0
            && ngx_memcmp(cs->pod.data, sample->pod.data, cs->pod.len) == 0
            && ngx_memcmp(cs->namespace.data, sample->namespace.data,
                          cs->namespace.len) == 0)
        {
            return cs;
        }
    }

    cs = ngx_array_push(a);
    if (cs == NULL) {
        return NULL;
    }

    ngx_memzero(cs, sizeof(ngx_k8s_metrics_csample_t));
    cs->hash = hash;

    cs->namespace.data = ngx_pstrdup(b->pool, &sample->namespace);
    cs->pod.data = ngx_pstrdup(b->pool, &sample->pod);
    cs->name.data = ngx_pstrdup(b->pool, &sample->container);

    if (cs->namespace.data == NULL || cs->pod.data == NULL
        || cs->name.data == NULL)
    {
        return NULL;
    }

    cs->namespace.len = sample->namespace.len;
    cs->pod.len = sample->pod.len;
    cs->name.len = sample->container.len;

    b->slots[slot] = (uint32_t) a->nelts;

    return cs;
}


static ngx_int_t
ngx_k8s_metrics_batch_grow_slots(ngx_k8s_metrics_batcher_t *b)
{
    uint32_t                    slot, *slots;
    ngx_uint_t                  i, n;
    ngx_k8s_metrics_csample_t  *cs;

    n = b->nslots ? b->nslots * 2 : 256;

    slots = ngx_pcalloc(b->pool, n * sizeof(uint32_t));
    if (slots == NULL) {
        return NGX_ERROR;
    }

    cs = b->batch->containers.elts;

    for (i = 0; i < b->batch->containers.nelts; i++) {
        for (slot = cs[i].hash & (n - 1); slots[slot];
             slot = (slot + 1) & (n - 1))
        {
            /* void */
        }

        slots[slot] = (uint32_t) i + 1;
    }

    b->slots = slots;
    b->nslots = n;

    return NGX_OK;
}


/*
 * A value the store cannot keep fails the node, as does a response without
 * the node's samples.  Then metrics-server's decoder: a node whose CPU or
 * memory is zero is not served, its pods are.  NGX_ERROR: no memory for
 * the reason.
 */

ngx_int_t
ngx_k8s_metrics_batch_finish(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_parser_t *parser)
{
    ngx_k8s_metrics_batch_t  *batch;

    batch = b->batch;

    if (b->ninvalid) {
        return ngx_k8s_metrics_batch_fail(b, "invalid value: %V (%ui in the "
                                          "response)", &b->invalid,
                                          b->ninvalid);
    }

    if (batch->point.time == 0 || !b->node_memory) {
        return ngx_k8s_metrics_batch_fail(b, "the response has no node CPU "
                                          "or memory sample (%ui lines, %ui "
                                          "malformed)", parser->lines,
                                          parser->malformed);
    }

    if (batch->point.cpu == 0 || batch->memory == 0) {
        ngx_memzero(&batch->point, sizeof(ngx_k8s_metrics_point_t));
        batch->memory = 0;
        b->unserved = 1;
        b->zero++;
    }

    return ngx_k8s_metrics_batch_pods(b);
}


static ngx_int_t
ngx_k8s_metrics_batch_fail(ngx_k8s_metrics_batcher_t *b, const char *fmt,
    ...)
{
    u_char   *p, buf[NGX_MAX_ERROR_STR];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    return ngx_k8s_metrics_batch_keep(b, &b->reason, buf, p);
}


/* a text formatted on the stack, kept: NGX_DECLINED, or NGX_ERROR */

static ngx_int_t
ngx_k8s_metrics_batch_keep(ngx_k8s_metrics_batcher_t *b, ngx_str_t *dst,
    u_char *buf, u_char *last)
{
    dst->data = ngx_pnalloc(b->pool, last - buf);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    dst->len = last - buf;
    ngx_memcpy(dst->data, buf, dst->len);

    return NGX_DECLINED;
}


/*
 * At most k8s_metrics_kubelet_max_pods pods, or the node fails.  A pod is
 * taken as batch_place says; then, as metrics-server's decoder
 * (checkContainerMetrics()), it is dropped whole when one of its
 * containers lacks CPU or memory, or has either at zero (a container just
 * created or terminated).  What remains is sorted by namespace, pod and
 * name: the store's order.
 */

static ngx_int_t
ngx_k8s_metrics_batch_pods(ngx_k8s_metrics_batcher_t *b)
{
    ngx_str_t                   node;
    ngx_uint_t                  i, j, n, nelts, npods, place, *drop;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_csample_t  *cs;

    batch = b->batch;

    cs = batch->containers.elts;
    nelts = batch->containers.nelts;

    ngx_qsort(cs, nelts, sizeof(ngx_k8s_metrics_csample_t),
              ngx_k8s_metrics_cmp_csample);

    npods = 0;

    for (i = 0; i < nelts; i++) {
        npods += ngx_k8s_metrics_new_pod(cs, i);
    }

    if (npods > b->max_pods) {
        return ngx_k8s_metrics_batch_fail(b, "the kubelet reports %ui pods, "
                                          "more than "
                                          "k8s_metrics_kubelet_max_pods "
                                          "(%ui)", npods, b->max_pods);
    }

    n = 0;

    /* cs[i - 1] is never overwritten before cs[i] is looked at: n <= i */

    for (i = 0; i < nelts; i = j) {
        drop = NULL;

        for (j = i; j < nelts && ngx_k8s_metrics_cmp_pod(&cs[i], &cs[j]) == 0;
             j++)
        {
            if (!cs[j].has_cpu || !cs[j].has_memory) {
                drop = &b->incomplete;

            } else if (drop == NULL
                       && (cs[j].point.cpu == 0 || cs[j].memory == 0))
            {
                drop = &b->zero;
            }
        }

        place = ngx_k8s_metrics_batch_place(b, &cs[i], &node);

        if (place == NGX_K8S_METRICS_POD_UNLISTED) {
            drop = &b->unlisted;

        } else if (place == NGX_K8S_METRICS_POD_MISPLACED) {
            drop = &b->misplaced;

            if (batch->misplaced++ == 0) {
                batch->example_ns = cs[i].namespace;
                batch->example_pod = cs[i].pod;
                batch->example_node = node;
            }
        }

        if (drop) {
            *drop += j - i;
            continue;
        }

        while (i < j) {
            cs[n++] = cs[i++];
        }
    }

    batch->containers.nelts = n;

    return NGX_OK;
}


/*
 * With the apiserver, a pod is taken only from the kubelet of the node its
 * spec.nodeName names, so no kubelet can publish another node's pod.  A
 * pod the apiserver does not list as running, or not yet (its pods not
 * listed yet, a pod younger than its watch event), is not taken, as
 * before: metrics-server serves only the pods of its lister, and a kubelet
 * cannot add a pod the apiserver has not placed on its node.  Without an
 * apiserver every pod is taken; batch_dedup_step keeps each to one node.
 */

static ngx_uint_t
ngx_k8s_metrics_batch_place(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_csample_t *cs, ngx_str_t *node)
{
    ngx_str_t  *name;

    if (b->pod_node == NULL) {
        return NGX_K8S_METRICS_POD_TAKEN;
    }

    if (b->pod_node(b->data, &cs->namespace, &cs->pod, node) != NGX_OK) {
        return NGX_K8S_METRICS_POD_UNLISTED;
    }

    name = &b->batch->node->name;

    if (node->len != name->len
        || ngx_strncmp(node->data, name->data, node->len) != 0)
    {
        return NGX_K8S_METRICS_POD_MISPLACED;
    }

    return NGX_K8S_METRICS_POD_TAKEN;
}


/*
 * Pods a kubelet reported that are not taken from it are logged once per
 * node and cycle: a warning the first cycle, info while it goes on, so
 * that a kubelet cannot flood the log.  0: nothing to log.
 */

ngx_uint_t
ngx_k8s_metrics_batch_rejected_level(ngx_uint_t *last, ngx_uint_t n)
{
    ngx_uint_t  level;

    level = *last ? NGX_LOG_INFO : NGX_LOG_WARN;
    *last = n;

    return n ? level : 0;
}


/*
 * Without an apiserver nothing says where a pod runs: a pod that several
 * kubelets report is served once, from the first node by name (the
 * batches are in that order), and taken from none of the others.  With
 * one, batch_place already takes each pod from one node only.  Here the
 * containers of each pod taken from none are marked; drop_duplicates
 * removes them.  Each batch is sorted by pod (batch_pods), so merging the
 * batches brings the copies of a pod together, the first node's first.
 */

ngx_int_t
ngx_k8s_metrics_batch_dedup_init(ngx_k8s_metrics_dedup_t *d,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t n, ngx_pool_t *pool)
{
    ngx_uint_t              i;
    ngx_k8s_metrics_run_t  *run;

    ngx_memzero(d, sizeof(ngx_k8s_metrics_dedup_t));

    d->merge.heap = ngx_palloc(pool, (n + 1) * sizeof(ngx_k8s_metrics_run_t));
    if (d->merge.heap == NULL) {
        return NGX_ERROR;
    }

    d->merge.cmp = ngx_k8s_metrics_cmp_batch_run;
    d->merge.data = batches;
    d->batches = batches;

    for (i = 0; i < n; i++) {
        if (batches[i].ok && batches[i].containers.nelts) {
            run = &d->merge.heap[d->merge.n++];
            run->next = 0;
            run->end = (uint32_t) batches[i].containers.nelts;
            run->list = (uint32_t) i;
        }
    }

    ngx_k8s_metrics_merge_init(&d->merge);

    return NGX_OK;
}


/* the batches' pods in order, at most max of them: NGX_AGAIN if more */

ngx_int_t
ngx_k8s_metrics_batch_dedup_step(ngx_k8s_metrics_dedup_t *d, ngx_uint_t max)
{
    ngx_uint_t                  first, end;
    ngx_k8s_metrics_run_t      *run;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_csample_t  *cs;

    for ( /* void */ ; d->merge.n; d->npods++) {
        if (max-- == 0) {
            return NGX_AGAIN;
        }

        run = &d->merge.heap[0];
        batch = &d->batches[run->list];
        cs = batch->containers.elts;
        first = run->next;

        do {
            run->next++;
        } while (run->next < run->end
                 && !ngx_k8s_metrics_new_pod(cs, run->next));

        end = run->next;

        ngx_k8s_metrics_merge_next(&d->merge);

        if (d->pod && ngx_k8s_metrics_cmp_pod(&cs[first], d->pod) == 0) {
            ngx_k8s_metrics_batch_duplicate(batch, first, end, d->node);
            continue;
        }

        d->pod = &cs[first];
        d->node = &batch->node->name;
    }

    return NGX_OK;
}


/* the containers [first, end) of a pod that the node named node has */

static void
ngx_k8s_metrics_batch_duplicate(ngx_k8s_metrics_batch_t *batch,
    ngx_uint_t first, ngx_uint_t end, ngx_str_t *node)
{
    ngx_k8s_metrics_csample_t  *cs;

    cs = batch->containers.elts;

    if (batch->duplicates++ == 0) {
        batch->example_ns = cs[first].namespace;
        batch->example_pod = cs[first].pod;
        batch->example_node = *node;
    }

    while (first < end) {
        cs[first++].duplicate = 1;
    }
}


/* the containers batch_dedup_step marked removed: how many */

ngx_uint_t
ngx_k8s_metrics_batch_drop_duplicates(ngx_k8s_metrics_batch_t *batch)
{
    ngx_uint_t                  i, n, dropped;
    ngx_k8s_metrics_csample_t  *cs;

    cs = batch->containers.elts;

    for (i = 0, n = 0; i < batch->containers.nelts; i++) {
        if (!cs[i].duplicate) {
            cs[n++] = cs[i];
        }
    }

    dropped = batch->containers.nelts - n;
    batch->containers.nelts = n;

    return dropped;
}


/* containers are sorted by namespace and pod: a pod starts at k */

ngx_flag_t
ngx_k8s_metrics_new_pod(ngx_k8s_metrics_csample_t *cs, ngx_uint_t k)
{
    return k == 0 || ngx_k8s_metrics_cmp_pod(&cs[k], &cs[k - 1]) != 0;
}


/* by namespace, then pod name */

ngx_int_t
ngx_k8s_metrics_cmp_pod(ngx_k8s_metrics_csample_t *one,
    ngx_k8s_metrics_csample_t *two)
{
    ngx_int_t  rc;

    rc = ngx_memn2cmp(one->namespace.data, two->namespace.data,
                      one->namespace.len, two->namespace.len);
    if (rc) {
        return rc;
    }

    return ngx_memn2cmp(one->pod.data, two->pod.data, one->pod.len,
                        two->pod.len);
}


/* the first containers of the runs' next pods */

static ngx_int_t
ngx_k8s_metrics_cmp_batch_run(void *data, ngx_k8s_metrics_run_t *one,
    ngx_k8s_metrics_run_t *two)
{
    ngx_k8s_metrics_batch_t *batches = data;

    ngx_k8s_metrics_csample_t  *a, *b;

    a = batches[one->list].containers.elts;
    b = batches[two->list].containers.elts;

    return ngx_k8s_metrics_cmp_pod(&a[one->next], &b[two->next]);
}


static int ngx_libc_cdecl
ngx_k8s_metrics_cmp_csample(const void *one, const void *two)
{
    ngx_int_t                   rc;
    ngx_k8s_metrics_csample_t  *a, *b;

    a = (ngx_k8s_metrics_csample_t *) one;
    b = (ngx_k8s_metrics_csample_t *) two;

    rc = ngx_k8s_metrics_cmp_pod(a, b);
    if (rc) {
        return (int) rc;
    }

    return (int) ngx_memn2cmp(a->name.data, b->name.data, a->name.len,
                              b->name.len);
}
