
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

    ngx_k8s_metrics_batcher_t       batcher;    /* samples to the batch */

    uint32_t                        failing;    /* crc32 of the reason */
    unsigned                        reset:1;    /* before the next scrape */

    /* pods not taken from it in the last cycle */
    ngx_uint_t                      misplaced;
    ngx_uint_t                      duplicates;

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

    /* the client certificate, parsed once for every connection */
    X509                           *cert;
    STACK_OF(X509)                 *chain;
    EVP_PKEY                       *key;
    time_t                          cert_mtime;
    time_t                          key_mtime;
    ngx_file_uniq_t                 cert_uniq;
    ngx_file_uniq_t                 key_uniq;

    ngx_k8s_metrics_cluster_t      *cluster;    /* nodes from the apiserver */

    /* a cycle shared among the workers (share.c); shares == 0: not */
    ngx_uint_t                      shares;
    ngx_uint_t                      share_worker;
    ngx_uint_t                      share_cycle;
    ngx_event_t                     share_check;
};


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
static ngx_int_t ngx_k8s_metrics_scrape_pod_node(void *data,
    ngx_str_t *namespace, ngx_str_t *pod, ngx_str_t *node);
static ngx_int_t ngx_k8s_metrics_scrape_dedup(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_drop_duplicates(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_kubelet_t *k,
    ngx_k8s_metrics_batch_t *batch);
static size_t ngx_k8s_metrics_scrape_write(char *ptr, size_t size,
    size_t nmemb, void *data);
static ngx_int_t ngx_k8s_metrics_scrape_token(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_client_cert(ngx_k8s_metrics_scraper_t *s);
static ngx_int_t ngx_k8s_metrics_scrape_load_cert(
    ngx_k8s_metrics_scraper_t *s);
static int ngx_k8s_metrics_scrape_no_password(char *buf, int size, int rwflag,
    void *data);
static CURLcode ngx_k8s_metrics_scrape_ssl_ctx(CURL *easy, void *ssl_ctx,
    void *data);
static int ngx_k8s_metrics_scrape_verify(int ok, X509_STORE_CTX *store_ctx);


static ngx_k8s_metrics_scraper_t  *ngx_k8s_metrics_scraper;
static int                         ngx_k8s_metrics_ssl_ctx_index = -1;


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

    if (kmcf->kubelet.certificate.len) {
        ngx_k8s_metrics_scrape_client_cert(s);
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

    if (s->key) {
        X509_free(s->cert);
        sk_X509_pop_free(s->chain, X509_free);
        EVP_PKEY_free(s->key);
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
    }

    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION,
                     ngx_k8s_metrics_scrape_ssl_ctx);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, k);

    /* the pair could not be read when the scraper started: libcurl tries */

    if (kmcf->kubelet.certificate.len && s->key == NULL) {
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


/* without an apiserver: each pod of the cycle served from one node */

static ngx_int_t
ngx_k8s_metrics_scrape_dedup(ngx_k8s_metrics_scraper_t *s)
{
    ngx_uint_t  i, npods;

    if (ngx_k8s_metrics_batch_dedup(s->batches, s->nkubelets, s->pool,
                                    &npods)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: %ui pods reported in the cycle", npods);

    for (i = 0; i < s->nkubelets; i++) {
        ngx_k8s_metrics_scrape_drop_duplicates(s, s->kubelets[i],
                                               &s->batches[i]);
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
 * The TLS context libcurl 7.88 makes for each new connection: the client
 * certificate by reference, and, with verification, a callback that
 * records the subject and SANs of the certificate a kubelet presents, so
 * a verification failure can say what was presented.
 */

static CURLcode
ngx_k8s_metrics_scrape_ssl_ctx(CURL *easy, void *ssl_ctx, void *data)
{
    ngx_k8s_metrics_kubelet_t *k = data;

    ngx_k8s_metrics_scraper_t  *s;

    s = k->scraper;

    SSL_CTX_set_ex_data(ssl_ctx, ngx_k8s_metrics_ssl_ctx_index, data);

    if (s->kmcf->kubelet.certificate.len) {
        ngx_k8s_metrics_scrape_client_cert(s);

        if (s->key
            && (SSL_CTX_use_certificate(ssl_ctx, s->cert) != 1
                || SSL_CTX_set1_chain(ssl_ctx, s->chain) != 1
                || SSL_CTX_use_PrivateKey(ssl_ctx, s->key) != 1))
        {
            ngx_ssl_error(NGX_LOG_ALERT, s->log, 0,
                          "k8s metrics: cannot use the kubelet client "
                          "certificate");
            return CURLE_SSL_CERTPROBLEM;
        }
    }

    if (!s->kmcf->kubelet.insecure_tls) {
        SSL_CTX_set_verify(ssl_ctx, SSL_CTX_get_verify_mode(ssl_ctx),
                           ngx_k8s_metrics_scrape_verify);
    }

    return CURLE_OK;
}


/*
 * The kubelet client certificate and key, parsed once and given by
 * reference to every connection's TLS context: parsed by libcurl from the
 * files, they were a copy per kept-alive kubelet (about 7 KiB each,
 * bench/analysis.md).  As libcurl read the files at every connection,
 * they are read again when either file changes (mtime or inode: a
 * Secret's volume swaps a symlink); a pair that cannot be read or does not
 * match keeps the previous one, as a rotating token does.
 */

static void
ngx_k8s_metrics_scrape_client_cert(ngx_k8s_metrics_scraper_t *s)
{
    ngx_file_info_t   cfi, kfi;

    if (ngx_file_info(s->kmcf->kubelet.certificate.data, &cfi)
        == NGX_FILE_ERROR
        || ngx_file_info(s->kmcf->kubelet.certificate_key.data, &kfi)
           == NGX_FILE_ERROR)
    {
        return;
    }

    if (ngx_file_mtime(&cfi) == s->cert_mtime
        && ngx_file_mtime(&kfi) == s->key_mtime
        && ngx_file_uniq(&cfi) == s->cert_uniq
        && ngx_file_uniq(&kfi) == s->key_uniq)
    {
        return;
    }

    /* tried once per change of the files: a failure is logged once */

    s->cert_mtime = ngx_file_mtime(&cfi);
    s->key_mtime = ngx_file_mtime(&kfi);
    s->cert_uniq = ngx_file_uniq(&cfi);
    s->key_uniq = ngx_file_uniq(&kfi);

    if (ngx_k8s_metrics_scrape_load_cert(s) != NGX_OK) {
        ngx_ssl_error(NGX_LOG_ERR, s->log, 0,
                      "k8s metrics: cannot load k8s_metrics_kubelet_client_"
                      "certificate \"%V\" with its key \"%V\"%s",
                      &s->kmcf->kubelet.certificate,
                      &s->kmcf->kubelet.certificate_key,
                      s->key ? ", the previous one is kept" : "");
    }
}


static ngx_int_t
ngx_k8s_metrics_scrape_load_cert(ngx_k8s_metrics_scraper_t *s)
{
    BIO             *bio;
    X509            *cert, *x;
    EVP_PKEY        *key;
    STACK_OF(X509)  *chain;

    key = NULL;
    chain = NULL;

    bio = BIO_new_file((char *) s->kmcf->kubelet.certificate.data, "r");
    if (bio == NULL) {
        return NGX_ERROR;
    }

    /* as SSL_CTX_use_certificate_chain_file(): the leaf, then its chain */

    cert = PEM_read_bio_X509_AUX(bio, NULL,
                                 ngx_k8s_metrics_scrape_no_password, NULL);
    if (cert == NULL) {
        goto failed;
    }

    chain = sk_X509_new_null();
    if (chain == NULL) {
        goto failed;
    }

    for ( ;; ) {
        x = PEM_read_bio_X509(bio, NULL,
                              ngx_k8s_metrics_scrape_no_password, NULL);
        if (x == NULL) {
            if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
                goto failed;
            }

            ERR_clear_error();
            break;
        }

        if (sk_X509_push(chain, x) == 0) {
            X509_free(x);
            goto failed;
        }
    }

    BIO_free(bio);

    bio = BIO_new_file((char *) s->kmcf->kubelet.certificate_key.data, "r");
    if (bio == NULL) {
        goto failed;
    }

    key = PEM_read_bio_PrivateKey(bio, NULL,
                                  ngx_k8s_metrics_scrape_no_password, NULL);

    if (key == NULL || X509_check_private_key(cert, key) != 1) {
        goto failed;
    }

    BIO_free(bio);

    if (s->key) {
        X509_free(s->cert);
        sk_X509_pop_free(s->chain, X509_free);
        EVP_PKEY_free(s->key);
    }

    s->cert = cert;
    s->chain = chain;
    s->key = key;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: kubelet client certificate read from \"%V\"",
                   &s->kmcf->kubelet.certificate);

    return NGX_OK;

failed:

    if (bio) {
        BIO_free(bio);
    }

    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);

    return NGX_ERROR;
}


/* an encrypted key is refused, as libcurl did without a passphrase */

static int
ngx_k8s_metrics_scrape_no_password(char *buf, int size, int rwflag,
    void *data)
{
    return 0;
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
