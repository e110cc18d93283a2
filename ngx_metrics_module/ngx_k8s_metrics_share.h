
/*
 * A scrape cycle shared among the workers (ngx_k8s_metrics_share.c).
 */


#ifndef _NGX_K8S_METRICS_SHARE_H_INCLUDED_
#define _NGX_K8S_METRICS_SHARE_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"


/* k8s_metrics_scrape_share_threshold's default (see the README) */
#define NGX_K8S_METRICS_SHARE_THRESHOLD  1000
#define NGX_K8S_METRICS_SHARE_MAX        10000000


/* a worker's batches of a cycle, in the zone */
typedef struct {
    ngx_uint_t                      n;
    ngx_k8s_metrics_batch_t        *batches;    /* by node name */
} ngx_k8s_metrics_share_part_t;


char *ngx_k8s_metrics_share_threshold_check(ngx_conf_t *cf, void *post,
    void *data);
ngx_int_t ngx_k8s_metrics_share_begin(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t w, ngx_uint_t *n, ngx_uint_t *cycle);
ngx_msec_t ngx_k8s_metrics_share_started(ngx_k8s_metrics_main_conf_t *kmcf);
ngx_int_t ngx_k8s_metrics_share_finish(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t w, ngx_uint_t cycle, void *part,
    ngx_k8s_metrics_share_slot_t *slots);
ngx_int_t ngx_k8s_metrics_share_check(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t cycle, ngx_k8s_metrics_share_slot_t *slots);
void ngx_k8s_metrics_share_end(ngx_k8s_metrics_main_conf_t *kmcf);
void ngx_k8s_metrics_share_free(ngx_k8s_metrics_main_conf_t *kmcf,
    void *part);
ngx_k8s_metrics_share_part_t *ngx_k8s_metrics_share_stage(
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_batch_t *batches,
    ngx_uint_t nbatches, ngx_uint_t w, ngx_uint_t cycle);


#endif /* _NGX_K8S_METRICS_SHARE_H_INCLUDED_ */
