
/*
 * ngx_metrics_module: a scrape cycle.  Each kubelet's /metrics/resource
 * over verified TLS through libcurl's multi interface on nginx's event
 * loop, parsed as it streams in, and the cycle's results published to the
 * store when every kubelet has answered or failed.  One kubelet's failure
 * touches only its own node.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_msmetrics.h"
#include "ngx_k8s_metrics_scrape.h"


/* a line longer than that is skipped as malformed: kubelets write < 1k */
#define NGX_K8S_METRICS_MAX_LINE        8192
#define NGX_K8S_METRICS_ERROR_BODY      200

#define ngx_k8s_metrics_owns(s, i)                                            \
    ((s)->shares == 0                                                         \
     || ngx_k8s_metrics_scrape_owner(s, i) == (s)->share_worker)


static ngx_int_t ngx_k8s_metrics_scraper_init_kubelet(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_kubelet_t *k);
static void ngx_k8s_metrics_scrape_next(ngx_k8s_metrics_scraper_t *s);
static size_t ngx_k8s_metrics_scrape_write(char *ptr, size_t size,
    size_t nmemb, void *data);
static void ngx_k8s_metrics_scrape_start(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_k8s_metrics_batch_t *batch);
static void ngx_k8s_metrics_scrape_done(ngx_k8s_metrics_transfer_t *t,
    CURLcode result);
static ngx_int_t ngx_k8s_metrics_scrape_validate(ngx_k8s_metrics_kubelet_t *k);
static ngx_int_t ngx_k8s_metrics_scrape_pod_node(void *data,
    ngx_str_t *namespace, ngx_str_t *pod, ngx_str_t *node);
