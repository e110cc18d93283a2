
/*
 * ngx_metrics_module: request routing, Kubernetes' RequestInfo for the
 * paths this server knows.  Pure: strings in, a route out
 * (t/unit/test_route.c).
 */


#ifndef _NGX_K8S_METRICS_ROUTE_H_INCLUDED_
#define _NGX_K8S_METRICS_ROUTE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_K8S_METRICS_GROUP          "metrics.k8s.io"
#define NGX_K8S_METRICS_VERSION        "v1beta1"
#define NGX_K8S_METRICS_GROUP_VERSION  "metrics.k8s.io/v1beta1"


/* what a request asks for, as Kubernetes' RequestInfo */
typedef enum {
    NGX_K8S_METRICS_ROUTE_NOT_FOUND = 0,
    NGX_K8S_METRICS_ROUTE_APIS,
    NGX_K8S_METRICS_ROUTE_GROUP,
    NGX_K8S_METRICS_ROUTE_RESOURCES,
    NGX_K8S_METRICS_ROUTE_NODES,
    NGX_K8S_METRICS_ROUTE_PODS,
    NGX_K8S_METRICS_ROUTE_OPENAPI,
    NGX_K8S_METRICS_ROUTE_HEALTHZ,
    NGX_K8S_METRICS_ROUTE_LIVEZ,
    NGX_K8S_METRICS_ROUTE_READYZ,
    NGX_K8S_METRICS_ROUTE_METRICS,
    NGX_K8S_METRICS_ROUTE_REFUSED,      /* see raw_path_refused() */
    NGX_K8S_METRICS_ROUTE_VERSION
} ngx_k8s_metrics_route_e;


typedef struct {
    ngx_k8s_metrics_route_e         route;
    unsigned                        resource_request:1;
    ngx_str_t                       verb;       /* get, list; or HTTP verb */
    ngx_str_t                       resource;   /* nodes, pods */
    ngx_str_t                       namespace;  /* empty: all namespaces */
    ngx_str_t                       name;       /* empty: a list */
    ngx_str_t                       check;      /* /readyz/<check> */
    ngx_str_t                       path;
} ngx_k8s_metrics_request_info_t;


void ngx_k8s_metrics_route(ngx_str_t *uri, ngx_str_t *raw,
    ngx_k8s_metrics_request_info_t *info);


#endif /* _NGX_K8S_METRICS_ROUTE_H_INCLUDED_ */
