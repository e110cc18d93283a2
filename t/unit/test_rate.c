
/*
 * Unit tests of ngx_k8s_metrics_rate.c: metrics-server's storage rules
 * (pkg/storage node.go nodeStorage.Store(), pod.go podStorage.Store(),
 * types.go resourceUsage()), one case per rule.
 */


#include "unit.h"
#include "ngx_k8s_metrics_rate.h"

#include <stdint.h>


#define RES  15000      /* the metric resolution, ms */


typedef ngx_k8s_metrics_point_t  point_t;


static point_t  none;


static point_t
pt(uint64_t cpu, int64_t time)
{
    point_t  p;

    p.cpu = cpu;
    p.time = time;

    return p;
}


#define same(p, c, t)  ((p).cpu == (c) && (p).time == (t))


static void
test_node(void)
{
    point_t     last, olast, oprev, prev;
    ngx_flag_t  ready;

    /* a node seen for the first time: no pair */
    last = pt(5000, 100000);
    prev = pt(1, 1);
    ready = ngx_k8s_metrics_node_prev(&last, NULL, NULL, &prev);
    check(!ready && same(prev, 0, 0), "first point: no prev");

    /* a newer point: the stored last moves to prev */
    olast = pt(4000, 85000);
    oprev = pt(3000, 70000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(ready && same(prev, 4000, 85000), "newer point: prev = old last");

    /* the same point again (kubelet not rescraped): the old prev is kept */
    last = pt(4000, 85000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(ready && same(prev, 3000, 70000), "same timestamp: old prev kept");

    /* an older point than the last one, still newer than prev: kept */
    last = pt(3500, 80000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(ready && same(prev, 3000, 70000), "older than last: prev kept");

    /* a point no newer than the stored prev: prev dropped */
    last = pt(3000, 70000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(!ready && same(prev, 0, 0), "point as old as prev: prev dropped");

    last = pt(2000, 60000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(!ready && same(prev, 0, 0), "point older than prev: prev dropped");

    /* not newer, and no prev stored: none */
    last = pt(4000, 85000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &none, &prev);
    check(!ready && same(prev, 0, 0), "same timestamp, no old prev: none");

    /*
     * the counter went down (a node reboot): metrics-server keeps the pair
     * and refuses its rate ("unexpected decrease in cumulative CPU usage
     * value"); readiness counts it, the series starts over here
     */
    last = pt(100, 100000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(ready && same(prev, 0, 0), "counter decrease: ready, no prev");

    /* an equal counter is no decrease: a rate of 0 */
    last = pt(4000, 100000);
    ready = ngx_k8s_metrics_node_prev(&last, &olast, &oprev, &prev);
    check(ready && same(prev, 4000, 85000), "flat counter: prev kept");

    /* the stored last was a dropped point (time 0): nothing to pair */
    last = pt(5000, 100000);
    ready = ngx_k8s_metrics_node_prev(&last, &none, &none, &prev);
    check(!ready && same(prev, 0, 0), "dropped old point: no prev");
}


static void
test_container(void)
{
    point_t     last, olast, oprev, prev;
    ngx_flag_t  ready;

    /* fresh container: started 12s before its first point, within RES */
    last = pt(700, 112000);
    ready = ngx_k8s_metrics_container_prev(&last, 100000, NULL, NULL, RES,
                                           &prev);
    check(ready && same(prev, 0, 100000), "fresh: prev at start, cpu 0");

    /* exactly freshContainerMinMetricsResolution old: still fresh */
    last = pt(700, 110000);
    ready = ngx_k8s_metrics_container_prev(&last, 100000, NULL, NULL, RES,
                                           &prev);
    check(ready && same(prev, 0, 100000), "10s old: fresh");

    /* younger than 10s: no first point (its rate would be noise) */
    last = pt(700, 109999);
    ready = ngx_k8s_metrics_container_prev(&last, 100000, NULL, NULL, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "under 10s old: not fresh");

    /* as old as the resolution: not fresh (strictly less) */
    last = pt(700, 100000 + RES);
    ready = ngx_k8s_metrics_container_prev(&last, 100000, NULL, NULL, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "resolution old: not fresh");

    /* a start time after the point, or none: not fresh */
    last = pt(700, 100000);
    ready = ngx_k8s_metrics_container_prev(&last, 112000, NULL, NULL, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "start after the point: not fresh");

    ready = ngx_k8s_metrics_container_prev(&last, 0, NULL, NULL, RES, &prev);
    check(!ready && same(prev, 0, 0), "no start time, no old point: none");

    /* the fresh rule wins over a stored point */
    olast = pt(50, 95000);
    oprev = none;
    last = pt(700, 112000);
    ready = ngx_k8s_metrics_container_prev(&last, 100000, &olast, &oprev,
                                           RES, &prev);
    check(ready && same(prev, 0, 100000), "fresh over stored point");

    /* no restart (started before the stored point), newer: last -> prev */
    olast = pt(4000, 85000);
    oprev = pt(3000, 70000);
    last = pt(5000, 100000);
    ready = ngx_k8s_metrics_container_prev(&last, 1000, &olast, &oprev, RES,
                                           &prev);
    check(ready && same(prev, 4000, 85000), "newer point: prev = old last");

    /* the same point again: the old prev is kept */
    last = pt(4000, 85000);
    ready = ngx_k8s_metrics_container_prev(&last, 1000, &olast, &oprev, RES,
                                           &prev);
    check(ready && same(prev, 3000, 70000), "same timestamp: old prev kept");

    /* a point no newer than the stored prev: dropped */
    last = pt(3000, 70000);
    ready = ngx_k8s_metrics_container_prev(&last, 1000, &olast, &oprev, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "as old as prev: dropped");

    /* a restart: started at or after the stored point, none kept */
    last = pt(200, 100000);
    ready = ngx_k8s_metrics_container_prev(&last, 85000, &olast, &oprev, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "restart at the stored point: none");

    last = pt(200, 130000);
    ready = ngx_k8s_metrics_container_prev(&last, 90000, &olast, &oprev, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "restart after the stored point: none");

    /* a restart within the resolution: the fresh rule gives its first pair */
    last = pt(200, 100000);
    ready = ngx_k8s_metrics_container_prev(&last, 90000, &olast, &oprev, RES,
                                           &prev);
    check(ready && same(prev, 0, 90000), "recent restart: fresh pair");

    /* a restart the start time does not show: the counter went down */
    last = pt(200, 100000);
    ready = ngx_k8s_metrics_container_prev(&last, 1000, &olast, &oprev, RES,
                                           &prev);
    check(ready && same(prev, 0, 0), "counter decrease: ready, no prev");

    /* unknown start time, stored point: no restart seen, prev kept */
    last = pt(5000, 100000);
    ready = ngx_k8s_metrics_container_prev(&last, 0, &olast, &oprev, RES,
                                           &prev);
    check(ready && same(prev, 4000, 85000), "no start time: last -> prev");

    /* the stored last was a dropped point: nothing to pair */
    ready = ngx_k8s_metrics_container_prev(&last, 1000, &none, &none, RES,
                                           &prev);
    check(!ready && same(prev, 0, 0), "dropped old point: no prev");
}


static void
test_cpu_rate(void)
{
    point_t  last, prev;

    /* one CPU second over one second: one core */
    last = pt(2000000000, 2000);
    prev = pt(1000000000, 1000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 1000000000,
          "1s over 1s");

    /* 1.5 CPU seconds over 15s: 100m */
    last = pt(1500000000, 15000);
    prev = pt(0, 0);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 100000000,
          "1.5s over 15s");

    /* Go's uint64(float64): truncated, not rounded */
    last = pt(20, 3000);
    prev = pt(0, 0);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 6, "20ns over 3s: 6");

    last = pt(2, 3000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 0, "2ns over 3s: 0");

    /* a flat counter: 0 */
    last = pt(500, 3000);
    prev = pt(500, 1000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 0, "flat counter: 0");

    /* no window (same timestamps) or a negative one: 0, no division */
    last = pt(900, 1000);
    prev = pt(500, 1000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 0, "zero window: 0");

    prev = pt(500, 2000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 0, "negative window: 0");

    /* past 2^64 nanocores: the largest, not an undefined conversion */
    last = pt(UINT64_MAX, 1001);
    prev = pt(0, 1000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == UINT64_MAX,
          "overflow: UINT64_MAX");

    /* millisecond windows: 1ms of CPU in 1ms is one core */
    last = pt(1000000, 1001);
    prev = pt(0, 1000);
    check(ngx_k8s_metrics_cpu_rate(&last, &prev) == 1000000000,
          "1ms over 1ms");
}


int
main(void)
{
    test_node();
    test_container();
    test_cpu_rate();

    return unit_done("test_rate");
}
