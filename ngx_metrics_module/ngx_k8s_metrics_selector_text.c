
/*
 * ngx_metrics_module: the texts of selectors.  A query-string value
 * decoded as Go's url.ParseQuery() does; label keys and values checked as
 * apimachinery's content.IsLabelKey() and IsLabelValue(), with their
 * reasons word for word; error messages written as Go's fmt (%q) and
 * encoding/json write them, for the parsers of _selector.c and
 * _selector_field.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_selector_text.h"
#include "ngx_k8s_metrics_utf8.h"


typedef struct {
    ngx_uint_t                      bit;
    ngx_str_t                       text;
} ngx_k8s_metrics_sel_problem_t;


static ngx_flag_t ngx_k8s_metrics_sel_is_name(u_char *p, size_t len);
static ngx_flag_t ngx_k8s_metrics_sel_is_subdomain(u_char *p, size_t len);
static ngx_flag_t ngx_k8s_metrics_sel_printable(uint32_t rune);


#define ngx_k8s_metrics_sel_alnum(c)                                         \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')               \
     || ((c) >= '0' && (c) <= '9'))

#define ngx_k8s_metrics_sel_lower_alnum(c)                                   \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9'))

#define ngx_k8s_metrics_sel_hex(c)                                           \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f')                \
     || ((c) >= 'A' && (c) <= 'F'))


#define NGX_K8S_METRICS_SEL_NAME_LEN        63
#define NGX_K8S_METRICS_SEL_SUBDOMAIN_LEN   253

/* reasons for an invalid label key or value, in Kubernetes' order */
#define NGX_K8S_METRICS_SEL_KEY_SLASHES     0x001
#define NGX_K8S_METRICS_SEL_PREFIX_EMPTY    0x002
#define NGX_K8S_METRICS_SEL_PREFIX_LONG     0x004
#define NGX_K8S_METRICS_SEL_PREFIX_FORMAT   0x008
#define NGX_K8S_METRICS_SEL_NAME_EMPTY      0x010
#define NGX_K8S_METRICS_SEL_NAME_LONG       0x020
#define NGX_K8S_METRICS_SEL_NAME_FORMAT     0x040
#define NGX_K8S_METRICS_SEL_VALUE_LONG      0x080
#define NGX_K8S_METRICS_SEL_VALUE_FORMAT    0x100

#define NGX_K8S_METRICS_SEL_NAME_RE                                          \
    "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

#define NGX_K8S_METRICS_SEL_NAME_MSG                                         \
    "must consist of alphanumeric characters, '-', '_' or '.', and must "    \
    "start and end with an alphanumeric character (e.g. 'MyName',  or "      \
    "'my.name',  or '123-abc', regex used for validation is '"               \
    NGX_K8S_METRICS_SEL_NAME_RE "')"


