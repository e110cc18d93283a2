
/*
 * ngx_metrics_module: the scraper.  One per nginx instance (worker 0, or
 * the single process), on a cancelable nginx timer every resolution: each
 * kubelet's /metrics/resource over verified TLS through libcurl's multi
 * interface on nginx's event loop, parsed as it streams in, and the cycle's
 * results published to the store when every kubelet has answered or
 * failed.  One kubelet's failure touches only its own node.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_client.h"
#include "ngx_k8s_metrics_parser.h"
#include "ngx_k8s_metrics_msmetrics.h"
#include "ngx_k8s_metrics_share.h"


/*
 * Concurrent transfers: far more than kubelets' answer times need, few
 * enough that the buffers of the transfers in flight stay small.
 */
#define NGX_K8S_METRICS_MAX_IN_FLIGHT   256
/* a line longer than that is skipped as malformed: kubelets write < 1k */
#define NGX_K8S_METRICS_MAX_LINE        8192
#define NGX_K8S_METRICS_ERROR_BODY      200
/* of a label value quoted in a reason */
#define NGX_K8S_METRICS_REASON_LABEL    128

/* where a pod reported by a kubelet is taken from (scrape_place) */
#define NGX_K8S_METRICS_POD_TAKEN       0
#define NGX_K8S_METRICS_POD_UNLISTED    1
#define NGX_K8S_METRICS_POD_MISPLACED   2

/* how often a worker whose share is in looks for a gone one, at most */
#define NGX_K8S_METRICS_SHARE_CHECK     1000

/* node i is worker (i % shares)'s, so its connection stays in one worker */
#define ngx_k8s_metrics_owns(s, i)                                            \
    ((s)->shares == 0 || (i) % (s)->shares == (s)->share_worker)


typedef struct ngx_k8s_metrics_scraper_s  ngx_k8s_metrics_scraper_t;


typedef struct {
    ngx_k8s_metrics_transfer_t      transfer;
    CURLSH                         *share;      /* its connection, its DNS */
    ngx_k8s_metrics_scraper_t      *scraper;
    ngx_k8s_metrics_node_conf_t    *node;
    ngx_k8s_metrics_batch_t        *batch;

    ngx_k8s_metrics_parser_t        parser;
    u_char                         *line;
    size_t                          received;
    ngx_msec_t                      started;
    long                            status;
    ngx_str_t                       body;       /* start of a non-200 body */
    ngx_uint_t                      too_large;

    ngx_str_t                       invalid;    /* the first bad value */
    ngx_uint_t                      ninvalid;
    unsigned                        node_memory:1;  /* a sample was seen */

    /* the hash of (namespace, pod, container) into batch->containers */
    uint32_t                       *slots;
    ngx_uint_t                      nslots;

    uint32_t                        failing;    /* crc32 of the reason */
    unsigned                        reset:1;    /* before the next scrape */

    /* pods not taken from it in the last cycle; one of this cycle's */
    ngx_uint_t                      misplaced;
    ngx_uint_t                      duplicates;
    ngx_str_t                       example_ns;
    ngx_str_t                       example_pod;
    ngx_str_t                       example_node;   /* where it is taken */

    char                            errbuf[CURL_ERROR_SIZE];
    char                            peer[512];  /* subject and SANs seen */
} ngx_k8s_metrics_kubelet_t;


struct ngx_k8s_metrics_scraper_s {
    ngx_k8s_metrics_main_conf_t    *kmcf;
    ngx_k8s_metrics_curl_t         *curl;
    ngx_log_t                      *log;

    ngx_k8s_metrics_kubelet_t     **kubelets;   /* sorted by node name */
    ngx_uint_t                      nkubelets;
    ngx_pool_t                     *nodes_pool; /* discovered node confs */

    u_char                        **lines;      /* free line buffers */
    ngx_uint_t                      nlines;

    ngx_event_t                     tick;
    ngx_pool_t                     *pool;       /* one cycle's batches */
    ngx_k8s_metrics_batch_t        *batches;
    ngx_uint_t                      next;
    ngx_uint_t                      finished;
    ngx_msec_t                      started;
    unsigned                        running:1;

    struct curl_slist              *headers;
    char                           *token;      /* the Authorization line */
    time_t                          token_mtime;

    ngx_k8s_metrics_cluster_t      *cluster;    /* nodes from the apiserver */

    /* a cycle shared among the workers (share.c); shares == 0: not */
    ngx_uint_t                      shares;
    ngx_uint_t                      share_worker;
    ngx_uint_t                      share_cycle;
    ngx_event_t                     share_check;
};


/* a pod of a cycle: its first container in a batch */
typedef struct {
    ngx_uint_t                      batch;
    ngx_uint_t                      first;
} ngx_k8s_metrics_pod_ref_t;


static ngx_int_t ngx_k8s_metrics_scraper_init_kubelet(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_kubelet_t *k);
static void ngx_k8s_metrics_scrape_options(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k);
static ngx_int_t ngx_k8s_metrics_scraper_set_nodes(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_node_conf_t *nodes,
    ngx_uint_t n);
