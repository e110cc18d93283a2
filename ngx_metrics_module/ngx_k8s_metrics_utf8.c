
/*
 * ngx_metrics_module: strings made valid UTF-8 the way Go's encoding/json
 * writes them, for the review bodies and the selectors' messages.  The
 * decoder itself is ngx_k8s_metrics_utf8.h's.
 */


#include "ngx_k8s_metrics_utf8.h"


/*
 * *out is s with each byte that is not part of valid UTF-8 replaced by
 * U+FFFD, one for one, as Go's utf8.DecodeRune() reads them (encoding/json
 * writes strings so): NGX_OK when s is valid UTF-8 (*out is s), else
 * NGX_DECLINED with a copy from the pool, or without a pool no copy.
 */

ngx_int_t
ngx_k8s_metrics_utf8_replace(ngx_pool_t *pool, ngx_str_t *s, ngx_str_t *out)
{
    u_char    *p, *last, *q;
    size_t     n, bad;
    uint32_t   rune;

    *out = *s;

    last = s->data + s->len;
    bad = 0;

    for (p = s->data; p < last; p += n ? n : 1) {
        n = ngx_k8s_metrics_utf8_decode(p, last, &rune);
        bad += (n == 0);
    }

    if (bad == 0) {
        return NGX_OK;
    }

    if (pool == NULL) {
        return NGX_DECLINED;
    }

    out->data = ngx_pnalloc(pool, s->len + 2 * bad);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    q = out->data;

    for (p = s->data; p < last; p += n ? n : 1) {
        n = ngx_k8s_metrics_utf8_decode(p, last, &rune);

        if (n) {
            q = ngx_cpymem(q, p, n);

        } else {
            q = ngx_cpymem(q, "\xef\xbf\xbd", 3);
        }
    }

    out->len = q - out->data;

    return NGX_DECLINED;
}
