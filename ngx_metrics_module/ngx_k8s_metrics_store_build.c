
/*
 * ngx_metrics_module: publication, the snapshot of a finished scrape cycle
 * built from the previous one and the cycle's batches: its size, fitting
 * it into the zone, its nodes, pods, labels, points and histograms, and the
 * pods' order by namespace and name.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_merge.h"
#include "ngx_k8s_metrics_store.h"


/* the reason of a node left out of a snapshot that did not fit */
#define NGX_K8S_METRICS_LEFT_OUT      "do not fit in k8s_metrics_zone"

/*
 * What one slice of a publication does at most: containers sized or built,
 * or pods ordered (each about a microsecond or less here: a few ms).
 */
#define NGX_K8S_METRICS_PUBLISH_SLICE  4096


typedef struct {
    ngx_k8s_metrics_snapshot_t     *snap;
    ngx_k8s_metrics_snapshot_t     *old;
    u_char                         *strings;
    ngx_msec_t                      resolution;
    ngx_uint_t                      pod;
    ngx_uint_t                      container;
    ngx_uint_t                      label;
    ngx_k8s_metrics_pod_labels_pt   pod_labels;
    void                           *data;

    /* the pods' labels, held from sizing to building (json_t *) */
    ngx_array_t                     held;
    uint32_t                       *first_held; /* of each batch */
    ngx_uint_t                      next_held;

    /* metrics-server's nodeReady(), podReady(): a point kept as prev */
    unsigned                        nodes_ready:1;
    unsigned                        pods_ready:1;
} ngx_k8s_metrics_builder_t;


/* what the pods of one batch take in a snapshot */
typedef struct {
    ngx_uint_t                      index;      /* of the batch */
    size_t                          size;
    ngx_uint_t                      npods;
    ngx_uint_t                      ncontainers;
    ngx_uint_t                      nlabels;
} ngx_k8s_metrics_part_t;


typedef enum {
    NGX_K8S_METRICS_PUBLISH_SIZE = 0,
    NGX_K8S_METRICS_PUBLISH_NODES,
    NGX_K8S_METRICS_PUBLISH_HEAP,
    NGX_K8S_METRICS_PUBLISH_ORDER
} ngx_k8s_metrics_publish_phase_e;


/* a publication under way: its slices, and what they build */
struct ngx_k8s_metrics_publication_s {
    ngx_k8s_metrics_builder_t       b;
    ngx_k8s_metrics_main_conf_t    *kmcf;
    ngx_k8s_metrics_batch_t        *batches;
    ngx_uint_t                      n;
    ngx_pool_t                     *pool;
    ngx_log_t                      *log;
    ngx_event_t                     slice;
    ngx_k8s_metrics_published_pt    handler;
    void                           *handler_data;

    ngx_k8s_metrics_part_t         *parts;
    ngx_k8s_metrics_merge_t         merge;      /* the pods' order */
    ngx_k8s_metrics_snapshot_t      counts;
    size_t                          size;

    ngx_uint_t                      phase;
    ngx_uint_t                      next;       /* batch, or pod ordered */
    ngx_uint_t                      slices;

    /* for the debug log: its start, the last slice's, the longest gap */
    ngx_msec_t                      started;
    ngx_msec_t                      last;
    ngx_msec_t                      longest;
};


static ngx_int_t ngx_k8s_metrics_publish_claim(
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_log_t *log);
static void ngx_k8s_metrics_publish_slice(ngx_event_t *ev);
static ngx_int_t ngx_k8s_metrics_publish_size(
    ngx_k8s_metrics_publication_t *pub);
static ngx_k8s_metrics_snapshot_t *ngx_k8s_metrics_snapshot_layout(u_char *p,
    ngx_k8s_metrics_snapshot_t *counts, size_t size);
static ngx_int_t ngx_k8s_metrics_publish_nodes(
    ngx_k8s_metrics_publication_t *pub);
static ngx_int_t ngx_k8s_metrics_publish_order(
    ngx_k8s_metrics_publication_t *pub);
static void ngx_k8s_metrics_publish_end(ngx_k8s_metrics_publication_t *pub,
    ngx_int_t rc);
static void ngx_k8s_metrics_publish_release(
    ngx_k8s_metrics_publication_t *pub);
static ngx_int_t ngx_k8s_metrics_batch_size(
    ngx_k8s_metrics_publication_t *pub, ngx_uint_t i);
static ngx_int_t ngx_k8s_metrics_pods_size(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_k8s_metrics_part_t *part);
static u_char *ngx_k8s_metrics_snapshot_alloc(
    ngx_k8s_metrics_main_conf_t *kmcf, size_t size);
static u_char *ngx_k8s_metrics_snapshot_fit(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t n,
    ngx_k8s_metrics_part_t *parts, ngx_k8s_metrics_snapshot_t *counts,
    size_t *size, ngx_uint_t *left_out, ngx_pool_t *pool);
static void ngx_k8s_metrics_log_left_out(ngx_k8s_metrics_batch_t *batches,
    ngx_k8s_metrics_part_t *parts, ngx_uint_t n,
    ngx_k8s_metrics_snapshot_t *old, ngx_log_t *log);
