
/*
 * Fuzz target: ngx_k8s_metrics_negotiate() (media.c), the Accept header
 * read as kube-apiserver reads it (goautoneg's ParseAccept, then
 * NegotiateMediaTypeOptions with the metrics endpoints' restrictions or
 * the default ones of a Status).
 *
 * media.c is linked unmodified, with --gc-sections as the extra_key
 * target links authn.c: only the negotiation and what it calls stay.
 *
 * The whole input is the header's value, in a block of exactly its size.
 *
 * Invariants checked:
 *   - what a Status accepts, the metrics paths accept (their restrictions
 *     allow more: a Table, sv=v1);
 *   - a Table only on the metrics paths, and only in JSON;
 *   - a header that names neither json, protobuf nor "*" is refused;
 *   - a clause for a type not served, appended, changes nothing (while
 *     the header has room for it: the first 32 clauses are read).
 */


#include "fuzz_shim.h"
#include "ngx_k8s_metrics_media.h"


/*
 * the debug log line of the negotiation (nginx --with-debug, as Debian's):
 * the request's log is at level 0, so it is never called, but linked
 */

void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    fuzz_assert(0, "a log line at level 0");
}


static ngx_int_t
negotiate(u_char *p, size_t len, ngx_flag_t resource,
    ngx_k8s_metrics_media_t *m)
{
    ngx_log_t           log;
    ngx_table_elt_t     h;
    ngx_connection_t    c;
    ngx_http_request_t  r;

    ngx_memzero(&r, sizeof(ngx_http_request_t));
    ngx_memzero(&h, sizeof(ngx_table_elt_t));
    ngx_memzero(&c, sizeof(ngx_connection_t));
    ngx_memzero(&log, sizeof(ngx_log_t));

    c.log = &log;
    r.connection = &c;

    h.value.data = p;
    h.value.len = len;
    r.headers_in.accept = &h;

    return ngx_k8s_metrics_negotiate(&r, resource, m);
}


static int
contains(const u_char *p, size_t len, const char *s)
{
    size_t  n, i;

    n = strlen(s);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(p + i, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static size_t
commas(const u_char *p, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += (p[i] == ',');
    }

    return n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                   *buf, *more;
    ngx_int_t                 rs, rr, rm;
    ngx_k8s_metrics_media_t   ms, mr, mm;

    static const char  tail[] = ", text/html;q=1";

    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);

    rs = negotiate(buf, size, 0, &ms);
    rr = negotiate(buf, size, 1, &mr);

    fuzz_assert(rs != NGX_OK || rr == NGX_OK,
                "a Status accepted, the metrics paths refused");

    fuzz_assert(!ms.table, "a Table for a Status");
    fuzz_assert(rr != NGX_OK || !mr.table
                || mr.type == NGX_K8S_METRICS_MEDIA_JSON,
                "a Table not in JSON");

    if (size && !contains(buf, size, "json") && !contains(buf, size, "*")
        && !contains(buf, size, "vnd.kubernetes.protobuf"))
    {
        fuzz_assert(rr == NGX_DECLINED && rs == NGX_DECLINED,
                    "a header naming nothing served accepted");
    }

    if (size && commas(buf, size) < 30) {
        more = malloc(size + sizeof(tail) - 1);
        memcpy(more, buf, size);
        memcpy(more + size, tail, sizeof(tail) - 1);

        rm = negotiate(more, size + sizeof(tail) - 1, 1, &mm);

        fuzz_assert(rm == rr
                    && (rr != NGX_OK
                        || (mm.type == mr.type && mm.table == mr.table
                            && mm.pretty == mr.pretty)),
                    "an unserved clause appended changed the result");
        free(more);
    }

    free(buf);
    fuzz_pool_reset();

    return 0;
}
