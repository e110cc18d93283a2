
/*
 * ngx_metrics_module: the scraper's libcurl easy handles, a pool of at most
 * NGX_K8S_METRICS_MAX_IN_FLIGHT instead of one per kubelet.  A kubelet
 * keeps its share handle, which holds its kept-alive connection, its DNS
 * entry and its TLS sessions; the easy handle that starts its transfer is
 * attached to that share, so libcurl finds the connection there, and is
 * detached from it when the transfer is done.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_scrape.h"


static void ngx_k8s_metrics_scrape_easy_options(ngx_k8s_metrics_scraper_t *s,
    CURL *easy);


ngx_int_t
ngx_k8s_metrics_scrape_easy_init(ngx_k8s_metrics_scraper_t *s)
{
    s->easies = ngx_alloc(NGX_K8S_METRICS_MAX_IN_FLIGHT * sizeof(CURL *),
                          s->log);
    if (s->easies == NULL) {
        return NGX_ERROR;
    }

    s->neasies = 0;

    return NGX_OK;
}


/* a handle for the kubelet's next transfer: NGX_ERROR if none */

ngx_int_t
ngx_k8s_metrics_scrape_easy_get(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k)
{
    CURL  *easy;

    if (s->neasies) {
        easy = s->easies[--s->neasies];

    } else {
        easy = curl_easy_init();
        if (easy == NULL) {
            ngx_log_error(NGX_LOG_ALERT, s->log, 0, "curl_easy_init() failed");
            return NGX_ERROR;
        }

        ngx_k8s_metrics_scrape_easy_options(s, easy);
    }

    curl_easy_setopt(easy, CURLOPT_SHARE, k->share);
    curl_easy_setopt(easy, CURLOPT_URL, k->node->url.data);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, k);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, s->headers);

    k->transfer.easy = easy;

    return NGX_OK;
}


/*
 * The handle back to the pool once out of the multi handle, detached from
 * the kubelet's share: the share can then be cleaned up with its connection.
 *
 * libcurl before 8.17 counts the retries of a request sent on a kept-alive
 * connection the kubelet had closed per easy handle, not per request (curl
 * issue #18926): once five were made in the handle's life, the next one is
 * refused ("Connection died, tried 5 times before giving up").  Only
 * curl_easy_reset() zeroes that count.  A retry opens a connection or fails
 * its transfer: only after such a transfer is the handle reset, which a
 * scrape on a kept-alive connection never pays.
 */

void
ngx_k8s_metrics_scrape_easy_put(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_kubelet_t *k, ngx_uint_t reset)
{
    CURL  *easy;

    easy = k->transfer.easy;
    if (easy == NULL) {
        return;
    }

    k->transfer.easy = NULL;

    curl_easy_setopt(easy, CURLOPT_SHARE, NULL);

    if (s->neasies == NGX_K8S_METRICS_MAX_IN_FLIGHT) {
        curl_easy_cleanup(easy);
        return;
    }

    if (reset) {
        curl_easy_reset(easy);
        ngx_k8s_metrics_scrape_easy_options(s, easy);
    }

    s->easies[s->neasies++] = easy;
}


void
ngx_k8s_metrics_scrape_easy_exit(ngx_k8s_metrics_scraper_t *s)
{
    ngx_uint_t  i;

    if (s->easies == NULL) {
        return;
    }

    for (i = 0; i < s->neasies; i++) {
        curl_easy_cleanup(s->easies[i]);
    }

    ngx_free(s->easies);
    s->easies = NULL;
    s->neasies = 0;
}


/* the options every kubelet's scrape has, on a new or reset handle */

static void
ngx_k8s_metrics_scrape_easy_options(ngx_k8s_metrics_scraper_t *s, CURL *easy)
{
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = s->kmcf;

    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) kmcf->kubelet.timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) kmcf->kubelet.timeout);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) kmcf->kubelet.max_body);
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

    /* the pair could not be read when the scraper started: libcurl tries */

    if (kmcf->kubelet.certificate.len && s->key == NULL) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT,
                         kmcf->kubelet.certificate.data);
        curl_easy_setopt(easy, CURLOPT_SSLKEY,
                         kmcf->kubelet.certificate_key.data);
    }
}