static void ngx_k8s_metrics_scrape_dedup(ngx_event_t *ev);
static void ngx_k8s_metrics_scrape_store(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_drop_duplicates(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_batch_t *batch);
static void ngx_k8s_metrics_scrape_finish_cycle(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_published(void *data, ngx_int_t rc);


/*
 * The nodes the apiserver lists, when they changed since the last cycle;
 * their configurations live in a pool of their own, replaced each time.
 */

ngx_int_t
ngx_k8s_metrics_scrape_discovered(ngx_k8s_metrics_scraper_t *s)
{
    ngx_int_t                     rc;
    ngx_uint_t                    n;
    ngx_pool_t                   *pool;
    ngx_k8s_metrics_node_conf_t  *nodes;

    pool = ngx_create_pool(16384, s->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_k8s_metrics_cluster_nodes(s->cluster, pool, &nodes, &n);

    if (rc == NGX_DECLINED) {
        ngx_destroy_pool(pool);
        return NGX_OK;
    }

    if (rc != NGX_OK
        || ngx_k8s_metrics_scraper_set_nodes(s, nodes, n) != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    if (s->nodes_pool) {
        ngx_destroy_pool(s->nodes_pool);
    }

    s->nodes_pool = pool;

    return NGX_OK;
}


/*
 * The worker of a shared cycle whose share node i is: static nodes by
 * their index, so that a node's connection stays in one worker; nodes from
 * the apiserver by their name, so that workers whose lists differ for a
 * moment never both scrape one.
 */

ngx_uint_t
ngx_k8s_metrics_scrape_owner(ngx_k8s_metrics_scraper_t *s, ngx_uint_t i)
{
    if (s->share_nslots < 2) {
        return 0;
    }

    return (s->cluster ? s->kubelets[i]->hash : i) % s->share_nslots;
}


/* the kubelet's share, kept across cycles; easy handles are pooled */

static ngx_int_t
ngx_k8s_metrics_scraper_init_kubelet(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k)
{
    k->transfer.done = ngx_k8s_metrics_scrape_done;
    k->transfer.data = k;

    /*
     * A connection cache and a DNS cache of its own: with the multi's, a
     * finished transfer makes libcurl 7.88 walk both caches, one entry
     * per kubelet, which makes a cycle quadratic in the number of nodes.
     * Its TLS sessions too, as the easy handle that kept them is pooled.
     * No lock callbacks: one thread.
     */

    k->share = curl_share_init();
    if (k->share == NULL) {
        ngx_log_error(NGX_LOG_ALERT, s->log, 0, "curl_share_init() failed");
        return NGX_ERROR;
    }

    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

    return NGX_OK;
}


/*
 * The set of nodes to scrape, sorted by name: a kubelet already known at
 * the same URL keeps its share handle, and so its connection.
 */

ngx_int_t
ngx_k8s_metrics_scraper_set_nodes(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_node_conf_t *nodes, ngx_uint_t n)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i, o;
    ngx_k8s_metrics_kubelet_t  **kubelets, *k;

    kubelets = ngx_alloc((n + 1) * sizeof(ngx_k8s_metrics_kubelet_t *),
                         s->log);
    if (kubelets == NULL) {
        return NGX_ERROR;
    }

    o = 0;

    for (i = 0; i < n; i++) {
        k = NULL;
        rc = -1;

        /* both lists are sorted by name: walk them together */

        while (o < s->nkubelets) {
            rc = ngx_memn2cmp(s->kubelets[o]->node->name.data,
                              nodes[i].name.data,
                              s->kubelets[o]->node->name.len,
                              nodes[i].name.len);
            if (rc >= 0) {
                break;
            }

            ngx_k8s_metrics_kubelet_free(s, s->kubelets[o++]);
        }

        if (rc == 0
            && s->kubelets[o]->node->url.len == nodes[i].url.len
            && ngx_strncmp(s->kubelets[o]->node->url.data, nodes[i].url.data,
                           nodes[i].url.len) == 0)
        {
            k = s->kubelets[o++];
            k->node = &nodes[i];

        } else {
            if (rc == 0) {
                ngx_k8s_metrics_kubelet_free(s, s->kubelets[o++]);
            }

            k = ngx_calloc(sizeof(ngx_k8s_metrics_kubelet_t), s->log);
            if (k == NULL) {
                ngx_free(kubelets);
                return NGX_ERROR;
            }

            k->node = &nodes[i];
            k->scraper = s;
            k->hash = ngx_crc32_short(nodes[i].name.data, nodes[i].name.len);
        }

        kubelets[i] = k;
    }

    while (o < s->nkubelets) {
        ngx_k8s_metrics_kubelet_free(s, s->kubelets[o++]);
    }

    if (s->kubelets) {
        ngx_free(s->kubelets);
    }

    s->kubelets = kubelets;
    s->nkubelets = n;

    /* one idle connection per kubelet is kept between cycles */
    curl_multi_setopt(s->curl->multi, CURLMOPT_MAXCONNECTS, (long) n + 16);

    return NGX_OK;
}


void
ngx_k8s_metrics_kubelet_free(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k)
{
    if (k->transfer.easy) {
        ngx_k8s_metrics_curl_stop(s->curl, k->transfer.easy);
        ngx_k8s_metrics_scrape_easy_put(s, k, 1);
    }

    /* closes the kubelet's kept-alive connection, through the multi */

    if (k->share) {
        curl_share_cleanup(k->share);
    }

    if (k->line) {
        ngx_free(k->line);
    }

    ngx_free(k);
}


/* a tick while the last cycle's snapshot is being built waits for it */

void
ngx_k8s_metrics_scrape_wait(ngx_k8s_metrics_scraper_t *s)
{
    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: a tick waits for the publication of the "
                   "last cycle");

    ngx_add_timer(&s->tick, NGX_K8S_METRICS_PUBLISH_WAIT);
}


/*
 * Nodes from the apiserver: no cycle begins before this worker's
 * informers listed the nodes and the pods, as metrics-server waits for
 * its caches to sync.  A cycle before would publish, over the last
 * snapshot, none of the nodes or the nodes without their pods: after a
 * reload or a respawn, for as long as the apiserver does not answer.  A
 * shared cycle that another worker began waits for this one's share a
 * resolution at most (ngx_k8s_metrics_share_gone()).
 */

ngx_flag_t
ngx_k8s_metrics_scrape_unsynced(ngx_k8s_metrics_scraper_t *s)
{
    if (s->cluster == NULL || ngx_k8s_metrics_cluster_synced(s->cluster)) {
        return 0;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: a tick waits for the informers to list the "
                   "nodes and pods");

    ngx_add_timer(&s->tick, NGX_K8S_METRICS_SYNC_WAIT);

    return 1;
}


void
ngx_k8s_metrics_scrape_overrun(ngx_k8s_metrics_scraper_t *s)
{
    (void) ngx_atomic_fetch_add(&s->kmcf->sh->counters.cycle_overruns, 1);

    ngx_log_error(NGX_LOG_WARN, s->log, 0,
                  "k8s metrics: the scrape cycle started %M ms ago is "
                  "still running: this one is skipped (%ui of %ui "
                  "kubelets answered; k8s_metrics_kubelet_timeout is "
                  "%M ms, k8s_metrics_resolution %M ms)",
                  ngx_current_msec - s->started, s->finished,
                  s->nkubelets, s->kmcf->kubelet.timeout,
                  s->kmcf->resolution);
}


void
ngx_k8s_metrics_scrape_cycle(ngx_k8s_metrics_scraper_t *s)
{
    s->kmcf->sh->last_scrape_start = ngx_current_msec;

    if (s->cluster && ngx_k8s_metrics_scrape_discovered(s) != NGX_OK) {
        return;
    }

    if (ngx_k8s_metrics_scrape_batches(s) != NGX_OK) {
        return;
    }

    if (ngx_k8s_metrics_scrape_token(s) != NGX_OK) {
        ngx_destroy_pool(s->pool);
        s->pool = NULL;
        return;
    }

    s->running = 1;
    s->started = ngx_current_msec;
    s->next = 0;
    s->finished = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: scrape cycle of %ui kubelets begins",
                   s->nkubelets);

    ngx_k8s_metrics_scrape_next(s);
}


/* a cycle's pool, and its batches: one per node */

ngx_int_t
ngx_k8s_metrics_scrape_batches(ngx_k8s_metrics_scraper_t *s)
{
    s->pool = ngx_create_pool(16384, s->log);
    if (s->pool == NULL) {
        return NGX_ERROR;
    }

    s->batches = ngx_pcalloc(s->pool,
                             s->nkubelets * sizeof(ngx_k8s_metrics_batch_t)
                             + 1);
    if (s->batches == NULL) {
        ngx_destroy_pool(s->pool);
        s->pool = NULL;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* starts what the in-flight limit allows; ends the cycle when all are in */

static void
ngx_k8s_metrics_scrape_next(ngx_k8s_metrics_scraper_t *s)
{
    while (s->next < s->nkubelets
           && s->next - s->finished < NGX_K8S_METRICS_MAX_IN_FLIGHT)
    {
        /*
         * Another worker's node, or a worker on its way out (its share is
         * not published: the next generation scrapes at the cadence)
         */

        if (!ngx_k8s_metrics_owns(s, s->next)
            || (s->shares && (ngx_exiting || ngx_quit || ngx_terminate)))
        {
            s->finished++;

        } else {
            ngx_k8s_metrics_scrape_start(s, s->kubelets[s->next],
                                         &s->batches[s->next]);
        }

        s->next++;
    }

    if (s->finished == s->nkubelets) {
        ngx_k8s_metrics_scrape_finish_cycle(s);
    }
}


static void
ngx_k8s_metrics_scrape_start(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_k8s_metrics_batch_t *batch)
{
    batch->node = k->node;
    batch->scrape_time = (int64_t) ngx_time() * 1000
                         + (int64_t) ngx_timeofday()->msec;

    k->batch = batch;

    if (k->node->url.len == 0) {
        ngx_k8s_metrics_scrape_fail(k, "no address of the types in "
                                    "k8s_metrics_kubelet_address_types");
        s->finished++;
        return;
    }

    if (k->share == NULL && ngx_k8s_metrics_scraper_init_kubelet(s, k)
                            != NGX_OK)
    {
        ngx_k8s_metrics_scrape_fail(k, "out of memory");
        s->finished++;
        return;
    }

    k->received = 0;
    k->status = 0;
    k->too_large = 0;
    k->body.len = 0;
    k->body.data = NULL;
    k->errbuf[0] = '\0';
    k->peer[0] = '\0';
    k->started = ngx_current_msec;

    k->batcher.swap = s->kmcf->swap;
    k->batcher.max_pods = s->kmcf->kubelet.max_pods;
    k->batcher.pod_node = s->cluster ? ngx_k8s_metrics_scrape_pod_node : NULL;
    k->batcher.data = s->cluster;

    if (ngx_k8s_metrics_batch_start(&k->batcher, batch, s->pool) != NGX_OK) {
        ngx_k8s_metrics_scrape_fail(k, "out of memory");
        s->finished++;
        return;
    }

    k->line = s->nlines ? s->lines[--s->nlines]
                        : ngx_alloc(NGX_K8S_METRICS_MAX_LINE, s->log);

    if (k->line == NULL) {
        ngx_k8s_metrics_scrape_fail(k, "out of memory");
        s->finished++;
        return;
    }

    ngx_k8s_metrics_parser_init(&k->parser, k->line, NGX_K8S_METRICS_MAX_LINE,
                                ngx_k8s_metrics_batch_sample, &k->batcher);

    if (ngx_k8s_metrics_scrape_easy_get(s, k) == NGX_OK) {

        /* the body to the parser, as it streams in */

        curl_easy_setopt(k->transfer.easy, CURLOPT_WRITEFUNCTION,
                         ngx_k8s_metrics_scrape_write);
        curl_easy_setopt(k->transfer.easy, CURLOPT_WRITEDATA, k);

        if (ngx_k8s_metrics_curl_start(s->curl, &k->transfer) == NGX_OK) {
            return;
        }
    }

    ngx_k8s_metrics_scrape_fail(k, "cannot start the transfer");
    ngx_k8s_metrics_scrape_easy_put(s, k, 1);
    s->lines[s->nlines++] = k->line;
    k->line = NULL;
    s->finished++;
}


static size_t
ngx_k8s_metrics_scrape_write(char *ptr, size_t size, size_t nmemb,
    void *data)
{
    ngx_k8s_metrics_kubelet_t *k = data;

    size_t  len, n;

    len = size * nmemb;
    k->received += len;

    if (k->received > k->scraper->kmcf->kubelet.max_body) {
        k->too_large = 1;
        return 0;
    }

    if (k->status == 0) {
        curl_easy_getinfo(k->transfer.easy, CURLINFO_RESPONSE_CODE,
                          &k->status);
    }

    if (k->status != 200) {
        /* keep the start of an error body for the log */

        if (k->body.data == NULL) {
            k->body.data = ngx_pnalloc(k->scraper->pool,
                                       NGX_K8S_METRICS_ERROR_BODY);
            if (k->body.data == NULL) {
                return 0;
            }
        }

        n = ngx_min(len, NGX_K8S_METRICS_ERROR_BODY - k->body.len);

        (void) ngx_k8s_metrics_printable(k->body.data + k->body.len,
                                         (u_char *) ptr, n);
        k->body.len += n;

        return len;
    }

    /* a sample without a timestamp is of the time it arrives */
    k->batcher.now = (int64_t) ngx_time() * 1000;

    if (ngx_k8s_metrics_parser_feed(&k->parser, (u_char *) ptr, len)
        != NGX_OK)
    {
        return 0;
    }

    return len;
}


static void
ngx_k8s_metrics_scrape_done(ngx_k8s_metrics_transfer_t *t, CURLcode result)
{
    ngx_k8s_metrics_kubelet_t *k = t->data;

    long                        connects;
    ngx_uint_t                  reset;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_scraper_t  *s;

    s = k->scraper;
    batch = k->batch;
    batch->duration = ngx_current_msec - k->started;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &k->status);

    reset = (result != CURLE_OK
             || curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects)
                != CURLE_OK
             || connects);

    if (result != CURLE_OK || k->status != 200) {
        ngx_k8s_metrics_scrape_failure_reason(k, result);

    } else if (ngx_k8s_metrics_parser_finish(&k->parser) != NGX_OK) {
        ngx_k8s_metrics_scrape_fail(k, "out of memory while parsing");

    } else if (ngx_k8s_metrics_scrape_validate(k) == NGX_OK) {
        batch->ok = 1;

        if (k->failing) {
            ngx_log_error(NGX_LOG_NOTICE, s->log, 0,
                          "k8s metrics: node \"%V\" is scraped again",
                          &k->node->name);
            k->failing = 0;
        }
    }

    ngx_log_debug6(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: node \"%V\" scraped: curl %d, HTTP %l, "
                   "%s, %ui containers, %M ms", &k->node->name, (int) result,
                   k->status, batch->ok ? "taken" : "failed",
                   batch->containers.nelts, batch->duration);

    batch->malformed = k->parser.malformed;

    s->lines[s->nlines++] = k->line;
    k->line = NULL;

    if (k->parser.malformed) {
        (void) ngx_atomic_fetch_add(
                           &s->kmcf->sh->counters.dropped_malformed,
                           k->parser.malformed);
    }

    ngx_k8s_metrics_scrape_easy_put(s, k, reset);

    s->finished++;

    ngx_k8s_metrics_scrape_next(s);
}


/*
 * The finished response to the node's batch (ngx_k8s_metrics_batch.c),
 * or why the node fails; what was not taken is counted and logged here.
 */

static ngx_int_t
ngx_k8s_metrics_scrape_validate(ngx_k8s_metrics_kubelet_t *k)
{
    ngx_int_t                    rc;
    ngx_uint_t                   level;
    ngx_k8s_metrics_batch_t     *batch;
    ngx_k8s_metrics_batcher_t   *b;
    ngx_k8s_metrics_counters_t  *counters;

    b = &k->batcher;
    batch = k->batch;
    counters = &k->scraper->kmcf->sh->counters;

    rc = ngx_k8s_metrics_batch_finish(b, &k->parser);

    if (rc == NGX_ERROR) {
        ngx_k8s_metrics_scrape_fail(k, "out of memory");
        return NGX_ERROR;
    }

    if (b->unserved) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, k->scraper->log, 0,
                       "k8s metrics: node \"%V\" not served: its CPU or "
                       "memory is 0", &k->node->name);
    }

    if (b->zero) {
        (void) ngx_atomic_fetch_add(&counters->dropped_zero, b->zero);
    }

    if (b->incomplete) {
        (void) ngx_atomic_fetch_add(&counters->dropped_incomplete,
                                    b->incomplete);
    }

    if (b->unlisted) {
        (void) ngx_atomic_fetch_add(&counters->dropped_unlisted,
                                    b->unlisted);
    }

    if (b->misplaced) {
        (void) ngx_atomic_fetch_add(&counters->dropped_misplaced,
                                    b->misplaced);
    }

    if (rc == NGX_DECLINED) {
        ngx_k8s_metrics_scrape_fail(k, "%V", &b->reason);
        return NGX_DECLINED;
    }

    level = ngx_k8s_metrics_batch_rejected_level(&k->misplaced,
                                                 batch->misplaced);
    if (level) {
        ngx_log_error(level, k->scraper->log, 0,
                      "k8s metrics: node \"%V\" reported %ui pods that the "
                      "apiserver places on other nodes, e.g. \"%V/%V\" on "
                      "node \"%V\": they are not taken from it",
                      &k->node->name, batch->misplaced, &batch->example_ns,
                      &batch->example_pod, &batch->example_node);
    }

    return NGX_OK;
}


