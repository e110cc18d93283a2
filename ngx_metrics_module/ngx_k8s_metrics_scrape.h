
/*
 * The scraper's parts (ngx_k8s_metrics_scrape.c and its _scrape_*.c): the
 * scraper, its kubelets and what one part hands another.  Layers, each
 * calling only the ones below it: scrape.c (the scraper's life and its
 * timer), scrape_share.c (this worker's side of a shared cycle),
 * scrape_cycle.c (a cycle and its transfers), scrape_fail.c and
 * scrape_tls.c.  The cycle ends a shared one through the share_in handler
 * the scraper gives it.
 */


#ifndef _NGX_K8S_METRICS_SCRAPE_H_INCLUDED_
#define _NGX_K8S_METRICS_SCRAPE_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_client.h"
#include "ngx_k8s_metrics_parser.h"
#include "ngx_k8s_metrics_store.h"



/*
 * Concurrent transfers: far more than kubelets' answer times need, few
 * enough that the buffers of the transfers in flight stay small.
 */
#define NGX_K8S_METRICS_MAX_IN_FLIGHT   256

/*
 * A tick while the last cycle's snapshot is still being built waits for
 * it, looking again this often (ms): metrics-server's tick() scrapes and
 * stores in one call, and its ticker keeps the tick that came meanwhile
 * for when the call returns.  The publication takes a fraction of a
 * second even at 10 000 nodes: a whole resolution skipped would cost far
 * more than that wait.
 */
#define NGX_K8S_METRICS_PUBLISH_WAIT    10

/*
 * A tick before this worker's informers listed the nodes and pods looks
 * again this often (ms): the lists come in a second or two at most, when
 * the apiserver answers
 */
#define NGX_K8S_METRICS_SYNC_WAIT       200

/*
 * Pods of a cycle deduplicated a turn of the event loop (without an
 * apiserver): about 1 ms at 5 000 nodes, a heap of one run per node
 */
#define NGX_K8S_METRICS_DEDUP_SLICE     4096


typedef struct ngx_k8s_metrics_scraper_s  ngx_k8s_metrics_scraper_t;

typedef void (*ngx_k8s_metrics_scraper_pt)(ngx_k8s_metrics_scraper_t *s);


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
    uint32_t                        hash;       /* crc32 of its name */

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
    CURL                          **easies;     /* free easy handles */
    ngx_uint_t                      neasies;

    ngx_event_t                     tick;
    ngx_pool_t                     *pool;       /* one cycle's batches */
    ngx_k8s_metrics_batch_t        *batches;
    ngx_uint_t                      next;
    ngx_uint_t                      finished;
    ngx_msec_t                      started;
    unsigned                        running:1;

    /*
     * The cycle's snapshot being built: its pods deduplicated (without an
     * apiserver), then the snapshot in slices (store_build.c); the handler
     * that ends the cycle when it is in or given up
     */
    ngx_k8s_metrics_dedup_t        *dedup;
    ngx_event_t                     dedup_slice;
    ngx_k8s_metrics_publication_t  *publication;
    ngx_k8s_metrics_published_pt    published;

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

    /* a cycle shared among the workers (scrape_share.c, share.c); 0: not */
    ngx_uint_t                      shares;
    ngx_uint_t                      share_worker;
    ngx_uint_t                      share_cycle;
    ngx_uint_t                      share_nslots;   /* the cycle's shares */
    ngx_event_t                     share_check;
    ngx_k8s_metrics_share_slot_t    share_slots[NGX_K8S_METRICS_MAX_SHARES];
    ngx_k8s_metrics_scraper_pt      share_in;   /* the end of its share */
};


/* ngx_k8s_metrics_scrape_share.c: this worker's side of a shared cycle */
void ngx_k8s_metrics_scrape_share_tick(ngx_k8s_metrics_scraper_t *s);
void ngx_k8s_metrics_scrape_share_in(ngx_k8s_metrics_scraper_t *s);
void ngx_k8s_metrics_scrape_share_check(ngx_event_t *ev);

/* ngx_k8s_metrics_scrape_cycle.c: a cycle, one transfer per kubelet */
ngx_int_t ngx_k8s_metrics_scrape_discovered(ngx_k8s_metrics_scraper_t *s);
ngx_uint_t ngx_k8s_metrics_scrape_owner(ngx_k8s_metrics_scraper_t *s,
    ngx_uint_t i);
ngx_int_t ngx_k8s_metrics_scraper_set_nodes(
    ngx_k8s_metrics_scraper_t *s, ngx_k8s_metrics_node_conf_t *nodes,
    ngx_uint_t n);
void ngx_k8s_metrics_kubelet_free(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k);
void ngx_k8s_metrics_scrape_wait(ngx_k8s_metrics_scraper_t *s);
ngx_flag_t ngx_k8s_metrics_scrape_unsynced(ngx_k8s_metrics_scraper_t *s);
void ngx_k8s_metrics_scrape_overrun(ngx_k8s_metrics_scraper_t *s);
void ngx_k8s_metrics_scrape_cycle(ngx_k8s_metrics_scraper_t *s);
ngx_int_t ngx_k8s_metrics_scrape_batches(ngx_k8s_metrics_scraper_t *s);
void ngx_k8s_metrics_scrape_publish(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_published_pt handler);
void ngx_k8s_metrics_scrape_publish_abort(ngx_k8s_metrics_scraper_t *s);

/* the last cycle's snapshot still being built here: a tick waits */
#define ngx_k8s_metrics_scrape_publishing(s)                                  \
    ((s)->dedup != NULL || (s)->publication != NULL)
void ngx_k8s_metrics_scrape_cycle_done(ngx_k8s_metrics_scraper_t *s,
    ngx_msec_t started);

/* ngx_k8s_metrics_scrape_easy.c: the pool of easy handles */
ngx_int_t ngx_k8s_metrics_scrape_easy_init(ngx_k8s_metrics_scraper_t *s);
ngx_int_t ngx_k8s_metrics_scrape_easy_get(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k);
void ngx_k8s_metrics_scrape_easy_put(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_uint_t reset);
void ngx_k8s_metrics_scrape_easy_exit(ngx_k8s_metrics_scraper_t *s);

/* ngx_k8s_metrics_scrape_fail.c: why a kubelet's scrape failed */
void ngx_k8s_metrics_scrape_failure_reason(
    ngx_k8s_metrics_kubelet_t *k, CURLcode result);
void ngx_k8s_metrics_scrape_fail(ngx_k8s_metrics_kubelet_t *k,
    const char *fmt, ...);

/* ngx_k8s_metrics_scrape_tls.c: the kubelets' credentials and TLS */
ngx_int_t ngx_k8s_metrics_scrape_token(ngx_k8s_metrics_scraper_t *s);
CURLcode ngx_k8s_metrics_scrape_ssl_ctx(CURL *easy, void *ssl_ctx,
    void *data);
void ngx_k8s_metrics_scrape_client_cert(ngx_k8s_metrics_scraper_t *s);

extern int  ngx_k8s_metrics_ssl_ctx_index;


#endif /* _NGX_K8S_METRICS_SCRAPE_H_INCLUDED_ */
