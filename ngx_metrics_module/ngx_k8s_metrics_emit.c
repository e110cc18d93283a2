
/*
 * ngx_metrics_module: JSON written straight into a chain of nginx buffers.
 *
 * Every body the module sends ends up here: jansson documents (discovery,
 * Status) are dumped through ngx_k8s_metrics_emit_raw(), and NodeMetrics
 * and PodMetrics, whose lists reach tens of megabytes, are written member
 * by member without building a tree first (a jansson tree of a 30 000-pod
 * list costs 15-20 times the writing; see bench/json-micro.c).
 *
 * The layout is jansson's, so that both kinds of body look alike: compact
 * (JSON_COMPACT) or indented by two spaces (JSON_INDENT(2)), and strings
 * escaped as jansson escapes them.  Bytes that are not UTF-8, which jansson
 * refuses, become U+FFFD, one per byte, as Go's encoding/json writes them.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_utf8.h"


#define NGX_K8S_METRICS_EMIT_CHUNK  16384


static void ngx_k8s_metrics_emit_separator(ngx_k8s_metrics_emit_t *e);
static void ngx_k8s_metrics_emit_newline(ngx_k8s_metrics_emit_t *e);
static void ngx_k8s_metrics_emit_quoted(ngx_k8s_metrics_emit_t *e,
    u_char *s, size_t len);
static void ngx_k8s_metrics_emit_escape(ngx_k8s_metrics_emit_t *e, u_char c);


void
ngx_k8s_metrics_emit_init(ngx_k8s_metrics_emit_t *e, ngx_pool_t *pool,
    ngx_flag_t pretty)
{
    ngx_memzero(e, sizeof(ngx_k8s_metrics_emit_t));

    e->pool = pool;
    e->last = &e->out;
    e->pretty = pretty ? 1 : 0;
    e->first = 1;
}


/* bytes as they are; also the callback of json_dump_callback() */

int
ngx_k8s_metrics_emit_raw(const char *buffer, size_t size, void *data)
{
    ngx_k8s_metrics_emit_t *e = data;

    size_t        n;
    ngx_chain_t  *cl;

    if (e->failed) {
        return -1;
    }

    e->size += size;

    while (size) {
        if (e->buf == NULL || e->buf->last == e->buf->end) {
            cl = ngx_alloc_chain_link(e->pool);
            if (cl == NULL) {
                e->failed = 1;
                return -1;
            }

            cl->buf = ngx_create_temp_buf(e->pool, NGX_K8S_METRICS_EMIT_CHUNK);
            if (cl->buf == NULL) {
                e->failed = 1;
                return -1;
            }

            cl->next = NULL;
            *e->last = cl;
            e->last = &cl->next;
            e->buf = cl->buf;
        }

        n = ngx_min(size, (size_t) (e->buf->end - e->buf->last));
        e->buf->last = ngx_cpymem(e->buf->last, buffer, n);
        buffer += n;
        size -= n;
    }

    return 0;
}


/* '{' or '[' */

void
ngx_k8s_metrics_emit_open(ngx_k8s_metrics_emit_t *e, u_char bracket)
{
    ngx_k8s_metrics_emit_separator(e);
    ngx_k8s_metrics_emit_raw((char *) &bracket, 1, e);

    e->depth++;
    e->first = 1;
}


/* '}' or ']'; an empty one stays "{}" or "[]" */

void
ngx_k8s_metrics_emit_close(ngx_k8s_metrics_emit_t *e, u_char bracket)
{
    e->depth--;

    if (!e->first) {
        ngx_k8s_metrics_emit_newline(e);
    }

    ngx_k8s_metrics_emit_raw((char *) &bracket, 1, e);

    e->first = 0;
}


void
ngx_k8s_metrics_emit_key(ngx_k8s_metrics_emit_t *e, u_char *key, size_t len)
{
    ngx_k8s_metrics_emit_separator(e);
    ngx_k8s_metrics_emit_quoted(e, key, len);

    if (e->pretty) {
        ngx_k8s_metrics_emit_raw(": ", 2, e);

    } else {
        ngx_k8s_metrics_emit_raw(":", 1, e);
    }

    e->after_key = 1;
}


void
ngx_k8s_metrics_emit_string(ngx_k8s_metrics_emit_t *e, u_char *s, size_t len)
{
    ngx_k8s_metrics_emit_separator(e);
    ngx_k8s_metrics_emit_quoted(e, s, len);
}


void
ngx_k8s_metrics_emit_int(ngx_k8s_metrics_emit_t *e, ngx_int_t n)
{
    u_char  *p, buf[NGX_INT_T_LEN];

    ngx_k8s_metrics_emit_separator(e);

    p = ngx_sprintf(buf, "%i", n);
    ngx_k8s_metrics_emit_raw((char *) buf, p - buf, e);
}


