
/*
 * Fuzz target: ngx_k8s_metrics_parser_feed()/_finish(), the streaming
 * parser of the kubelet's /metrics/resource text.
 *
 * Input: byte 0 picks the carry-over buffer size (0..223 itself, else one
 * of a few larger sizes, 0xff the module's 65536), byte 1 seeds the chunk
 * splits and the handler abort point, the rest is the body.
 *
 * Invariants checked:
 *   - the same samples and counters whatever the split: one chunk, random
 *     chunks (each in its own exactly-sized heap block, freed after the
 *     call), byte by byte (bodies up to 512 bytes);
 *   - the same samples as parsing each line alone (no state leaks from a
 *     line to the next), lines longer than the buffer being malformed;
 *   - "lines" is the number of lines of the body; samples + unknown +
 *     malformed <= lines; "samples" is the number of handler calls that
 *     returned NGX_OK, each NGX_DECLINED is one more malformed line;
 *   - in a sample, every string (the value's text too) is non-NULL and lies
 *     inside the chunk being fed, the carry-over buffer or the scratch
 *     area; the name is the metric's; the labels its kind requires are
 *     non-empty;
 *   - ngx_k8s_metrics_sample_value(), which the handler calls on every
 *     sample as the scraper does (declining what does not fit): it refuses
 *     exactly NaN, negative values and those whose scaled value reaches its
 *     bound, and otherwise gives the scaled value without its fraction
 *     (UBSan watches the conversions);
 *   - NGX_ERROR from the handler stops the parse at once and comes back;
 *   - a value or timestamp token alone on a line: accepted exactly when it
 *     is in Go's ParseFloat/ParseInt grammar (decimal value <= 64 bytes,
 *     or NaN, [+-]Inf, [+-]Infinity in any case), and then equal to
 *     glibc's correctly rounded strtod() / strtoll(), bit for bit (any NaN
 *     for NaN; an infinity when too large).
 */


#include "fuzz_shim.h"

#include <math.h>
#include <errno.h>
#include <strings.h>


typedef struct {
    ngx_k8s_metrics_sample_kind_e   kind;
    u_char                         *str[3];
    size_t                          len[3];
    uint64_t                        value;      /* the double's bits */
    int64_t                         ts;
} rec_t;


typedef struct {
    rec_t                          *recs;
    size_t                          n;
    size_t                          nalloc;

    ngx_uint_t                      lines;
    ngx_uint_t                      samples;
    ngx_uint_t                      unknown;
    ngx_uint_t                      malformed;

    /* where sample strings may point during the current call */
    ngx_k8s_metrics_parser_t       *parser;
    const u_char                   *chunk;
    size_t                          chunk_len;

    long                            abort_at;   /* -1: never */
    size_t                          calls;
    size_t                          declined;
} run_t;


/* the handler declines values that do not fit, as the scraper; not when
 * check_numbers() compares the values themselves */
static int  declining = 1;


static const size_t  large_sizes[] = {
    224, 255, 256, 300, 512, 1024, 4096, 16384,
    32768, 65535, 65536, 65537, 100000, 131072, 1, 65536
};


static size_t
buffer_size(u_char b)
{
    return (b < 0xe0) ? b : large_sizes[b & 0x0f];
}


static uint64_t
rnd(uint64_t *s)
{
    uint64_t  x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;

    return *s = x;
}


static int
inside(const u_char *p, size_t len, const u_char *start, size_t size)
{
    return start != NULL && p >= start && len <= size
           && (size_t) (p - start) <= size - len;
}


static void
check_str(run_t *run, ngx_str_t *s, const char *what)
{
    ngx_k8s_metrics_parser_t  *parser = run->parser;

    fuzz_assert(s->data != NULL, "%s: NULL data", what);

    if (s->len == 0) {
        return;
    }

    fuzz_assert(inside(s->data, s->len, run->chunk, run->chunk_len)
                || inside(s->data, s->len, parser->buf, parser->size)
                || inside(s->data, s->len, parser->scratch,
                          sizeof(parser->scratch)),
                "%s: %zu bytes at %p outside the chunk, the buffer and "
                "the scratch area", what, s->len, (void *) s->data);
}


/* the scale and bound of ngx_k8s_metrics_sample_value(), stated again */