static int ngx_libc_cdecl ngx_k8s_metrics_cmp_parts(const void *one,
    const void *two);
static void ngx_k8s_metrics_sort_labels(ngx_k8s_metrics_builder_t *b,
    ngx_uint_t first);
static int ngx_libc_cdecl ngx_k8s_metrics_cmp_labels(const void *one,
    const void *two);
static void ngx_k8s_metrics_build_node(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_k8s_metrics_snode_t *node,
    ngx_uint_t index);
static void ngx_k8s_metrics_build_pods(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_k8s_metrics_snode_t *node,
    ngx_k8s_metrics_snode_t *onode, ngx_uint_t index);
static void ngx_k8s_metrics_pod_labels(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_spod_t *pod);
static void ngx_k8s_metrics_node_points(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_snode_t *node, ngx_k8s_metrics_snode_t *onode,
    ngx_k8s_metrics_batch_t *batch);
static void ngx_k8s_metrics_log_readiness(ngx_k8s_metrics_builder_t *b,
    ngx_log_t *log);
static void ngx_k8s_metrics_container_points(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_scontainer_t *c, ngx_k8s_metrics_scontainer_t *oc,
    ngx_k8s_metrics_csample_t *cs);
static ngx_k8s_metrics_sstr_t ngx_k8s_metrics_store_str(
    ngx_k8s_metrics_builder_t *b, ngx_str_t *s);
static ngx_int_t ngx_k8s_metrics_cmp_pod_run(void *data,
    ngx_k8s_metrics_run_t *one, ngx_k8s_metrics_run_t *two);
static void ngx_k8s_metrics_node_histogram(ngx_k8s_metrics_snode_t *node,
    ngx_k8s_metrics_snode_t *onode, ngx_msec_t duration);


/* for qsort(), which has no context argument; one writer per process */
static ngx_k8s_metrics_snapshot_t  *ngx_k8s_metrics_sorting;


/*
 * Builds the snapshot of a finished cycle from the previous one and the
 * cycle's batches (one per node, sorted by node name), and makes it the
 * current one.  A snapshot too large for the zone leaves out the pods of
 * the largest nodes until it fits (snapshot_fit); when even the nodes
 * alone do not fit, the previous snapshot stays, and readyz fails once it
 * is stale (store_fresh).
 *
 * The snapshot is built in slices of NGX_K8S_METRICS_PUBLISH_SLICE items,
 * each posted to the next poll, so that the worker answers its requests
 * (probes included) between them; the previous snapshot is served until
 * the new one is swapped in under the zone's mutex, in one step.  The
 * batches and the pool must stay until handler(data, rc) is called: the
 * publication's end (NGX_OK, NGX_DECLINED: not published, NGX_ERROR), or
 * its abort (publish_abort(), or the worker exiting: NGX_ABORT).  NULL:
 * nothing was begun (no memory, or another process still publishing), the
 * handler is not called.
 */

ngx_k8s_metrics_publication_t *
ngx_k8s_metrics_store_publish(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t n,
    ngx_k8s_metrics_pod_labels_pt pod_labels, void *data,
    ngx_k8s_metrics_published_pt handler, void *handler_data,
    ngx_pool_t *pool, ngx_log_t *log)
{
    ngx_k8s_metrics_publication_t  *pub;

    pub = ngx_pcalloc(pool, sizeof(ngx_k8s_metrics_publication_t));
    if (pub == NULL) {
        return NULL;
    }

    pub->parts = ngx_palloc(pool, (n + 1) * sizeof(ngx_k8s_metrics_part_t));
    pub->merge.heap = ngx_palloc(pool,
                                 (n + 1) * sizeof(ngx_k8s_metrics_run_t));
    pub->b.first_held = ngx_palloc(pool, (n + 1) * sizeof(uint32_t));

    if (pub->parts == NULL || pub->merge.heap == NULL
        || pub->b.first_held == NULL
        || ngx_array_init(&pub->b.held, pool, pod_labels ? 1024 : 1,
                          sizeof(json_t *))
           != NGX_OK)
    {
        return NULL;
    }

    if (ngx_k8s_metrics_publish_claim(kmcf, log) != NGX_OK) {
        return NULL;
    }

    pub->kmcf = kmcf;
    pub->batches = batches;
    pub->n = n;
    pub->pool = pool;
    pub->log = log;
    pub->handler = handler;
    pub->handler_data = handler_data;

    pub->b.resolution = kmcf->resolution;
    pub->b.pod_labels = pod_labels;
    pub->b.data = data;

    pub->counts.nnodes = n;
    pub->size = sizeof(ngx_k8s_metrics_snapshot_t)
                + n * sizeof(ngx_k8s_metrics_snode_t);

    pub->slice.handler = ngx_k8s_metrics_publish_slice;
    pub->slice.data = pub;
    pub->slice.log = log;

    pub->started = ngx_current_msec;
    pub->last = pub->started;

    ngx_post_event(&pub->slice, &ngx_posted_next_events);

    return pub;
}


