
/*
 * Kubernetes' canonical quantities, Go's time.Duration.String() and
 * RFC 3339 times (ngx_k8s_metrics_quantity.c): a pure unit; buffers of at
 * least NGX_K8S_METRICS_QUANTITY_LEN bytes, no terminating NUL written.
 */


#ifndef _NGX_K8S_METRICS_QUANTITY_H_INCLUDED_
#define _NGX_K8S_METRICS_QUANTITY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_K8S_METRICS_QUANTITY_LEN  48

u_char *ngx_k8s_metrics_format_cpu(u_char *p, uint64_t nanocores);
u_char *ngx_k8s_metrics_format_memory(u_char *p, uint64_t bytes);
u_char *ngx_k8s_metrics_format_duration(u_char *p, int64_t ns);
u_char *ngx_k8s_metrics_format_time(u_char *p, time_t t);


#endif /* _NGX_K8S_METRICS_QUANTITY_H_INCLUDED_ */
