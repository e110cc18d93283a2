
/*
 * ngx_metrics_module: the store's rate and window rules (metrics-server's
 * pkg/storage node.go, pod.go and types.go resourceUsage()).
 *
 * A series is a last point and the prev point a rate is taken against; a
 * point with time 0 is none.  Each scrape gives a new last point; the
 * functions below say what prev becomes, and whether the pair counts for
 * readiness (metrics-server's storage is ready once a prev point exists,
 * even one its rate then refuses).
 */


#include "ngx_k8s_metrics_rate.h"


static ngx_flag_t ngx_k8s_metrics_keep_prev(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *olast, ngx_k8s_metrics_point_t *oprev,
    ngx_k8s_metrics_point_t *prev);


/*
 * As metrics-server's node storage: the new point becomes the last one;
 * the previous last one, if older, becomes prev; a point no newer than the
 * last keeps the old prev if that is older than the new point.  olast NULL:
 * the node had no point.  A decrease of the counter starts over (where
 * metrics-server keeps the pair and fails its rate: it counts for
 * readiness all the same).
 */

ngx_flag_t
ngx_k8s_metrics_node_prev(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *olast, ngx_k8s_metrics_point_t *oprev,
    ngx_k8s_metrics_point_t *prev)
{
    ngx_memzero(prev, sizeof(ngx_k8s_metrics_point_t));

    if (olast == NULL) {
        return 0;
    }

    return ngx_k8s_metrics_keep_prev(last, olast, oprev, prev);
}


/*
 * As metrics-server's pod storage: a container started within the last
 * resolution (but at least 10s ago) gets a first point at its start time
 * with no CPU used, so that it has a value after one scrape; otherwise the
 * last point moves to prev when the container did not restart since (start
 * time before the last point) and the new point is newer.  start 0: not
 * known; olast NULL or of time 0: no point before.
 */

ngx_flag_t
ngx_k8s_metrics_container_prev(ngx_k8s_metrics_point_t *last, int64_t start,
    ngx_k8s_metrics_point_t *olast, ngx_k8s_metrics_point_t *oprev,
    ngx_msec_t resolution, ngx_k8s_metrics_point_t *prev)
{
    int64_t  age;

    ngx_memzero(prev, sizeof(ngx_k8s_metrics_point_t));

    age = last->time - start;

    if (start && age > 0 && age < (int64_t) resolution
        && age >= NGX_K8S_METRICS_FRESH_MIN)
    {
        prev->time = start;
        prev->cpu = 0;

        return 1;
    }

    if (olast == NULL || olast->time == 0 || start >= olast->time) {
        return 0;
    }

    return ngx_k8s_metrics_keep_prev(last, olast, oprev, prev);
}


static ngx_flag_t
ngx_k8s_metrics_keep_prev(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *olast, ngx_k8s_metrics_point_t *oprev,
    ngx_k8s_metrics_point_t *prev)
{
    if (last->time > olast->time) {
        *prev = *olast;

    } else if (oprev->time && oprev->time < last->time) {
        *prev = *oprev;

    }

    if (prev->time == 0) {
        return 0;
    }

    if (prev->cpu > last->cpu) {
        ngx_memzero(prev, sizeof(ngx_k8s_metrics_point_t));
    }

    return 1;
}


/*
 * Nanocores, as metrics-server: uint64(float64(delta ns) / window seconds);
 * a rate beyond 2^64 (a counter jumping by centuries within a second) is
 * the largest one, where the conversion would be undefined.
 */

uint64_t
ngx_k8s_metrics_cpu_rate(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev)
{
    double  window, rate;

    window = (double) (last->time - prev->time) / 1000;

    if (window <= 0) {
        return 0;
    }

    rate = (double) (last->cpu - prev->cpu) / window;

    if (rate >= 18446744073709551616.0) {
        return UINT64_MAX;
    }

    return (uint64_t) rate;
}
