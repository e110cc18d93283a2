
/*
 * JSON written into a chain of buffers (ngx_k8s_metrics_emit.c): a pure
 * unit.
 */


#ifndef _NGX_K8S_METRICS_EMIT_H_INCLUDED_
#define _NGX_K8S_METRICS_EMIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_pool_t                     *pool;
    ngx_chain_t                    *out;
    ngx_chain_t                   **last;
    ngx_buf_t                      *buf;
    size_t                          size;
    ngx_uint_t                      depth;
    ngx_array_t                    *stamps;     /* of size_t, or NULL */
    ngx_array_t                    *times;      /* items' int64_t, ms */
    unsigned                        pretty:1;
    unsigned                        first:1;    /* nothing yet at depth */
    unsigned                        after_key:1;
    unsigned                        failed:1;   /* out of memory */
    unsigned                        binary:1;   /* protobuf (media.c) */
} ngx_k8s_metrics_emit_t;

void ngx_k8s_metrics_emit_init(ngx_k8s_metrics_emit_t *e, ngx_pool_t *pool,
    ngx_flag_t pretty);
int ngx_k8s_metrics_emit_raw(const char *buffer, size_t size, void *data);
void ngx_k8s_metrics_emit_open(ngx_k8s_metrics_emit_t *e, u_char bracket);
void ngx_k8s_metrics_emit_close(ngx_k8s_metrics_emit_t *e, u_char bracket);
void ngx_k8s_metrics_emit_key(ngx_k8s_metrics_emit_t *e, u_char *key,
    size_t len);
void ngx_k8s_metrics_emit_string(ngx_k8s_metrics_emit_t *e, u_char *s,
    size_t len);
void ngx_k8s_metrics_emit_int(ngx_k8s_metrics_emit_t *e, ngx_int_t n);
void ngx_k8s_metrics_emit_null(ngx_k8s_metrics_emit_t *e);
void ngx_k8s_metrics_emit_member(ngx_k8s_metrics_emit_t *e, const char *key,
    u_char *value, size_t len);
void ngx_k8s_metrics_emit_stamp(ngx_k8s_metrics_emit_t *e, u_char *now,
    size_t len);

#define ngx_k8s_metrics_emit_name(e, key)                                     \
    ngx_k8s_metrics_emit_key(e, (u_char *) key, sizeof(key) - 1)
#define ngx_k8s_metrics_emit_literal(e, key, value)                           \
    ngx_k8s_metrics_emit_member(e, key, (u_char *) value, sizeof(value) - 1)


#endif /* _NGX_K8S_METRICS_EMIT_H_INCLUDED_ */