static ngx_k8s_metrics_sel_problem_t  ngx_k8s_metrics_sel_problems[] = {

    { NGX_K8S_METRICS_SEL_KEY_SLASHES,
      ngx_string("a valid label key " NGX_K8S_METRICS_SEL_NAME_MSG
                 " with an optional DNS subdomain prefix and '/' "
                 "(e.g. 'example.com/MyName')") },

    { NGX_K8S_METRICS_SEL_PREFIX_EMPTY,
      ngx_string("prefix part must be non-empty") },

    { NGX_K8S_METRICS_SEL_PREFIX_LONG,
      ngx_string("prefix part must be no more than 253 bytes") },

    { NGX_K8S_METRICS_SEL_PREFIX_FORMAT,
      ngx_string("prefix part a lowercase RFC 1123 subdomain must consist "
                 "of lower case alphanumeric characters, '-' or '.', and "
                 "must start and end with an alphanumeric character (e.g. "
                 "'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                 "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')") },

    { NGX_K8S_METRICS_SEL_NAME_EMPTY,
      ngx_string("name part must be non-empty") },

    { NGX_K8S_METRICS_SEL_NAME_LONG,
      ngx_string("name part must be no more than 63 bytes") },

    { NGX_K8S_METRICS_SEL_NAME_FORMAT,
      ngx_string("name part " NGX_K8S_METRICS_SEL_NAME_MSG) },

    { NGX_K8S_METRICS_SEL_VALUE_LONG,
      ngx_string("must be no more than 63 bytes") },

    { NGX_K8S_METRICS_SEL_VALUE_FORMAT,
      ngx_string("a valid label must be an empty string or consist of "
                 "alphanumeric characters, '-', '_' or '.', and must start "
                 "and end with an alphanumeric character (e.g. 'MyValue',  "
                 "or 'my_value',  or '12345', regex used for validation is "
                 "'(" NGX_K8S_METRICS_SEL_NAME_RE ")?')") },

    { 0, ngx_null_string }
};


/*
 * code points Go's strconv.IsPrint() rejects, so that %q escapes them:
 * controls, formats, separators other than ' ', private use; unassigned
 * code points are not known here and print as themselves
 */

static uint32_t  ngx_k8s_metrics_sel_unprintable[][2] = {
    { 0x0080, 0x00a0 }, { 0x00ad, 0x00ad }, { 0x0600, 0x0605 },
    { 0x061c, 0x061c }, { 0x06dd, 0x06dd }, { 0x070f, 0x070f },
    { 0x08e2, 0x08e2 }, { 0x1680, 0x1680 }, { 0x180e, 0x180e },
    { 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f },
    { 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfeff, 0xfeff },
    { 0xfff9, 0xfffb }, { 0xfffe, 0xffff }, { 0x110bd, 0x110bd },
    { 0x110cd, 0x110cd }, { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 },
    { 0x1d173, 0x1d17a }, { 0xe0000, 0xe00ff }, { 0xf0000, 0x10ffff }
};


/* content.IsLabelKey(): an optional DNS subdomain prefix and a name */

ngx_uint_t
ngx_k8s_metrics_sel_check_key(ngx_str_t *key)
{
    u_char      *slash, *name, *last;
    size_t       len;
    ngx_uint_t   problems;

    problems = 0;
    last = key->data + key->len;
    name = key->data;

    slash = ngx_strlchr(key->data, last, '/');

    if (slash) {
        if (ngx_strlchr(slash + 1, last, '/')) {
            return NGX_K8S_METRICS_SEL_KEY_SLASHES;
        }

        len = slash - key->data;

        if (len == 0) {
            problems |= NGX_K8S_METRICS_SEL_PREFIX_EMPTY;

        } else {
            if (len > NGX_K8S_METRICS_SEL_SUBDOMAIN_LEN) {
                problems |= NGX_K8S_METRICS_SEL_PREFIX_LONG;
            }

            if (!ngx_k8s_metrics_sel_is_subdomain(key->data, len)) {
                problems |= NGX_K8S_METRICS_SEL_PREFIX_FORMAT;
            }
        }

        name = slash + 1;
    }

    len = last - name;

    if (len == 0) {
        problems |= NGX_K8S_METRICS_SEL_NAME_EMPTY;

    } else if (len > NGX_K8S_METRICS_SEL_NAME_LEN) {
        problems |= NGX_K8S_METRICS_SEL_NAME_LONG;
    }

    if (!ngx_k8s_metrics_sel_is_name(name, len)) {
        problems |= NGX_K8S_METRICS_SEL_NAME_FORMAT;
    }

    return problems;
}


/* content.IsLabelValue() */

ngx_uint_t
ngx_k8s_metrics_sel_check_value(ngx_str_t *value)
{
    ngx_uint_t  problems;

    problems = 0;

    if (value->len > NGX_K8S_METRICS_SEL_NAME_LEN) {
        problems |= NGX_K8S_METRICS_SEL_VALUE_LONG;
    }

    if (value->len && !ngx_k8s_metrics_sel_is_name(value->data, value->len)) {
        problems |= NGX_K8S_METRICS_SEL_VALUE_FORMAT;
    }

    return problems;
}


/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */

static ngx_flag_t
ngx_k8s_metrics_sel_is_name(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0
        || !ngx_k8s_metrics_sel_alnum(p[0])
        || !ngx_k8s_metrics_sel_alnum(p[len - 1]))
    {
        return 0;
    }

    for (i = 1; i < len - 1; i++) {
        if (!ngx_k8s_metrics_sel_alnum(p[i])
            && p[i] != '-' && p[i] != '_' && p[i] != '.')
        {
            return 0;
        }
    }

    return 1;
}


/* dot-separated ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ labels */

static ngx_flag_t
ngx_k8s_metrics_sel_is_subdomain(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (p[i] == '.') {
            if (i == 0 || i == len - 1 || p[i - 1] == '.') {
                return 0;
            }

            continue;
        }

        if (ngx_k8s_metrics_sel_lower_alnum(p[i])) {
            continue;
        }

        if (p[i] != '-' || i == 0 || i == len - 1
            || p[i - 1] == '.' || p[i + 1] == '.')
        {
            return 0;
        }
    }

    return len > 0;
}


