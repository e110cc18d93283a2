
/*
 * Unit tests of ngx_k8s_metrics_reflector.c: the informer's transitions
 * (client-go tools/cache/reflector.go: watch event types, what follows
 * the end of a watch, the retry backoff).
 */


#include "unit.h"
#include "ngx_k8s_metrics_reflector.h"


#define W(name)  NGX_K8S_METRICS_WATCH_ ## name


static void
test_events(void)
{
    check(ngx_k8s_metrics_watch_event("ADDED") == NGX_K8S_METRICS_EVENT_ADDED,
          "ADDED");
    check(ngx_k8s_metrics_watch_event("MODIFIED")
          == NGX_K8S_METRICS_EVENT_MODIFIED, "MODIFIED");
    check(ngx_k8s_metrics_watch_event("DELETED")
          == NGX_K8S_METRICS_EVENT_DELETED, "DELETED");
    check(ngx_k8s_metrics_watch_event("ERROR") == NGX_ERROR, "ERROR");
    check(ngx_k8s_metrics_watch_event("BOOKMARK") == NGX_DECLINED,
          "BOOKMARK: the resourceVersion only");

    /* types are case-sensitive, unknown ones only move the version on */
    check(ngx_k8s_metrics_watch_event("added") == NGX_DECLINED, "added");
    check(ngx_k8s_metrics_watch_event("") == NGX_DECLINED, "empty type");
    check(ngx_k8s_metrics_watch_event("ADDED ") == NGX_DECLINED, "ADDED ");
    check(ngx_k8s_metrics_watch_event("Error") == NGX_DECLINED, "Error");
}


/*
 * One watch end each: relist, status, failed, events, elapsed, the empty
 * watches in a row before (-1: as the previous row left them), what
 * follows, and the count after.
 */

typedef struct {
    ngx_flag_t                   relist;
    long                         status;
    ngx_flag_t                   failed;
    ngx_uint_t                   events;
    ngx_msec_t                   elapsed;
    int                          before;
    ngx_k8s_metrics_watch_end_e  next;
    ngx_uint_t                   after;
    const char                  *what;
} watch_end_t;


static watch_end_t  watch_ends[] = {

    /* the stream's own timeout after minutes: watch again at once */
    { 0, 200, 0, 5, 300000, 2, W(AGAIN), 0, "long watch, count reset" },
    { 0, 200, 0, 0, 300000, 0, W(AGAIN), 0, "long watch without events" },

    /* 410 Gone, or an ERROR event seen: list at once, whatever else */
    { 0, 410, 0, 0, 10, 1, W(LIST), 1, "410: list" },
    { 1, 200, 0, 3, 300000, 0, W(LIST), 0, "ERROR event: list" },
    { 1, 500, 1, 0, 10, 0, W(LIST), 0, "ERROR event over a failure" },
    { 0, 410, 0, 0, 5, 2, W(LIST), 2, "410 leaves the count" },

    /* a failure: watch again after a backoff */
    { 0, 500, 0, 0, 5000, 0, W(FAILED), 0, "HTTP 500" },
    { 0, 403, 0, 0, 5000, 0, W(FAILED), 0, "HTTP 403" },
    { 0, 0, 1, 0, 5000, 0, W(FAILED), 0, "connection error" },
    { 0, 200, 1, 4, 5000, 0, W(FAILED), 0, "cut after events" },
    { 0, 500, 0, 0, 10, 0, W(FAILED), 0, "a quick failure: not empty" },
    { 0, 503, 0, 0, 5, 2, W(FAILED), 0, "a failure resets the count" },

    /* ended within 1 s: again after a backoff, quiet when without event */
    { 0, 200, 0, 0, 999, 0, W(QUIET), 1, "999 ms, no event: quiet" },
    { 0, 200, 0, 2, 999, 0, W(SHORT), 0, "999 ms, events: short" },
    { 0, 200, 0, 0, 1000, 0, W(AGAIN), 0, "1000 ms: no short watch" },
    { 0, 200, 0, 1, 5, 2, W(SHORT), 0, "an event resets the count" },

    /* three empty ones in a row: list (after a backoff) */
    { 0, 200, 0, 0, 5, 0, W(QUIET), 1, "first empty" },
    { 0, 200, 0, 0, 5, -1, W(QUIET), 2, "second empty" },
    { 0, 200, 0, 0, 5, -1, W(EMPTY), 0, "third empty: list" },
    { 0, 200, 0, 0, 5, -1, W(QUIET), 1, "counted again from one" },
};


static void
test_watch_end(void)
{
    ngx_uint_t                    i, empty;
    watch_end_t                  *w;
    ngx_k8s_metrics_watch_end_e   next;

    empty = 0;

    for (i = 0; i < sizeof(watch_ends) / sizeof(watch_ends[0]); i++) {
        w = &watch_ends[i];

        if (w->before >= 0) {
            empty = (ngx_uint_t) w->before;
        }

        next = ngx_k8s_metrics_watch_ended(w->relist, w->status, w->failed,
                                           w->events, w->elapsed, &empty);

        check(next == w->next && empty == w->after,
              "%s: next %d, %lu empty; expected %d, %lu", w->what,
              (int) next, (unsigned long) empty, (int) w->next,
              (unsigned long) w->after);
    }
}


static void
test_backoff(void)
{
    ngx_msec_t  b;
    ngx_uint_t  i;

    check(ngx_k8s_metrics_backoff(0) == 500, "first wait 500 ms");
    check(ngx_k8s_metrics_backoff(500) == 1000, "doubled");
    check(ngx_k8s_metrics_backoff(16000) == 30000, "capped at 30 s");
    check(ngx_k8s_metrics_backoff(30000) == 30000, "stays at 30 s");

    b = 0;

    for (i = 0; i < 7; i++) {
        b = ngx_k8s_metrics_backoff(b);
    }

    check(b == 30000, "500 * 2^6 = 32000: capped");
}


int
main(void)
{
    test_events();
    test_watch_end();
    test_backoff();

    return unit_done("test_reflector");
}