static ngx_int_t
check_value(ngx_k8s_metrics_sample_t *s)
{
    double       x, scale, bound;
    uint64_t     v;
    const char  *reason;

    switch (s->kind) {
    case NGX_K8S_METRICS_SAMPLE_NODE_CPU:
    case NGX_K8S_METRICS_SAMPLE_POD_CPU:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU:
        scale = 1e9;
        bound = 0x1p64;
        break;
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_START:
        scale = 1e3;
        bound = 0x1p63;
        break;
    default:
        scale = 1;
        bound = 0x1p64;
    }

    v = 12345;
    reason = ngx_k8s_metrics_sample_value(s, &v);

    if (isnan(s->value) || s->value < 0 || s->value * scale >= bound) {
        fuzz_assert(reason != NULL && v == 12345,
                    "%.17g (kind %d) taken as %llu", s->value, (int) s->kind,
                    (unsigned long long) v);
        return NGX_DECLINED;
    }

    x = s->value * scale;

    fuzz_assert(reason == NULL, "%.17g (kind %d) refused: %s", s->value,
                (int) s->kind, reason);
    fuzz_assert((double) v <= x && x - (double) v < 1,
                "%.17g (kind %d) as %llu", s->value, (int) s->kind,
                (unsigned long long) v);

    return NGX_OK;
}


static ngx_int_t
record(void *data, ngx_k8s_metrics_sample_t *s)
{
    run_t      *run = data;
    rec_t      *r;
    ngx_str_t  *str[3];
    int         i;

    fuzz_assert(run->parser->samples == run->calls - run->declined,
                "samples %lu at call %zu, %zu declined", (unsigned long)
                run->parser->samples, run->calls + 1, run->declined);

    if (run->abort_at >= 0 && run->calls == (size_t) run->abort_at) {
        run->calls++;
        return NGX_ERROR;
    }

    fuzz_assert(run->abort_at < 0 || run->calls < (size_t) run->abort_at,
                "handler called after it returned NGX_ERROR");

    run->calls++;

    fuzz_assert(s->kind <= NGX_K8S_METRICS_SAMPLE_SCRAPE_ERROR,
                "kind %d", (int) s->kind);
    fuzz_assert(s->name != NULL && s->name->len > 0,
                "no metric name");
    fuzz_assert(s->text.len > 0 && s->text.len <= 64,
                "value text of %zu bytes", s->text.len);
    check_str(run, &s->text, "value text");

    if (check_value(s) != NGX_OK && declining) {
        run->declined++;
        return NGX_DECLINED;
    }

    str[0] = &s->namespace;
    str[1] = &s->pod;
    str[2] = &s->container;

    check_str(run, str[0], "namespace");
    check_str(run, str[1], "pod");
    check_str(run, str[2], "container");

    switch (s->kind) {
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP:
    case NGX_K8S_METRICS_SAMPLE_CONTAINER_START:
        fuzz_assert(s->container.len > 0, "container sample, no container");
        /* fall through */
    case NGX_K8S_METRICS_SAMPLE_POD_CPU:
    case NGX_K8S_METRICS_SAMPLE_POD_MEMORY:
    case NGX_K8S_METRICS_SAMPLE_POD_SWAP:
        fuzz_assert(s->namespace.len > 0 && s->pod.len > 0,
                    "pod-level sample without namespace or pod");
        break;
    default:
        break;
    }

    if (run->n == run->nalloc) {
        run->nalloc = run->nalloc ? 2 * run->nalloc : 16;
        run->recs = realloc(run->recs, run->nalloc * sizeof(rec_t));
        if (run->recs == NULL) {
            abort();
        }
    }

    r = &run->recs[run->n++];
    r->kind = s->kind;
    memcpy(&r->value, &s->value, sizeof(double));
    r->ts = s->timestamp_ms;

    for (i = 0; i < 3; i++) {
        r->len[i] = str[i]->len;
        r->str[i] = malloc(str[i]->len + 1);
        if (r->str[i] == NULL) {
            abort();
        }

        memcpy(r->str[i], str[i]->data, str[i]->len);
    }

    return NGX_OK;
}


static void
run_free(run_t *run)
{
    size_t  i;
    int     k;

    for (i = 0; i < run->n; i++) {
        for (k = 0; k < 3; k++) {
            free(run->recs[i].str[k]);
        }
    }

    free(run->recs);
    memset(run, 0, sizeof(run_t));
}


