
/*
 * What the resource handlers (ngx_k8s_metrics_resources.c) and the
 * documents they write (ngx_k8s_metrics_resources_object.c) share: the
 * query of a request.
 */


#ifndef _NGX_K8S_METRICS_RESOURCES_H_INCLUDED_
#define _NGX_K8S_METRICS_RESOURCES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_quantity.h"


typedef struct {
    ngx_k8s_metrics_main_conf_t    *kmcf;
    ngx_k8s_metrics_snapshot_t     *snap;
    ngx_http_request_t             *r;
    ngx_array_t                    *labels;     /* requirements, or NULL */
    ngx_array_t                    *fields;
    ngx_flag_t                      table;
    ngx_flag_t                      table_rows;   /* "rows" opened */
    ngx_flag_t                      protobuf;
    const char                     *kind;       /* of a protobuf get */
    ngx_flag_t                      table_swap;   /* a "swap" column */
    ngx_k8s_metrics_emit_t          emit;
    ngx_k8s_metrics_render_req_t    render;
    ngx_int_t                       rc;         /* of a response sent */
    ngx_event_t                     slice;      /* the next slice, posted */
    ngx_uint_t                      next;       /* its first item */
    ngx_str_t                       namespace_only;
    const char                     *list_kind;
    ngx_queue_t                     queue;      /* in ..._rendering */
    unsigned                        pods:1;
    unsigned                        rendering:1;
    unsigned                        waiting:1;  /* for another's rendering */
    time_t                          now_time;
    u_char                          now[NGX_K8S_METRICS_QUANTITY_LEN];
    size_t                          now_len;

    /* what a label lookup sees */
    ngx_k8s_metrics_slabel_t       *lookup_labels;
    ngx_uint_t                      nlookup_labels;
    ngx_str_t                       name;
    ngx_str_t                       namespace;
    ngx_str_t                       value;
} ngx_k8s_metrics_query_t;


/* ngx_k8s_metrics_resources_object.c */
ngx_int_t ngx_k8s_metrics_query_init(ngx_http_request_t *r,
    ngx_k8s_metrics_query_t *q, ngx_flag_t list);
ngx_flag_t ngx_k8s_metrics_query_matches(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name);
void ngx_k8s_metrics_begin(ngx_k8s_metrics_query_t *q,
    const char *list_kind);
ngx_int_t ngx_k8s_metrics_end(ngx_k8s_metrics_query_t *q,
    const char *list_kind);
void ngx_k8s_metrics_node(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node, const char *kind);
void ngx_k8s_metrics_pod(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod, const char *kind);


#endif /* _NGX_K8S_METRICS_RESOURCES_H_INCLUDED_ */
