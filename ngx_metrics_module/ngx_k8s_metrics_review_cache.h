
/*
 * ngx_metrics_module: the review cache in the zone
 * (ngx_k8s_metrics_review_cache.c).
 */


#ifndef _NGX_K8S_METRICS_REVIEW_CACHE_H_INCLUDED_
#define _NGX_K8S_METRICS_REVIEW_CACHE_H_INCLUDED_


#include "ngx_k8s_metrics.h"


ngx_int_t ngx_k8s_metrics_review_cache_get(ngx_k8s_metrics_main_conf_t *kmcf,
    u_char *digest, ngx_uint_t kind, ngx_pool_t *pool, ngx_uint_t *allowed,
    ngx_str_t *data);
void ngx_k8s_metrics_review_cache_put(ngx_k8s_metrics_main_conf_t *kmcf,
    u_char *digest, ngx_uint_t kind, ngx_uint_t allowed, ngx_str_t *data,
    ngx_log_t *log);
void ngx_k8s_metrics_review_init_zone(ngx_k8s_metrics_shctx_t *sh);


#endif /* _NGX_K8S_METRICS_REVIEW_CACHE_H_INCLUDED_ */
