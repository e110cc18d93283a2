
/*
 * The responses: the writers (send.c), metav1.Status bodies (status.c),
 * the discovery documents (discovery.c) and the render cache (render.c).
 */


#ifndef _NGX_K8S_METRICS_SEND_H_INCLUDED_
#define _NGX_K8S_METRICS_SEND_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_emit.h"


struct json_t;


/* ngx_k8s_metrics_send.c */
ngx_int_t ngx_k8s_metrics_send_json(ngx_http_request_t *r,
    ngx_uint_t status, struct json_t *body);
ngx_int_t ngx_k8s_metrics_send_json_typed(ngx_http_request_t *r,
    ngx_uint_t status, struct json_t *body, ngx_str_t *type);
ngx_int_t ngx_k8s_metrics_emit_end(ngx_http_request_t *r,
    ngx_k8s_metrics_emit_t *e);
ngx_int_t ngx_k8s_metrics_send_emitted(ngx_http_request_t *r,
    ngx_uint_t status, ngx_k8s_metrics_emit_t *e);
ngx_str_t *ngx_k8s_metrics_body_type(ngx_uint_t binary);
ngx_int_t ngx_k8s_metrics_send_chain(ngx_http_request_t *r,
    ngx_uint_t status, ngx_chain_t *out, size_t size, ngx_str_t *type);
ngx_int_t ngx_k8s_metrics_send_text(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *text);
ngx_int_t ngx_k8s_metrics_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_k8s_metrics_add_nosniff(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_pretty(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_parse_bool(ngx_str_t *value);


/* ngx_k8s_metrics_status.c */
ngx_int_t ngx_k8s_metrics_send_status(ngx_http_request_t *r,
    ngx_uint_t code, const char *reason, struct json_t *details,
    const char *fmt, ...);
ngx_int_t ngx_k8s_metrics_send_unauthorized(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_send_forbidden(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *reason);
ngx_int_t ngx_k8s_metrics_send_not_found(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_send_method_not_supported(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_send_watch_not_supported(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);


/* ngx_k8s_metrics_discovery.c */
ngx_int_t ngx_k8s_metrics_send_discovery(ngx_http_request_t *r,
    struct json_t *body);
struct json_t *ngx_k8s_metrics_api_group_list(ngx_http_request_t *r);
struct json_t *ngx_k8s_metrics_api_group(void);
struct json_t *ngx_k8s_metrics_api_resource_list(void);
struct json_t *ngx_k8s_metrics_api_group_discovery_list(void);


/* ngx_k8s_metrics_render.c: what a request may find or keep there */

typedef struct {
    ngx_str_t                       key;        /* empty: nothing to keep */
    void                           *snapshot;
    int64_t                         published;
    time_t                          now;        /* its stamps */
    size_t                          now_len;
} ngx_k8s_metrics_render_req_t;


ngx_int_t ngx_k8s_metrics_render_lookup(ngx_http_request_t *r,
    ngx_k8s_metrics_render_req_t *rq);
void ngx_k8s_metrics_render_keep(ngx_http_request_t *r,
    ngx_k8s_metrics_render_req_t *rq, ngx_k8s_metrics_emit_t *e);


#endif /* _NGX_K8S_METRICS_SEND_H_INCLUDED_ */
