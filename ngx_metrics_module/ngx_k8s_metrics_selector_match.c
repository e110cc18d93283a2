
/*
 * ngx_metrics_module: parsed selectors matched against an object's labels
 * or fields, as labels.Requirement.Matches() and fields' Set do; and the
 * Go orders and number syntax they and the parsers share (sort.Strings(),
 * strconv.ParseInt()).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_selector.h"


ngx_flag_t
ngx_k8s_metrics_selector_matches(ngx_array_t *requirements,
    ngx_k8s_metrics_lookup_pt lookup, void *data)
{
    int64_t                         have, want;
    ngx_str_t                      *v, *values, empty;
    ngx_uint_t                      i, j, found;
    ngx_k8s_metrics_requirement_t  *r;

    if (requirements == NULL) {
        return 1;
    }

    ngx_str_null(&empty);

    r = requirements->elts;

    for (i = 0; i < requirements->nelts; i++) {

        v = lookup(data, &r[i].key);

        /* fields.Set.Get() reads an absent field as "" */
        if (v == NULL && r[i].field) {
            v = &empty;
        }

        values = r[i].values.elts;
        found = 0;

        if (v != NULL) {
            for (j = 0; j < r[i].values.nelts; j++) {
                if (values[j].len == v->len
                    && (v->len == 0
                        || ngx_memcmp(values[j].data, v->data, v->len) == 0))
                {
                    found = 1;
                    break;
                }
            }
        }

        switch (r[i].op) {

        case NGX_K8S_METRICS_SEL_EQUALS:
        case NGX_K8S_METRICS_SEL_IN:
            if (!found) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_NOT_EQUALS:
        case NGX_K8S_METRICS_SEL_NOT_IN:
            if (found) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_EXISTS:
            if (v == NULL) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_NOT_EXISTS:
            if (v != NULL) {
                return 0;
            }

            break;

        case NGX_K8S_METRICS_SEL_GREATER_THAN:
        case NGX_K8S_METRICS_SEL_LESS_THAN:
            if (v == NULL
                || r[i].values.nelts != 1
                || ngx_k8s_metrics_sel_parse_int(v, &have) != NGX_OK
                || ngx_k8s_metrics_sel_parse_int(&values[0], &want) != NGX_OK)
            {
                return 0;
            }

            if (r[i].op == NGX_K8S_METRICS_SEL_GREATER_THAN
                ? have <= want : have >= want)
            {
                return 0;
            }

            break;

        default:
            return 0;
        }
    }

    return 1;
}


/* a heap sort: no allocation, and no quadratic time on long selectors */

void
ngx_k8s_metrics_sel_sort(ngx_str_t *a, ngx_uint_t n)
{
    ngx_str_t   t;
    ngx_uint_t  i, end, root, child;

    for (i = n / 2; n > 1; /* void */) {

        if (i > 0) {
            end = n;
            root = --i;

        } else {
            end = --n;
            t = a[0]; a[0] = a[n]; a[n] = t;
            root = 0;
        }

        for ( ;; ) {
            child = 2 * root + 1;

            if (child >= end) {
                break;
            }

            if (child + 1 < end
                && ngx_k8s_metrics_sel_cmp(&a[child], &a[child + 1]) < 0)
            {
                child++;
            }

            if (ngx_k8s_metrics_sel_cmp(&a[root], &a[child]) >= 0) {
                break;
            }

            t = a[root]; a[root] = a[child]; a[child] = t;
            root = child;
        }
    }
}


/* Go's string order: bytes, then length */

ngx_int_t
ngx_k8s_metrics_sel_cmp(ngx_str_t *a, ngx_str_t *b)
{
    size_t     len;
    ngx_int_t  rc;

    /* an empty value's data may be NULL */

    len = ngx_min(a->len, b->len);
    rc = len ? ngx_memcmp(a->data, b->data, len) : 0;

    if (rc != 0 || a->len == b->len) {
        return rc;
    }

    return (a->len < b->len) ? -1 : 1;
}


/* strconv.ParseInt(s, 10, 64) */

ngx_int_t
ngx_k8s_metrics_sel_parse_int(ngx_str_t *s, int64_t *n)
{
    u_char      *p, *last;
    uint64_t     v, max;
    ngx_uint_t   neg, d;

    if (s->len == 0) {
        return NGX_ERROR;
    }

    p = s->data;
    last = p + s->len;
    neg = 0;

    if (*p == '+' || *p == '-') {
        neg = (*p++ == '-');

        if (p == last) {
            return NGX_ERROR;
        }
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;

    for (v = 0; p < last; p++) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        d = *p - '0';

        if (v > (max - d) / 10) {
            return NGX_ERROR;
        }

        v = v * 10 + d;
    }

    if (neg) {
        *n = (v == (uint64_t) INT64_MAX + 1) ? INT64_MIN : - (int64_t) v;

    } else {
        *n = (int64_t) v;
    }

    return NGX_OK;
}
