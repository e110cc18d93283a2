
/*
 * ngx_metrics_module: the bodies the module sends (discovery documents and
 * metav1.Status), built with jansson, and the response writers.
 */


#include "ngx_k8s_metrics.h"


/* rendered answers kept by a worker, at most; their bytes, at most
 * k8s_metrics_response_cache_size */
#define NGX_K8S_METRICS_RENDERS     8


/*
 * A rendered answer: valid for one snapshot (its address and publication
 * time).  metrics-server stamps every object's creationTimestamp with the
 * time it answers: the offsets of those stamps in the body are kept, and
 * rewritten when the second has changed since.
 */

/*
 * A rendered body, shared by the cache entry and the requests sending it
 * (no copy per request: a 44 MB list is sent by many at once); freed with
 * the last of them.  It is not written to while shared.
 */

typedef struct {
    ngx_uint_t                  refs;
    size_t                      len;
    u_char                     *data;       /* follows the structure */
} ngx_k8s_metrics_rendered_t;


typedef struct {
    void                       *snapshot;
    int64_t                     published;
    ngx_str_t                   key;
    ngx_k8s_metrics_rendered_t *body;
    ngx_uint_t                  used;

    time_t                      second;     /* what the stamps say */
    size_t                     *stamps;
    ngx_uint_t                  nstamps;
    size_t                      stamp_len;

    int64_t                    *times;      /* the items', observed again */
    ngx_uint_t                  ntimes;
} ngx_k8s_metrics_render_t;


static ngx_int_t ngx_k8s_metrics_send_json_typed(ngx_http_request_t *r,
    ngx_uint_t status, json_t *body, ngx_str_t *type);
static ngx_int_t ngx_k8s_metrics_send_body(ngx_http_request_t *r,
    ngx_uint_t status, ngx_k8s_metrics_emit_t *e, ngx_str_t *type);
static ngx_int_t ngx_k8s_metrics_render_restamp(
    ngx_k8s_metrics_render_t *rd, time_t now);
static void ngx_k8s_metrics_render_keep(ngx_http_request_t *r,
    ngx_k8s_metrics_emit_t *e);
static ngx_k8s_metrics_render_t *ngx_k8s_metrics_render_room(ngx_str_t *key,
    size_t size, size_t budget);
static void ngx_k8s_metrics_render_evict(ngx_k8s_metrics_render_t *rd);
static void ngx_k8s_metrics_render_free(ngx_k8s_metrics_render_t *rd);
static ngx_k8s_metrics_rendered_t *ngx_k8s_metrics_rendered_alloc(size_t len,
    ngx_log_t *log);
static void ngx_k8s_metrics_rendered_release(void *data);
static json_t *ngx_k8s_metrics_status(ngx_uint_t code, const char *reason,
    json_t *details, const char *message);
static json_t *ngx_k8s_metrics_group_version(void);
static json_t *ngx_k8s_metrics_resource(const char *name, const char *singular,
    ngx_flag_t namespaced, const char *kind);
static json_t *ngx_k8s_metrics_discovery_resource(const char *name,
    const char *singular, const char *scope, const char *kind);
static json_t *ngx_k8s_metrics_verbs(void);
static json_t *ngx_k8s_metrics_json_str(ngx_str_t *s);


static ngx_str_t  ngx_k8s_metrics_json_type = ngx_string("application/json");

static ngx_k8s_metrics_render_t  ngx_k8s_metrics_renders[NGX_K8S_METRICS_RENDERS];
static ngx_uint_t                ngx_k8s_metrics_render_clock;
static size_t                    ngx_k8s_metrics_render_bytes;
static ngx_str_t  ngx_k8s_metrics_nosniff = ngx_string("nosniff");


ngx_int_t
ngx_k8s_metrics_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    return ngx_k8s_metrics_send_json_typed(r, status, body,
                                           &ngx_k8s_metrics_json_type);
}


