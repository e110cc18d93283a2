
/*
 * ngx_metrics_module: why a kubelet's scrape failed, in words an operator
 * can act on: its node's batch fails with the reason, logged once per
 * kind of failure.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_scrape.h"


static void ngx_k8s_metrics_scrape_fail_connect(
    ngx_k8s_metrics_kubelet_t *k);


/* why a scrape failed, in words an operator can act on */

void
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


void
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