static void ngx_k8s_metrics_kubelet_free(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k);
static ngx_int_t ngx_k8s_metrics_scrape_discovered(
    ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_tick(ngx_event_t *ev);
static void ngx_k8s_metrics_scrape_cycle(ngx_k8s_metrics_scraper_t *s);
static ngx_int_t ngx_k8s_metrics_scrape_batches(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_next(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_start(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_k8s_metrics_batch_t *batch);
static void ngx_k8s_metrics_scrape_done(ngx_k8s_metrics_transfer_t *t,
    CURLcode result);
static void ngx_k8s_metrics_scrape_fail(ngx_k8s_metrics_kubelet_t *k,
    const char *fmt, ...);
static void ngx_k8s_metrics_scrape_fail_connect(
    ngx_k8s_metrics_kubelet_t *k);
static void ngx_k8s_metrics_scrape_failure_reason(
    ngx_k8s_metrics_kubelet_t *k, CURLcode result);
static void ngx_k8s_metrics_scrape_finish_cycle(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_cycle_done(ngx_k8s_metrics_scraper_t *s,
    ngx_msec_t started);
static void ngx_k8s_metrics_scrape_overrun(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_share_tick(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_share_in(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_share_check(ngx_event_t *ev);
static void ngx_k8s_metrics_scrape_share_next(ngx_k8s_metrics_scraper_t *s,
    ngx_int_t rc, void **parts);
static void ngx_k8s_metrics_scrape_share_publish(ngx_k8s_metrics_scraper_t *s,
    void **parts);
static ngx_int_t ngx_k8s_metrics_scrape_validate(ngx_k8s_metrics_kubelet_t *k);
static ngx_int_t ngx_k8s_metrics_scrape_pods(ngx_k8s_metrics_kubelet_t *k);
static ngx_uint_t ngx_k8s_metrics_scrape_place(ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_csample_t *cs, ngx_str_t *node);
static ngx_uint_t ngx_k8s_metrics_scrape_rejected_level(ngx_uint_t *last,
    ngx_uint_t n);
static ngx_int_t ngx_k8s_metrics_scrape_dedup(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_duplicate(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_pod_ref_t *ref, ngx_k8s_metrics_pod_ref_t *winner);
static void ngx_k8s_metrics_scrape_drop_duplicates(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_batch_t *batch);
static ngx_k8s_metrics_csample_t *ngx_k8s_metrics_pod_ref(
    ngx_k8s_metrics_pod_ref_t *ref);
static int ngx_libc_cdecl ngx_k8s_metrics_cmp_pod_ref(const void *one,
    const void *two);
static size_t ngx_k8s_metrics_scrape_write(char *ptr, size_t size,
    size_t nmemb, void *data);
static ngx_int_t ngx_k8s_metrics_scrape_sample(void *data,
    ngx_k8s_metrics_sample_t *sample);
static ngx_int_t ngx_k8s_metrics_scrape_invalid(ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_sample_t *sample, const char *reason);
static u_char *ngx_k8s_metrics_printable(u_char *dst, u_char *src, size_t n);
static ngx_k8s_metrics_csample_t *ngx_k8s_metrics_scrape_container(
    ngx_k8s_metrics_kubelet_t *k, ngx_k8s_metrics_sample_t *sample);
static ngx_int_t ngx_k8s_metrics_scrape_grow_slots(
    ngx_k8s_metrics_kubelet_t *k);
static int ngx_libc_cdecl ngx_k8s_metrics_cmp_csample(const void *one,
    const void *two);
static ngx_int_t ngx_k8s_metrics_scrape_token(ngx_k8s_metrics_scraper_t *s);
static CURLcode ngx_k8s_metrics_scrape_ssl_ctx(CURL *easy, void *ssl_ctx,
    void *data);
static int ngx_k8s_metrics_scrape_verify(int ok, X509_STORE_CTX *store_ctx);


static ngx_k8s_metrics_scraper_t  *ngx_k8s_metrics_scraper;
static int                         ngx_k8s_metrics_ssl_ctx_index = -1;

/* for qsort(), which has no context argument */
static ngx_k8s_metrics_batch_t    *ngx_k8s_metrics_dedup_batches;


/* init_process: the scraping process arms its timer */

ngx_int_t
ngx_k8s_metrics_scraper_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_uint_t                    n;
    ngx_msec_t                    last, elapsed;
    ngx_k8s_metrics_scraper_t    *s;

    s = ngx_pcalloc(cycle->pool, sizeof(ngx_k8s_metrics_scraper_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->kmcf = kmcf;
    s->log = cycle->log;
    s->shares = ngx_k8s_metrics_scraper_shares(cycle, kmcf);
    s->share_worker = s->shares ? ngx_worker : 0;

    n = kmcf->kubelet.nodes ? kmcf->kubelet.nodes->nelts : 0;

    s->curl = ngx_k8s_metrics_curl_create(cycle->pool, cycle->log, n + 16);
    if (s->curl == NULL) {
        return NGX_ERROR;
    }

    if (ngx_k8s_metrics_ssl_ctx_index == -1) {
        ngx_k8s_metrics_ssl_ctx_index = SSL_CTX_get_ex_new_index(0, NULL,
                                                                 NULL, NULL,
                                                                 NULL);
        if (ngx_k8s_metrics_ssl_ctx_index == -1) {
            ngx_ssl_error(NGX_LOG_ALERT, cycle->log, 0,
                          "SSL_CTX_get_ex_new_index() failed");
            return NGX_ERROR;
        }
    }

    s->lines = ngx_alloc(NGX_K8S_METRICS_MAX_IN_FLIGHT * sizeof(u_char *),
                         cycle->log);
    if (s->lines == NULL) {
        return NGX_ERROR;
    }

    if (n && ngx_k8s_metrics_scraper_set_nodes(s, kmcf->kubelet.nodes->elts, n)
             != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (kmcf->apiserver.url.len) {
        s->cluster = ngx_k8s_metrics_cluster_init(cycle, kmcf, s->curl);
        if (s->cluster == NULL) {
            return NGX_ERROR;
        }
    }

    if (kmcf->kubelet.insecure_tls) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "k8s metrics: k8s_metrics_kubelet_insecure_tls is on: "
                      "kubelet certificates are not verified");
    }

    s->tick.handler = ngx_k8s_metrics_scrape_tick;
    s->tick.data = s;
    s->tick.log = cycle->log;
    s->tick.cancelable = 1;

    s->share_check.handler = ngx_k8s_metrics_scrape_share_check;
    s->share_check.data = s;
    s->share_check.log = cycle->log;
    s->share_check.cancelable = 1;

    if (s->shares) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "k8s metrics: %ui nodes, at least "
                      "k8s_metrics_scrape_share_threshold (%ui): worker %ui "
                      "scrapes its share of them, one in %ui",
                      n, kmcf->share_threshold, s->share_worker, s->shares);
    }

    ngx_k8s_metrics_scraper = s;

    /*
     * A scraper that replaces another (reload, crash) keeps its cadence:
     * scraping at once would give the store a window of a few
     * milliseconds.  A first scraper starts at once.
     */

    last = kmcf->sh->last_scrape_start;
    elapsed = ngx_current_msec - last;

    ngx_add_timer(&s->tick, (last && elapsed < kmcf->resolution)
                            ? kmcf->resolution - elapsed : 1);

    return NGX_OK;
}


/*
 * How many workers share the kubelets: every worker (at most
 * NGX_K8S_METRICS_MAX_SHARES) from k8s_metrics_scrape_share_threshold
 * static nodes on; 0, one scraper as below it, in the single process, with
 * one worker, or with nodes from the apiserver.
 */

ngx_uint_t
ngx_k8s_metrics_scraper_shares(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ngx_process != NGX_PROCESS_WORKER
        || ccf->worker_processes < 2
        || kmcf->apiserver.url.len
        || kmcf->kubelet.nodes == NULL
        || kmcf->kubelet.nodes->nelts < kmcf->share_threshold)
    {
        return 0;
    }

    return ngx_min((ngx_uint_t) ccf->worker_processes,
                   NGX_K8S_METRICS_MAX_SHARES);
}


/* exit_process: nothing left open, no "open socket left" */

void
ngx_k8s_metrics_scraper_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_k8s_metrics_scraper_t  *s;

    s = ngx_k8s_metrics_scraper;
    if (s == NULL) {
        return;
    }

    ngx_k8s_metrics_scraper = NULL;

    if (s->tick.timer_set) {
        ngx_del_timer(&s->tick);
    }

    if (s->share_check.timer_set) {
        ngx_del_timer(&s->share_check);
    }

    if (s->cluster) {
        ngx_k8s_metrics_cluster_exit(s->cluster);
    }

    for (i = 0; i < s->nkubelets; i++) {
        ngx_k8s_metrics_kubelet_free(s, s->kubelets[i]);
    }

    for (i = 0; i < s->nlines; i++) {
        ngx_free(s->lines[i]);
    }

    ngx_free(s->lines);

    ngx_k8s_metrics_curl_destroy(s->curl);

    if (s->headers) {
        curl_slist_free_all(s->headers);
    }

    if (s->token) {
        ngx_free(s->token);
    }

    if (s->pool) {
        ngx_destroy_pool(s->pool);
    }

    if (s->nodes_pool) {
        ngx_destroy_pool(s->nodes_pool);
    }

    if (s->kubelets) {
        ngx_free(s->kubelets);
    }
}


/*
 * The nodes the apiserver lists, when they changed since the last cycle;
 * their configurations live in a pool of their own, replaced each time.
 */

static ngx_int_t
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


/* one easy handle per kubelet, kept across cycles with its share */

static ngx_int_t
ngx_k8s_metrics_scraper_init_kubelet(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k)
{
    k->transfer.easy = curl_easy_init();
    if (k->transfer.easy == NULL) {
        ngx_log_error(NGX_LOG_ALERT, s->log, 0, "curl_easy_init() failed");
        return NGX_ERROR;
    }

    k->transfer.done = ngx_k8s_metrics_scrape_done;
    k->transfer.data = k;

    /*
     * A connection cache and a DNS cache of its own: with the multi's, a
     * finished transfer makes libcurl 7.88 walk both caches, one entry
     * per kubelet, which makes a cycle quadratic in the number of nodes.
     * No lock callbacks: one thread.
     */

    k->share = curl_share_init();
    if (k->share == NULL) {
        ngx_log_error(NGX_LOG_ALERT, s->log, 0, "curl_share_init() failed");
        return NGX_ERROR;
    }

    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);

    /* curl_easy_reset() keeps the share: it is set once */
    curl_easy_setopt(k->transfer.easy, CURLOPT_SHARE, k->share);

    k->reset = 1;

    return NGX_OK;
}


/*
 * The options of the kubelet's scrapes, on a reset handle.
 *
 * libcurl before 8.17 counts the retries of a request sent on a kept-alive
 * connection the kubelet had closed per easy handle, not per request (curl
 * issue #18926): once five were made in the handle's life, the next one is
 * refused ("Connection died, tried 5 times before giving up"), so a
 * kubelet that closes idle connections failed every 7th scrape.  Short of
 * a new handle, only curl_easy_reset() zeroes that count, and it keeps
 * the share (the kept-alive connection) and the TLS sessions.  A retry
 * opens a connection or fails its transfer: only after such a transfer is
 * the handle reset, which a scrape on a kept-alive connection never pays.
 */

static void
ngx_k8s_metrics_scrape_options(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k)
{
    CURL                         *easy;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = s->kmcf;
    easy = k->transfer.easy;

    curl_easy_reset(easy);

    curl_easy_setopt(easy, CURLOPT_URL, k->node->url.data);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) kmcf->kubelet.timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) kmcf->kubelet.timeout);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) kmcf->kubelet.max_body);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                     ngx_k8s_metrics_scrape_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "ngx_metrics_module");
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);

    if (kmcf->kubelet.insecure_tls) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);

    } else {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(easy, CURLOPT_CAINFO, kmcf->kubelet.ca.data);
        curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION,
                         ngx_k8s_metrics_scrape_ssl_ctx);
        curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, k);
    }

    if (kmcf->kubelet.certificate.len) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT,
                         kmcf->kubelet.certificate.data);
        curl_easy_setopt(easy, CURLOPT_SSLKEY,
                         kmcf->kubelet.certificate_key.data);
    }
}


