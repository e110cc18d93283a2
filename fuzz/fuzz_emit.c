
/*
 * Fuzz target: ngx_k8s_metrics_emit.c, the JSON writer of NodeMetrics and
 * PodMetrics, with jansson as the oracle.
 *
 * Input: byte 0: bit 0 indented output, bits 1-7 the pool allocation to
 * fail (0: none); the rest is a string s, written as a value and (when it
 * holds no NUL, which jansson refuses in keys) as a key, in a document
 * with every construct the module writes: nested objects and arrays, empty
 * ones.
 *
 * emit.c is linked unmodified, and with --gc-sections only what the
 * document uses stays: ngx_k8s_metrics_emit_int() goes, and with it its
 * ngx_sprintf(); ngx_alloc_chain_link() and ngx_create_temp_buf() come
 * from the shim.
 *
 * Invariants checked:
 *   - an injected allocation failure sets e.failed and nothing else
 *     breaks;
 *   - otherwise the output parses (json_loadb), and s decodes to s when s
 *     is UTF-8, or else to s with each byte that is not part of a
 *     well-formed sequence replaced by U+FFFD (Go's encoding/json), by a
 *     reference written here over fuzz_valid_utf8();
 *   - when s is UTF-8, the output is byte for byte what jansson itself
 *     dumps for the parsed document with the module's flags
 *     (JSON_COMPACT or JSON_INDENT(2), JSON_PRESERVE_ORDER): the same
 *     escapes, separators and indentation as every jansson-built body.
 */


#include "fuzz_shim.h"

#include <jansson.h>


static void
document(ngx_k8s_metrics_emit_t *e, u_char *s, size_t len, int key)
{
    ngx_k8s_metrics_emit_open(e, '{');
    ngx_k8s_metrics_emit_member(e, "kind", s, len);
    ngx_k8s_metrics_emit_name(e, "items");
    ngx_k8s_metrics_emit_open(e, '[');
    ngx_k8s_metrics_emit_string(e, s, len);
    ngx_k8s_metrics_emit_open(e, '{');
    ngx_k8s_metrics_emit_close(e, '}');
    ngx_k8s_metrics_emit_open(e, '[');
    ngx_k8s_metrics_emit_close(e, ']');
    ngx_k8s_metrics_emit_open(e, '{');
    ngx_k8s_metrics_emit_literal(e, "a", "b");
    ngx_k8s_metrics_emit_name(e, "none");
    ngx_k8s_metrics_emit_null(e);
    ngx_k8s_metrics_emit_close(e, '}');
    ngx_k8s_metrics_emit_close(e, ']');

    if (key) {
        ngx_k8s_metrics_emit_key(e, s, len);
        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_emit_close(e, '}');
    }

    ngx_k8s_metrics_emit_close(e, '}');
}


/* the output as one malloc()ed block */

static u_char *
flatten(ngx_k8s_metrics_emit_t *e)
{
    u_char       *out, *p;
    ngx_chain_t  *cl;

    out = malloc(e->size + 1);
    if (out == NULL) {
        abort();
    }

    p = out;

    for (cl = e->out; cl; cl = cl->next) {
        memcpy(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        p += cl->buf->last - cl->buf->pos;
    }

    fuzz_assert((size_t) (p - out) == e->size, "%zu bytes in the chain, %zu "
                "counted", (size_t) (p - out), e->size);

    return out;
}


/* s with every byte outside a well-formed sequence replaced by U+FFFD */

static size_t
replaced(const u_char *s, size_t len, u_char *out)
{
    size_t  i, n, w;

    w = 0;

    for (i = 0; i < len; /* void */) {
        if (s[i] < 0x80) {
            out[w++] = s[i++];
            continue;
        }

        for (n = 2; n <= 4; n++) {
            if (i + n <= len && fuzz_valid_utf8(s + i, n)) {
                break;
            }
        }

        if (n <= 4) {
            memcpy(out + w, s + i, n);
            w += n;
            i += n;

        } else {
            memcpy(out + w, "\xef\xbf\xbd", 3);
            w += 3;
            i++;
        }
    }

    return w;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      key, pretty;
    long                     fail;
    u_char                  *s, *out, *want;
    char                    *again;
    size_t                   len, want_len, again_len;
    json_t                  *root, *kind;
    json_error_t             error;
    ngx_k8s_metrics_emit_t   e;

    if (size < 1) {
        return 0;
    }

    pretty = data[0] & 1;
    fail = (data[0] >> 1) ? (data[0] >> 1) - 1 : -1;

    len = size - 1;
    s = malloc(len ? len : 1);
    if (s == NULL) {
        abort();
    }

    memcpy(s, data + 1, len);
    /* jansson reads no NUL in a key, and keeps the last of equal keys */
    key = memchr(s, '\0', len) == NULL
          && !(len == 4 && memcmp(s, "kind", 4) == 0)
          && !(len == 5 && memcmp(s, "items", 5) == 0);

    fuzz_pool_reset();
    fuzz_pool_fail_at(fail);

    ngx_k8s_metrics_emit_init(&e, fuzz_pool, pretty);
    document(&e, s, len, key);

    fuzz_assert(e.failed == (unsigned) fuzz_pool_failed(),
                "failed %u, an allocation failed %d", e.failed,
                fuzz_pool_failed());

    if (e.failed) {
        goto done;
    }

    out = flatten(&e);

    root = json_loadb((char *) out, e.size, JSON_ALLOW_NUL, &error);

    if (root == NULL) {
        fuzz_dump("output", out, e.size);
    }

    fuzz_assert(root != NULL, "jansson cannot read the output: %s at %d",
                error.text, error.position);

    kind = json_object_get(root, "kind");
    fuzz_assert(json_is_string(kind), "no kind");

    want = malloc(3 * len + 1);
    if (want == NULL) {
        abort();
    }

    want_len = replaced(s, len, want);

    fuzz_assert(json_string_length(kind) == want_len
                && memcmp(json_string_value(kind), want, want_len) == 0,
                "s decodes to %zu bytes, %zu expected",
                json_string_length(kind), want_len);

    if (fuzz_valid_utf8(s, len)) {
        again = json_dumps(root, pretty ? JSON_INDENT(2)|JSON_PRESERVE_ORDER
                                        : JSON_COMPACT|JSON_PRESERVE_ORDER);
        fuzz_assert(again != NULL, "jansson cannot dump it again");

        again_len = strlen(again);

        if (again_len != e.size || memcmp(again, out, e.size) != 0) {
            fuzz_dump("emitted", out, e.size);
            fuzz_dump("jansson", (u_char *) again, again_len);
        }

        fuzz_assert(again_len == e.size && memcmp(again, out, e.size) == 0,
                    "the output differs from jansson's");

        free(again);
    }

    free(want);
    json_decref(root);
    free(out);

done:

    fuzz_pool_reset();
    free(s);

    return 0;
}