static void
run_counters(run_t *run, ngx_k8s_metrics_parser_t *parser)
{
    run->lines = parser->lines;
    run->samples = parser->samples;
    run->unknown = parser->unknown;
    run->malformed = parser->malformed;

    fuzz_assert(parser->samples == run->calls - run->declined,
                "samples %lu, handler calls %zu, %zu declined",
                (unsigned long) parser->samples, run->calls, run->declined);
    fuzz_assert(parser->malformed >= run->declined,
                "malformed %lu, %zu declined",
                (unsigned long) parser->malformed, run->declined);
    fuzz_assert(parser->samples + parser->unknown + parser->malformed
                <= parser->lines,
                "samples %lu + unknown %lu + malformed %lu > lines %lu",
                (unsigned long) parser->samples,
                (unsigned long) parser->unknown,
                (unsigned long) parser->malformed,
                (unsigned long) parser->lines);
    fuzz_assert(parser->len == 0 && !parser->overlong,
                "state left after finish: len %zu overlong %u",
                parser->len, (unsigned) parser->overlong);
}


static ngx_int_t
feed(run_t *run, ngx_k8s_metrics_parser_t *parser, const u_char *data,
    size_t len)
{
    u_char     *copy;
    ngx_int_t   rc;

    /* an exactly-sized copy, freed at once: nothing may point into it */
    copy = malloc(len);
    if (copy == NULL && len) {
        abort();
    }

    if (len) {
        memcpy(copy, data, len);
    }

    run->chunk = copy;
    run->chunk_len = len;

    rc = ngx_k8s_metrics_parser_feed(parser, copy, len);

    run->chunk = NULL;
    run->chunk_len = 0;

    free(copy);

    fuzz_assert(rc == NGX_OK || rc == NGX_ERROR, "feed rc %ld", (long) rc);

    return rc;
}


/* mode: 0 one chunk, 1 random chunks, 2 byte by byte */

static ngx_int_t
run_parse(run_t *run, const u_char *body, size_t len, size_t size,
    int mode, uint64_t seed, long abort_at)
{
    u_char                    *buf;
    size_t                     off, n, left;
    uint64_t                   r;
    ngx_int_t                  rc;
    ngx_k8s_metrics_parser_t   parser;

    memset(run, 0, sizeof(run_t));
    run->abort_at = abort_at;
    run->parser = &parser;

    buf = malloc(size);     /* exactly: an overrun is an ASan report */
    if (buf == NULL && size) {
        abort();
    }

    ngx_k8s_metrics_parser_init(&parser, buf, size, record, run);

    rc = NGX_OK;
    off = 0;

    while (off < len || (mode == 1 && off == 0 && len == 0)) {
        left = len - off;

        switch (mode) {
        case 0:
            n = left;
            break;

        case 2:
            n = 1;
            break;

        default:
            r = rnd(&seed);

            switch (r & 15) {
            case 0:
                n = 0;
                break;
            case 1: case 2: case 3: case 4: case 5: case 6: case 7:
                n = r & 7;
                break;
            case 8: case 9: case 10: case 11: case 12:
                n = (r >> 8) % 65;
                break;
            default:
                n = (r >> 8) % (left + 1);
            }

            n = ngx_min(n, left);
        }

        rc = feed(run, &parser, body + off, n);
        if (rc != NGX_OK) {
            break;
        }

        off += n;

        if (len == 0) {
            break;
        }
    }

    if (rc == NGX_OK) {
        run->chunk = NULL;
        rc = ngx_k8s_metrics_parser_finish(&parser);
        fuzz_assert(rc == NGX_OK || rc == NGX_ERROR, "finish rc %ld",
                    (long) rc);
    }

    if (rc == NGX_OK) {
        run_counters(run, &parser);
    }

    free(buf);

    return rc;
}


static int
rec_equal(rec_t *a, rec_t *b)
{
    int  i;

    if (a->kind != b->kind || a->value != b->value || a->ts != b->ts) {
        return 0;
    }

    for (i = 0; i < 3; i++) {
        if (a->len[i] != b->len[i]
            || memcmp(a->str[i], b->str[i], a->len[i]) != 0)
        {
            return 0;
        }
    }

    return 1;
}


