
/*
 * ngx_metrics_module: the informer's state machine (client-go's
 * tools/cache/reflector.go decisions), kept apart from the calls that
 * carry it out (informer.c).
 */


#include "ngx_k8s_metrics_reflector.h"


/*
 * A watch event's "type": the handler's event for ADDED, MODIFIED and
 * DELETED; NGX_ERROR for ERROR (the watch ends, a list follows);
 * NGX_DECLINED for BOOKMARK and any other type, which only move the
 * resourceVersion on.
 */

ngx_int_t
ngx_k8s_metrics_watch_event(const char *type)
{
    if (ngx_strcmp(type, "ERROR") == 0) {
        return NGX_ERROR;
    }

    if (ngx_strcmp(type, "ADDED") == 0) {
        return NGX_K8S_METRICS_EVENT_ADDED;
    }

    if (ngx_strcmp(type, "MODIFIED") == 0) {
        return NGX_K8S_METRICS_EVENT_MODIFIED;
    }

    if (ngx_strcmp(type, "DELETED") == 0) {
        return NGX_K8S_METRICS_EVENT_DELETED;
    }

    return NGX_DECLINED;
}


/*
 * A watch ended: relist (an ERROR event was seen) or "410 Gone" lists
 * again at once; NGX_K8S_METRICS_EMPTY_WATCHES watches in a row that ended
 * within 1 s without an event list again after a backoff; a failure (an
 * HTTP status other than 200, or an error other than the stream's own
 * timeout) and a watch that ended within 1 s watch again after a backoff;
 * anything else watches again at once.  *empty_watches counts the empty
 * ones in a row.
 */

ngx_k8s_metrics_watch_end_e
ngx_k8s_metrics_watch_ended(ngx_flag_t relist, long status, ngx_flag_t failed,
    ngx_uint_t events, ngx_msec_t elapsed, ngx_uint_t *empty_watches)
{
    ngx_flag_t  empty;

    if (relist || status == 410) {
        return NGX_K8S_METRICS_WATCH_LIST;
    }

    empty = status == 200 && events == 0
            && elapsed < NGX_K8S_METRICS_SHORT_WATCH;

    *empty_watches = empty ? *empty_watches + 1 : 0;

    if (*empty_watches == NGX_K8S_METRICS_EMPTY_WATCHES) {
        *empty_watches = 0;
        return NGX_K8S_METRICS_WATCH_EMPTY;
    }

    if (status != 200 || failed) {
        return NGX_K8S_METRICS_WATCH_FAILED;
    }

    if (empty) {
        return NGX_K8S_METRICS_WATCH_QUIET;
    }

    if (elapsed < NGX_K8S_METRICS_SHORT_WATCH) {
        return NGX_K8S_METRICS_WATCH_SHORT;
    }

    return NGX_K8S_METRICS_WATCH_AGAIN;
}


/* the next wait before a retry: 0.5 s, doubled each time, at most 30 s */

ngx_msec_t
ngx_k8s_metrics_backoff(ngx_msec_t backoff)
{
    return backoff ? ngx_min(backoff * 2, NGX_K8S_METRICS_BACKOFF_MAX)
                   : NGX_K8S_METRICS_BACKOFF_MIN;
}
