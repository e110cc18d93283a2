
/*
 * ngx_metrics_module: content negotiation as kube-apiserver's
 * (k8s.io/apiserver endpoints/handlers/negotiation), and the protobuf
 * answers built on ngx_k8s_metrics_protobuf.c (ngx_k8s_metrics_media.c).
 */


#ifndef _NGX_K8S_METRICS_MEDIA_H_INCLUDED_
#define _NGX_K8S_METRICS_MEDIA_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_emit.h"


typedef enum {
    NGX_K8S_METRICS_MEDIA_JSON = 0,
    NGX_K8S_METRICS_MEDIA_PROTOBUF
} ngx_k8s_metrics_media_e;


typedef struct {
    ngx_k8s_metrics_media_e         type;
    unsigned                        table:1;    /* as=Table (JSON only) */
    unsigned                        pretty:1;   /* the pretty=1 parameter */
} ngx_k8s_metrics_media_t;


ngx_int_t ngx_k8s_metrics_negotiate(ngx_http_request_t *r,
    ngx_flag_t resource, ngx_k8s_metrics_media_t *m);

void ngx_k8s_metrics_pb_emit_node(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_snode_t *node,
    ngx_flag_t swap, time_t now, ngx_flag_t item);
void ngx_k8s_metrics_pb_emit_pod(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_spod_t *pod,
    ngx_k8s_metrics_point_t *last, ngx_k8s_metrics_point_t *prev,
    ngx_flag_t swap, time_t now, ngx_flag_t item);
ngx_int_t ngx_k8s_metrics_pb_frame(ngx_http_request_t *r,
    ngx_k8s_metrics_emit_t *e, const char *api_version, const char *kind,
    ngx_flag_t list);


#endif /* _NGX_K8S_METRICS_MEDIA_H_INCLUDED_ */
