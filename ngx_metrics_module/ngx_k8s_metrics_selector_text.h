
/*
 * What the selector parsers share (ngx_k8s_metrics_selector_text.c): the
 * query-string decoding, the label key and value checks, and the error
 * message being written.  A pure unit.
 */


#ifndef _NGX_K8S_METRICS_SELECTOR_TEXT_H_INCLUDED_
#define _NGX_K8S_METRICS_SELECTOR_TEXT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* an error message being written; a failed allocation sets nomem */
typedef struct {
    ngx_pool_t                     *pool;
    u_char                         *start;
    u_char                         *pos;
    u_char                         *end;
    unsigned                        nomem:1;
} ngx_k8s_metrics_sel_msg_t;


#define ngx_k8s_metrics_sel_literal(m, s)                                    \
    ngx_k8s_metrics_sel_append(m, (u_char *) s, sizeof(s) - 1)


/* the raw query-string value decoded; NGX_DECLINED: Go skips it */
ngx_int_t ngx_k8s_metrics_sel_unescape(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *out);
/* 0, or the reasons (bits) a label key or value is invalid */
ngx_uint_t ngx_k8s_metrics_sel_check_key(ngx_str_t *key);
ngx_uint_t ngx_k8s_metrics_sel_check_value(ngx_str_t *value);

void ngx_k8s_metrics_sel_append(ngx_k8s_metrics_sel_msg_t *m, u_char *data,
    size_t len);
void ngx_k8s_metrics_sel_append_uint(ngx_k8s_metrics_sel_msg_t *m,
    ngx_uint_t n);
void ngx_k8s_metrics_sel_append_quoted(ngx_k8s_metrics_sel_msg_t *m,
    ngx_str_t *s);
void ngx_k8s_metrics_sel_append_problems(ngx_k8s_metrics_sel_msg_t *m,
    ngx_uint_t problems);
ngx_int_t ngx_k8s_metrics_sel_error(ngx_k8s_metrics_sel_msg_t *m,
    ngx_str_t *error);


#endif /* _NGX_K8S_METRICS_SELECTOR_TEXT_H_INCLUDED_ */
