
/*
 * Every body the module sends (ngx_k8s_metrics_json.c).
 */


#ifndef _NGX_K8S_METRICS_JSON_H_INCLUDED_
#define _NGX_K8S_METRICS_JSON_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_emit.h"


struct json_t;


ngx_int_t ngx_k8s_metrics_send_json(ngx_http_request_t *r,
    ngx_uint_t status, struct json_t *body);
ngx_int_t ngx_k8s_metrics_send_emitted(ngx_http_request_t *r,
    ngx_uint_t status, ngx_k8s_metrics_emit_t *e);
ngx_int_t ngx_k8s_metrics_send_text(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *text);
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
ngx_int_t ngx_k8s_metrics_send_discovery(ngx_http_request_t *r,
    struct json_t *body);
ngx_flag_t ngx_k8s_metrics_pretty(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_parse_bool(ngx_str_t *value);
ngx_int_t ngx_k8s_metrics_render_lookup(ngx_http_request_t *r,
    void *snapshot, int64_t published, ngx_str_t *key, time_t now,
    size_t now_len);
struct json_t *ngx_k8s_metrics_api_group_list(ngx_http_request_t *r);
struct json_t *ngx_k8s_metrics_api_group(void);
struct json_t *ngx_k8s_metrics_api_resource_list(void);
struct json_t *ngx_k8s_metrics_api_group_discovery_list(void);


#endif /* _NGX_K8S_METRICS_JSON_H_INCLUDED_ */
