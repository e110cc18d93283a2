
/*
 * ngx_metrics_module: the protobuf wire form of the metrics.k8s.io/v1beta1
 * kinds and of metav1.Status, as kube-apiserver's protobuf serializer
 * writes them (k8s.io/apimachinery runtime/serializer/protobuf): the
 * "k8s\0" prefix, then a runtime.Unknown whose raw is the object.
 *
 * A pure encoder: flat structures in, bytes out, sizes first (a message
 * carries its length before its bytes).  Fields are written in the order
 * of their numbers, and, as the gogo-generated marshalers of Kubernetes
 * write them, every scalar and string of a non-pointer field is written
 * even when empty; maps in the order of their keys.
 */


#ifndef _NGX_K8S_METRICS_PROTOBUF_H_INCLUDED_
#define _NGX_K8S_METRICS_PROTOBUF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_K8S_METRICS_PB_TYPE       "application/vnd.kubernetes.protobuf"

/* runtime.Unknown's contentEncoding and contentType, written empty */
#define NGX_K8S_METRICS_PB_TAIL_LEN   4

#define NGX_K8S_METRICS_PB_VARINT_LEN 10


/* a ResourceList (map<string, Quantity>): name, quantity pairs by name */

typedef struct {
    ngx_str_t                       name;       /* a container's */
    ngx_str_t                      *resources;
    ngx_uint_t                      nresources;
} ngx_k8s_metrics_pb_usage_t;


/*
 * NodeMetrics (pod 0: one usage, its name unused) or PodMetrics (one
 * usage per container); labels: key, value pairs sorted by key
 */

typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       namespace;
    ngx_str_t                      *labels;
    ngx_uint_t                      nlabels;
    time_t                          created;
    time_t                          timestamp;
    int64_t                         window;     /* nanoseconds */
    ngx_k8s_metrics_pb_usage_t     *usage;
    ngx_uint_t                      nusage;
    unsigned                        pod:1;
} ngx_k8s_metrics_pb_object_t;


/* metav1.Status; details written when has_details is set */

typedef struct {
    ngx_str_t                       status;
    ngx_str_t                       message;
    ngx_str_t                       reason;
    ngx_str_t                       name;       /* details */
    ngx_str_t                       group;
    ngx_str_t                       kind;
    ngx_str_t                      *causes;     /* their messages */
    ngx_uint_t                      ncauses;
    int32_t                         code;
    unsigned                        has_details:1;
} ngx_k8s_metrics_pb_status_t;


size_t ngx_k8s_metrics_pb_varint_len(uint64_t v);
u_char *ngx_k8s_metrics_pb_varint(u_char *p, uint64_t v);

size_t ngx_k8s_metrics_pb_object_size(ngx_k8s_metrics_pb_object_t *o);
u_char *ngx_k8s_metrics_pb_object(u_char *p, ngx_k8s_metrics_pb_object_t *o,
    size_t *stamp);

size_t ngx_k8s_metrics_pb_status_size(ngx_k8s_metrics_pb_status_t *s);
u_char *ngx_k8s_metrics_pb_status(u_char *p, ngx_k8s_metrics_pb_status_t *s);

size_t ngx_k8s_metrics_pb_list_meta_size(void);
u_char *ngx_k8s_metrics_pb_list_meta(u_char *p);
size_t ngx_k8s_metrics_pb_item_size(size_t len);
u_char *ngx_k8s_metrics_pb_item(u_char *p, size_t len);

size_t ngx_k8s_metrics_pb_head_size(ngx_str_t *api_version, ngx_str_t *kind,
    size_t raw);
u_char *ngx_k8s_metrics_pb_head(u_char *p, ngx_str_t *api_version,
    ngx_str_t *kind, size_t raw);
u_char *ngx_k8s_metrics_pb_tail(u_char *p);


#endif /* _NGX_K8S_METRICS_PROTOBUF_H_INCLUDED_ */