void
ngx_k8s_metrics_emit_null(ngx_k8s_metrics_emit_t *e)
{
    ngx_k8s_metrics_emit_separator(e);
    ngx_k8s_metrics_emit_raw("null", 4, e);
}


/* "key": "value" */

void
ngx_k8s_metrics_emit_member(ngx_k8s_metrics_emit_t *e, const char *key,
    u_char *value, size_t len)
{
    ngx_k8s_metrics_emit_key(e, (u_char *) key, ngx_strlen(key));
    ngx_k8s_metrics_emit_string(e, value, len);
}


/*
 * The time of the answer (creationTimestamp), its offset in the output
 * recorded in e->stamps when that array is set: a kept rendering of a list
 * is sent again with the time rewritten there (render.c).  The stamp is
 * plain ASCII: it is written as it is, so its length is its length in the
 * output.  An offset that cannot be recorded makes the output one not to
 * keep (stamps NULL).
 */

void
ngx_k8s_metrics_emit_stamp(ngx_k8s_metrics_emit_t *e, u_char *now, size_t len)
{
    size_t  *offset;

    ngx_k8s_metrics_emit_separator(e);

    if (e->stamps) {
        offset = ngx_array_push(e->stamps);

        if (offset == NULL) {
            e->stamps = NULL;

        } else {
            *offset = e->size + 1;
        }
    }

    ngx_k8s_metrics_emit_raw("\"", 1, e);
    ngx_k8s_metrics_emit_raw((char *) now, len, e);
    ngx_k8s_metrics_emit_raw("\"", 1, e);
}


/*
 * What comes before a value or a key: nothing after a key, a comma after
 * an earlier element, and in indented output a new line.
 */

static void
ngx_k8s_metrics_emit_separator(ngx_k8s_metrics_emit_t *e)
{
    if (e->after_key) {
        e->after_key = 0;
        return;
    }

    if (!e->first) {
        ngx_k8s_metrics_emit_raw(",", 1, e);
    }

    e->first = 0;

    if (e->depth) {
        ngx_k8s_metrics_emit_newline(e);
    }
}


static void
ngx_k8s_metrics_emit_newline(ngx_k8s_metrics_emit_t *e)
{
    static const char  spaces[] = "                                ";

    size_t  n, indent;

    if (!e->pretty) {
        return;
    }

    ngx_k8s_metrics_emit_raw("\n", 1, e);

    for (indent = 2 * e->depth; indent; indent -= n) {
        n = ngx_min(indent, sizeof(spaces) - 1);
        ngx_k8s_metrics_emit_raw(spaces, n, e);
    }
}


static void
ngx_k8s_metrics_emit_quoted(ngx_k8s_metrics_emit_t *e, u_char *s, size_t len)
{
    u_char    *p, *end, *run;
    size_t     n;
    uint32_t   rune;

    ngx_k8s_metrics_emit_raw("\"", 1, e);

    end = s + len;
    run = s;

    for (p = s; p < end; /* void */) {

        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
            p++;
            continue;
        }

        ngx_k8s_metrics_emit_raw((char *) run, p - run, e);

        if (*p < 0x80) {
            ngx_k8s_metrics_emit_escape(e, *p);
            p++;

        } else {
            n = ngx_k8s_metrics_utf8_decode(p, end, &rune);

            if (n) {
                ngx_k8s_metrics_emit_raw((char *) p, n, e);
                p += n;

            } else {
                ngx_k8s_metrics_emit_raw("\\ufffd", 6, e);
                p++;
            }
        }

        run = p;
    }

    ngx_k8s_metrics_emit_raw((char *) run, p - run, e);
    ngx_k8s_metrics_emit_raw("\"", 1, e);
}


static void
ngx_k8s_metrics_emit_escape(ngx_k8s_metrics_emit_t *e, u_char c)
{
    static const u_char  hex[] = "0123456789ABCDEF";

    u_char  buf[6];

    switch (c) {
    case '"':
        ngx_k8s_metrics_emit_raw("\\\"", 2, e);
        return;
    case '\\':
        ngx_k8s_metrics_emit_raw("\\\\", 2, e);
        return;
    case '\b':
        ngx_k8s_metrics_emit_raw("\\b", 2, e);
        return;
    case '\f':
        ngx_k8s_metrics_emit_raw("\\f", 2, e);
        return;
    case '\n':
        ngx_k8s_metrics_emit_raw("\\n", 2, e);
        return;
    case '\r':
        ngx_k8s_metrics_emit_raw("\\r", 2, e);
        return;
    case '\t':
        ngx_k8s_metrics_emit_raw("\\t", 2, e);
        return;
    }

    /* another control character: \u00XX, upper case as jansson writes it */

    buf[0] = '\\';
    buf[1] = 'u';
    buf[2] = '0';
    buf[3] = '0';
    buf[4] = hex[c >> 4];
    buf[5] = hex[c & 0xf];

    ngx_k8s_metrics_emit_raw((char *) buf, 6, e);
}
