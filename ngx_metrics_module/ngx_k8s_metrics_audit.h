
/*
 * The audit trail (ngx_k8s_metrics_audit.c): $k8s_metrics_audit_event,
 * the Audit-Id of a request and the decision taken on it.
 */


#ifndef _NGX_K8S_METRICS_AUDIT_H_INCLUDED_
#define _NGX_K8S_METRICS_AUDIT_H_INCLUDED_


#include "ngx_k8s_metrics.h"


#define NGX_K8S_METRICS_AUDIT_ALLOW   1
#define NGX_K8S_METRICS_AUDIT_FORBID  2
#define NGX_K8S_METRICS_AUDIT_ERROR   3

ngx_int_t ngx_k8s_metrics_audit_init(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx);
void ngx_k8s_metrics_audit_decision(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_uint_t decision, ngx_str_t *reason);
ngx_int_t ngx_k8s_metrics_audit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


#endif /* _NGX_K8S_METRICS_AUDIT_H_INCLUDED_ */