/*
 * The set of nodes to scrape, sorted by name: a kubelet already known at
 * the same URL keeps its easy handle, and so its connection.
 */

static ngx_int_t
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

            /* another worker's: known for the cycle's merge only */

            if (ngx_k8s_metrics_owns(s, i)
                && ngx_k8s_metrics_scraper_init_kubelet(s, k) != NGX_OK)
            {
                ngx_k8s_metrics_kubelet_free(s, k);
                ngx_free(kubelets);
                return NGX_ERROR;
            }
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


static void
ngx_k8s_metrics_kubelet_free(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k)
{
    if (k->transfer.easy) {
        ngx_k8s_metrics_curl_stop(s->curl, k->transfer.easy);
        curl_easy_cleanup(k->transfer.easy);
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


static void
ngx_k8s_metrics_scrape_tick(ngx_event_t *ev)
{
    ngx_msec_t                  next, jitter, last, elapsed;
    ngx_k8s_metrics_scraper_t  *s;

    s = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (s->shares) {
        ngx_k8s_metrics_scrape_share_tick(s);
        return;
    }

    /*
     * After a reload the previous generation's scraper runs until its
     * worker learns that it is to exit, and may start a cycle after this
     * one armed its first tick: scraping now would give the store a window
     * of a few milliseconds.  Keep that cycle's cadence instead.
     */

    last = s->kmcf->sh->last_scrape_start;
    elapsed = ngx_current_msec - last;

    if (!s->running && last && last != s->started
        && elapsed < s->kmcf->resolution / 2)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, s->log, 0,
                       "k8s metrics: another scraper started a cycle %M ms "
                       "ago: keeping its cadence", elapsed);

        ngx_add_timer(&s->tick, s->kmcf->resolution - elapsed);
        return;
    }

    if (s->running) {
        ngx_k8s_metrics_scrape_overrun(s);

    } else {
        ngx_k8s_metrics_scrape_cycle(s);
    }

    /* jitter of up to +-5%, as metrics-server's ticker drifts */

    jitter = s->kmcf->resolution / 10;
    next = s->kmcf->resolution - jitter / 2
           + (jitter ? (ngx_msec_t) ngx_random() % jitter : 0);

    ngx_add_timer(&s->tick, next);
}


static void
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


/*
 * Every worker aims its ticks at the shared cycle's cadence: the first
 * to fire begins a cycle, the others join it (share_begin()).
 */

