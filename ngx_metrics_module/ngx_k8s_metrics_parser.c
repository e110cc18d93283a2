
/*
 * ngx_metrics_module: a streaming parser of the Prometheus text format as
 * the kubelet's /metrics/resource emits it.  Complete lines are parsed in
 * place; only a line split between two chunks is copied, into the caller's
 * buffer.  No allocation and no nginx runtime call: the file links alone
 * into unit tests and fuzzers.
 */


#include "ngx_k8s_metrics.h"

#include <math.h>
#include <float.h>


#define NGX_K8S_METRICS_LABEL_NAMESPACE  0x01
#define NGX_K8S_METRICS_LABEL_POD        0x02
#define NGX_K8S_METRICS_LABEL_CONTAINER  0x04

#define NGX_K8S_METRICS_LABELS_POD                                           \
    (NGX_K8S_METRICS_LABEL_NAMESPACE|NGX_K8S_METRICS_LABEL_POD)
#define NGX_K8S_METRICS_LABELS_CONTAINER                                     \
    (NGX_K8S_METRICS_LABELS_POD|NGX_K8S_METRICS_LABEL_CONTAINER)

/* longer numbers are not what a kubelet writes */
#define NGX_K8S_METRICS_NUMBER_LEN       64

#define NGX_K8S_METRICS_EXPONENT_MAX     100000

/* integers up to 2^53 are exact in a double */
#define NGX_K8S_METRICS_MANTISSA_EXACT   9007199254740992ULL

#define NGX_K8S_METRICS_MANTISSA_DIGITS  19

/* x87 extended precision would round twice */
#if (FLT_EVAL_METHOD == 0)
#define NGX_K8S_METRICS_EXACT_DOUBLE     1
#else
#define NGX_K8S_METRICS_EXACT_DOUBLE     0
#endif


typedef struct {
    ngx_str_t                       name;
    ngx_k8s_metrics_sample_kind_e   kind;
    ngx_uint_t                      labels;     /* required */
} ngx_k8s_metrics_metric_t;


static ngx_int_t ngx_k8s_metrics_parse_line(ngx_k8s_metrics_parser_t *parser,
    u_char *p, u_char *last);
static ngx_k8s_metrics_metric_t *ngx_k8s_metrics_find_metric(u_char *name,
    size_t len);
static ngx_int_t ngx_k8s_metrics_parse_labels(ngx_k8s_metrics_parser_t *parser,
    u_char **pos, u_char *last, ngx_k8s_metrics_sample_t *sample,
    ngx_uint_t *found);
static ngx_int_t ngx_k8s_metrics_parse_double(u_char **pos, u_char *last,
    double *value);
static ngx_int_t ngx_k8s_metrics_parse_special(u_char **pos, u_char *last,
    double *value);
static ngx_int_t ngx_k8s_metrics_parse_int64(u_char **pos, u_char *last,
    int64_t *value);


static ngx_k8s_metrics_metric_t  ngx_k8s_metrics_metrics[] = {

    { ngx_string("container_cpu_usage_seconds_total"),
      NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU,
      NGX_K8S_METRICS_LABELS_CONTAINER },

    { ngx_string("container_memory_working_set_bytes"),
      NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY,
      NGX_K8S_METRICS_LABELS_CONTAINER },

    { ngx_string("container_start_time_seconds"),
      NGX_K8S_METRICS_SAMPLE_CONTAINER_START,
      NGX_K8S_METRICS_LABELS_CONTAINER },

    { ngx_string("container_swap_usage_bytes"),
      NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP,
      NGX_K8S_METRICS_LABELS_CONTAINER },

    { ngx_string("pod_cpu_usage_seconds_total"),
      NGX_K8S_METRICS_SAMPLE_POD_CPU,
      NGX_K8S_METRICS_LABELS_POD },

    { ngx_string("pod_memory_working_set_bytes"),
      NGX_K8S_METRICS_SAMPLE_POD_MEMORY,
      NGX_K8S_METRICS_LABELS_POD },

    { ngx_string("pod_swap_usage_bytes"),
      NGX_K8S_METRICS_SAMPLE_POD_SWAP,
      NGX_K8S_METRICS_LABELS_POD },

    { ngx_string("node_cpu_usage_seconds_total"),
      NGX_K8S_METRICS_SAMPLE_NODE_CPU, 0 },

    { ngx_string("node_memory_working_set_bytes"),
      NGX_K8S_METRICS_SAMPLE_NODE_MEMORY, 0 },

    { ngx_string("node_swap_usage_bytes"),
      NGX_K8S_METRICS_SAMPLE_NODE_SWAP, 0 },

    { ngx_string("resource_scrape_error"),
      NGX_K8S_METRICS_SAMPLE_SCRAPE_ERROR, 0 },

    /* kubelets before 1.21 */
    { ngx_string("scrape_error"),
      NGX_K8S_METRICS_SAMPLE_SCRAPE_ERROR, 0 }
};


