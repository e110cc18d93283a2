
/*
 * ngx_metrics_module: the scraper.  One per nginx instance (worker 0, or
 * the single process; from k8s_metrics_scrape_share_threshold nodes on,
 * and with nodes from the apiserver, one per worker, each with its share
 * of the kubelets), started and
 * stopped with its process, on a cancelable nginx timer every resolution.
 * A cycle and its transfers are in ngx_k8s_metrics_scrape_cycle.c, the
 * shared cycle in ngx_k8s_metrics_scrape_share.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_share.h"
#include "ngx_k8s_metrics_scrape.h"


static void ngx_k8s_metrics_scrape_tick(ngx_event_t *ev);


static ngx_k8s_metrics_scraper_t  *ngx_k8s_metrics_scraper;


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
    s->share_nslots = s->shares;

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
    if (s->lines == NULL || ngx_k8s_metrics_scrape_easy_init(s) != NGX_OK) {
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

    s->share_in = ngx_k8s_metrics_scrape_share_in;

    if (s->shares && s->cluster) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "k8s metrics: nodes from the apiserver: from "
                      "k8s_metrics_scrape_share_threshold (%ui) on, worker "
                      "%ui scrapes its share of them, one in %ui",
                      kmcf->share_threshold, s->share_worker, s->shares);

    } else if (s->shares) {
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
 * static nodes on, and with nodes from the apiserver (each cycle then has
 * one share, worker 0's, below the threshold: share_tick()); 0, one
 * scraper as below it, in the single process or with one worker.
 */

ngx_uint_t
ngx_k8s_metrics_scraper_shares(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ngx_process != NGX_PROCESS_WORKER
        || ccf->worker_processes < 2
        || (kmcf->apiserver.url.len == 0
            && (kmcf->kubelet.nodes == NULL
                || kmcf->kubelet.nodes->nelts < kmcf->share_threshold)))
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

    /* the snapshot half built is freed, the previous one stays */

    ngx_k8s_metrics_scrape_publish_abort(s);

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

    ngx_k8s_metrics_scrape_easy_exit(s);
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

    ngx_k8s_metrics_share_end(s->kmcf);

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

    if (ngx_k8s_metrics_scrape_publishing(s)) {
        ngx_k8s_metrics_scrape_wait(s);
        return;
    }

    if (!s->running && ngx_k8s_metrics_scrape_unsynced(s)) {
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