static ngx_int_t
ngx_k8s_metrics_send_json_typed(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body, ngx_str_t *type)
{
    int                     rc;
    ngx_k8s_metrics_emit_t  e;

    if (body == NULL) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "k8s metrics: cannot build a JSON body");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_k8s_metrics_emit_init(&e, r->pool, ngx_k8s_metrics_pretty(r));

    rc = json_dump_callback(body, ngx_k8s_metrics_emit_raw, &e,
                            e.pretty ? JSON_INDENT(2)|JSON_PRESERVE_ORDER
                                     : JSON_COMPACT|JSON_PRESERVE_ORDER);
    json_decref(body);

    if (rc != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_k8s_metrics_send_body(r, status, &e, type);
}


/* a body written by the caller (ngx_k8s_metrics_resources.c) */

ngx_int_t
ngx_k8s_metrics_send_emitted(ngx_http_request_t *r, ngx_uint_t status,
    ngx_k8s_metrics_emit_t *e)
{
    return ngx_k8s_metrics_send_body(r, status, e, &ngx_k8s_metrics_json_type);
}


static ngx_int_t
ngx_k8s_metrics_send_body(ngx_http_request_t *r, ngx_uint_t status,
    ngx_k8s_metrics_emit_t *e, ngx_str_t *type)
{
    ngx_int_t  rc;

    /* Go's json.Encoder ends a compact document with a newline */

    if (!e->pretty) {
        ngx_k8s_metrics_emit_raw("\n", 1, e);
    }

    if (e->failed || e->buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e->buf->last_buf = (r == r->main) ? 1 : 0;
    e->buf->last_in_chain = 1;

    if (status == NGX_HTTP_OK) {
        ngx_k8s_metrics_render_keep(r, e);

        if (e->times) {
            ngx_k8s_metrics_observe_freshness(
                ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module),
                e->times->elts, e->times->nelts);
        }
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = e->size;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, e->out);
}


static ngx_k8s_metrics_render_t *
ngx_k8s_metrics_render_find(void *snapshot, int64_t published, ngx_str_t *key)
{
    ngx_uint_t                 i;
    ngx_k8s_metrics_render_t  *rd;

    for (i = 0; i < NGX_K8S_METRICS_RENDERS; i++) {
        rd = &ngx_k8s_metrics_renders[i];

        if (rd->snapshot == snapshot && rd->published == published
            && rd->key.len == key->len
            && ngx_memcmp(rd->key.data, key->data, key->len) == 0)
        {
            return rd;
        }
    }

    return NULL;
}


/*
 * The worker's rendered lists: a list asked again from the same snapshot
 * (dashboards, several autoscalers, kubectl top in a loop; a snapshot lives
 * one resolution) is sent again without building it again, its stamps
 * brought to this second.  The key is the request (URI, arguments, the
 * Accept-driven Table and pretty choices).
 */

