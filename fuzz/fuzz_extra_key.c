
/*
 * Fuzz target: ngx_k8s_metrics_decode_extra_key() (identity.c), the key of
 * an X-Remote-Extra-<key> header as k8s.io/apiserver's requestheader
 * authenticator reads it: strings.ToLower(), then url.PathUnescape(), and
 * the lower-cased key as it was when that fails.
 *
 * identity.c is linked unmodified: with -ffunction-sections and the
 * linker's --gc-sections (and -z start-stop-gc, or the sanitizer-coverage
 * tables would keep every function alive) nothing but the decoder and what
 * it calls stays, so OpenSSL needs no stubs; the decoder itself calls
 * ngx_pnalloc(), ngx_strlow() and ngx_hextoi(), from fuzz_shim.c.  Should
 * the decoder start calling more of nginx, the link fails naming the
 * symbol.
 *
 * The whole input is the raw key (the header name after the prefix).
 *
 * Invariants checked:
 *   - NGX_OK; NGX_ERROR when its allocation fails;
 *   - the output is never longer than the input;
 *   - it equals a decoder written here from Go's url.PathUnescape()
 *     (net/url unescape(), encodePathSegment: "%" needs two hex digits
 *     after it, "+" stays) over ASCII-lower-cased input;
 *   - lower case: no byte 'A'-'Z' in the output but those written as
 *     %41-%5A escapes; with no valid escape (or a bad one) the output is
 *     exactly the lower-cased input;
 *   - decode(lower(raw)) == decode(raw): lower-casing first changes
 *     nothing, hex digits being case-blind;
 *   - decode(%XX-escape every byte of y) == y for y = decode(raw), in
 *     upper- and lower-case hex: the decoder inverts PathEscape;
 *   - when decode(raw) holds no '%', decode(decode(raw)) ==
 *     lower(decode(raw)): a second pass only lower-cases (idempotent on
 *     its own escape-free output).
 */


#include "fuzz_shim.h"
#include "ngx_k8s_metrics_identity.h"


static int
hexval(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


static void
lower(u_char *dst, const u_char *src, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i];
    }
}


/* returns the length; *upper: bytes 'A'-'Z' written by escapes;
 * *escapes: valid escapes decoded (0 when one was bad) */

static size_t
reference(const u_char *raw, size_t len, u_char *out, size_t *upper,
    size_t *escapes)
{
    size_t  i, n;
    int     hi, lo;
    u_char  c;

    *upper = 0;
    *escapes = 0;

    /* a bad escape anywhere: the lower-cased key as it was */

    for (i = 0; i < len; i++) {
        if (raw[i] == '%'
            && (i + 2 >= len || hexval(raw[i + 1]) < 0
                || hexval(raw[i + 2]) < 0))
        {
            lower(out, raw, len);
            return len;
        }
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (raw[i] != '%') {
            out[n++] = (raw[i] >= 'A' && raw[i] <= 'Z') ? raw[i] + 32
                                                        : raw[i];
            continue;
        }

        hi = hexval(raw[i + 1]);
        lo = hexval(raw[i + 2]);
        c = (u_char) (hi * 16 + lo);

        *upper += (c >= 'A' && c <= 'Z');
        (*escapes)++;

        out[n++] = c;
        i += 2;
    }

    return n;
}


static void
decode(const u_char *raw, size_t len, ngx_str_t *key)
{
    u_char     *copy;
    ngx_int_t   rc;
    ngx_str_t   in;

    /* an exactly-sized copy: reads past the end are ASan reports */
    copy = malloc(len);
    if (copy == NULL && len) {
        abort();
    }

    if (len) {
        memcpy(copy, raw, len);
    }

    in.data = copy;
    in.len = len;

    rc = ngx_k8s_metrics_decode_extra_key(fuzz_pool, &in, key);

    fuzz_assert(rc == NGX_OK, "rc %ld", (long) rc);
    fuzz_assert(key->len <= len, "output %zu bytes, input %zu", key->len,
                len);
    fuzz_assert(key->data != NULL, "NULL key");
    fuzz_assert(in.data == copy && in.len == len, "input changed");

    free(copy);
}


static int
same(ngx_str_t *a, const u_char *p, size_t len)
{
    return a->len == len && (len == 0 || memcmp(a->data, p, len) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char     *ref, *low, *esc, *p;
    size_t      n, i, upper, escapes, count;
    ngx_int_t   rc;
    ngx_str_t   key, key2, in;

    static const char  hex_upper[] = "0123456789ABCDEF";
    static const char  hex_lower[] = "0123456789abcdef";

    fuzz_pool_reset();

    /* its one allocation failing */

    in.data = (u_char *) data;
    in.len = size;

    fuzz_pool_fail_at(0);
    rc = ngx_k8s_metrics_decode_extra_key(fuzz_pool, &in, &key);
    fuzz_assert(rc == NGX_ERROR && fuzz_pool_failed(),
                "failed allocation: rc %ld", (long) rc);
    fuzz_pool_reset();

    decode(data, size, &key);

    ref = malloc(size + 1);
    low = malloc(size + 1);
    if (ref == NULL || low == NULL) {
        abort();
    }

    n = reference(data, size, ref, &upper, &escapes);

    if (!same(&key, ref, n)) {
        fuzz_dump("raw", data, size);
        fuzz_dump("decoded", key.data, key.len);
        fuzz_dump("reference", ref, n);
    }

    fuzz_assert(same(&key, ref, n), "differs from url.PathUnescape");

    count = 0;

    for (i = 0; i < key.len; i++) {
        count += (key.data[i] >= 'A' && key.data[i] <= 'Z');
    }

    fuzz_assert(count == upper, "%zu upper-case bytes, %zu from escapes",
                count, upper);

    lower(low, data, size);

    if (escapes == 0) {
        fuzz_assert(same(&key, low, size), "no escape decoded, yet the "
                    "key is not the lower-cased input");
    }

    /* lower-casing the input first changes nothing */

    decode(low, size, &key2);
    fuzz_assert(key2.len == key.len
                && memcmp(key2.data, key.data, key.len) == 0,
                "decode(lower(raw)) != decode(raw)");

    /* escaping the output and decoding gives it back */

    esc = malloc(3 * key.len + 1);
    if (esc == NULL) {
        abort();
    }

    for (i = 0, p = esc; i < key.len; i++) {
        *p++ = '%';
        *p++ = hex_upper[key.data[i] >> 4];
        *p++ = hex_upper[key.data[i] & 0xf];
    }

    decode(esc, p - esc, &key2);
    fuzz_assert(same(&key2, key.data, key.len),
                "decode(PathEscape(y)) != y (upper-case hex)");

    for (i = 0, p = esc; i < key.len; i++) {
        *p++ = '%';
        *p++ = hex_lower[key.data[i] >> 4];
        *p++ = hex_lower[key.data[i] & 0xf];
    }

    decode(esc, p - esc, &key2);
    fuzz_assert(same(&key2, key.data, key.len),
                "decode(PathEscape(y)) != y (lower-case hex)");

    free(esc);

    /* a second pass over escape-free output only lower-cases it */

    if (key.len == 0 || memchr(key.data, '%', key.len) == NULL) {
        lower(low, key.data, key.len);
        decode(key.data, key.len, &key2);
        fuzz_assert(same(&key2, low, key.len),
                    "decode(decode(raw)) != lower(decode(raw))");
    }

    free(ref);
    free(low);

    fuzz_pool_reset();

    return 0;
}
