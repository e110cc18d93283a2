
/*
 * ngx_metrics_module: field selectors parsed as k8s.io/apimachinery's
 * pkg/fields parses them: terms split at unescaped commas, "=", "==" and
 * "!=" only, fields.UnescapeValue()'s escapes, its messages word for word.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_selector.h"
#include "ngx_k8s_metrics_selector_text.h"
#include "ngx_k8s_metrics_utf8.h"


static ngx_int_t ngx_k8s_metrics_sel_field_value(
    ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *rhs, ngx_str_t *value);


ngx_int_t
ngx_k8s_metrics_field_selector_parse(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t **requirements, ngx_str_t *error)
{
    u_char                         *c, *last;
    size_t                          n;
    ngx_int_t                       rc;
    ngx_str_t                       s, rhs, *v, *part, *parts;
    ngx_uint_t                      i, escaped;
    ngx_array_t                    *reqs;
    ngx_k8s_metrics_sel_msg_t       msg;
    ngx_k8s_metrics_requirement_t  *r;

    *requirements = NULL;

    ngx_memzero(&msg, sizeof(ngx_k8s_metrics_sel_msg_t));
    msg.pool = pool;

    reqs = ngx_array_create(pool, 2, sizeof(ngx_k8s_metrics_requirement_t));
    if (reqs == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_k8s_metrics_sel_unescape(pool, text, &s);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED || s.len == 0) {
        *requirements = reqs;
        return NGX_OK;
    }

    /* terms are split at commas not escaped by a backslash */

    n = 1;
    escaped = 0;
    last = s.data + s.len;

    for (c = s.data; c < last; c++) {
        if (escaped) {
            escaped = 0;

        } else if (*c == '\\') {
            escaped = 1;

        } else if (*c == ',') {
            n++;
        }
    }

    parts = ngx_palloc(pool, n * sizeof(ngx_str_t));
    if (parts == NULL) {
        return NGX_ERROR;
    }

    n = 0;
    escaped = 0;
    parts[0].data = s.data;

    for (c = s.data; c < last; c++) {
        if (escaped) {
            escaped = 0;

        } else if (*c == '\\') {
            escaped = 1;

        } else if (*c == ',') {
            parts[n].len = c - parts[n].data;
            parts[++n].data = c + 1;
        }
    }

    parts[n].len = last - parts[n].data;
    n++;

    /* Kubernetes sorts the terms first: that decides which error wins */
    ngx_k8s_metrics_sel_sort(parts, n);

    for (part = parts; part < parts + n; part++) {

        if (part->len == 0) {
            continue;
        }

        r = ngx_array_push(reqs);
        if (r == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(r, sizeof(ngx_k8s_metrics_requirement_t));
        r->field = 1;

        /* the first "!=", "==" or "=" splits, whatever the backslashes */

        last = part->data + part->len;

        for (c = part->data; c < last; c++) {
            if (*c == '!' && c + 1 < last && c[1] == '=') {
                r->op = NGX_K8S_METRICS_SEL_NOT_EQUALS;
                rhs.data = c + 2;
                break;
            }

            if (*c == '=') {
                r->op = NGX_K8S_METRICS_SEL_EQUALS;
                rhs.data = (c + 1 < last && c[1] == '=') ? c + 2 : c + 1;
                break;
            }
        }

        if (c == last) {
            ngx_k8s_metrics_sel_literal(&msg, "invalid selector: '");
            ngx_k8s_metrics_sel_append(&msg, s.data, s.len);
            ngx_k8s_metrics_sel_literal(&msg, "'; can't understand '");
            ngx_k8s_metrics_sel_append(&msg, part->data, part->len);
            ngx_k8s_metrics_sel_literal(&msg, "'");

            return ngx_k8s_metrics_sel_error(&msg, error);
        }

        r->key.data = part->data;
        r->key.len = c - part->data;
        rhs.len = last - rhs.data;

        if (ngx_array_init(&r->values, pool, 1, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        v = ngx_array_push(&r->values);
        if (v == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_k8s_metrics_sel_field_value(&msg, &rhs, v);

        if (rc == NGX_DECLINED) {
            return ngx_k8s_metrics_sel_error(&msg, error);
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /*
     * the apiserver checks the fields after the whole selector parsed,
     * as runtime.DefaultMetaV1FieldSelectorConversion(): metrics.k8s.io
     * registers no conversion of its own
     */

    r = reqs->elts;

    for (i = 0; i < reqs->nelts; i++) {

        if ((r[i].key.len == sizeof("metadata.name") - 1
             && ngx_strncmp(r[i].key.data, "metadata.name",
                            sizeof("metadata.name") - 1) == 0)
            || (r[i].key.len == sizeof("metadata.namespace") - 1
                && ngx_strncmp(r[i].key.data, "metadata.namespace",
                               sizeof("metadata.namespace") - 1) == 0))
        {
            continue;
        }

        ngx_k8s_metrics_sel_append_quoted(&msg, &r[i].key);
        ngx_k8s_metrics_sel_literal(&msg, " is not a known field selector: "
                                    "only \"metadata.name\", "
                                    "\"metadata.namespace\"");

        return ngx_k8s_metrics_sel_error(&msg, error);
    }

    *requirements = reqs;

    return NGX_OK;
}


/* fields.UnescapeValue(): "\\", "\," and "\=" are the only escapes */

static ngx_int_t
ngx_k8s_metrics_sel_field_value(ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *rhs,
    ngx_str_t *value)
{
    u_char      *p, *last, *d;
    size_t       w;
    uint32_t     rune;
    ngx_uint_t   escaped;

    last = rhs->data + rhs->len;

    for (p = rhs->data; p < last; p++) {
        if (*p == '\\' || *p == ',' || *p == '=') {
            break;
        }
    }

    if (p == last) {
        *value = *rhs;
        return NGX_OK;
    }

    /* Go copies rune by rune: an invalid byte becomes U+FFFD, 3 bytes */

    d = ngx_pnalloc(m->pool, 3 * rhs->len);
    if (d == NULL) {
        return NGX_ERROR;
    }

    value->data = d;
    escaped = 0;

    for (p = rhs->data; p < last; p += w ? w : 1) {
        w = ngx_k8s_metrics_utf8_decode(p, last, &rune);

        if (escaped) {
            if (rune != '\\' && rune != ',' && rune != '=') {
                ngx_k8s_metrics_sel_literal(m, "invalid field selector: "
                                            "invalid escape sequence: \\");

                if (w) {
                    ngx_k8s_metrics_sel_append(m, p, w);

                } else {
                    ngx_k8s_metrics_sel_literal(m, "\xef\xbf\xbd");
                }

                return NGX_DECLINED;
            }

            *d++ = (u_char) rune;
            escaped = 0;
            continue;
        }

        if (rune == '\\') {
            escaped = 1;
            continue;
        }

        if (rune == ',' || rune == '=') {
            ngx_k8s_metrics_sel_literal(m, "invalid field selector: "
                                        "unescaped character in value: ");
            ngx_k8s_metrics_sel_append_uint(m, rune);
            return NGX_DECLINED;
        }

        if (w) {
            d = ngx_cpymem(d, p, w);

        } else {
            d = ngx_cpymem(d, "\xef\xbf\xbd", 3);
        }
    }

    if (escaped) {
        ngx_k8s_metrics_sel_literal(m, "invalid field selector: "
                                    "invalid escape sequence: \\");
        return NGX_DECLINED;
    }

    value->len = d - value->data;

    return NGX_OK;
}