/* 1: letters and "_", 2: digits, 4: ":", which only metric names may have */
static u_char  ngx_k8s_metrics_name_char[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 0, 0, 0, 0, 0,     /* 0-9 : */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,     /* P-Z _ */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0      /* p-z */
};


static ngx_str_t  ngx_k8s_metrics_empty = ngx_string("");


static double  ngx_k8s_metrics_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


void
ngx_k8s_metrics_parser_init(ngx_k8s_metrics_parser_t *parser, u_char *buf,
    size_t size, ngx_k8s_metrics_sample_pt handler, void *data)
{
    ngx_memzero(parser, sizeof(ngx_k8s_metrics_parser_t));

    parser->handler = handler;
    parser->data = data;
    parser->buf = buf;
    parser->size = size;
}


/*
 * A line is parsed only if it fits the carry-over buffer, wherever the
 * chunks split, so that the samples never depend on the split points.
 */

ngx_int_t
ngx_k8s_metrics_parser_feed(ngx_k8s_metrics_parser_t *parser, u_char *data,
    size_t len)
{
    size_t   n;
    u_char  *p, *nl, *end;

    if (len == 0) {
        return NGX_OK;
    }

    p = data;
    end = data + len;

    if (parser->overlong || parser->len) {

        nl = memchr(p, '\n', len);

        if (nl == NULL) {
            if (parser->overlong) {
                return NGX_OK;
            }

            if (parser->len + len <= parser->size) {
                ngx_memcpy(parser->buf + parser->len, p, len);
                parser->len += len;
                return NGX_OK;
            }

            parser->overlong = 1;
            parser->len = 0;
            parser->lines++;
            parser->malformed++;

            return NGX_OK;
        }

        n = nl - p;

        if (parser->overlong) {
            parser->overlong = 0;

        } else if (parser->len + n > parser->size) {
            parser->len = 0;
            parser->lines++;
            parser->malformed++;

        } else {
            ngx_memcpy(parser->buf + parser->len, p, n);
            n += parser->len;
            parser->len = 0;

            if (ngx_k8s_metrics_parse_line(parser, parser->buf,
                                           parser->buf + n)
                == NGX_ERROR)
            {
                return NGX_ERROR;
            }
        }

        p = nl + 1;
    }

    while (p < end) {

        nl = memchr(p, '\n', end - p);

        if (nl == NULL) {
            break;
        }

        if ((size_t) (nl - p) > parser->size) {
            parser->lines++;
            parser->malformed++;

        } else if (ngx_k8s_metrics_parse_line(parser, p, nl) == NGX_ERROR) {
            return NGX_ERROR;
        }

        p = nl + 1;
    }

    n = end - p;

    if (n > parser->size) {
        parser->overlong = 1;
        parser->lines++;
        parser->malformed++;

    } else if (n) {
        ngx_memcpy(parser->buf, p, n);
        parser->len = n;
    }

    return NGX_OK;
}