/* batch_place: where the apiserver runs a pod */

static ngx_int_t
ngx_k8s_metrics_scrape_pod_node(void *data, ngx_str_t *namespace,
    ngx_str_t *pod, ngx_str_t *node)
{
    ngx_k8s_metrics_cluster_t *cluster = data;

    if (ngx_k8s_metrics_cluster_find_pod(cluster, namespace, pod, node)
        == NULL)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_k8s_metrics_scrape_drop_duplicates(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_k8s_metrics_batch_t *batch)
{
    ngx_uint_t  level, dropped;

    if (!batch->ok) {
        return;
    }

    level = ngx_k8s_metrics_batch_rejected_level(&k->duplicates,
                                                 batch->duplicates);
    if (level == 0) {
        return;
    }

    dropped = ngx_k8s_metrics_batch_drop_duplicates(batch);

    (void) ngx_atomic_fetch_add(&s->kmcf->sh->counters.dropped_duplicate,
                                dropped);

    ngx_log_error(level, s->log, 0,
                  "k8s metrics: node \"%V\" reported %ui pods that a node "
                  "before it by name reports too, e.g. \"%V/%V\" on node "
                  "\"%V\": they are served from that node only",
                  &k->node->name, batch->duplicates, &batch->example_ns,
                  &batch->example_pod, &batch->example_node);
}


static void
ngx_k8s_metrics_scrape_finish_cycle(ngx_k8s_metrics_scraper_t *s)
{
    ngx_uint_t                   i;
    ngx_k8s_metrics_counters_t  *counters;

    s->running = 0;
    counters = &s->kmcf->sh->counters;

    for (i = 0; i < s->nkubelets; i++) {
        if (s->batches[i].node == NULL) {
            continue;       /* not this worker's share */
        }

        (void) ngx_atomic_fetch_add(s->batches[i].ok
                                    ? &counters->kubelet_requests_ok
                                    : &counters->kubelet_requests_failed, 1);
    }

    if (s->shares) {
        s->share_in(s);
        return;
    }

    /* a worker on its way out leaves the store to its successor */

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_k8s_metrics_scrape_cycle_done(s, s->started);
        return;
    }

    ngx_k8s_metrics_scrape_publish(s, ngx_k8s_metrics_scrape_published);
}