static void
same_runs(run_t *a, run_t *b, const char *what)
{
    size_t  i;

    fuzz_assert(a->lines == b->lines && a->samples == b->samples
                && a->unknown == b->unknown && a->malformed == b->malformed,
                "%s: counters differ: lines %lu/%lu samples %lu/%lu "
                "unknown %lu/%lu malformed %lu/%lu", what,
                (unsigned long) a->lines, (unsigned long) b->lines,
                (unsigned long) a->samples, (unsigned long) b->samples,
                (unsigned long) a->unknown, (unsigned long) b->unknown,
                (unsigned long) a->malformed, (unsigned long) b->malformed);

    fuzz_assert(a->n == b->n, "%s: %zu samples vs %zu", what, a->n, b->n);

    for (i = 0; i < a->n; i++) {
        fuzz_assert(rec_equal(&a->recs[i], &b->recs[i]),
                    "%s: sample %zu differs", what, i);
    }
}


/* Go's strconv.ParseFloat syntax: decimal, or its special values; no hex */

static int
float_syntax(const u_char *p, size_t len)
{
    size_t  i = 0, digits = 0;

    if (len == 3 && strncasecmp((char *) p, "nan", 3) == 0) {
        return 1;
    }

    if (len > 0 && (p[0] == '+' || p[0] == '-')
        && (len == 4 || len == 9)
        && strncasecmp((char *) p + 1, "infinity", len - 1) == 0)
    {
        return 1;
    }

    if ((len == 3 || len == 8)
        && strncasecmp((char *) p, "infinity", len) == 0)
    {
        return 1;
    }

    if (i < len && (p[i] == '+' || p[i] == '-')) {
        i++;
    }

    while (i < len && p[i] >= '0' && p[i] <= '9') {
        i++;
        digits++;
    }

    if (i < len && p[i] == '.') {
        i++;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
            digits++;
        }
    }

    if (digits == 0) {
        return 0;
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        if (i == len || p[i] < '0' || p[i] > '9') {
            return 0;
        }

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }
    }

    return i == len;
}


