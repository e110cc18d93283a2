
/*
 * metrics-server's own metrics (ngx_k8s_metrics_msmetrics.c): what the
 * scraper and the responses observe, and their part of /metrics.
 */


#ifndef _NGX_K8S_METRICS_MSMETRICS_H_INCLUDED_
#define _NGX_K8S_METRICS_MSMETRICS_H_INCLUDED_


#include "ngx_k8s_metrics.h"


void ngx_k8s_metrics_observe_tick(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_msec_t duration);
void ngx_k8s_metrics_observe_freshness(ngx_k8s_metrics_main_conf_t *kmcf,
    int64_t *times, ngx_uint_t n);
u_char *ngx_k8s_metrics_prom_metrics_server(u_char *p, u_char *last,
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_snapshot_t *snap);
size_t ngx_k8s_metrics_prom_metrics_server_size(
    ngx_k8s_metrics_snapshot_t *snap);


#endif /* _NGX_K8S_METRICS_MSMETRICS_H_INCLUDED_ */