/*
 * The cycle's batches to the store: with an apiserver, the pods' labels
 * from it (it placed each pod on one node); without, each pod served from
 * one node.  The handler is called when the snapshot is in, or now when
 * none could be built (the last one stays).
 */

void
ngx_k8s_metrics_scrape_publish(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_published_pt handler)
{
    ngx_k8s_metrics_dedup_t  *d;

    s->published = handler;

    if (s->cluster) {
        ngx_k8s_metrics_scrape_store(s);
        return;
    }

    d = ngx_palloc(s->pool, sizeof(ngx_k8s_metrics_dedup_t));

    if (d == NULL
        || ngx_k8s_metrics_batch_dedup_init(d, s->batches, s->nkubelets,
                                            s->pool)
           != NGX_OK)
    {
        handler(s, NGX_ERROR);
        return;
    }

    s->dedup = d;
    s->dedup_slice.handler = ngx_k8s_metrics_scrape_dedup;
    s->dedup_slice.data = s;
    s->dedup_slice.log = s->log;

    ngx_k8s_metrics_scrape_dedup(&s->dedup_slice);
}


/*
 * Without an apiserver each pod of the cycle is served from one node: the
 * nodes' pod lists merged, NGX_K8S_METRICS_DEDUP_SLICE pods a turn of the
 * event loop, as the publication after it (store_build.c).
 */