ngx_int_t
ngx_k8s_metrics_parser_finish(ngx_k8s_metrics_parser_t *parser)
{
    size_t  n;

    if (parser->overlong) {
        parser->overlong = 0;
        return NGX_OK;
    }

    if (parser->len == 0) {
        return NGX_OK;
    }

    n = parser->len;
    parser->len = 0;

    if (ngx_k8s_metrics_parse_line(parser, parser->buf, parser->buf + n)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A sample's value in the unit the store keeps it in: CPU seconds as
 * nanoseconds and bytes as uint64_t, a start time in seconds as
 * milliseconds in int64_t (returned in *value, below 2^63).  Fractions of
 * the unit are dropped, as metrics-server's uint64() conversions drop them
 * (a kubelet writes whole bytes; a fraction of a byte is no reason to fail
 * a node).  NULL, or why the value does not fit: a NaN, a negative or an
 * infinite value, or one that would not fit the integer, never reaches a
 * conversion, whose result would be undefined.
 */

const char *
ngx_k8s_metrics_sample_value(ngx_k8s_metrics_sample_t *sample,
    uint64_t *value)
{
    double       v, scale, bound;
    const char  *range;

    switch (sample->kind) {

    case NGX_K8S_METRICS_SAMPLE_NODE_CPU:
    case NGX_K8S_METRICS_SAMPLE_POD_CPU:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU:
        scale = 1e9;
        bound = 18446744073709551616.0;
        range = "is out of range: CPU seconds x 1e9 must be below 2^64";
        break;

    case NGX_K8S_METRICS_SAMPLE_CONTAINER_START:
        scale = 1e3;
        bound = 9223372036854775808.0;
        range = "is out of range: seconds x 1000 must be below 2^63";
        break;

    default:
        scale = 1;
        bound = 18446744073709551616.0;
        range = "is out of range: bytes must be below 2^64";
    }

    v = sample->value;

    if (isnan(v)) {
        return "is not a number";
    }

    if (v < 0) {
        return "is negative";
    }

    v *= scale;

    if (!(v < bound)) {
        return range;
    }

    *value = (uint64_t) v;

    return NULL;
}


static ngx_int_t
ngx_k8s_metrics_parse_line(ngx_k8s_metrics_parser_t *parser, u_char *p,
    u_char *last)
{
    u_char                    *name;
    ngx_int_t                  rc;
    ngx_uint_t                 found;
    ngx_k8s_metrics_metric_t  *metric;
    ngx_k8s_metrics_sample_t   sample;

    parser->lines++;

    if (p < last && last[-1] == '\r') {
        last--;
    }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == last || *p == '#') {
        return NGX_OK;
    }

    if ((ngx_k8s_metrics_name_char[*p] & 5) == 0) {
        goto malformed;
    }

    name = p;

    while (p < last && ngx_k8s_metrics_name_char[*p]) {
        p++;
    }

    metric = ngx_k8s_metrics_find_metric(name, p - name);

    if (metric == NULL) {
        parser->unknown++;
        return NGX_OK;
    }

    /* absent labels are empty, never NULL: handlers may copy them blindly */

    sample.kind = metric->kind;
    sample.namespace = ngx_k8s_metrics_empty;
    sample.pod = ngx_k8s_metrics_empty;
    sample.container = ngx_k8s_metrics_empty;
    found = 0;

    if (p < last && *p == '{') {
        p++;

        if (ngx_k8s_metrics_parse_labels(parser, &p, last, &sample, &found)
            != NGX_OK)
        {
            goto malformed;
        }
    }

    if ((found & metric->labels) != metric->labels) {
        goto malformed;
    }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    sample.name = &metric->name;
    sample.text.data = p;

    if (ngx_k8s_metrics_parse_double(&p, last, &sample.value) != NGX_OK
        || (p < last && *p != ' ' && *p != '\t'))
    {
        goto malformed;
    }

    sample.text.len = p - sample.text.data;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    sample.timestamp_ms = -1;

    if (p < last) {

        if (ngx_k8s_metrics_parse_int64(&p, last, &sample.timestamp_ms)
            != NGX_OK)
        {
            goto malformed;
        }

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p != last) {
            goto malformed;
        }
    }

    rc = parser->handler(parser->data, &sample);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        goto malformed;
    }

    parser->samples++;

    return NGX_OK;

malformed:

    parser->malformed++;

    return NGX_OK;
}


static ngx_k8s_metrics_metric_t *
ngx_k8s_metrics_find_metric(u_char *name, size_t len)
{
    ngx_uint_t                 i;
    ngx_k8s_metrics_metric_t  *metric;

    metric = ngx_k8s_metrics_metrics;

    for (i = 0; i < sizeof(ngx_k8s_metrics_metrics)
                    / sizeof(ngx_k8s_metrics_metric_t); i++)
    {
        if (metric[i].name.len == len
            && ngx_memcmp(metric[i].name.data, name, len) == 0)
        {
            return &metric[i];
        }
    }

    return NULL;
}


/*
 * Labels after the "{", up to and including the "}".  Values are used in
 * place unless escaped; unescaped ones go to the scratch area of the line.
 */

