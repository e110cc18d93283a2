
/*
 * ngx_metrics_module: the store's rate and window rules, as
 * metrics-server's pkg/storage keeps its last and prev points.  Pure:
 * points in, points out, nothing allocated (t/unit/test_rate.c).
 */


#ifndef _NGX_K8S_METRICS_RATE_H_INCLUDED_
#define _NGX_K8S_METRICS_RATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* metrics-server's freshContainerMinMetricsResolution, ms */
#define NGX_K8S_METRICS_FRESH_MIN     10000


typedef struct {
    uint64_t                        cpu;        /* cumulative, ns */
    int64_t                         time;       /* ms; 0: no point */
} ngx_k8s_metrics_point_t;


ngx_flag_t ngx_k8s_metrics_node_prev(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *olast, ngx_k8s_metrics_point_t *oprev,
    ngx_k8s_metrics_point_t *prev);
ngx_flag_t ngx_k8s_metrics_container_prev(ngx_k8s_metrics_point_t *last,
    int64_t start, ngx_k8s_metrics_point_t *olast,
    ngx_k8s_metrics_point_t *oprev, ngx_msec_t resolution,
    ngx_k8s_metrics_point_t *prev);
uint64_t ngx_k8s_metrics_cpu_rate(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev);


#endif /* _NGX_K8S_METRICS_RATE_H_INCLUDED_ */