static void
ngx_k8s_metrics_scrape_share_tick(ngx_k8s_metrics_scraper_t *s)
{
    void       *parts[NGX_K8S_METRICS_MAX_SHARES];
    ngx_int_t   rc;
    ngx_uint_t  cycle;
    ngx_msec_t  next, jitter, elapsed;

    rc = s->running ? NGX_BUSY
                    : ngx_k8s_metrics_share_begin(s->kmcf, s->share_worker,
                                                  s->shares, &cycle);

    if (rc == NGX_BUSY) {
        ngx_k8s_metrics_scrape_overrun(s);

    } else if (rc == NGX_OK) {
        s->share_cycle = cycle;
        ngx_k8s_metrics_scrape_cycle(s);

        if (!s->running) {
            /* no memory: the share is lost, the cycle goes on without */
            rc = ngx_k8s_metrics_share_finish(s->kmcf, s->share_worker,
                                              cycle, NULL, parts);
            ngx_k8s_metrics_scrape_share_next(s, rc, parts);
            rc = NGX_OK;
        }
    }

    jitter = s->kmcf->resolution / 10;
    next = s->kmcf->resolution - jitter / 2
           + (jitter ? (ngx_msec_t) ngx_random() % jitter : 0);

    elapsed = ngx_current_msec - ngx_k8s_metrics_share_started(s->kmcf);

    if (rc != NGX_BUSY) {
        next = (elapsed < next) ? next - elapsed : 1;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: worker %ui tick: %i, next in %M ms",
                   s->share_worker, rc, next);

    ngx_add_timer(&s->tick, next);
}


static void
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

static ngx_int_t
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
    k->received = 0;
    k->status = 0;
    k->too_large = 0;
    k->body.len = 0;
    k->body.data = NULL;
    k->invalid.len = 0;
    k->ninvalid = 0;
    k->node_memory = 0;
    k->slots = NULL;
    k->nslots = 0;
    k->errbuf[0] = '\0';
    k->peer[0] = '\0';
    k->started = ngx_current_msec;

    if (ngx_array_init(&batch->containers, s->pool, 64,
                       sizeof(ngx_k8s_metrics_csample_t))
        != NGX_OK)
    {
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
                                ngx_k8s_metrics_scrape_sample, k);

    if (k->reset) {
        ngx_k8s_metrics_scrape_options(s, k);
        k->reset = 0;
    }

    curl_easy_setopt(k->transfer.easy, CURLOPT_HTTPHEADER, s->headers);

    if (ngx_k8s_metrics_curl_start(s->curl, &k->transfer) != NGX_OK) {
        ngx_k8s_metrics_scrape_fail(k, "cannot start the transfer");
        s->lines[s->nlines++] = k->line;
        k->line = NULL;
        s->finished++;
    }
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

    if (ngx_k8s_metrics_parser_feed(&k->parser, (u_char *) ptr, len)
        != NGX_OK)
    {
        return 0;
    }

    return len;
}