/*
 * One publication at a time in the zone: the process that builds a
 * snapshot is in sh->builder until it swaps it in or gives it up.  One
 * found gone (killed mid-publication) leaves its half-built snapshot to
 * whoever publishes next.
 */

static ngx_int_t
ngx_k8s_metrics_publish_claim(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_log_t *log)
{
    ngx_pid_t                 builder;
    ngx_k8s_metrics_shctx_t  *sh;

    sh = kmcf->sh;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    builder = sh->builder;

    if (ngx_k8s_metrics_store_publishing_locked(kmcf)) {
        ngx_shmtx_unlock(&kmcf->shpool->mutex);

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "k8s metrics: process %P is still publishing the "
                      "previous scrape cycle: this one is not published",
                      builder);
        return NGX_DECLINED;
    }

    if (sh->building) {
        ngx_slab_free_locked(kmcf->shpool, sh->building);
        sh->building = NULL;
    }

    sh->builder = ngx_pid;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (builder) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "k8s metrics: process %P is gone before it published "
                      "its scrape cycle: its snapshot is freed", builder);
    }

    return NGX_OK;
}


/* the next slice of a publication, posted to the next poll */

static void
ngx_k8s_metrics_publish_slice(ngx_event_t *ev)
{
    ngx_int_t                       rc;
    ngx_k8s_metrics_publication_t  *pub;

    pub = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_k8s_metrics_store_publish_abort(pub);
        return;
    }

    pub->slices++;

    /* the time is the poll's: a gap is a slice and what ran after it */

    pub->longest = ngx_max(pub->longest, ngx_current_msec - pub->last);
    pub->last = ngx_current_msec;

    switch (pub->phase) {

    case NGX_K8S_METRICS_PUBLISH_SIZE:
        rc = ngx_k8s_metrics_publish_size(pub);
        break;

    case NGX_K8S_METRICS_PUBLISH_NODES:
        rc = ngx_k8s_metrics_publish_nodes(pub);
        break;

    default:
        rc = ngx_k8s_metrics_publish_order(pub);
        break;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_CORE, pub->log, 0,
                   "k8s metrics: publication slice %ui: phase %ui, "
                   "%ui done: %i", pub->slices, pub->phase, pub->next, rc);

    if (rc == NGX_AGAIN) {
        ngx_post_event(&pub->slice, &ngx_posted_next_events);
        return;
    }

    ngx_k8s_metrics_publish_end(pub, rc);
}


/* the sizes of the next batches; then the snapshot allocated */

static ngx_int_t
ngx_k8s_metrics_publish_size(ngx_k8s_metrics_publication_t *pub)
{
    u_char                      *p;
    ngx_int_t                    rc;
    ngx_uint_t                   work, left_out;
    ngx_k8s_metrics_snapshot_t  *snap;

    for (work = 0;
         pub->next < pub->n && work < NGX_K8S_METRICS_PUBLISH_SLICE;
         pub->next++)
    {
        rc = ngx_k8s_metrics_batch_size(pub, pub->next);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        work += 1 + rc;
    }

    if (pub->next < pub->n) {
        return NGX_AGAIN;
    }

    left_out = 0;

    p = ngx_k8s_metrics_snapshot_alloc(pub->kmcf, pub->size);

    if (p == NULL) {
        (void) ngx_atomic_fetch_add(&pub->kmcf->sh->counters.zone_full, 1);

        p = ngx_k8s_metrics_snapshot_fit(pub->kmcf, pub->batches, pub->n,
                                         pub->parts, &pub->counts,
                                         &pub->size, &left_out, pub->pool);
        if (p == NULL) {
            ngx_log_error(NGX_LOG_ERR, pub->log, 0,
                          "k8s metrics: k8s_metrics_zone \"%V\" is full: "
                          "%uz bytes needed for %ui nodes even without "
                          "their pods; serving the previous snapshot",
                          &pub->kmcf->shm_zone->shm.name, pub->size,
                          pub->counts.nnodes);
            return NGX_DECLINED;
        }

        (void) ngx_atomic_fetch_add(&pub->kmcf->sh->counters.zone_left_out,
                                    left_out);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_CORE, pub->log, 0,
                   "k8s metrics: snapshot of %uz bytes: %ui nodes (%ui left "
                   "out), %ui pods", pub->size, pub->n, left_out,
                   pub->counts.npods);

    snap = ngx_k8s_metrics_snapshot_layout(p, &pub->counts, pub->size);

    pub->b.snap = snap;
    /*
     * No reference taken: only the builder replaces the current snapshot
     * (publish_claim), so it stays until publish_end.  A reference would
     * pin it in the zone if this process were killed meanwhile.
     */

    pub->b.old = pub->kmcf->sh->snapshot;
    pub->b.strings = snap->strings;

    ngx_k8s_metrics_log_left_out(pub->batches, pub->parts, left_out,
                                 pub->b.old, pub->log);

    pub->phase = NGX_K8S_METRICS_PUBLISH_NODES;
    pub->next = 0;

    return NGX_AGAIN;
}


