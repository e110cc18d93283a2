
/*
 * ngx_metrics_module: values as Kubernetes and Go print them: canonical
 * resource.Quantity strings, time.Duration.String() and RFC 3339 times.
 * No nginx runtime call, so that unit tests link this file alone.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_quantity.h"


/* indexes into the suffix tables below */
#define NGX_K8S_METRICS_SCALE_NANO  0
#define NGX_K8S_METRICS_SCALE_ONE   3
#define NGX_K8S_METRICS_SCALE_MAX   9
#define NGX_K8S_METRICS_BINARY_MAX  6

/*
 * metrics-server's uint64Quantity() fits a value above INT64_MAX into a
 * Quantity by dropping its last decimal digit
 */
#define ngx_k8s_metrics_fit_int64(n)                                         \
    ((n) > (uint64_t) INT64_MAX ? (n) / 10 * 10 : (n))


static u_char *ngx_k8s_metrics_format_decimal(u_char *p, uint64_t n,
    ngx_uint_t scale);
static u_char *ngx_k8s_metrics_format_uint(u_char *p, uint64_t n,
    ngx_uint_t width);
static u_char *ngx_k8s_metrics_duration_frac(u_char *w, uint64_t *v,
    ngx_uint_t prec);
static u_char *ngx_k8s_metrics_duration_int(u_char *w, uint64_t v);


/* DecimalSI suffixes by exponent: 10^-9, 10^-6, ... 10^18 */
static ngx_str_t  ngx_k8s_metrics_decimal_suffixes[] = {
    ngx_string("n"),
    ngx_string("u"),
    ngx_string("m"),
    ngx_string(""),
    ngx_string("k"),
    ngx_string("M"),
    ngx_string("G"),
    ngx_string("T"),
    ngx_string("P"),
    ngx_string("E")
};


/* BinarySI suffixes by exponent: 2^0, 2^10, ... 2^60 */
static ngx_str_t  ngx_k8s_metrics_binary_suffixes[] = {
    ngx_string(""),
    ngx_string("Ki"),
    ngx_string("Mi"),
    ngx_string("Gi"),
    ngx_string("Ti"),
    ngx_string("Pi"),
    ngx_string("Ei")
};


u_char *
ngx_k8s_metrics_format_cpu(u_char *p, uint64_t nanocores)
{
    nanocores = ngx_k8s_metrics_fit_int64(nanocores);

    return ngx_k8s_metrics_format_decimal(p, nanocores,
                                          NGX_K8S_METRICS_SCALE_NANO);
}


u_char *
ngx_k8s_metrics_format_memory(u_char *p, uint64_t bytes)
{
    ngx_uint_t  i;

    bytes = ngx_k8s_metrics_fit_int64(bytes);

    /*
     * BinarySI values below 1024 are printed as DecimalSI, so that 1000
     * is "1k" (CanonicalizeBytes in apimachinery's quantity.go)
     */

    if (bytes < 1024) {
        return ngx_k8s_metrics_format_decimal(p, bytes,
                                              NGX_K8S_METRICS_SCALE_ONE);
    }

    for (i = 0; i < NGX_K8S_METRICS_BINARY_MAX && bytes % 1024 == 0; i++) {
        bytes /= 1024;
    }

    p = ngx_k8s_metrics_format_uint(p, bytes, 1);

    return ngx_cpymem(p, ngx_k8s_metrics_binary_suffixes[i].data,
                      ngx_k8s_metrics_binary_suffixes[i].len);
}


/*
 * removing every factor of 10 and then lowering the exponent to a multiple
 * of 3 (int64Amount.AsCanonicalBytes) is removing factors of 1000
 */

static u_char *
ngx_k8s_metrics_format_decimal(u_char *p, uint64_t n, ngx_uint_t scale)
{
    if (n == 0) {
        *p++ = '0';
        return p;
    }

    while (scale < NGX_K8S_METRICS_SCALE_MAX && n % 1000 == 0) {
        n /= 1000;
        scale++;
    }

    p = ngx_k8s_metrics_format_uint(p, n, 1);

    return ngx_cpymem(p, ngx_k8s_metrics_decimal_suffixes[scale].data,
                      ngx_k8s_metrics_decimal_suffixes[scale].len);
}