/*
 * url.QueryUnescape(), as the apiserver reads the query: "+" is a space.
 * Go's url.ParseQuery() skips a parameter holding ';' or a bad "%"
 * escape, so such a selector is NGX_DECLINED here: absent, not invalid.
 */

ngx_int_t
ngx_k8s_metrics_sel_unescape(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *out)
{
    u_char  *s, *last, *d, c;

    last = text->data + text->len;

    for (s = text->data; s < last; s++) {
        if (*s == ';') {
            return NGX_DECLINED;
        }

        if (*s == '%'
            && (last - s < 3
                || !ngx_k8s_metrics_sel_hex(s[1])
                || !ngx_k8s_metrics_sel_hex(s[2])))
        {
            return NGX_DECLINED;
        }
    }

    d = ngx_pnalloc(pool, text->len ? text->len : 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    for (s = text->data; s < last; s++) {

        if (*s == '+') {
            *d++ = ' ';
            continue;
        }

        if (*s != '%') {
            *d++ = *s;
            continue;
        }

        c = (u_char) (s[1] | 0x20);
        c = (c >= 'a') ? c - 'a' + 10 : c - '0';
        *d = (u_char) (c << 4);

        c = (u_char) (s[2] | 0x20);
        c = (c >= 'a') ? c - 'a' + 10 : c - '0';
        *d++ |= c;

        s += 2;
    }

    out->len = d - out->data;

    return NGX_OK;
}


static ngx_flag_t
ngx_k8s_metrics_sel_printable(uint32_t rune)
{
    ngx_uint_t  i;

    if (rune < 0x80) {
        return rune >= 0x20 && rune < 0x7f;
    }

    for (i = 0; i < sizeof(ngx_k8s_metrics_sel_unprintable)
                    / sizeof(ngx_k8s_metrics_sel_unprintable[0]); i++)
    {
        if (rune >= ngx_k8s_metrics_sel_unprintable[i][0]
            && rune <= ngx_k8s_metrics_sel_unprintable[i][1])
        {
            return 0;
        }
    }

    return 1;
}


void
ngx_k8s_metrics_sel_append(ngx_k8s_metrics_sel_msg_t *m, u_char *data,
    size_t len)
{
    u_char  *p;
    size_t   size;

    if (m->nomem || len == 0) {
        return;
    }

    if ((size_t) (m->end - m->pos) < len) {
        size = 2 * (m->end - m->start) + len + 128;

        p = ngx_pnalloc(m->pool, size);
        if (p == NULL) {
            m->nomem = 1;
            return;
        }

        if (m->start) {
            ngx_memcpy(p, m->start, m->pos - m->start);
        }

        m->pos = p + (m->pos - m->start);
        m->start = p;
        m->end = p + size;
    }

    m->pos = ngx_cpymem(m->pos, data, len);
}


void
ngx_k8s_metrics_sel_append_uint(ngx_k8s_metrics_sel_msg_t *m, ngx_uint_t n)
{
    u_char  buf[NGX_INT_T_LEN], *p;

    p = buf + NGX_INT_T_LEN;

    do {
        *--p = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    ngx_k8s_metrics_sel_append(m, p, buf + NGX_INT_T_LEN - p);
}


/* strconv.Quote(), as fmt's %q writes a string */

void
ngx_k8s_metrics_sel_append_quoted(ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *s)
{
    u_char    *p, *last, buf[10];
    size_t     w, n, i;
    uint32_t   rune;

    static u_char  hex[] = "0123456789abcdef";

    ngx_k8s_metrics_sel_literal(m, "\"");

    last = s->data + s->len;

    for (p = s->data; p < last; p += w ? w : 1) {
        w = ngx_k8s_metrics_utf8_decode(p, last, &rune);

        if (w == 0) {
            buf[0] = '\\';
            buf[1] = 'x';
            buf[2] = hex[*p >> 4];
            buf[3] = hex[*p & 0xf];
            ngx_k8s_metrics_sel_append(m, buf, 4);
            continue;
        }

        if (rune == '"' || rune == '\\') {
            buf[0] = '\\';
            buf[1] = (u_char) rune;
            ngx_k8s_metrics_sel_append(m, buf, 2);
            continue;
        }

        if (ngx_k8s_metrics_sel_printable(rune)) {
            ngx_k8s_metrics_sel_append(m, p, w);
            continue;
        }

        buf[0] = '\\';

        switch (rune) {
        case '\a':
            buf[1] = 'a';
            break;
        case '\b':
            buf[1] = 'b';
            break;
        case '\f':
            buf[1] = 'f';
            break;
        case '\n':
            buf[1] = 'n';
            break;
        case '\r':
            buf[1] = 'r';
            break;
        case '\t':
            buf[1] = 't';
            break;
        case '\v':
            buf[1] = 'v';
            break;
        default:
            buf[1] = 0;
        }

        if (buf[1]) {
            ngx_k8s_metrics_sel_append(m, buf, 2);
            continue;
        }

        if (rune < 0x80) {
            buf[1] = 'x';
            n = 2;

        } else if (rune < 0x10000) {
            buf[1] = 'u';
            n = 4;

        } else {
            buf[1] = 'U';
            n = 8;
        }

        for (i = 0; i < n; i++) {
            buf[2 + i] = hex[(rune >> (4 * (n - 1 - i))) & 0xf];
        }

        ngx_k8s_metrics_sel_append(m, buf, 2 + n);
    }

    ngx_k8s_metrics_sel_literal(m, "\"");
}


void
ngx_k8s_metrics_sel_append_problems(ngx_k8s_metrics_sel_msg_t *m,
    ngx_uint_t problems)
{
    ngx_uint_t                      sep;
    ngx_k8s_metrics_sel_problem_t  *pr;

    sep = 0;

    for (pr = ngx_k8s_metrics_sel_problems; pr->bit; pr++) {
        if (!(problems & pr->bit)) {
            continue;
        }

        if (sep++) {
            ngx_k8s_metrics_sel_literal(m, "; ");
        }

        ngx_k8s_metrics_sel_append(m, pr->text.data, pr->text.len);
    }
}


/*
 * The message as the client reads it: Go's encoding/json writes each
 * byte that is not valid UTF-8 as U+FFFD, and so does this.
 */

ngx_int_t
ngx_k8s_metrics_sel_error(ngx_k8s_metrics_sel_msg_t *m, ngx_str_t *error)
{
    ngx_str_t  text;

    if (m->nomem) {
        return NGX_ERROR;
    }

    text.data = m->start;
    text.len = m->pos - m->start;

    if (ngx_k8s_metrics_utf8_replace(m->pool, &text, error) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}