ngx_int_t
ngx_k8s_metrics_render_lookup(ngx_http_request_t *r, void *snapshot,
    int64_t published, ngx_str_t *key, time_t now, size_t now_len)
{
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_pool_cleanup_t           *cln;
    ngx_k8s_metrics_ctx_t        *ctx;
    ngx_k8s_metrics_render_t     *rd;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_k8s_metrics_module);

    ctx->render_snapshot = snapshot;
    ctx->render_published = published;
    ctx->render_key = *key;
    ctx->render_now = now;
    ctx->render_now_len = now_len;

    rd = ngx_k8s_metrics_render_find(snapshot, published, key);

    if (rd == NULL || ngx_k8s_metrics_render_restamp(rd, now) != NGX_OK) {
        return NGX_DECLINED;
    }

    rd->used = ++ngx_k8s_metrics_render_clock;
    ctx->render_key.len = 0;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);
    (void) ngx_atomic_fetch_add(&kmcf->sh->counters.renders_reused, 1);
    ngx_k8s_metrics_observe_freshness(kmcf, rd->times, rd->ntimes);

    /* the request holds the body until its pool goes */

    b = ngx_calloc_buf(r->pool);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (b == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd->body->refs++;
    cln->handler = ngx_k8s_metrics_rendered_release;
    cln->data = rd->body;

    b->pos = rd->body->data;
    b->last = rd->body->data + rd->body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = rd->body->len;
    r->headers_out.content_type = ngx_k8s_metrics_json_type;
    r->headers_out.content_type_len = ngx_k8s_metrics_json_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * The stamps of a kept rendering, brought to this second: in place, or in
 * a copy when requests are still sending the body.
 */

static ngx_int_t
ngx_k8s_metrics_render_restamp(ngx_k8s_metrics_render_t *rd, time_t now)
{
    u_char                      *end, stamp[NGX_K8S_METRICS_QUANTITY_LEN];
    ngx_uint_t                   i;
    ngx_k8s_metrics_rendered_t  *body;

    if (rd->second == now) {
        return NGX_OK;
    }

    end = ngx_k8s_metrics_format_time(stamp, now);

    if ((size_t) (end - stamp) != rd->stamp_len) {
        return NGX_DECLINED;
    }

    if (rd->body->refs > 1) {
        body = ngx_k8s_metrics_rendered_alloc(rd->body->len, ngx_cycle->log);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        ngx_memcpy(body->data, rd->body->data, rd->body->len);
        ngx_k8s_metrics_rendered_release(rd->body);
        rd->body = body;
    }

    for (i = 0; i < rd->nstamps; i++) {
        ngx_memcpy(rd->body->data + rd->stamps[i], stamp, rd->stamp_len);
    }

    rd->second = now;

    return NGX_OK;
}


/*
 * A rendering of resources.c to keep: its stamps all the time of this
 * answer (ctx->render_now), each of them recorded.
 */

static void
ngx_k8s_metrics_render_keep(ngx_http_request_t *r, ngx_k8s_metrics_emit_t *e)
{
    u_char                       *p;
    ngx_chain_t                  *cl;
    ngx_k8s_metrics_ctx_t        *ctx;
    ngx_k8s_metrics_render_t     *slot, next;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_k8s_metrics_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (ctx == NULL || ctx->render_key.len == 0 || e->stamps == NULL
        || e->size > kmcf->response_cache_size)
    {
        return;
    }

    ngx_memzero(&next, sizeof(ngx_k8s_metrics_render_t));

    next.body = ngx_k8s_metrics_rendered_alloc(e->size, r->connection->log);
    next.key.len = ctx->render_key.len;
    next.key.data = ngx_alloc(ctx->render_key.len, r->connection->log);
    next.nstamps = e->stamps->nelts;
    next.stamps = ngx_alloc(e->stamps->nelts * sizeof(size_t) + 1,
                            r->connection->log);
    next.ntimes = e->times ? e->times->nelts : 0;
    next.times = ngx_alloc(next.ntimes * sizeof(int64_t) + 1,
                           r->connection->log);

    if (next.body == NULL || next.key.data == NULL || next.stamps == NULL
        || next.times == NULL)
    {
        ngx_k8s_metrics_render_free(&next);
        return;
    }

    p = next.body->data;

    for (cl = e->out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    ngx_memcpy(next.key.data, ctx->render_key.data, ctx->render_key.len);
    ngx_memcpy(next.stamps, e->stamps->elts, next.nstamps * sizeof(size_t));

    if (next.ntimes) {
        ngx_memcpy(next.times, e->times->elts, next.ntimes * sizeof(int64_t));
    }

    next.snapshot = ctx->render_snapshot;
    next.published = ctx->render_published;
    next.second = ctx->render_now;
    next.stamp_len = ctx->render_now_len;
    next.used = ++ngx_k8s_metrics_render_clock;

    slot = ngx_k8s_metrics_render_room(&next.key, e->size,
                                       kmcf->response_cache_size);
    *slot = next;
    ngx_k8s_metrics_render_bytes += e->size;

    ctx->render_key.len = 0;
}


/*
 * A free slot for a rendering of size bytes (at most the budget): an older
 * rendering of the same request goes first, then the least recently used
 * ones until the kept bytes leave room.
 */

static ngx_k8s_metrics_render_t *
ngx_k8s_metrics_render_room(ngx_str_t *key, size_t size, size_t budget)
{
    ngx_uint_t                 i;
    ngx_k8s_metrics_render_t  *rd, *empty, *oldest;

    for (i = 0; i < NGX_K8S_METRICS_RENDERS; i++) {
        rd = &ngx_k8s_metrics_renders[i];

        if (rd->body && rd->key.len == key->len
            && ngx_memcmp(rd->key.data, key->data, key->len) == 0)
        {
            ngx_k8s_metrics_render_evict(rd);
        }
    }

    for ( ;; ) {
        empty = NULL;
        oldest = NULL;

        for (i = 0; i < NGX_K8S_METRICS_RENDERS; i++) {
            rd = &ngx_k8s_metrics_renders[i];

            if (rd->body == NULL) {
                empty = rd;

            } else if (oldest == NULL || rd->used < oldest->used) {
                oldest = rd;
            }
        }

        if (empty && ngx_k8s_metrics_render_bytes + size <= budget) {
            return empty;
        }

        /* oldest is set: with no rendering kept, the bytes are 0 */

        ngx_k8s_metrics_render_evict(oldest);
    }
}


/* a kept rendering goes, and its bytes with it */

static void
ngx_k8s_metrics_render_evict(ngx_k8s_metrics_render_t *rd)
{
    ngx_k8s_metrics_render_bytes -= rd->body->len;
    ngx_k8s_metrics_render_free(rd);
}


static void
ngx_k8s_metrics_render_free(ngx_k8s_metrics_render_t *rd)
{
    if (rd->body) {
        ngx_k8s_metrics_rendered_release(rd->body);
    }

    if (rd->key.data) {
        ngx_free(rd->key.data);
    }

    if (rd->stamps) {
        ngx_free(rd->stamps);
    }

    if (rd->times) {
        ngx_free(rd->times);
    }

    ngx_memzero(rd, sizeof(ngx_k8s_metrics_render_t));
}


static ngx_k8s_metrics_rendered_t *
ngx_k8s_metrics_rendered_alloc(size_t len, ngx_log_t *log)
{
    ngx_k8s_metrics_rendered_t  *body;

    body = ngx_alloc(sizeof(ngx_k8s_metrics_rendered_t) + len, log);
    if (body == NULL) {
        return NULL;
    }

    body->refs = 1;
    body->len = len;
    body->data = (u_char *) (body + 1);

    return body;
}


static void
ngx_k8s_metrics_rendered_release(void *data)
{
    ngx_k8s_metrics_rendered_t *body = data;

    if (--body->refs == 0) {
        ngx_free(body);
    }
}


/*
 * As Kubernetes' content negotiation: indented for ?pretty=true and for
 * clients that are people (curl, Wget, browsers), unless ?pretty=false.
 */

ngx_flag_t
ngx_k8s_metrics_pretty(ngx_http_request_t *r)
{
    ngx_str_t  *ua, value;

    if (ngx_http_arg(r, (u_char *) "pretty", 6, &value) == NGX_OK) {
        return ngx_k8s_metrics_parse_bool(&value);
    }

    if (r->headers_in.user_agent == NULL) {
        return 0;
    }

    ua = &r->headers_in.user_agent->value;

    return (ua->len >= 4 && ngx_strncmp(ua->data, "curl", 4) == 0)
           || (ua->len >= 4 && ngx_strncmp(ua->data, "Wget", 4) == 0)
           || (ua->len >= 11 && ngx_strncmp(ua->data, "Mozilla/5.0", 11) == 0);
}


ngx_int_t
ngx_k8s_metrics_send_text(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *text)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_k8s_metrics_add_header(r, "X-Content-Type-Options",
                                   &ngx_k8s_metrics_nosniff)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = text->len;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = text->data;
    b->last = text->data + text->len;
    b->memory = text->len ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_k8s_metrics_send_status(ngx_http_request_t *r, ngx_uint_t code,
    const char *reason, json_t *details, const char *fmt, ...)
{
    u_char    *p, message[NGX_MAX_ERROR_STR];
    va_list    args;

    va_start(args, fmt);
    p = ngx_vslprintf(message, message + sizeof(message) - 1, fmt, args);
    va_end(args);

    *p = '\0';

    return ngx_k8s_metrics_send_json(r, code,
               ngx_k8s_metrics_status(code, reason, details,
                                      (const char *) message));
}


static json_t *
ngx_k8s_metrics_status(ngx_uint_t code, const char *reason, json_t *details,
    const char *message)
{
    json_t  *status;

    status = json_object();
    if (status == NULL) {
        json_decref(details);
        return NULL;
    }

    json_object_set_new(status, "kind", json_string("Status"));
    json_object_set_new(status, "apiVersion", json_string("v1"));
    json_object_set_new(status, "metadata", json_object());
    json_object_set_new(status, "status", json_string("Failure"));
    json_object_set_new(status, "message", json_string(message));
    json_object_set_new(status, "reason", json_string(reason));

    if (details) {
        json_object_set_new(status, "details", details);
    }

    json_object_set_new(status, "code", json_integer(code));

    return status;
}


ngx_int_t
ngx_k8s_metrics_send_unauthorized(ngx_http_request_t *r)
{
    return ngx_k8s_metrics_send_status(r, NGX_HTTP_UNAUTHORIZED,
                                       "Unauthorized", NULL, "Unauthorized");
}


/*
 * As k8s.io/apiserver's forbidden responder:
 *   pods.metrics.k8s.io "x" is forbidden: User "u" cannot get resource
 *   "pods" in API group "metrics.k8s.io" in the namespace "ns"
 *   forbidden: User "u" cannot get path "/metrics"
 */

ngx_int_t
ngx_k8s_metrics_send_forbidden(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *reason)
{
    u_char                          *p, *last, message[NGX_MAX_ERROR_STR];
    json_t                          *details;
    ngx_k8s_metrics_request_info_t  *info;

    info = &ctx->info;
    p = message;
    last = message + sizeof(message) - 1;

    details = json_object();
    if (details == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (info->resource_request) {
        p = ngx_slprintf(p, last, "%V." NGX_K8S_METRICS_GROUP,
                         &info->resource);

        if (info->name.len) {
            p = ngx_slprintf(p, last, " \"%V\"", &info->name);
            json_object_set_new(details, "name",
                                ngx_k8s_metrics_json_str(&info->name));
        }

        json_object_set_new(details, "group",
                            json_string(NGX_K8S_METRICS_GROUP));
        json_object_set_new(details, "kind",
                            ngx_k8s_metrics_json_str(&info->resource));

        p = ngx_slprintf(p, last,
                         " is forbidden: User \"%V\" cannot %V resource "
                         "\"%V\" in API group \"" NGX_K8S_METRICS_GROUP "\"",
                         &ctx->identity.user, &info->verb, &info->resource);

        if (info->namespace.len) {
            p = ngx_slprintf(p, last, " in the namespace \"%V\"",
                             &info->namespace);
        } else {
            p = ngx_slprintf(p, last, " at the cluster scope");
        }

    } else {
        p = ngx_slprintf(p, last,
                         "forbidden: User \"%V\" cannot %V path \"%V\"",
                         &ctx->identity.user, &info->verb, &info->path);
    }

    if (reason && reason->len) {
        p = ngx_slprintf(p, last, ": %V", reason);
    }

    *p = '\0';

    if (ngx_k8s_metrics_add_header(r, "X-Content-Type-Options",
                                   &ngx_k8s_metrics_nosniff)
        != NGX_OK)
    {
        json_decref(details);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_k8s_metrics_send_json(r, NGX_HTTP_FORBIDDEN,
               ngx_k8s_metrics_status(NGX_HTTP_FORBIDDEN, "Forbidden",
                                      details, (const char *) message));
}


ngx_int_t
ngx_k8s_metrics_send_not_found(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    u_char     *p, name[NGX_MAX_ERROR_STR];
    json_t     *details;
    const char *kind;

    if (info->name.len == 0) {
        return ngx_k8s_metrics_send_status(r, NGX_HTTP_NOT_FOUND, "NotFound",
                   json_object(),
                   "the server could not find the requested resource");
    }

    kind = (info->route == NGX_K8S_METRICS_ROUTE_NODES) ? "nodemetrics"
                                                        : "podmetrics";

    if (info->namespace.len) {
        p = ngx_slprintf(name, name + sizeof(name) - 1, "%V/%V",
                         &info->namespace, &info->name);
    } else {
        p = ngx_slprintf(name, name + sizeof(name) - 1, "%V", &info->name);
    }

    *p = '\0';

    details = json_pack("{s:s, s:s, s:s}", "name", (char *) name,
                        "group", NGX_K8S_METRICS_GROUP, "kind", kind);

    return ngx_k8s_metrics_send_status(r, NGX_HTTP_NOT_FOUND, "NotFound",
                                       details,
                                       "%s." NGX_K8S_METRICS_GROUP
                                       " \"%s\" not found", kind, name);
}


ngx_int_t
ngx_k8s_metrics_send_method_not_supported(ngx_http_request_t *r)
{
    return ngx_k8s_metrics_send_status(r, NGX_HTTP_NOT_ALLOWED,
               "MethodNotAllowed", json_object(),
               "the server does not allow this method on the requested "
               "resource");
}


ngx_int_t
ngx_k8s_metrics_send_watch_not_supported(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    json_t  *details;

    details = json_pack("{s:s, s:s%}", "group", NGX_K8S_METRICS_GROUP,
                        "kind", (char *) info->resource.data,
                        info->resource.len);

    return ngx_k8s_metrics_send_status(r, NGX_HTTP_NOT_ALLOWED,
               "MethodNotAllowed", details,
               "watch is not supported on resources of kind "
               "\"%V." NGX_K8S_METRICS_GROUP "\"", &info->resource);
}


/*
 * The aggregated discovery document, as k8s.io/apiserver serves it: typed
 * in the Content-Type, with an ETag (SHA-512 of the compact document, in
 * upper-case hex) that If-None-Match can answer with 304.
 */

ngx_int_t
ngx_k8s_metrics_send_discovery(ngx_http_request_t *r, json_t *body)
{
    char             *compact;
    u_char           *p, digest[SHA512_DIGEST_LENGTH];
    size_t            len;
    ngx_str_t         etag;
    ngx_uint_t        i;
    ngx_table_elt_t  *inm;

    static ngx_str_t  vary = ngx_string("Accept");
    static ngx_str_t  cache_control = ngx_string("public");
    static ngx_str_t  type = ngx_string(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");

    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    compact = json_dumps(body, JSON_COMPACT|JSON_PRESERVE_ORDER);
    if (compact == NULL) {
        json_decref(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(compact);
    SHA512((u_char *) compact, len, digest);
    free(compact);

    etag.len = 2 + 2 * SHA512_DIGEST_LENGTH;
    etag.data = ngx_pnalloc(r->pool, etag.len);
    if (etag.data == NULL) {
        json_decref(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = etag.data;
    *p++ = '"';

    for (i = 0; i < SHA512_DIGEST_LENGTH; i++) {
        p = ngx_sprintf(p, "%02XD", (unsigned) digest[i]);
    }

    *p = '"';

    if (ngx_k8s_metrics_add_header(r, "ETag", &etag) != NGX_OK
        || ngx_k8s_metrics_add_header(r, "Vary", &vary) != NGX_OK
        || ngx_k8s_metrics_add_header(r, "Cache-Control", &cache_control)
           != NGX_OK)
    {
        json_decref(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    inm = r->headers_in.if_none_match;

    if (inm && inm->value.len == etag.len
        && ngx_strncmp(inm->value.data, etag.data, etag.len) == 0)
    {
        json_decref(body);

        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    return ngx_k8s_metrics_send_json_typed(r, NGX_HTTP_OK, body, &type);
}


ngx_int_t
ngx_k8s_metrics_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}


/* discovery */

/*
 * The generic apiserver's root handler strips apiVersion, and gives each
 * group the server's address for every client: the listening port with no
 * host, as metrics-server sets no external address.
 */

json_t *
ngx_k8s_metrics_api_group_list(ngx_http_request_t *r)
{
    u_char   address[NGX_SOCKADDR_STRLEN];
    json_t  *group;

    if (ngx_connection_local_sockaddr(r->connection, NULL, 0) != NGX_OK) {
        return NULL;
    }

    ngx_sprintf(address, ":%ui%Z",
                (ngx_uint_t) ngx_inet_get_port(r->connection->local_sockaddr));

    group = json_pack("{s:s, s:[o], s:o, s:[{s:s, s:s}]}",
                      "name", NGX_K8S_METRICS_GROUP,
                      "versions", ngx_k8s_metrics_group_version(),
                      "preferredVersion", ngx_k8s_metrics_group_version(),
                      "serverAddressByClientCIDRs",
                      "clientCIDR", "0.0.0.0/0",
                      "serverAddress", (char *) address);

    return json_pack("{s:s, s:[o]}", "kind", "APIGroupList",
                     "groups", group);
}


json_t *
ngx_k8s_metrics_api_group(void)
{
    json_t  *group, *versions;

    versions = json_array();
    if (versions == NULL) {
        return NULL;
    }

    json_array_append_new(versions, ngx_k8s_metrics_group_version());

    group = json_object();
    if (group == NULL) {
        json_decref(versions);
        return NULL;
    }

    json_object_set_new(group, "kind", json_string("APIGroup"));
    json_object_set_new(group, "apiVersion", json_string("v1"));
    json_object_set_new(group, "name", json_string(NGX_K8S_METRICS_GROUP));
    json_object_set_new(group, "versions", versions);
    json_object_set_new(group, "preferredVersion",
                        ngx_k8s_metrics_group_version());

    return group;
}


static json_t *
ngx_k8s_metrics_group_version(void)
{
    return json_pack("{s:s, s:s}",
                     "groupVersion", NGX_K8S_METRICS_GROUP_VERSION,
                     "version", NGX_K8S_METRICS_VERSION);
}


json_t *
ngx_k8s_metrics_api_resource_list(void)
{
    json_t  *list, *resources;

    resources = json_array();
    if (resources == NULL) {
        return NULL;
    }

    json_array_append_new(resources,
        ngx_k8s_metrics_resource("nodes", "", 0, "NodeMetrics"));
    json_array_append_new(resources,
        ngx_k8s_metrics_resource("pods", "", 1, "PodMetrics"));

    list = json_object();
    if (list == NULL) {
        json_decref(resources);
        return NULL;
    }

    json_object_set_new(list, "kind", json_string("APIResourceList"));
    json_object_set_new(list, "apiVersion", json_string("v1"));
    json_object_set_new(list, "groupVersion",
                        json_string(NGX_K8S_METRICS_GROUP_VERSION));
    json_object_set_new(list, "resources", resources);

    return list;
}


static json_t *
ngx_k8s_metrics_resource(const char *name, const char *singular,
    ngx_flag_t namespaced, const char *kind)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:o}",
                     "name", name,
                     "singularName", singular,
                     "namespaced", (int) namespaced,
                     "kind", kind,
                     "verbs", ngx_k8s_metrics_verbs());
}


static json_t *
ngx_k8s_metrics_verbs(void)
{
    return json_pack("[s, s]", "get", "list");
}


/* the aggregated discovery document, apidiscovery.k8s.io/v2 */

json_t *
ngx_k8s_metrics_api_group_discovery_list(void)
{
    json_t  *resources, *version, *group;

    resources = json_pack("[o, o]",
        ngx_k8s_metrics_discovery_resource("nodes", "", "Cluster",
                                           "NodeMetrics"),
        ngx_k8s_metrics_discovery_resource("pods", "", "Namespaced",
                                           "PodMetrics"));

    version = json_pack("{s:s, s:o, s:s}",
                        "version", NGX_K8S_METRICS_VERSION,
                        "resources", resources,
                        "freshness", "Current");

    /* responseKind carries no group and version: the storage does not
     * provide them, as in metrics-server */

    group = json_pack("{s:{s:s, s:n}, s:[o]}",
                      "metadata", "name", NGX_K8S_METRICS_GROUP,
                      "creationTimestamp",
                      "versions", version);

    return json_pack("{s:s, s:s, s:{}, s:[o]}",
                     "kind", "APIGroupDiscoveryList",
                     "apiVersion", "apidiscovery.k8s.io/v2",
                     "metadata",
                     "items", group);
}


static json_t *
ngx_k8s_metrics_discovery_resource(const char *name, const char *singular,
    const char *scope, const char *kind)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}",
                     "resource", name,
                     "responseKind", "group", "", "version", "",
                     "kind", kind,
                     "scope", scope,
                     "singularResource", singular,
                     "verbs", ngx_k8s_metrics_verbs());
}


static json_t *
ngx_k8s_metrics_json_str(ngx_str_t *s)
{
    return json_stringn((const char *) s->data, s->len);
}