static ngx_int_t
ngx_k8s_metrics_parse_labels(ngx_k8s_metrics_parser_t *parser, u_char **pos,
    u_char *last, ngx_k8s_metrics_sample_t *sample, ngx_uint_t *found)
{
    u_char      *p, *name, *start, *end, *d, *scratch;
    size_t       len;
    ngx_str_t   *value;
    ngx_uint_t   escaped, label;

    p = *pos;
    scratch = parser->scratch;

    for ( ;; ) {

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last) {
            return NGX_DECLINED;
        }

        if (*p == '}') {
            break;
        }

        if (ngx_k8s_metrics_name_char[*p] != 1) {
            return NGX_DECLINED;
        }

        name = p;

        while (p < last && (ngx_k8s_metrics_name_char[*p] & 3)) {
            p++;
        }

        len = p - name;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last || *p++ != '=') {
            return NGX_DECLINED;
        }

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last || *p++ != '"') {
            return NGX_DECLINED;
        }

        start = p;

        end = memchr(p, '"', last - p);
        if (end == NULL) {
            return NGX_DECLINED;
        }

        p = memchr(p, '\\', end - p);
        escaped = (p != NULL);

        /* past a backslash, a quote may be escaped: go byte by byte */

        if (escaped) {
            for ( ;; ) {
                if (p == last) {
                    return NGX_DECLINED;
                }

                if (*p == '"') {
                    break;
                }

                if (*p == '\\') {
                    if (++p == last
                        || (*p != '\\' && *p != '"' && *p != 'n'))
                    {
                        return NGX_DECLINED;
                    }
                }

                p++;
            }

            end = p;
        }

        p = end + 1;

        value = NULL;
        label = 0;

        if (len == 3 && ngx_memcmp(name, "pod", 3) == 0) {
            value = &sample->pod;
            label = NGX_K8S_METRICS_LABEL_POD;

        } else if (len == 9) {
            if (ngx_memcmp(name, "namespace", 9) == 0) {
                value = &sample->namespace;
                label = NGX_K8S_METRICS_LABEL_NAMESPACE;

            } else if (ngx_memcmp(name, "container", 9) == 0) {
                value = &sample->container;
                label = NGX_K8S_METRICS_LABEL_CONTAINER;
            }
        }

        if (value) {

            if (!escaped) {
                value->data = start;
                value->len = end - start;

            } else {
                if ((size_t) (end - start)
                    > (size_t) (parser->scratch + sizeof(parser->scratch)
                                - scratch))
                {
                    return NGX_DECLINED;
                }

                d = scratch;

                while (start < end) {
                    if (*start == '\\') {
                        start++;
                        *d++ = (*start == 'n') ? '\n' : *start;

                    } else {
                        *d++ = *start;
                    }

                    start++;
                }

                value->data = scratch;
                value->len = d - scratch;
                scratch = d;
            }

            /* an empty label value is an absent label */

            if (value->len) {
                *found |= label;

            } else {
                *found &= ~label;
            }
        }

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last) {
            return NGX_DECLINED;
        }

        if (*p == ',') {
            p++;
            continue;
        }

        if (*p != '}') {
            return NGX_DECLINED;
        }

        break;
    }

    *pos = p + 1;

    return NGX_OK;
}


/*
 * Go's strconv.ParseFloat syntax, as Prometheus' text parser takes it:
 * decimal [+-]digits[.digits][e[+-]digits], with ".5" and "5." allowed, or
 * NaN and the infinities (see below); no hex floats, which no kubelet
 * writes.  A number too large for a double is an infinity: whether a value
 * fits is for the caller (ngx_k8s_metrics_sample_value()).  Up to 2^53 with
 * a power of ten up to 10^22 one IEEE operation rounds correctly; other
 * numbers go to strtod() rewritten without a radix character, so that the
 * locale does not matter.
 */