/* the snapshot's head and arrays in the block allocated for it */

static ngx_k8s_metrics_snapshot_t *
ngx_k8s_metrics_snapshot_layout(u_char *p, ngx_k8s_metrics_snapshot_t *counts,
    size_t size)
{
    ngx_k8s_metrics_snapshot_t  *snap;

    snap = (ngx_k8s_metrics_snapshot_t *) p;
    *snap = *counts;
    snap->size = size;

    /* the 8-byte aligned arrays first */

    p += sizeof(ngx_k8s_metrics_snapshot_t);
    snap->nodes = (ngx_k8s_metrics_snode_t *) p;
    p += snap->nnodes * sizeof(ngx_k8s_metrics_snode_t);
    snap->containers = (ngx_k8s_metrics_scontainer_t *) p;
    p += snap->ncontainers * sizeof(ngx_k8s_metrics_scontainer_t);
    snap->pods = (ngx_k8s_metrics_spod_t *) p;
    p += snap->npods * sizeof(ngx_k8s_metrics_spod_t);
    snap->labels = (ngx_k8s_metrics_slabel_t *) p;
    p += snap->nlabels * sizeof(ngx_k8s_metrics_slabel_t);
    snap->pod_order = (uint32_t *) p;
    p += snap->npods * sizeof(uint32_t);
    snap->strings = p;

    return snap;
}


static ngx_int_t
ngx_k8s_metrics_publish_nodes(ngx_k8s_metrics_publication_t *pub)
{
    ngx_uint_t                work;
    ngx_k8s_metrics_batch_t  *batch;

    for (work = 0;
         pub->next < pub->n && work < NGX_K8S_METRICS_PUBLISH_SLICE;
         pub->next++)
    {
        batch = &pub->batches[pub->next];
        work += 1 + (batch->ok ? batch->containers.nelts : 0);

        ngx_k8s_metrics_build_node(&pub->b, batch,
                                   &pub->b.snap->nodes[pub->next],
                                   pub->next);
    }

    if (pub->next < pub->n) {
        return NGX_AGAIN;
    }

    pub->phase = NGX_K8S_METRICS_PUBLISH_HEAP;
    pub->next = 0;

    return NGX_AGAIN;
}


/* the end of a publication: the snapshot swapped in, or given up */