static ngx_int_t
ngx_k8s_metrics_scrape_sample(void *data, ngx_k8s_metrics_sample_t *sample)
{
    ngx_k8s_metrics_kubelet_t *k = data;

    int64_t                     time;
    uint64_t                    value;
    const char                 *reason;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_csample_t  *cs;

    batch = k->batch;

    switch (sample->kind) {

    case NGX_K8S_METRICS_SAMPLE_NODE_CPU:
    case NGX_K8S_METRICS_SAMPLE_NODE_MEMORY:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_START:
        break;

    case NGX_K8S_METRICS_SAMPLE_NODE_SWAP:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP:
        if (k->scraper->kmcf->swap) {
            break;
        }

        return NGX_OK;

    default:
        return NGX_OK;
    }

    reason = ngx_k8s_metrics_sample_value(sample, &value);
    if (reason) {
        return ngx_k8s_metrics_scrape_invalid(k, sample, reason);
    }

    /* a sample without a timestamp is of the time the scrape began */
    time = sample->timestamp_ms > 0 ? sample->timestamp_ms
                                    : (int64_t) ngx_time() * 1000;

    switch (sample->kind) {

    case NGX_K8S_METRICS_SAMPLE_NODE_CPU:
        batch->point.cpu = value;
        batch->point.time = time;
        return NGX_OK;

    case NGX_K8S_METRICS_SAMPLE_NODE_MEMORY:
        batch->memory = value;
        k->node_memory = 1;
        return NGX_OK;

    case NGX_K8S_METRICS_SAMPLE_NODE_SWAP:
        batch->swap = value;
        batch->has_swap = 1;
        return NGX_OK;

    default:
        break;
    }

    cs = ngx_k8s_metrics_scrape_container(k, sample);
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
 * A value the store cannot keep fails the node (validate()): the first
 * one, with its metric and labels, is its reason; the parser counts each
 * such line as malformed.
 */

static ngx_int_t
ngx_k8s_metrics_scrape_invalid(ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_sample_t *sample, const char *reason)
{
    u_char     *p, *last, sep;
    ngx_str_t  *label[3];
    ngx_uint_t  i;
    u_char      buf[NGX_MAX_ERROR_STR];

    static const char  *names[] = { "namespace", "pod", "container" };

    if (k->ninvalid++) {
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

    k->invalid.data = ngx_pnalloc(k->scraper->pool, p - buf);
    if (k->invalid.data == NULL) {
        return NGX_ERROR;
    }

    k->invalid.len = p - buf;
    ngx_memcpy(k->invalid.data, buf, k->invalid.len);

    return NGX_DECLINED;
}


/* control characters and bytes past ASCII as spaces: for the log */

static u_char *
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
ngx_k8s_metrics_scrape_container(ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_sample_t *sample)
{
    uint32_t                    hash, slot;
    ngx_array_t                *a;
    ngx_k8s_metrics_csample_t  *cs;

    a = &k->batch->containers;

    if (a->nelts * 2 >= k->nslots
        && ngx_k8s_metrics_scrape_grow_slots(k) != NGX_OK)
    {
        return NULL;
    }

    hash = ngx_k8s_metrics_container_hash(sample);
    cs = a->elts;

    for (slot = hash & (k->nslots - 1); k->slots[slot];
         slot = (slot + 1) & (k->nslots - 1))
    {
        cs = (ngx_k8s_metrics_csample_t *) a->elts + k->slots[slot] - 1;

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

    cs->namespace.data = ngx_pstrdup(k->scraper->pool, &sample->namespace);
    cs->pod.data = ngx_pstrdup(k->scraper->pool, &sample->pod);
    cs->name.data = ngx_pstrdup(k->scraper->pool, &sample->container);

    if (cs->namespace.data == NULL || cs->pod.data == NULL
        || cs->name.data == NULL)
    {
        return NULL;
    }

    cs->namespace.len = sample->namespace.len;
    cs->pod.len = sample->pod.len;
    cs->name.len = sample->container.len;

    k->slots[slot] = (uint32_t) a->nelts;

    return cs;
}


static ngx_int_t
ngx_k8s_metrics_scrape_grow_slots(ngx_k8s_metrics_kubelet_t *k)
{
    uint32_t                    slot, *slots;
    ngx_uint_t                  i, n;
    ngx_k8s_metrics_csample_t  *cs;

    n = k->nslots ? k->nslots * 2 : 256;

    slots = ngx_pcalloc(k->scraper->pool, n * sizeof(uint32_t));
    if (slots == NULL) {
        return NGX_ERROR;
    }

    cs = k->batch->containers.elts;

    for (i = 0; i < k->batch->containers.nelts; i++) {
        for (slot = cs[i].hash & (n - 1); slots[slot];
             slot = (slot + 1) & (n - 1))
        {
            /* void */
        }

        slots[slot] = (uint32_t) i + 1;
    }

    k->slots = slots;
    k->nslots = n;

    return NGX_OK;
}


static void
ngx_k8s_metrics_scrape_done(ngx_k8s_metrics_transfer_t *t, CURLcode result)
{
    ngx_k8s_metrics_kubelet_t *k = t->data;

    long                        connects;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_scraper_t  *s;

    s = k->scraper;
    batch = k->batch;
    batch->duration = ngx_current_msec - k->started;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &k->status);

    if (result != CURLE_OK
        || curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects)
           != CURLE_OK
        || connects)
    {
        k->reset = 1;
    }

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

    s->finished++;

    ngx_k8s_metrics_scrape_next(s);
}


/*
 * A value the store cannot keep fails the node, as does a response without
 * the node's samples.  Then metrics-server's decoder: a node whose CPU or
 * memory is zero is not served, its pods are.
 */

static ngx_int_t
ngx_k8s_metrics_scrape_validate(ngx_k8s_metrics_kubelet_t *k)
{
    ngx_k8s_metrics_batch_t  *batch;

    batch = k->batch;

    if (k->ninvalid) {
        ngx_k8s_metrics_scrape_fail(k, "invalid value: %V (%ui in the "
                                    "response)", &k->invalid, k->ninvalid);
        return NGX_DECLINED;
    }

    if (batch->point.time == 0 || !k->node_memory) {
        ngx_k8s_metrics_scrape_fail(k, "the response has no node CPU or "
                                    "memory sample (%ui lines, %ui "
                                    "malformed)", k->parser.lines,
                                    k->parser.malformed);
        return NGX_DECLINED;
    }

    if (batch->point.cpu == 0 || batch->memory == 0) {
        ngx_log_debug3(NGX_LOG_DEBUG_EVENT, k->scraper->log, 0,
                       "k8s metrics: node \"%V\" not served: CPU %uL, "
                       "memory %uL", &k->node->name, batch->point.cpu,
                       batch->memory);

        ngx_memzero(&batch->point, sizeof(ngx_k8s_metrics_point_t));
        batch->memory = 0;

        (void) ngx_atomic_fetch_add(
                               &k->scraper->kmcf->sh->counters.dropped_zero,
                               1);
    }

    return ngx_k8s_metrics_scrape_pods(k);
}


/*
 * At most k8s_metrics_kubelet_max_pods pods, or the node fails.  A pod is
 * taken as scrape_place says; then, as metrics-server's decoder
 * (checkContainerMetrics()), it is dropped whole when one of its
 * containers lacks CPU or memory, or has either at zero (a container just
 * created or terminated).  What remains is sorted by namespace, pod and
 * name: the store's order.
 */

static ngx_int_t
ngx_k8s_metrics_scrape_pods(ngx_k8s_metrics_kubelet_t *k)
{
    ngx_str_t                     node;
    ngx_uint_t                    i, j, n, nelts, npods, place, level,
                                  zero, incomplete, unlisted, misplaced,
                                 *drop;
    ngx_k8s_metrics_batch_t      *batch;
    ngx_k8s_metrics_csample_t    *cs;
    ngx_k8s_metrics_counters_t   *counters;

    batch = k->batch;
    counters = &k->scraper->kmcf->sh->counters;

    cs = batch->containers.elts;
    nelts = batch->containers.nelts;

    ngx_qsort(cs, nelts, sizeof(ngx_k8s_metrics_csample_t),
              ngx_k8s_metrics_cmp_csample);

    npods = 0;

    for (i = 0; i < nelts; i++) {
        npods += ngx_k8s_metrics_new_pod(cs, i);
    }

    if (npods > k->scraper->kmcf->kubelet.max_pods) {
        ngx_k8s_metrics_scrape_fail(k, "the kubelet reports %ui pods, more "
                                    "than k8s_metrics_kubelet_max_pods "
                                    "(%ui)", npods,
                                    k->scraper->kmcf->kubelet.max_pods);
        return NGX_DECLINED;
    }

    n = 0;
    zero = 0;
    incomplete = 0;
    unlisted = 0;
    misplaced = 0;

    /* cs[i - 1] is never overwritten before cs[i] is looked at: n <= i */

    for (i = 0; i < nelts; i = j) {
        drop = NULL;

        for (j = i; j < nelts && ngx_k8s_metrics_cmp_pod(&cs[i], &cs[j]) == 0;
             j++)
        {
            if (!cs[j].has_cpu || !cs[j].has_memory) {
                drop = &incomplete;

            } else if (drop == NULL
                       && (cs[j].point.cpu == 0 || cs[j].memory == 0))
            {
                drop = &zero;
            }
        }

        place = ngx_k8s_metrics_scrape_place(k, &cs[i], &node);

        if (place == NGX_K8S_METRICS_POD_UNLISTED) {
            drop = &unlisted;

        } else if (place == NGX_K8S_METRICS_POD_MISPLACED) {
            drop = &misplaced;

            if (batch->misplaced++ == 0) {
                k->example_ns = cs[i].namespace;
                k->example_pod = cs[i].pod;
                k->example_node = node;
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

    if (zero) {
        (void) ngx_atomic_fetch_add(&counters->dropped_zero, zero);
    }

    if (incomplete) {
        (void) ngx_atomic_fetch_add(&counters->dropped_incomplete,
                                    incomplete);
    }

    if (unlisted) {
        (void) ngx_atomic_fetch_add(&counters->dropped_unlisted, unlisted);
    }

    if (misplaced) {
        (void) ngx_atomic_fetch_add(&counters->dropped_misplaced, misplaced);
    }

    level = ngx_k8s_metrics_scrape_rejected_level(&k->misplaced,
                                                  batch->misplaced);
    if (level) {
        ngx_log_error(level, k->scraper->log, 0,
                      "k8s metrics: node \"%V\" reported %ui pods that the "
                      "apiserver places on other nodes, e.g. \"%V/%V\" on "
                      "node \"%V\": they are not taken from it",
                      &k->node->name, batch->misplaced, &k->example_ns,
                      &k->example_pod, &k->example_node);
    }

    return NGX_OK;
}


/*
 * With the apiserver, a pod is taken only from the kubelet of the node its
 * spec.nodeName names, so no kubelet can publish another node's pod.  A
 * pod the apiserver does not list as running, or not yet (its pods not
 * listed yet, a pod younger than its watch event), is not taken, as
 * before: metrics-server serves only the pods of its lister, and a kubelet
 * cannot add a pod the apiserver has not placed on its node.  Without an
 * apiserver every pod is taken; scrape_dedup keeps each to one node.
 */

static ngx_uint_t
ngx_k8s_metrics_scrape_place(ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_csample_t *cs, ngx_str_t *node)
{
    ngx_k8s_metrics_cluster_t  *cluster;

    cluster = k->scraper->cluster;

    if (cluster == NULL) {
        return NGX_K8S_METRICS_POD_TAKEN;
    }

    if (ngx_k8s_metrics_cluster_find_pod(cluster, &cs->namespace, &cs->pod,
                                          node)
        == NULL)
    {
        return NGX_K8S_METRICS_POD_UNLISTED;
    }

    if (node->len != k->node->name.len
        || ngx_strncmp(node->data, k->node->name.data, node->len) != 0)
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

static ngx_uint_t
ngx_k8s_metrics_scrape_rejected_level(ngx_uint_t *last, ngx_uint_t n)
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
 * one, scrape_place already takes each pod from one node only.
 */

static ngx_int_t
ngx_k8s_metrics_scrape_dedup(ngx_k8s_metrics_scraper_t *s)
{
    ngx_uint_t                  i, k, first;
    ngx_array_t                 refs;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_pod_ref_t  *ref;
    ngx_k8s_metrics_csample_t  *cs;

    if (ngx_array_init(&refs, s->pool, 256, sizeof(ngx_k8s_metrics_pod_ref_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < s->nkubelets; i++) {
        batch = &s->batches[i];
        cs = batch->containers.elts;

        for (k = 0; batch->ok && k < batch->containers.nelts; k++) {
            if (!ngx_k8s_metrics_new_pod(cs, k)) {
                continue;
            }

            ref = ngx_array_push(&refs);
            if (ref == NULL) {
                return NGX_ERROR;
            }

            ref->batch = i;
            ref->first = k;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: %ui pods reported in the cycle", refs.nelts);

    ngx_k8s_metrics_dedup_batches = s->batches;

    ref = refs.elts;
    ngx_qsort(ref, refs.nelts, sizeof(ngx_k8s_metrics_pod_ref_t),
              ngx_k8s_metrics_cmp_pod_ref);

    for (first = 0, i = 1; i < refs.nelts; i++) {
        if (ngx_k8s_metrics_cmp_pod(ngx_k8s_metrics_pod_ref(&ref[i]),
                                    ngx_k8s_metrics_pod_ref(&ref[first]))
            != 0)
        {
            first = i;
            continue;
        }

        ngx_k8s_metrics_scrape_duplicate(s, &ref[i], &ref[first]);
    }

    for (i = 0; i < s->nkubelets; i++) {
        ngx_k8s_metrics_scrape_drop_duplicates(s, s->kubelets[i],
                                               &s->batches[i]);
    }

    return NGX_OK;
}


/* the containers of the pod at ref, a copy of the one at winner */

static void
ngx_k8s_metrics_scrape_duplicate(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_pod_ref_t *ref, ngx_k8s_metrics_pod_ref_t *winner)
{
    ngx_uint_t                  k;
    ngx_k8s_metrics_batch_t    *batch;
    ngx_k8s_metrics_kubelet_t  *kubelet;
    ngx_k8s_metrics_csample_t  *cs;

    batch = &s->batches[ref->batch];
    kubelet = s->kubelets[ref->batch];
    cs = batch->containers.elts;

    if (batch->duplicates++ == 0) {
        kubelet->example_ns = cs[ref->first].namespace;
        kubelet->example_pod = cs[ref->first].pod;
        kubelet->example_node = s->batches[winner->batch].node->name;
    }

    for (k = ref->first;
         k < batch->containers.nelts
         && (k == ref->first || !ngx_k8s_metrics_new_pod(cs, k));
         k++)
    {
        cs[k].duplicate = 1;
    }
}


static void
ngx_k8s_metrics_scrape_drop_duplicates(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_k8s_metrics_batch_t *batch)
{
    ngx_uint_t                  i, n, level;
    ngx_k8s_metrics_csample_t  *cs;

    if (!batch->ok) {
        return;
    }

    level = ngx_k8s_metrics_scrape_rejected_level(&k->duplicates,
                                                  batch->duplicates);
    if (level == 0) {
        return;
    }

    cs = batch->containers.elts;

    for (i = 0, n = 0; i < batch->containers.nelts; i++) {
        if (!cs[i].duplicate) {
            cs[n++] = cs[i];
        }
    }

    (void) ngx_atomic_fetch_add(&s->kmcf->sh->counters.dropped_duplicate,
                                batch->containers.nelts - n);

    batch->containers.nelts = n;

    ngx_log_error(level, s->log, 0,
                  "k8s metrics: node \"%V\" reported %ui pods that a node "
                  "before it by name reports too, e.g. \"%V/%V\" on node "
                  "\"%V\": they are served from that node only",
                  &k->node->name, batch->duplicates, &k->example_ns,
                  &k->example_pod, &k->example_node);
}


static ngx_k8s_metrics_csample_t *
ngx_k8s_metrics_pod_ref(ngx_k8s_metrics_pod_ref_t *ref)
{
    return (ngx_k8s_metrics_csample_t *)
               ngx_k8s_metrics_dedup_batches[ref->batch].containers.elts
           + ref->first;
}


/* by namespace and pod, then by node */

static int ngx_libc_cdecl
ngx_k8s_metrics_cmp_pod_ref(const void *one, const void *two)
{
    ngx_int_t                   rc;
    ngx_k8s_metrics_pod_ref_t  *a, *b;

    a = (ngx_k8s_metrics_pod_ref_t *) one;
    b = (ngx_k8s_metrics_pod_ref_t *) two;

    rc = ngx_k8s_metrics_cmp_pod(ngx_k8s_metrics_pod_ref(a),
                                 ngx_k8s_metrics_pod_ref(b));
    if (rc) {
        return (int) rc;
    }

    return (a->batch < b->batch) ? -1 : (a->batch > b->batch);
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


/* why a scrape failed, in words an operator can act on */

static void
ngx_k8s_metrics_scrape_failure_reason(ngx_k8s_metrics_kubelet_t *k,
    CURLcode result)
{
    size_t  max;

    max = k->scraper->kmcf->kubelet.max_body;

    if (k->too_large || result == CURLE_FILESIZE_EXCEEDED) {
        ngx_k8s_metrics_scrape_fail(k, "the response is larger than "
                                    "k8s_metrics_kubelet_max_body (%uz "
                                    "bytes)", max);
        return;
    }

    switch (result) {

    case CURLE_OK:
        break;

    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        ngx_k8s_metrics_scrape_fail(k, "TLS verification failed: %s; the "
                                    "kubelet presented %s",
                                    k->errbuf[0] ? k->errbuf
                                        : curl_easy_strerror(result),
                                    k->peer[0] ? k->peer
                                        : "no certificate");
        return;

    case CURLE_OPERATION_TIMEDOUT:
        ngx_k8s_metrics_scrape_fail(k, "no complete answer within "
                                    "k8s_metrics_kubelet_timeout (%M ms): "
                                    "%s", k->scraper->kmcf->kubelet.timeout,
                                    k->errbuf);
        return;

    case CURLE_COULDNT_CONNECT:
        ngx_k8s_metrics_scrape_fail_connect(k);
        return;

    default:
        ngx_k8s_metrics_scrape_fail(k, "%s", k->errbuf[0] ? k->errbuf
                                        : curl_easy_strerror(result));
        return;
    }

    switch (k->status) {

    case 401:
        ngx_k8s_metrics_scrape_fail(k, "the kubelet answered 401 "
                                    "Unauthorized: it does not accept the "
                                    "module's credentials (set "
                                    "k8s_metrics_kubelet_client_certificate "
                                    "or k8s_metrics_kubelet_token_file; the "
                                    "kubelet needs --client-ca-file or "
                                    "--authentication-token-webhook)");
        return;

    case 403:
        ngx_k8s_metrics_scrape_fail(k, "the kubelet answered 403 Forbidden: "
                                    "the module's user needs RBAC \"get\" "
                                    "on resource \"nodes/metrics\" (see "
                                    "the system:metrics-server ClusterRole)"
                                    );
        return;

    default:
        /* a kubelet may echo the request: never the token, here or in
         * /metrics */
        ngx_k8s_metrics_redact(&k->body, k->scraper->token);

        ngx_k8s_metrics_scrape_fail(k, "the kubelet answered HTTP %l: "
                                    "\"%V\"", k->status, &k->body);
        return;
    }
}


/*
 * libcurl 7.88 says "Couldn't connect to server" without the system's
 * reason (refused, unreachable, timed out): the reason is added when its
 * message does not already hold it.
 */

static void
ngx_k8s_metrics_scrape_fail_connect(ngx_k8s_metrics_kubelet_t *k)
{
    long         err;
    u_char       reason[NGX_MAX_ERROR_STR], *last;
    const char  *message;

    message = k->errbuf[0] ? k->errbuf
                           : curl_easy_strerror(CURLE_COULDNT_CONNECT);

    if (curl_easy_getinfo(k->transfer.easy, CURLINFO_OS_ERRNO, &err)
        != CURLE_OK
        || err == 0)
    {
        ngx_k8s_metrics_scrape_fail(k, "%s", message);
        return;
    }

    last = ngx_strerror((ngx_err_t) err, reason, sizeof(reason) - 1);
    *last = '\0';

    if (ngx_strstr(message, reason) != NULL) {
        ngx_k8s_metrics_scrape_fail(k, "%s", message);
        return;
    }

    ngx_k8s_metrics_scrape_fail(k, "%s (%s)", message, reason);
}


static void
ngx_k8s_metrics_scrape_fail(ngx_k8s_metrics_kubelet_t *k, const char *fmt,
    ...)
{
    u_char                   *p, *q, buf[NGX_MAX_ERROR_STR];
    va_list                   args;
    uint32_t                  crc;
    ngx_uint_t                level;
    ngx_k8s_metrics_batch_t  *batch;

    batch = k->batch;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    batch->ok = 0;
    batch->error.len = p - buf;

    /*
     * The first failure of a kind is an error, its repeats only info; the
     * kind is the reason without its numbers (curl says "after 23 ms").
     */

    ngx_crc32_init(crc);

    for (q = buf; q < p; q++) {
        if (*q < '0' || *q > '9') {
            ngx_crc32_update(&crc, q, 1);
        }
    }

    ngx_crc32_final(crc);
    level = (crc == k->failing) ? NGX_LOG_INFO : NGX_LOG_ERR;
    k->failing = crc;

    batch->error.data = ngx_pnalloc(k->scraper->pool, batch->error.len);

    if (batch->error.data == NULL) {
        batch->error.len = 0;

    } else {
        ngx_memcpy(batch->error.data, buf, batch->error.len);
    }

    ngx_log_error(level, k->scraper->log, 0,
                  "k8s metrics: scraping node \"%V\" (%s) failed: %V",
                  &k->node->name, k->node->url.data, &batch->error);
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
        ngx_k8s_metrics_scrape_share_in(s);
        return;
    }

    /* a worker on its way out leaves the store to its successor */

    if (!ngx_exiting && !ngx_quit && !ngx_terminate
        && (s->cluster || ngx_k8s_metrics_scrape_dedup(s) == NGX_OK))
    {
        (void) ngx_k8s_metrics_store_publish(s->kmcf, s->batches,
                        s->nkubelets,
                        s->cluster ? ngx_k8s_metrics_cluster_pod_labels : NULL,
                        s->cluster, s->pool, s->log);
    }

    ngx_k8s_metrics_scrape_cycle_done(s, s->started);
}


/* the counters of a cycle published, once per cycle; its pool goes */

static void
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


/*
 * This worker's share of a shared cycle is done: staged in the zone, and
 * published with the others' by the worker that completes the cycle.  A
 * worker on its way out stages nothing: that cycle is left unpublished,
 * as a single scraper leaves it, and the next generation's first cycle
 * drops what other workers staged.
 */

static void
ngx_k8s_metrics_scrape_share_in(ngx_k8s_metrics_scraper_t *s)
{
    void                          *parts[NGX_K8S_METRICS_MAX_SHARES];
    ngx_int_t                      rc;
    ngx_k8s_metrics_share_part_t  *part;

    part = NULL;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        part = ngx_k8s_metrics_share_stage(s->kmcf, s->batches, s->nkubelets,
                                           s->share_worker, s->shares);
        if (part == NULL) {
            ngx_log_error(NGX_LOG_ERR, s->log, 0,
                          "k8s metrics: k8s_metrics_zone \"%V\" is full: "
                          "worker %ui cannot stage its share of the scrape "
                          "cycle, whose nodes fail it",
                          &s->kmcf->shm_zone->shm.name, s->share_worker);
        }
    }

    ngx_destroy_pool(s->pool);
    s->pool = NULL;
    s->batches = NULL;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    rc = ngx_k8s_metrics_share_finish(s->kmcf, s->share_worker,
                                      s->share_cycle, part, parts);

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: worker %ui's share of cycle %ui in: %i",
                   s->share_worker, s->share_cycle, rc);

    ngx_k8s_metrics_scrape_share_next(s, rc, parts);
}


/* the cycle waits for the other workers' shares, or to find one gone */

static void
ngx_k8s_metrics_scrape_share_check(ngx_event_t *ev)
{
    void                       *parts[NGX_K8S_METRICS_MAX_SHARES];
    ngx_int_t                   rc;
    ngx_k8s_metrics_scraper_t  *s;

    s = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    rc = ngx_k8s_metrics_share_check(s->kmcf, s->share_cycle, parts);

    ngx_k8s_metrics_scrape_share_next(s, rc, parts);
}


/* share_finish()'s or share_check()'s answer: publish, or wait on */

static void
ngx_k8s_metrics_scrape_share_next(ngx_k8s_metrics_scraper_t *s, ngx_int_t rc,
    void **parts)
{
    if (rc == NGX_OK) {
        ngx_k8s_metrics_scrape_share_publish(s, parts);

    } else if (rc == NGX_AGAIN) {
        ngx_add_timer(&s->share_check,
                      ngx_min(NGX_K8S_METRICS_SHARE_CHECK,
                              s->kmcf->resolution / 4));
    }
}


/*
 * The cycle's batches, by node name, from every worker's part; a node of
 * a part lost fails the cycle, as on a failed scrape (metrics-server
 * serves neither it nor its pods until it is scraped again).  Then as a
 * single scraper: pods reported twice dropped, the store published.
 */

static void
ngx_k8s_metrics_scrape_share_publish(ngx_k8s_metrics_scraper_t *s,
    void **parts)
{
    ngx_uint_t                     i, w, next[NGX_K8S_METRICS_MAX_SHARES];
    ngx_k8s_metrics_batch_t       *batch;
    ngx_k8s_metrics_share_part_t  *part;

    static ngx_str_t  lost = ngx_string("not scraped in this cycle: the "
                                        "worker whose share it was is gone");

    if (ngx_k8s_metrics_scrape_batches(s) != NGX_OK) {
        goto free;
    }

    ngx_memzero(next, sizeof(next));

    for (i = 0; i < s->nkubelets; i++) {
        w = i % s->shares;
        part = parts[w];
        batch = &s->batches[i];

        if (part && next[w] < part->n
            && part->batches[next[w]].node == s->kubelets[i]->node)
        {
            *batch = part->batches[next[w]++];
            continue;
        }

        batch->node = s->kubelets[i]->node;
        batch->error = lost;
    }

    if (ngx_k8s_metrics_scrape_dedup(s) == NGX_OK) {
        (void) ngx_k8s_metrics_store_publish(s->kmcf, s->batches, s->nkubelets,
                                             NULL, NULL, s->pool, s->log);
    }

    ngx_k8s_metrics_scrape_cycle_done(s,
                                      ngx_k8s_metrics_share_started(s->kmcf));

free:

    for (w = 0; w < s->shares; w++) {
        ngx_k8s_metrics_share_free(s->kmcf, parts[w]);
    }
}


/*
 * A bearer token for the kubelets, re-read when the file changes:
 * projected service-account tokens rotate.
 */

static ngx_int_t
ngx_k8s_metrics_scrape_token(ngx_k8s_metrics_scraper_t *s)
{
    ngx_int_t                     rc;
    struct curl_slist            *headers;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = s->kmcf;

    if (kmcf->kubelet.token_file.len == 0) {
        return NGX_OK;
    }

    rc = ngx_k8s_metrics_token_read(&kmcf->kubelet.token_file,
                                    "k8s_metrics_kubelet_token_file",
                                    &s->token_mtime, &s->token, s->log);
    if (rc != NGX_OK) {
        return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
    }

    headers = curl_slist_append(NULL, s->token);
    if (headers == NULL) {
        s->token_mtime = 0;     /* read again next cycle */
        return NGX_ERROR;
    }

    if (s->headers) {
        curl_slist_free_all(s->headers);
    }

    s->headers = headers;

    return NGX_OK;
}


/*
 * Records the subject and SANs of the certificate a kubelet presents, so a
 * verification failure can say what was presented.
 */

static CURLcode
ngx_k8s_metrics_scrape_ssl_ctx(CURL *easy, void *ssl_ctx, void *data)
{
    SSL_CTX_set_ex_data(ssl_ctx, ngx_k8s_metrics_ssl_ctx_index, data);

    SSL_CTX_set_verify(ssl_ctx, SSL_CTX_get_verify_mode(ssl_ctx),
                       ngx_k8s_metrics_scrape_verify);

    return CURLE_OK;
}


static int
ngx_k8s_metrics_scrape_verify(int ok, X509_STORE_CTX *store_ctx)
{
    int                         i, n;
    SSL                        *ssl;
    X509                       *cert;
    u_char                     *p, *last;
    GENERAL_NAME               *gn;
    GENERAL_NAMES              *names;
    ngx_k8s_metrics_kubelet_t  *k;
    char                        subject[256];

    if (X509_STORE_CTX_get_error_depth(store_ctx) != 0) {
        return ok;
    }

    ssl = X509_STORE_CTX_get_ex_data(store_ctx,
                                     SSL_get_ex_data_X509_STORE_CTX_idx());
    k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                            ngx_k8s_metrics_ssl_ctx_index);
    cert = X509_STORE_CTX_get_current_cert(store_ctx);

    if (k == NULL || cert == NULL) {
        return ok;
    }

    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));

    p = (u_char *) k->peer;
    last = p + sizeof(k->peer) - 1;

    p = ngx_slprintf(p, last, "\"%s\"", subject);

    names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);

    if (names) {
        n = sk_GENERAL_NAME_num(names);
        p = ngx_slprintf(p, last, " with SANs");

        for (i = 0; i < n; i++) {
            gn = sk_GENERAL_NAME_value(names, i);

            if (gn->type == GEN_DNS) {
                p = ngx_slprintf(p, last, " DNS:%*s",
                                 (size_t) ASN1_STRING_length(gn->d.dNSName),
                                 ASN1_STRING_get0_data(gn->d.dNSName));

            } else if (gn->type == GEN_IPADD
                       && ASN1_STRING_length(gn->d.iPAddress) == 4)
            {
                const u_char *a = ASN1_STRING_get0_data(gn->d.iPAddress);
                p = ngx_slprintf(p, last, " IP:%ud.%ud.%ud.%ud",
                                 a[0], a[1], a[2], a[3]);
            }
        }

        GENERAL_NAMES_free(names);

    } else {
        p = ngx_slprintf(p, last, " without SANs");
    }

    *p = '\0';

    return ok;
}