static ngx_int_t
ngx_k8s_metrics_parse_double(u_char **pos, u_char *last, double *value)
{
    u_char      *p, *start, *d;
    double       v;
    int64_t      exp, e;
    uint64_t     mantissa;
    ngx_uint_t   neg, eneg, digits, dropped, any;
    u_char       buf[NGX_K8S_METRICS_NUMBER_LEN + NGX_INT64_LEN + 3];

    p = *pos;
    start = p;
    neg = 0;

    if (p < last && (*p == '+' || *p == '-')) {
        neg = (*p++ == '-');
    }

    mantissa = 0;
    digits = 0;
    dropped = 0;
    any = 0;
    exp = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        any = 1;

        if (digits < NGX_K8S_METRICS_MANTISSA_DIGITS) {
            mantissa = mantissa * 10 + (*p - '0');
            digits += (mantissa != 0);

        } else {
            dropped = 1;
        }

        p++;
    }

    if (p < last && *p == '.') {
        p++;

        while (p < last && *p >= '0' && *p <= '9') {
            any = 1;

            if (digits < NGX_K8S_METRICS_MANTISSA_DIGITS) {
                mantissa = mantissa * 10 + (*p - '0');
                digits += (mantissa != 0);

            } else {
                dropped = 1;
            }

            exp--;
            p++;
        }
    }

    if (!any) {
        return ngx_k8s_metrics_parse_special(pos, last, value);
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;
        eneg = 0;

        if (p < last && (*p == '+' || *p == '-')) {
            eneg = (*p++ == '-');
        }

        if (p == last || *p < '0' || *p > '9') {
            return NGX_DECLINED;
        }

        e = 0;

        while (p < last && *p >= '0' && *p <= '9') {
            if (e < NGX_K8S_METRICS_EXPONENT_MAX) {
                e = e * 10 + (*p - '0');
            }

            p++;
        }

        exp += eneg ? -e : e;
    }

    if (p - start > NGX_K8S_METRICS_NUMBER_LEN) {
        return NGX_DECLINED;
    }

    *pos = p;

    if (NGX_K8S_METRICS_EXACT_DOUBLE
        && !dropped
        && mantissa <= NGX_K8S_METRICS_MANTISSA_EXACT
        && exp >= -22 && exp <= 22)
    {
        v = (double) mantissa;

        if (exp < 0) {
            v /= ngx_k8s_metrics_pow10[-exp];

        } else {
            v *= ngx_k8s_metrics_pow10[exp];
        }

        *value = neg ? -v : v;

        return NGX_OK;
    }

    /* the digits without the radix point, then the exponent */

    d = buf;

    if (neg) {
        *d++ = '-';
    }

    for (p = start; p < *pos && *p != 'e' && *p != 'E'; p++) {
        if (*p >= '0' && *p <= '9') {
            *d++ = *p;
        }
    }

    *d++ = 'e';

    if (exp < 0) {
        *d++ = '-';
        exp = -exp;
    }

    e = exp;

    do {
        d++;
        e /= 10;
    } while (e);

    *d = '\0';

    do {
        *--d = (u_char) ('0' + exp % 10);
        exp /= 10;
    } while (exp);

    *value = strtod((char *) buf, NULL);

    return NGX_OK;
}


/*
 * Go's special values, case-insensitive: "NaN" (unsigned), "Inf" and
 * "Infinity" with an optional sign; Prometheus writes "NaN", "+Inf" and
 * "-Inf".  A longer prefix of "infinity" than "inf" is taken as "inf", and
 * the rest of the token makes the line malformed, as in Go.
 */

static ngx_int_t
ngx_k8s_metrics_parse_special(u_char **pos, u_char *last, double *value)
{
    u_char      *p;
    size_t       n;
    ngx_uint_t   neg;

    static u_char  infinity[] = "infinity";

    p = *pos;
    neg = 0;

    if (p < last && (*p == '+' || *p == '-')) {
        neg = (*p++ == '-');

    } else if (last - p >= 3 && ngx_tolower(p[0]) == 'n'
               && ngx_tolower(p[1]) == 'a' && ngx_tolower(p[2]) == 'n')
    {
        *pos = p + 3;
        *value = NAN;
        return NGX_OK;
    }

    for (n = 0; n < 8 && p + n < last; n++) {
        if (ngx_tolower(p[n]) != infinity[n]) {
            break;
        }
    }

    if (n < 3) {
        return NGX_DECLINED;
    }

    *pos = p + (n == 8 ? 8 : 3);
    *value = neg ? -HUGE_VAL : HUGE_VAL;

    return NGX_OK;
}


/* 19 digits always fit in uint64_t: only their sum can overflow int64_t */

static ngx_int_t
ngx_k8s_metrics_parse_int64(u_char **pos, u_char *last, int64_t *value)
{
    u_char      *p, *start;
    uint64_t     n, max;
    ngx_uint_t   neg, any;

    p = *pos;
    neg = 0;

    if (p < last && (*p == '+' || *p == '-')) {
        neg = (*p++ == '-');
    }

    any = (p < last && *p == '0');

    while (p < last && *p == '0') {
        p++;
    }

    start = p;
    n = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        n = n * 10 + (*p++ - '0');
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;

    if ((!any && p == start) || p - start > 19 || n > max) {
        return NGX_DECLINED;
    }

    *pos = p;
    *value = neg ? (int64_t) (0 - n) : (int64_t) n;

    return NGX_OK;
}
