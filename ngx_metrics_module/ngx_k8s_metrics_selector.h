
/*
 * Kubernetes label and field selectors (ngx_k8s_metrics_selector.c):
 * a pure unit.
 */


#ifndef _NGX_K8S_METRICS_SELECTOR_H_INCLUDED_
#define _NGX_K8S_METRICS_SELECTOR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef enum {
    NGX_K8S_METRICS_SEL_EQUALS = 0,         /* "=" and "==" */
    NGX_K8S_METRICS_SEL_NOT_EQUALS,
    NGX_K8S_METRICS_SEL_IN,
    NGX_K8S_METRICS_SEL_NOT_IN,
    NGX_K8S_METRICS_SEL_EXISTS,
    NGX_K8S_METRICS_SEL_NOT_EXISTS,
    NGX_K8S_METRICS_SEL_GREATER_THAN,       /* labels only: "key>int" */
    NGX_K8S_METRICS_SEL_LESS_THAN
} ngx_k8s_metrics_selector_op_e;


typedef struct {
    ngx_str_t                       key;
    ngx_k8s_metrics_selector_op_e   op;
    ngx_array_t                     values;     /* of ngx_str_t */
    unsigned                        field:1;    /* an absent field is "" */
} ngx_k8s_metrics_requirement_t;


/* the value of a label or field, or NULL when the object has none */
typedef ngx_str_t *(*ngx_k8s_metrics_lookup_pt)(void *data, ngx_str_t *key);


/*
 * "text" is the raw query-string value.  NGX_OK: *requirements is an
 * array, empty for a selector that selects everything; NGX_DECLINED:
 * *error holds Kubernetes' message (valid UTF-8) for a 400 BadRequest;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_k8s_metrics_label_selector_parse(ngx_pool_t *pool,
    ngx_str_t *text, ngx_array_t **requirements, ngx_str_t *error);
ngx_int_t ngx_k8s_metrics_field_selector_parse(ngx_pool_t *pool,
    ngx_str_t *text, ngx_array_t **requirements, ngx_str_t *error);
ngx_flag_t ngx_k8s_metrics_selector_matches(ngx_array_t *requirements,
    ngx_k8s_metrics_lookup_pt lookup, void *data);

/* strings in Go's order (bytes, then length), as Kubernetes sorts terms */
void ngx_k8s_metrics_sel_sort(ngx_str_t *a, ngx_uint_t n);
ngx_int_t ngx_k8s_metrics_sel_cmp(ngx_str_t *a, ngx_str_t *b);
/* strconv.ParseInt(s, 10, 64) */
ngx_int_t ngx_k8s_metrics_sel_parse_int(ngx_str_t *s, int64_t *n);


#endif /* _NGX_K8S_METRICS_SELECTOR_H_INCLUDED_ */
