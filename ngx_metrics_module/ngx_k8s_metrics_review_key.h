
/*
 * ngx_metrics_module: a request's SubjectAccessReview spec and its cache
 * key (ngx_k8s_metrics_review_key.c).
 */


#ifndef _NGX_K8S_METRICS_REVIEW_KEY_H_INCLUDED_
#define _NGX_K8S_METRICS_REVIEW_KEY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_identity.h"
#include "ngx_k8s_metrics_route.h"


struct json_t;


struct json_t *ngx_k8s_metrics_review_spec(ngx_pool_t *pool,
    ngx_k8s_metrics_identity_t *id, ngx_k8s_metrics_request_info_t *info,
    u_char *digest);


#endif /* _NGX_K8S_METRICS_REVIEW_KEY_H_INCLUDED_ */