static int
int_syntax(const u_char *p, size_t len)
{
    size_t  i = 0;

    if (i < len && (p[i] == '+' || p[i] == '-')) {
        i++;
    }

    if (i == len) {
        return 0;
    }

    for ( /* void */ ; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static size_t
token(const u_char *p, size_t len, size_t max)
{
    size_t  i;

    for (i = 0; i < len && i < max; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'
            || p[i] == '\0')
        {
            break;
        }
    }

    return i;
}


static void
check_numbers(const u_char *body, size_t len)
{
    u_char   line[256], tok[128], *p;
    size_t   t1, t2, n;
    double   want, got;
    int64_t  wantts;
    run_t    run;
    int      ok;

    static const char  name[] = "node_memory_working_set_bytes ";

    /* the value */

    t1 = token(body, len, 100);
    memcpy(tok, body, t1);
    tok[t1] = '\0';

    p = (u_char *) memcpy(line, name, sizeof(name) - 1) + sizeof(name) - 1;
    p = (u_char *) memcpy(p, tok, t1) + t1;
    *p++ = '\n';

    n = p - line;

    errno = 0;
    want = 0;
    ok = float_syntax(tok, t1) && t1 <= 64;

    if (ok) {
        want = strtod((char *) tok, NULL);
    }

    declining = 0;
    (void) run_parse(&run, line, n, 65536, 0, 1, -1);
    declining = 1;

    fuzz_assert(run.n == (size_t) ok, "value token: %zu samples, want %d "
                "(token \"%s\")", run.n, ok, tok);

    if (ok) {
        memcpy(&got, &run.recs[0].value, sizeof(double));

        fuzz_assert(isnan(got) ? isnan(want)
                    : memcmp(&run.recs[0].value, &want, sizeof(double)) == 0,
                    "value token \"%s\": %.17g, strtod %.17g", tok, got,
                    want);
        fuzz_assert(run.recs[0].ts == -1, "no timestamp, got %lld",
                    (long long) run.recs[0].ts);
    }

    run_free(&run);

    /* the timestamp: the next token */

    if (t1 < len) {
        body += t1 + 1;
        len -= t1 + 1;

    } else {
        len = 0;
    }

    t2 = token(body, len, 100);
    memcpy(tok, body, t2);
    tok[t2] = '\0';

    p = (u_char *) memcpy(line, name, sizeof(name) - 1) + sizeof(name) - 1;
    *p++ = '1';
    *p++ = ' ';
    p = (u_char *) memcpy(p, tok, t2) + t2;
    *p++ = '\n';

    n = p - line;

    wantts = -1;
    ok = 1;

    if (t2) {
        ok = int_syntax(tok, t2);

        if (ok) {
            errno = 0;
            wantts = strtoll((char *) tok, NULL, 10);
            ok = (errno == 0);
        }
    }

    (void) run_parse(&run, line, n, 65536, 0, 1, -1);

    fuzz_assert(run.n == (size_t) ok, "timestamp token: %zu samples, "
                "want %d (token \"%s\")", run.n, ok, tok);

    if (ok) {
        fuzz_assert(run.recs[0].ts == wantts, "timestamp \"%s\": %lld, "
                    "strtoll %lld", tok, (long long) run.recs[0].ts,
                    (long long) wantts);
    }

    run_free(&run);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t        bufsize, len, i, start, n, k, lines, overlong;
    uint64_t      seed;
    ngx_int_t     rc;
    const u_char *body;
    u_char       *line;
    run_t         whole, chunks, bytes, one, all;

    if (size < 2) {
        return 0;
    }

    bufsize = buffer_size(data[0]);
    seed = 0x9e3779b97f4a7c15ULL ^ ((uint64_t) data[1] << 32) ^ size;
    body = data + 2;
    len = size - 2;

    rc = run_parse(&whole, body, len, bufsize, 0, seed, -1);
    fuzz_assert(rc == NGX_OK, "one chunk: rc %ld", (long) rc);

    /* lines: every "\n", and a last one without it */

    lines = 0;
    overlong = 0;
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && body[i] != '\n') {
            continue;
        }

        if (i < len || i > start) {
            lines++;
            overlong += (i - start > bufsize);
        }

        start = i + 1;
    }

    fuzz_assert(whole.lines == lines, "lines %lu, the body has %zu",
                (unsigned long) whole.lines, lines);
    fuzz_assert(whole.malformed >= overlong, "malformed %lu < %zu lines "
                "longer than the buffer (%zu)",
                (unsigned long) whole.malformed, overlong, bufsize);

    rc = run_parse(&chunks, body, len, bufsize, 1, seed, -1);
    fuzz_assert(rc == NGX_OK, "chunks: rc %ld", (long) rc);
    same_runs(&whole, &chunks, "one chunk vs random chunks");
    run_free(&chunks);

    if (len <= 512) {
        rc = run_parse(&bytes, body, len, bufsize, 2, seed, -1);
        fuzz_assert(rc == NGX_OK, "bytes: rc %ld", (long) rc);
        same_runs(&whole, &bytes, "one chunk vs byte by byte");
        run_free(&bytes);
    }

    /* line by line, each parsed alone, give the same samples */

    memset(&all, 0, sizeof(run_t));
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && body[i] != '\n') {
            continue;
        }

        n = i - start;

        if (i == len && n == 0) {
            break;
        }

        if (n > bufsize) {
            all.lines++;
            all.malformed++;
            start = i + 1;
            continue;
        }

        line = malloc(n + 1);
        if (line == NULL) {
            abort();
        }

        memcpy(line, body + start, n);
        line[n] = '\n';

        rc = run_parse(&one, line, n + 1, n, 0, seed, -1);
        fuzz_assert(rc == NGX_OK, "line: rc %ld", (long) rc);
        free(line);

        all.lines += one.lines;
        all.samples += one.samples;
        all.unknown += one.unknown;
        all.malformed += one.malformed;

        for (k = 0; k < one.n; k++) {
            if (all.n == all.nalloc) {
                all.nalloc = all.nalloc ? 2 * all.nalloc : 16;
                all.recs = realloc(all.recs, all.nalloc * sizeof(rec_t));
                if (all.recs == NULL) {
                    abort();
                }
            }

            all.recs[all.n++] = one.recs[k];
        }

        free(one.recs);

        start = i + 1;
    }

    same_runs(&whole, &all, "whole body vs line by line");
    run_free(&all);

    /* the handler's NGX_ERROR stops everything */

    if (whole.n) {
        k = data[1] % whole.n;
        rc = run_parse(&chunks, body, len, bufsize, 1, seed, (long) k);
        fuzz_assert(rc == NGX_ERROR, "abort at sample %zu: rc %ld", k,
                    (long) rc);
        fuzz_assert(chunks.calls == k + 1, "abort at sample %zu: %zu calls",
                    k, chunks.calls);
        run_free(&chunks);
    }

    run_free(&whole);

    check_numbers(body, len);

    return 0;
}