static u_char *
ngx_k8s_metrics_format_uint(u_char *p, uint64_t n, ngx_uint_t width)
{
    u_char  *w;
    u_char   buf[NGX_INT64_LEN];

    w = buf + sizeof(buf);

    do {
        *--w = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    while ((size_t) (buf + sizeof(buf) - w) < width) {
        *--w = '0';
    }

    return ngx_cpymem(p, w, buf + sizeof(buf) - w);
}


/* time.Duration.String(), written backwards as Go does */

u_char *
ngx_k8s_metrics_format_duration(u_char *p, int64_t ns)
{
    u_char      *w;
    uint64_t     u;
    ngx_uint_t   prec;
    u_char       buf[32];

    /* the negation in uint64_t keeps INT64_MIN exact */
    u = (ns < 0) ? 0 - (uint64_t) ns : (uint64_t) ns;

    w = buf + sizeof(buf);
    *--w = 's';

    if (u < 1000000000) {

        if (u == 0) {
            *--w = '0';
            return ngx_cpymem(p, w, buf + sizeof(buf) - w);
        }

        if (u < 1000) {
            prec = 0;
            *--w = 'n';

        } else if (u < 1000000) {
            prec = 3;
            *--w = 0xb5;    /* U+00B5 MICRO SIGN in UTF-8 */
            *--w = 0xc2;

        } else {
            prec = 6;
            *--w = 'm';
        }

        w = ngx_k8s_metrics_duration_frac(w, &u, prec);
        w = ngx_k8s_metrics_duration_int(w, u);

    } else {
        w = ngx_k8s_metrics_duration_frac(w, &u, 9);
        w = ngx_k8s_metrics_duration_int(w, u % 60);
        u /= 60;

        if (u) {
            *--w = 'm';
            w = ngx_k8s_metrics_duration_int(w, u % 60);
            u /= 60;

            if (u) {
                *--w = 'h';
                w = ngx_k8s_metrics_duration_int(w, u);
            }
        }
    }

    if (ns < 0) {
        *--w = '-';
    }

    return ngx_cpymem(p, w, buf + sizeof(buf) - w);
}


static u_char *
ngx_k8s_metrics_duration_frac(u_char *w, uint64_t *v, ngx_uint_t prec)
{
    uint64_t    digit;
    ngx_uint_t  i, print;

    print = 0;

    for (i = 0; i < prec; i++) {
        digit = *v % 10;
        print = print || digit != 0;

        if (print) {
            *--w = (u_char) ('0' + digit);
        }

        *v /= 10;
    }

    if (print) {
        *--w = '.';
    }

    return w;
}


static u_char *
ngx_k8s_metrics_duration_int(u_char *w, uint64_t v)
{
    do {
        *--w = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    return w;
}


u_char *
ngx_k8s_metrics_format_time(u_char *p, time_t t)
{
    int64_t    year;
    struct tm  tm;

    if (gmtime_r(&t, &tm) == NULL) {
        t = 0;
        (void) gmtime_r(&t, &tm);
    }

    year = (int64_t) tm.tm_year + 1900;

    if (year < 0) {
        *p++ = '-';
        year = -year;
    }

    p = ngx_k8s_metrics_format_uint(p, (uint64_t) year, 4);
    *p++ = '-';
    p = ngx_k8s_metrics_format_uint(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = ngx_k8s_metrics_format_uint(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = ngx_k8s_metrics_format_uint(p, tm.tm_hour, 2);
    *p++ = ':';
    p = ngx_k8s_metrics_format_uint(p, tm.tm_min, 2);
    *p++ = ':';
    p = ngx_k8s_metrics_format_uint(p, tm.tm_sec, 2);
    *p++ = 'Z';

    return p;
}