static void
ngx_k8s_metrics_scrape_dedup(ngx_event_t *ev)
{
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    ngx_k8s_metrics_scraper_t  *s;

    s = ev->data;

    rc = ngx_k8s_metrics_batch_dedup_step(s->dedup,
                                          NGX_K8S_METRICS_DEDUP_SLICE);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: dedup slice, %ui pods so far: %i",
                   s->dedup->npods, rc);

    if (rc == NGX_AGAIN) {
        ngx_post_event(ev, &ngx_posted_next_events);
        return;
    }

    s->dedup = NULL;

    for (i = 0; i < s->nkubelets; i++) {
        ngx_k8s_metrics_scrape_drop_duplicates(s, s->kubelets[i],
                                               &s->batches[i]);
    }

    ngx_k8s_metrics_scrape_store(s);
}


/* the cycle's batches to the store, built in slices (store_build.c) */

static void
ngx_k8s_metrics_scrape_store(ngx_k8s_metrics_scraper_t *s)
{
    s->publication = ngx_k8s_metrics_store_publish(s->kmcf, s->batches,
                        s->nkubelets,
                        s->cluster ? ngx_k8s_metrics_cluster_pod_labels : NULL,
                        s->cluster, s->published, s, s->pool, s->log);

    if (s->publication == NULL) {
        s->published(s, NGX_ERROR);
    }
}


