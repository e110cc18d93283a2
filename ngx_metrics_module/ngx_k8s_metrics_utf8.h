
/*
 * ngx_metrics_module: the one UTF-8 decoder (RFC 3629, as Go's
 * utf8.DecodeRune(): no overlong forms, no surrogates, nothing over
 * U+10FFFF), for the JSON writer, the review bodies and the selectors,
 * and the U+FFFD replacement built on it (ngx_k8s_metrics_utf8.c).
 */


#ifndef _NGX_K8S_METRICS_UTF8_H_INCLUDED_
#define _NGX_K8S_METRICS_UTF8_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The length of the sequence at p (p < last) with its code point in
 * *rune, or 0 with *rune U+FFFD when it is not well-formed.
 */

static ngx_inline size_t
ngx_k8s_metrics_utf8_decode(u_char *p, u_char *last, uint32_t *rune)
{
    u_char    lo, hi;
    size_t    n, i;
    uint32_t  r;

    if (*p < 0x80) {
        *rune = *p;
        return 1;
    }

    if (*p < 0xc2 || *p > 0xf4) {
        goto invalid;
    }

    lo = 0x80;
    hi = 0xbf;

    if (*p < 0xe0) {
        n = 2;
        r = *p & 0x1f;

    } else if (*p < 0xf0) {
        n = 3;
        r = *p & 0x0f;
        lo = (*p == 0xe0) ? 0xa0 : lo;      /* no overlong form */
        hi = (*p == 0xed) ? 0x9f : hi;      /* no surrogate */

    } else {
        n = 4;
        r = *p & 0x07;
        lo = (*p == 0xf0) ? 0x90 : lo;      /* no overlong form */
        hi = (*p == 0xf4) ? 0x8f : hi;      /* nothing past U+10FFFF */
    }

    if ((size_t) (last - p) < n || p[1] < lo || p[1] > hi) {
        goto invalid;
    }

    for (i = 1; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            goto invalid;
        }

        r = (r << 6) | (p[i] & 0x3f);
    }

    *rune = r;

    return n;

invalid:

    *rune = 0xfffd;

    return 0;
}


ngx_int_t ngx_k8s_metrics_utf8_replace(ngx_pool_t *pool, ngx_str_t *s,
    ngx_str_t *out);


#endif /* _NGX_K8S_METRICS_UTF8_H_INCLUDED_ */