static void
ngx_k8s_metrics_publish_end(ngx_k8s_metrics_publication_t *pub, ngx_int_t rc)
{
    ngx_k8s_metrics_snapshot_t   *snap, *old;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = pub->kmcf;
    snap = pub->b.snap;

    if (rc == NGX_OK) {
        snap->ready = pub->b.nodes_ready && pub->b.pods_ready;
        ngx_k8s_metrics_log_readiness(&pub->b, pub->log);
    }

    ngx_k8s_metrics_publish_release(pub);

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    old = NULL;

    if (rc == NGX_OK) {
        snap->published = (int64_t) ngx_current_msec;

        old = kmcf->sh->snapshot;
        kmcf->sh->snapshot = snap;
        kmcf->sh->published = (ngx_msec_t) snap->published;

        if (old) {
            ngx_k8s_metrics_retire(kmcf, old);
        }

        ngx_k8s_metrics_free_retired(kmcf);

    } else if (snap) {
        ngx_slab_free_locked(kmcf->shpool, snap);
    }

    if (kmcf->sh->builder == ngx_pid) {
        kmcf->sh->builder = 0;
        kmcf->sh->building = NULL;
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (rc == NGX_OK) {
        ngx_log_debug7(NGX_LOG_DEBUG_CORE, pub->log, 0,
                       "k8s metrics: snapshot %p published in %ui slices "
                       "over %M ms (at most %M ms apart), %s, replacing %p "
                       "(%ui nodes)", snap, pub->slices,
                       ngx_current_msec - pub->started, pub->longest,
                       snap->ready ? "ready" : "not ready", old,
                       snap->nnodes);
    }

    pub->handler(pub->handler_data, rc);
}


/*
 * A publication given up (the worker exits, its scraper stops): the
 * snapshot half built is freed, the previous one stays current.
 */

void
ngx_k8s_metrics_store_publish_abort(ngx_k8s_metrics_publication_t *pub)
{
    if (pub->slice.posted) {
        ngx_delete_posted_event(&pub->slice);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_CORE, pub->log, 0,
                   "k8s metrics: publication given up after %ui slices",
                   pub->slices);

    ngx_k8s_metrics_publish_end(pub, NGX_ABORT);
}


/* what a publication holds: the pods' labels */

static void
ngx_k8s_metrics_publish_release(ngx_k8s_metrics_publication_t *pub)
{
    ngx_uint_t   i;
    json_t     **labels;

    pub->b.old = NULL;

    labels = pub->b.held.elts;

    for (i = 0; i < pub->b.held.nelts; i++) {
        json_decref(labels[i]);
    }

    pub->b.held.nelts = 0;
}


/*
 * A snapshot is taken only if the next one, as large, will fit beside it
 * once the current one is freed: one that fits now but leaves no room for
 * its successor would be followed by a cycle that does not fit, and a node
 * left out then would come back and go again every other cycle, its series
 * starting over each time.  The store says itself what did not fit and
 * what it left out: the slab allocator's "no memory" would only repeat it,
 * once per attempt.
 */

static u_char *
ngx_k8s_metrics_snapshot_alloc(ngx_k8s_metrics_main_conf_t *kmcf,
    size_t size)
{
    u_char           *p;
    size_t            room;
    ngx_slab_pool_t  *shpool;

    shpool = kmcf->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    ngx_k8s_metrics_free_retired(kmcf);

    shpool->log_nomem = 0;
    p = ngx_slab_alloc_locked(shpool, size);
    shpool->log_nomem = 1;

    if (p) {
        room = shpool->pfree * ngx_pagesize
               + (kmcf->sh->snapshot ? kmcf->sh->snapshot->size : 0);

        if (room < size) {
            ngx_slab_free_locked(shpool, p);
            p = NULL;
        }
    }

    /* found there if this process is gone before it is done */

    kmcf->sh->building = (ngx_k8s_metrics_snapshot_t *) p;

    ngx_shmtx_unlock(&shpool->mutex);

    return p;
}


/*
 * A snapshot too large for the zone: the largest nodes lose their pods,
 * one at a time, until the rest fits.  Such a node is a failed node of the
 * cycle, with its reason, as when its kubelet fails: its points are not
 * kept, so its series start over once it fits again (no rate spans the
 * cycles it missed), and no other node's series is touched.  The parts end
 * sorted, the *left_out first ones left out.
 */

static u_char *
ngx_k8s_metrics_snapshot_fit(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t n,
    ngx_k8s_metrics_part_t *parts, ngx_k8s_metrics_snapshot_t *counts,
    size_t *size, ngx_uint_t *left_out, ngx_pool_t *pool)
{
    u_char                   *p;
    ngx_str_t                 reason;
    ngx_uint_t                i;
    ngx_k8s_metrics_part_t   *part;
    ngx_k8s_metrics_batch_t  *batch;
    u_char                    buf[NGX_MAX_ERROR_STR];

    ngx_qsort(parts, n, sizeof(ngx_k8s_metrics_part_t),
              ngx_k8s_metrics_cmp_parts);

    for (i = 0; i < n && parts[i].npods; i++) {
        part = &parts[i];
        batch = &batches[part->index];

        reason.data = buf;
        reason.len = ngx_snprintf(buf, sizeof(buf),
                                  "its %ui pods (%uz bytes) "
                                  NGX_K8S_METRICS_LEFT_OUT " \"%V\" (%uz "
                                  "bytes) beside the other nodes: the "
                                  "largest nodes are left out first",
                                  part->npods, part->size,
                                  &kmcf->shm_zone->shm.name,
                                  kmcf->shm_zone->shm.size)
                     - buf;

        batch->error.data = ngx_pstrdup(pool, &reason);
        if (batch->error.data == NULL) {
            return NULL;
        }

        batch->error.len = reason.len;
        batch->ok = 0;

        *size = *size - part->size + reason.len;
        counts->npods -= part->npods;
        counts->ncontainers -= part->ncontainers;
        counts->nlabels -= part->nlabels;

        p = ngx_k8s_metrics_snapshot_alloc(kmcf, *size);

        if (p) {
            *left_out = i + 1;
            return p;
        }
    }

    return NULL;
}


/* the largest first; the first by name among equals */

static int ngx_libc_cdecl
ngx_k8s_metrics_cmp_parts(const void *one, const void *two)
{
    ngx_k8s_metrics_part_t  *a, *b;

    a = (ngx_k8s_metrics_part_t *) one;
    b = (ngx_k8s_metrics_part_t *) two;

    if (a->size != b->size) {
        return (a->size < b->size) ? 1 : -1;
    }

    return (a->index < b->index) ? -1 : (a->index > b->index);
}


/* an error the first cycle a node is left out, info while it stays so */

static void
ngx_k8s_metrics_log_left_out(ngx_k8s_metrics_batch_t *batches,
    ngx_k8s_metrics_part_t *parts, ngx_uint_t n,
    ngx_k8s_metrics_snapshot_t *old, ngx_log_t *log)
{
    ngx_uint_t                i, level;
    ngx_k8s_metrics_snode_t  *onode;
    ngx_k8s_metrics_batch_t  *batch;

    for (i = 0; i < n; i++) {
        batch = &batches[parts[i].index];
        onode = ngx_k8s_metrics_find_node(old, &batch->node->name);

        level = (onode && !onode->scraped
                 && ngx_strnstr(old->strings + onode->error.off,
                                (char *) NGX_K8S_METRICS_LEFT_OUT,
                                onode->error.len))
                ? NGX_LOG_INFO : NGX_LOG_ERR;

        ngx_log_error(level, log, 0,
                      "k8s metrics: node \"%V\" is left out of the snapshot: "
                      "%V", &batch->node->name, &batch->error);
    }
}


/*
 * Batch i's part of the snapshot's counts and size, its strings included:
 * its node, then its pods (parts[i]).  How many containers it has.
 */

static ngx_int_t
ngx_k8s_metrics_batch_size(ngx_k8s_metrics_publication_t *pub, ngx_uint_t i)
{
    ngx_uint_t                    k;
    ngx_k8s_metrics_part_t       *part;
    ngx_k8s_metrics_label_t      *label;
    ngx_k8s_metrics_node_conf_t  *node;
    ngx_k8s_metrics_snapshot_t   *counts;

    counts = &pub->counts;
    node = pub->batches[i].node;

    pub->size += node->name.len + node->address.len
                 + pub->batches[i].error.len;

    if (node->labels) {
        label = node->labels->elts;
        counts->nlabels += node->labels->nelts;
        pub->size += node->labels->nelts * sizeof(ngx_k8s_metrics_slabel_t);

        for (k = 0; k < node->labels->nelts; k++) {
            pub->size += label[k].key.len + label[k].value.len;
        }
    }

    part = &pub->parts[i];

    pub->b.first_held[i] = (uint32_t) pub->b.held.nelts;

    if (ngx_k8s_metrics_pods_size(&pub->b, &pub->batches[i], part)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part->index = i;

    counts->npods += part->npods;
    counts->ncontainers += part->ncontainers;
    counts->nlabels += part->nlabels;
    pub->size += part->size;

    return (ngx_int_t) part->ncontainers;
}


/* what the pods of a batch take: structures, labels and strings */

static ngx_int_t
ngx_k8s_metrics_pods_size(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_k8s_metrics_part_t *part)
{
    size_t                      strings;
    json_t                     *labels, *value, **held;
    ngx_uint_t                  k;
    const char                 *key;
    ngx_k8s_metrics_csample_t  *cs;

    ngx_memzero(part, sizeof(ngx_k8s_metrics_part_t));

    if (!batch->ok) {
        return NGX_OK;
    }

    cs = batch->containers.elts;
    strings = 0;

    for (k = 0; k < batch->containers.nelts; k++) {
        strings += cs[k].name.len;

        if (!ngx_k8s_metrics_new_pod(cs, k)) {
            continue;
        }

        part->npods++;
        strings += cs[k].namespace.len + cs[k].pod.len;

        if (b->pod_labels == NULL) {
            continue;
        }

        /*
         * held until the pod is built, slices later: the informer may
         * replace them meanwhile (it replaces, never changes, an object)
         */

        held = ngx_array_push(&b->held);
        if (held == NULL) {
            return NGX_ERROR;
        }

        labels = b->pod_labels(b->data, &cs[k].namespace, &cs[k].pod);
        *held = json_incref(labels);

        json_object_foreach(labels, key, value) {
            part->nlabels++;
            strings += ngx_strlen(key) + json_string_length(value);
        }
    }

    part->ncontainers = batch->containers.nelts;
    part->size = part->npods * (sizeof(ngx_k8s_metrics_spod_t)
                                + sizeof(uint32_t))
                 + part->ncontainers * sizeof(ngx_k8s_metrics_scontainer_t)
                 + part->nlabels * sizeof(ngx_k8s_metrics_slabel_t)
                 + strings;

    return NGX_OK;
}


static void
ngx_k8s_metrics_build_node(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_k8s_metrics_snode_t *node,
    ngx_uint_t index)
{
    ngx_uint_t                    i;
    ngx_k8s_metrics_label_t      *label;
    ngx_k8s_metrics_snode_t      *onode;
    ngx_k8s_metrics_slabel_t     *slabel;

    ngx_memzero(node, sizeof(ngx_k8s_metrics_snode_t));

    node->name = ngx_k8s_metrics_store_str(b, &batch->node->name);
    node->address = ngx_k8s_metrics_store_str(b, &batch->node->address);
    node->error = ngx_k8s_metrics_store_str(b, &batch->error);
    node->scrape_time = batch->scrape_time;
    node->duration = (uint32_t) batch->duration;
    node->scraped = batch->ok;

    onode = ngx_k8s_metrics_find_node(b->old, &batch->node->name);

    if (onode) {
        node->successes = onode->successes;
        node->failures = onode->failures;
        node->malformed = onode->malformed;
        node->misplaced = onode->misplaced;
        node->duplicates = onode->duplicates;
    }

    node->malformed += batch->malformed;
    node->misplaced += batch->misplaced;
    node->duplicates += batch->duplicates;

    if (batch->ok) {
        node->successes++;

    } else {
        node->failures++;
    }

    ngx_k8s_metrics_node_histogram(node, onode, batch->duration);

    node->first_label = b->label;

    if (batch->node->labels) {
        label = batch->node->labels->elts;

        for (i = 0; i < batch->node->labels->nelts; i++) {
            slabel = &b->snap->labels[b->label++];
            slabel->key = ngx_k8s_metrics_store_str(b, &label[i].key);
            slabel->value = ngx_k8s_metrics_store_str(b, &label[i].value);
        }
    }

    ngx_k8s_metrics_sort_labels(b, node->first_label);

    node->nlabels = b->label - node->first_label;
    node->first_pod = b->pod;

    if (!batch->ok) {
        return;
    }

    ngx_k8s_metrics_node_points(b, node, onode, batch);
    ngx_k8s_metrics_build_pods(b, batch, node, onode, index);
}


static void
ngx_k8s_metrics_node_histogram(ngx_k8s_metrics_snode_t *node,
    ngx_k8s_metrics_snode_t *onode, ngx_msec_t duration)
{
    ngx_uint_t  i;

    if (onode) {
        ngx_memcpy(node->buckets, onode->buckets, sizeof(node->buckets));
        node->duration_sum = onode->duration_sum;
    }

    node->duration_sum += duration;

    for (i = 0; i < NGX_K8S_METRICS_DURATION_BUCKETS; i++) {
        if (duration <= ngx_k8s_metrics_duration_bounds[i]) {
            node->buckets[i]++;
        }
    }
}


/*
 * The node's new point and the prev its rate is taken against, by
 * metrics-server's node storage rules (rate.c).  A node whose point the
 * scraper dropped (time 0) has none.
 */

static void
ngx_k8s_metrics_node_points(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_snode_t *node, ngx_k8s_metrics_snode_t *onode,
    ngx_k8s_metrics_batch_t *batch)
{
    node->last = batch->point;
    node->memory = batch->memory;
    node->swap = batch->swap;
    node->has_swap = batch->has_swap;

    if (onode == NULL || !onode->scraped) {
        return;
    }

    if (ngx_k8s_metrics_node_prev(&node->last, &onode->last, &onode->prev,
                                  &node->prev))
    {
        b->nodes_ready = 1;
    }
}


static void
ngx_k8s_metrics_pod_labels(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_spod_t *pod)
{
    json_t                    *labels, *value;
    ngx_str_t                  s;
    const char                *key;
    ngx_k8s_metrics_slabel_t  *label;

    pod->first_label = b->label;

    labels = b->pod_labels ? ((json_t **) b->held.elts)[b->next_held++]
                           : NULL;

    json_object_foreach(labels, key, value) {
        label = &b->snap->labels[b->label++];

        s.data = (u_char *) key;
        s.len = ngx_strlen(key);
        label->key = ngx_k8s_metrics_store_str(b, &s);

        s.data = (u_char *) json_string_value(value);
        s.len = json_string_length(value);
        label->value = ngx_k8s_metrics_store_str(b, &s);
    }

    ngx_k8s_metrics_sort_labels(b, pod->first_label);

    pod->nlabels = b->label - pod->first_label;
}


/* by key, as Go's encoding/json writes a map */

static void
ngx_k8s_metrics_sort_labels(ngx_k8s_metrics_builder_t *b, ngx_uint_t first)
{
    ngx_k8s_metrics_sorting = b->snap;

    ngx_qsort(&b->snap->labels[first], b->label - first,
              sizeof(ngx_k8s_metrics_slabel_t), ngx_k8s_metrics_cmp_labels);
}


static int ngx_libc_cdecl
ngx_k8s_metrics_cmp_labels(const void *one, const void *two)
{
    ngx_str_t                   key;
    ngx_k8s_metrics_slabel_t   *a, *b;
    ngx_k8s_metrics_snapshot_t *snap;

    snap = ngx_k8s_metrics_sorting;
    a = (ngx_k8s_metrics_slabel_t *) one;
    b = (ngx_k8s_metrics_slabel_t *) two;

    ngx_k8s_metrics_sstr(snap, b->key, &key);

    return (int) ngx_k8s_metrics_sstr_cmp(snap, a->key, &key);
}


static void
ngx_k8s_metrics_build_pods(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_k8s_metrics_snode_t *node,
    ngx_k8s_metrics_snode_t *onode, ngx_uint_t index)
{
    ngx_uint_t                     k;
    ngx_k8s_metrics_spod_t        *pod, *opod;
    ngx_k8s_metrics_csample_t     *cs;
    ngx_k8s_metrics_scontainer_t  *c, *oc;

    cs = batch->containers.elts;
    pod = NULL;
    opod = NULL;
    b->next_held = b->first_held[index];

    for (k = 0; k < batch->containers.nelts; k++) {

        if (ngx_k8s_metrics_new_pod(cs, k)) {
            pod = &b->snap->pods[b->pod++];
            pod->namespace = ngx_k8s_metrics_store_str(b, &cs[k].namespace);
            pod->name = ngx_k8s_metrics_store_str(b, &cs[k].pod);
            pod->node = index;
            pod->first_container = b->container;
            pod->ncontainers = 0;

            ngx_k8s_metrics_pod_labels(b, pod);

            opod = onode ? ngx_k8s_metrics_find_pod(b->old, onode,
                                                    &cs[k].namespace,
                                                    &cs[k].pod)
                         : NULL;
        }

        c = &b->snap->containers[b->container++];
        pod->ncontainers++;

        c->name = ngx_k8s_metrics_store_str(b, &cs[k].name);

        oc = opod ? ngx_k8s_metrics_find_container(b->old, opod, &cs[k].name)
                  : NULL;

        ngx_k8s_metrics_container_points(b, c, oc, &cs[k]);
    }

    node->npods = b->pod - node->first_pod;
}


/* a container's new point and its prev, by the pod storage rules (rate.c) */

static void
ngx_k8s_metrics_container_points(ngx_k8s_metrics_builder_t *b,
    ngx_k8s_metrics_scontainer_t *c, ngx_k8s_metrics_scontainer_t *oc,
    ngx_k8s_metrics_csample_t *cs)
{
    c->last = cs->point;
    c->memory = cs->memory;
    c->swap = cs->swap;
    c->has_swap = cs->has_swap;
    c->start = cs->start;

    /* a pod with one container that has a prev makes podReady() true */

    if (ngx_k8s_metrics_container_prev(&c->last, c->start,
                                       oc ? &oc->last : NULL,
                                       oc ? &oc->prev : NULL,
                                       b->resolution, &c->prev))
    {
        b->pods_ready = 1;
    }
}


static ngx_k8s_metrics_sstr_t
ngx_k8s_metrics_store_str(ngx_k8s_metrics_builder_t *b, ngx_str_t *s)
{
    ngx_k8s_metrics_sstr_t  ss;

    ss.off = (uint32_t) (b->strings - b->snap->strings);
    ss.len = (uint32_t) s->len;

    if (s->len) {
        b->strings = ngx_cpymem(b->strings, s->data, s->len);
    }

    return ss;
}


/*
 * The pods by namespace, then name: each node's pods are in that order
 * already (its containers are, batch.c), and the nodes' lists are merged
 * through a heap of their next pods (merge.c): O(P log n) for P pods on n
 * nodes, where sorting them all again was O(P log P) through qsort's
 * callback.  A pod reported by two nodes comes first from the first node,
 * as the stable sort of the pods' indices had it.  The merge stops after
 * a slice of pods and goes on at the next.
 */

static ngx_int_t
ngx_k8s_metrics_publish_order(ngx_k8s_metrics_publication_t *pub)
{
    ngx_uint_t                   i, last;
    ngx_k8s_metrics_run_t       *heap;
    ngx_k8s_metrics_snode_t     *node;
    ngx_k8s_metrics_merge_t     *m;
    ngx_k8s_metrics_snapshot_t  *snap;

    snap = pub->b.snap;
    m = &pub->merge;
    heap = m->heap;

    if (pub->phase == NGX_K8S_METRICS_PUBLISH_HEAP) {
        m->n = 0;
        m->cmp = ngx_k8s_metrics_cmp_pod_run;
        m->data = snap;

        for (i = 0; i < snap->nnodes; i++) {
            node = &snap->nodes[i];

            if (node->npods) {
                heap[m->n].next = (uint32_t) node->first_pod;
                heap[m->n].end = (uint32_t) (node->first_pod + node->npods);
                heap[m->n].list = (uint32_t) i;
                m->n++;
            }
        }

        ngx_k8s_metrics_merge_init(m);

        pub->phase = NGX_K8S_METRICS_PUBLISH_ORDER;
    }

    last = pub->next + NGX_K8S_METRICS_PUBLISH_SLICE;

    for ( /* void */ ; m->n && pub->next < last; pub->next++) {
        snap->pod_order[pub->next] = heap[0].next++;
        ngx_k8s_metrics_merge_next(m);
    }

    return m->n ? NGX_AGAIN : NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_cmp_pod_run(void *data, ngx_k8s_metrics_run_t *one,
    ngx_k8s_metrics_run_t *two)
{
    ngx_k8s_metrics_snapshot_t *snap = data;

    ngx_int_t                rc;
    ngx_k8s_metrics_spod_t  *a, *b;

    a = &snap->pods[one->next];
    b = &snap->pods[two->next];

    rc = ngx_memn2cmp(snap->strings + a->namespace.off,
                      snap->strings + b->namespace.off,
                      a->namespace.len, b->namespace.len);
    if (rc) {
        return rc;
    }

    return ngx_memn2cmp(snap->strings + a->name.off,
                        snap->strings + b->name.off,
                        a->name.len, b->name.len);
}


/*
 * Readiness as metrics-server v0.9's storage: Ready() is NodeReady() &&
 * PodReady(), each true when the cycle's store kept a point to compute a
 * rate from: a node with a prev point; a container with one, whether or
 * not every container of its pod has one.  So no pod at all, or only pods
 * of containers just seen, is not ready.  Changes are logged, as
 * metrics-server logs them.
 */

static void
ngx_k8s_metrics_log_readiness(ngx_k8s_metrics_builder_t *b, ngx_log_t *log)
{
    ngx_uint_t  was;

    was = b->old ? b->old->ready : 0;

    if (b->snap->ready == was) {
        return;
    }

    if (b->snap->ready) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "k8s metrics: the store is ready: node and pod "
                      "metrics can be served");
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "k8s metrics: the store is not ready:%s%s",
                  b->nodes_ready ? "" : " no node has two points",
                  b->pods_ready ? "" : (b->nodes_ready
                                        ? " no container has two points"
                                        : ", no container either"));
}