/*
 * The worker exits: the cycle's snapshot half built is given up (the last
 * one stays), and the cycle ends through its handler.
 */

void
ngx_k8s_metrics_scrape_publish_abort(ngx_k8s_metrics_scraper_t *s)
{
    if (s->dedup) {
        if (s->dedup_slice.posted) {
            ngx_delete_posted_event(&s->dedup_slice);
        }

        s->dedup = NULL;
        s->published(s, NGX_ABORT);
        return;
    }

    if (s->publication) {
        ngx_k8s_metrics_store_publish_abort(s->publication);
    }
}


/* the cycle's publication is over: its batches and pool go */

static void
ngx_k8s_metrics_scrape_published(void *data, ngx_int_t rc)
{
    ngx_k8s_metrics_scraper_t *s = data;

    s->publication = NULL;

    ngx_k8s_metrics_scrape_cycle_done(s, s->started);
}


/* the counters of a cycle published, once per cycle; its pool goes */

void
ngx_k8s_metrics_scrape_cycle_done(ngx_k8s_metrics_scraper_t *s,
    ngx_msec_t started)
{
    ngx_msec_t                   duration;
    ngx_k8s_metrics_counters_t  *counters;

    counters = &s->kmcf->sh->counters;
    duration = ngx_current_msec - started;

    (void) ngx_atomic_fetch_add(&counters->cycles, 1);
    counters->cycle_duration = duration;
    ngx_k8s_metrics_observe_tick(s->kmcf, duration);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: scrape cycle of %ui kubelets in %M ms",
                   s->nkubelets, duration);

    ngx_destroy_pool(s->pool);
    s->pool = NULL;
    s->batches = NULL;
}
