
/*
 * Authentication and authorization: authn.c, authz.c, review.c
 * (SubjectAccessReview, TokenReview), authconfig.c (the authentication
 * ConfigMap).
 */


#ifndef _NGX_K8S_METRICS_AUTH_H_INCLUDED_
#define _NGX_K8S_METRICS_AUTH_H_INCLUDED_


#include "ngx_k8s_metrics.h"


struct json_t;


typedef enum {
    NGX_K8S_METRICS_AUTHZ_WEBHOOK = 0,
    NGX_K8S_METRICS_AUTHZ_ALWAYS_ALLOW
} ngx_k8s_metrics_authz_mode_e;


/* ngx_k8s_metrics_authn.c */
ngx_int_t ngx_k8s_metrics_authenticate(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx);


/* ngx_k8s_metrics_review.c: SubjectAccessReview, TokenReview */

#define NGX_K8S_METRICS_REVIEW_ACCESS  0
#define NGX_K8S_METRICS_REVIEW_TOKEN   1

/*
 * A review the request waits for, as ngx_resolver_ctx_t: the caller keeps
 * it and sets handler and data; when the answer is in, review.c fills it
 * and calls the handler, and the caller asks again to read the answer.
 */

typedef void (*ngx_k8s_metrics_review_handler_pt)(
    ngx_k8s_metrics_review_ctx_t *review);

struct ngx_k8s_metrics_review_ctx_s {
    ngx_k8s_metrics_review_handler_pt  handler;
    void                              *data;
    ngx_str_t                          answer;  /* user JSON, or reason */
    unsigned                           done:1;
    unsigned                           failed:1;
    unsigned                           allowed:1;
};

ngx_int_t ngx_k8s_metrics_review_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf);
void ngx_k8s_metrics_review_exit(void);
ngx_int_t ngx_k8s_metrics_review_token(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *token);
ngx_int_t ngx_k8s_metrics_review_access(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *reason);
void ngx_k8s_metrics_review_init_zone(ngx_k8s_metrics_shctx_t *sh);


/* ngx_k8s_metrics_authconfig.c: the authentication ConfigMap */
void ngx_k8s_metrics_authconfig_update(ngx_k8s_metrics_main_conf_t *kmcf,
    struct json_t *data, ngx_log_t *log);
void ngx_k8s_metrics_authconfig_apply(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf);


/* ngx_k8s_metrics_authz.c */
ngx_int_t ngx_k8s_metrics_authorize(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx,
    ngx_str_t *reason);


#endif /* _NGX_K8S_METRICS_AUTH_H_INCLUDED_ */
