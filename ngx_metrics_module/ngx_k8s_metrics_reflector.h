
/*
 * ngx_metrics_module: the informer's state machine, as client-go's
 * reflector decides: what a watch event is, what follows the end of a
 * watch, how long to wait before trying again.  Pure: no I/O, no timer
 * (t/unit/test_reflector.c); informer.c does what it says.
 */


#ifndef _NGX_K8S_METRICS_REFLECTOR_H_INCLUDED_
#define _NGX_K8S_METRICS_REFLECTOR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_K8S_METRICS_BACKOFF_MIN     500
#define NGX_K8S_METRICS_BACKOFF_MAX     30000

/*
 * A watch that ends within 1 s without an event (client-go's "very short
 * watch") is a failure.  kube-apiserver ends watches so when it shuts down
 * (a watch again from the same resourceVersion is right, and costs
 * nothing), and when it cannot encode the next event for the form asked:
 * it closes the stream before that event, every watch from there ends the
 * same way, and only a list gets past it.  client-go lists again at the
 * first; two watches again, 0.5 s and 1 s apart, let a restart pass
 * without a list of every pod.
 */
#define NGX_K8S_METRICS_EMPTY_WATCHES   3
#define NGX_K8S_METRICS_SHORT_WATCH     1000


/* what an informer's handler is told */
#define NGX_K8S_METRICS_EVENT_RESET     0   /* a full list begins */
#define NGX_K8S_METRICS_EVENT_ADDED     1
#define NGX_K8S_METRICS_EVENT_MODIFIED  2
#define NGX_K8S_METRICS_EVENT_DELETED   3
#define NGX_K8S_METRICS_EVENT_SYNCED    4   /* the list is complete */


/* what follows the end of a watch */
typedef enum {
    NGX_K8S_METRICS_WATCH_LIST = 0,     /* list now: 410, an ERROR event */
    NGX_K8S_METRICS_WATCH_EMPTY,        /* empty watches in a row: list */
    NGX_K8S_METRICS_WATCH_FAILED,       /* watch again after a backoff */
    NGX_K8S_METRICS_WATCH_QUIET,        /* the same, ended without event */
    NGX_K8S_METRICS_WATCH_SHORT,        /* the same, ended within 1 s */
    NGX_K8S_METRICS_WATCH_AGAIN         /* watch again now */
} ngx_k8s_metrics_watch_end_e;


ngx_int_t ngx_k8s_metrics_watch_event(const char *type);
ngx_k8s_metrics_watch_end_e ngx_k8s_metrics_watch_ended(ngx_flag_t relist,
    long status, ngx_flag_t failed, ngx_uint_t events, ngx_msec_t elapsed,
    ngx_uint_t *empty_watches);
ngx_msec_t ngx_k8s_metrics_backoff(ngx_msec_t backoff);


#endif /* _NGX_K8S_METRICS_REFLECTOR_H_INCLUDED_ */
