
/*
 * The Prometheus text exposition format's label values and floats
 * (ngx_k8s_metrics_exposition.c): a pure unit; both write at most up to
 * last and return where they stopped.
 */


#ifndef _NGX_K8S_METRICS_EXPOSITION_H_INCLUDED_
#define _NGX_K8S_METRICS_EXPOSITION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


u_char *ngx_k8s_metrics_prom_escape(u_char *p, u_char *last,
    ngx_str_t *value);
u_char *ngx_k8s_metrics_prom_float(u_char *p, u_char *last, double value);


#endif /* _NGX_K8S_METRICS_EXPOSITION_H_INCLUDED_ */
