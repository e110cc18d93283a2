
/*
 * ngx_metrics_module: the audit trail.  $k8s_metrics_audit_event is one
 * audit.k8s.io/v1 Event per request, as kube-apiserver's log backend
 * writes it at level Metadata, stage ResponseComplete: for
 * "log_format k8s_audit escape=none '$k8s_metrics_audit_event';".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_audit.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_quantity.h"


#define NGX_K8S_METRICS_UUID_LEN  36


static ngx_table_elt_t *ngx_k8s_metrics_audit_header(ngx_http_request_t *r,
    const char *name);
static void ngx_k8s_metrics_audit_user(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_ctx_t *ctx);
static void ngx_k8s_metrics_audit_source_ips(ngx_k8s_metrics_emit_t *e,
    ngx_http_request_t *r);
static ngx_int_t ngx_k8s_metrics_audit_ip(ngx_pool_t *pool, u_char *data,
    size_t len, ngx_str_t *ip);
static void ngx_k8s_metrics_audit_object_ref(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_request_info_t *info);
static void ngx_k8s_metrics_audit_time(ngx_k8s_metrics_emit_t *e,
    const char *key, time_t sec, ngx_uint_t usec);
static int ngx_libc_cdecl ngx_k8s_metrics_audit_cmp_extra(const void *one,
    const void *two);


/*
 * The request's audit ID: the Audit-ID header the aggregator sends, as it
 * is, else a new random (version 4) UUID; answered in the Audit-Id
 * response header, as kube-apiserver's WithAuditInit does.
 */

ngx_int_t
ngx_k8s_metrics_audit_init(ngx_http_request_t *r, ngx_k8s_metrics_ctx_t *ctx)
{
    u_char           *p, b[16];
    ngx_table_elt_t  *h;

    h = ngx_k8s_metrics_audit_header(r, "Audit-ID");

    if (h && h->value.len) {
        ctx->audit_id = h->value;

    } else {
        if (RAND_bytes(b, sizeof(b)) != 1) {
            ngx_ssl_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "k8s metrics: RAND_bytes() failed");
            return NGX_ERROR;
        }

        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;

        p = ngx_pnalloc(r->pool, NGX_K8S_METRICS_UUID_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ctx->audit_id.data = p;

        p = ngx_hex_dump(p, b, 4);
        *p++ = '-';
        p = ngx_hex_dump(p, b + 4, 2);
        *p++ = '-';
        p = ngx_hex_dump(p, b + 6, 2);
        *p++ = '-';
        p = ngx_hex_dump(p, b + 8, 2);
        *p++ = '-';
        p = ngx_hex_dump(p, b + 10, 6);

        ctx->audit_id.len = p - ctx->audit_id.data;
    }

    return ngx_k8s_metrics_add_header(r, "Audit-Id", &ctx->audit_id);
}


/* the outcome of authorization, for the event's annotations */

void
ngx_k8s_metrics_audit_decision(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_uint_t decision, ngx_str_t *reason)
{
    ctx->audit_decision = decision;

    if (reason == NULL || reason->len == 0) {
        ngx_str_null(&ctx->audit_reason);
        return;
    }

    ctx->audit_reason.data = ngx_pstrdup(r->pool, reason);
    ctx->audit_reason.len = ctx->audit_reason.data ? reason->len : 0;
}


/*
 * The Event, in the field order of Go's audit.Event (kind, apiVersion,
 * level, auditID, stage, requestURI, verb, user, sourceIPs, userAgent,
 * objectRef, responseStatus, requestReceivedTimestamp, stageTimestamp,
 * annotations), empty fields left out as its omitempty tags do.
 */

ngx_int_t
ngx_k8s_metrics_audit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_str_t                s;
    ngx_chain_t             *cl;
    struct timeval           tv;
    ngx_table_elt_t         *ua;
    ngx_k8s_metrics_ctx_t   *ctx;
    ngx_k8s_metrics_emit_t   e;

    static const char  *decisions[] = { NULL, "allow", "forbid", NULL };

    ctx = ngx_http_get_module_ctx(r, ngx_http_k8s_metrics_module);

    if (ctx == NULL || ctx->audit_id.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_gettimeofday(&tv);

    ngx_k8s_metrics_emit_init(&e, r->pool, 0);

    ngx_k8s_metrics_emit_open(&e, '{');
    ngx_k8s_metrics_emit_literal(&e, "kind", "Event");
    ngx_k8s_metrics_emit_literal(&e, "apiVersion", "audit.k8s.io/v1");
    ngx_k8s_metrics_emit_literal(&e, "level", "Metadata");
    ngx_k8s_metrics_emit_member(&e, "auditID", ctx->audit_id.data,
                                ctx->audit_id.len);
    ngx_k8s_metrics_emit_literal(&e, "stage", "ResponseComplete");
    ngx_k8s_metrics_emit_member(&e, "requestURI", r->unparsed_uri.data,
                                r->unparsed_uri.len);
    ngx_k8s_metrics_emit_member(&e, "verb", ctx->info.verb.data,
                                ctx->info.verb.len);

    ngx_k8s_metrics_audit_user(&e, ctx);
    ngx_k8s_metrics_audit_source_ips(&e, r);

    ua = r->headers_in.user_agent;

    if (ua && ua->value.len) {
        ngx_k8s_metrics_emit_member(&e, "userAgent", ua->value.data,
                                    ua->value.len);
    }

    if (ctx->info.resource_request) {
        ngx_k8s_metrics_audit_object_ref(&e, &ctx->info);
    }

    ngx_k8s_metrics_emit_name(&e, "responseStatus");
    ngx_k8s_metrics_emit_open(&e, '{');
    ngx_k8s_metrics_emit_name(&e, "metadata");
    ngx_k8s_metrics_emit_open(&e, '{');
    ngx_k8s_metrics_emit_close(&e, '}');
    ngx_k8s_metrics_emit_name(&e, "code");
    ngx_k8s_metrics_emit_int(&e, r->headers_out.status);
    ngx_k8s_metrics_emit_close(&e, '}');

    ngx_k8s_metrics_audit_time(&e, "requestReceivedTimestamp", r->start_sec,
                               r->start_msec * 1000);
    ngx_k8s_metrics_audit_time(&e, "stageTimestamp", tv.tv_sec,
                               tv.tv_usec);

    /* as WithAuthorization: an error has its reason only */

    if (ctx->audit_decision) {
        ngx_k8s_metrics_emit_name(&e, "annotations");
        ngx_k8s_metrics_emit_open(&e, '{');

        if (decisions[ctx->audit_decision]) {
            ngx_k8s_metrics_emit_member(&e, "authorization.k8s.io/decision",
                              (u_char *) decisions[ctx->audit_decision],
                              ngx_strlen(decisions[ctx->audit_decision]));
        }

        if (ctx->audit_decision == NGX_K8S_METRICS_AUDIT_ERROR) {
            ngx_str_set(&s, "internal error");

        } else {
            s = ctx->audit_reason;
        }

        ngx_k8s_metrics_emit_member(&e, "authorization.k8s.io/reason",
                                    s.data, s.len);
        ngx_k8s_metrics_emit_close(&e, '}');
    }

    ngx_k8s_metrics_emit_close(&e, '}');

    if (e.failed || e.buf == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, e.size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (cl = e.out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the first header of that name, as Go's Header.Get() */

static ngx_table_elt_t *
ngx_k8s_metrics_audit_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* authentication.k8s.io/v1 UserInfo; empty when authentication failed */

static void
ngx_k8s_metrics_audit_user(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_ctx_t *ctx)
{
    ngx_str_t                    *group, *value;
    ngx_uint_t                    i, k, n;
    ngx_k8s_metrics_extra_t      *extra, **sorted;
    ngx_k8s_metrics_identity_t   *id;

    id = &ctx->identity;

    ngx_k8s_metrics_emit_name(e, "user");
    ngx_k8s_metrics_emit_open(e, '{');

    if (!ctx->authenticated) {
        ngx_k8s_metrics_emit_close(e, '}');
        return;
    }

    if (id->user.len) {
        ngx_k8s_metrics_emit_member(e, "username", id->user.data,
                                    id->user.len);
    }

    if (id->uid.len) {
        ngx_k8s_metrics_emit_member(e, "uid", id->uid.data, id->uid.len);
    }

    if (id->groups.nelts) {
        ngx_k8s_metrics_emit_name(e, "groups");
        ngx_k8s_metrics_emit_open(e, '[');

        group = id->groups.elts;

        for (i = 0; i < id->groups.nelts; i++) {
            ngx_k8s_metrics_emit_string(e, group[i].data, group[i].len);
        }

        ngx_k8s_metrics_emit_close(e, ']');
    }

    n = id->extra.nelts;

    if (n) {
        /* a map: Go writes its keys sorted */

        sorted = ngx_palloc(e->pool, n * sizeof(ngx_k8s_metrics_extra_t *));
        if (sorted == NULL) {
            e->failed = 1;
            return;
        }

        extra = id->extra.elts;

        for (i = 0; i < n; i++) {
            sorted[i] = &extra[i];
        }

        ngx_qsort(sorted, n, sizeof(ngx_k8s_metrics_extra_t *),
                  ngx_k8s_metrics_audit_cmp_extra);

        ngx_k8s_metrics_emit_name(e, "extra");
        ngx_k8s_metrics_emit_open(e, '{');

        for (i = 0; i < n; i++) {
            ngx_k8s_metrics_emit_key(e, sorted[i]->key.data,
                                     sorted[i]->key.len);
            ngx_k8s_metrics_emit_open(e, '[');

            value = sorted[i]->values.elts;

            for (k = 0; k < sorted[i]->values.nelts; k++) {
                ngx_k8s_metrics_emit_string(e, value[k].data, value[k].len);
            }

            ngx_k8s_metrics_emit_close(e, ']');
        }

        ngx_k8s_metrics_emit_close(e, '}');
    }

    ngx_k8s_metrics_emit_close(e, '}');
}


static int ngx_libc_cdecl
ngx_k8s_metrics_audit_cmp_extra(const void *one, const void *two)
{
    ngx_k8s_metrics_extra_t *a = *(ngx_k8s_metrics_extra_t **) one;
    ngx_k8s_metrics_extra_t *b = *(ngx_k8s_metrics_extra_t **) two;

    return ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);
}


/*
 * As k8s.io/apimachinery's utilnet.SourceIPs(): the addresses of the
 * first X-Forwarded-For header, then X-Real-Ip unless already listed,
 * then the peer unless it is the last one listed.
 */

static void
ngx_k8s_metrics_audit_source_ips(ngx_k8s_metrics_emit_t *e,
    ngx_http_request_t *r)
{
    u_char           *p, *last, *comma;
    ngx_str_t         ip;
    ngx_uint_t        i, n, found;
    ngx_table_elt_t  *h;
    u_char            buf[NGX_SOCKADDR_STRLEN];
    ngx_str_t         list[16];

    n = 0;

    h = ngx_k8s_metrics_audit_header(r, "X-Forwarded-For");

    if (h) {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last && n < 14) {
            comma = ngx_strlchr(p, last, ',');
            if (comma == NULL) {
                comma = last;
            }

            if (ngx_k8s_metrics_audit_ip(e->pool, p, comma - p, &list[n])
                == NGX_OK)
            {
                n++;
            }

            p = comma + 1;
        }
    }

    h = ngx_k8s_metrics_audit_header(r, "X-Real-Ip");

    if (h && ngx_k8s_metrics_audit_ip(e->pool, h->value.data, h->value.len,
                                      &ip) == NGX_OK)
    {
        found = 0;

        for (i = 0; i < n; i++) {
            if (list[i].len == ip.len
                && ngx_strncmp(list[i].data, ip.data, ip.len) == 0)
            {
                found = 1;
            }
        }

        if (!found) {
            list[n++] = ip;
        }
    }

    ip.len = ngx_sock_ntop(r->connection->sockaddr, r->connection->socklen,
                           buf, sizeof(buf), 0);
    ip.data = buf;

    if (ip.len
        && (n == 0 || list[n - 1].len != ip.len
            || ngx_strncmp(list[n - 1].data, ip.data, ip.len) != 0))
    {
        list[n++] = ip;
    }

    if (n == 0) {
        return;
    }

    ngx_k8s_metrics_emit_name(e, "sourceIPs");
    ngx_k8s_metrics_emit_open(e, '[');

    for (i = 0; i < n; i++) {
        ngx_k8s_metrics_emit_string(e, list[i].data, list[i].len);
    }

    ngx_k8s_metrics_emit_close(e, ']');
}


/* an address written as Go's net.IP.String() writes it, or NGX_DECLINED */

static ngx_int_t
ngx_k8s_metrics_audit_ip(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_str_t *ip)
{
    u_char     *p;
    ngx_addr_t  addr;

    while (len && (*data == ' ' || *data == '\t')) {
        data++;
        len--;
    }

    while (len && (data[len - 1] == ' ' || data[len - 1] == '\t')) {
        len--;
    }

    if (len == 0 || ngx_parse_addr(pool, &addr, data, len) != NGX_OK) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(pool, NGX_SOCKADDR_STRLEN);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    ip->data = p;
    ip->len = ngx_sock_ntop(addr.sockaddr, addr.socklen, p,
                            NGX_SOCKADDR_STRLEN, 0);

    return ip->len ? NGX_OK : NGX_DECLINED;
}


/* audit.k8s.io/v1 ObjectReference: resource, namespace, name, group, version */

static void
ngx_k8s_metrics_audit_object_ref(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_k8s_metrics_emit_name(e, "objectRef");
    ngx_k8s_metrics_emit_open(e, '{');

    if (info->resource.len) {
        ngx_k8s_metrics_emit_member(e, "resource", info->resource.data,
                                    info->resource.len);
    }

    if (info->namespace.len) {
        ngx_k8s_metrics_emit_member(e, "namespace", info->namespace.data,
                                    info->namespace.len);
    }

    if (info->name.len) {
        ngx_k8s_metrics_emit_member(e, "name", info->name.data,
                                    info->name.len);
    }

    ngx_k8s_metrics_emit_literal(e, "apiGroup", NGX_K8S_METRICS_GROUP);
    ngx_k8s_metrics_emit_literal(e, "apiVersion", NGX_K8S_METRICS_VERSION);

    ngx_k8s_metrics_emit_close(e, '}');
}


/* metav1.MicroTime: RFC 3339 with microseconds, UTC */

static void
ngx_k8s_metrics_audit_time(ngx_k8s_metrics_emit_t *e, const char *key,
    time_t sec, ngx_uint_t usec)
{
    u_char     *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];
    ngx_tm_t    tm;

    ngx_gmtime(sec, &tm);

    p = ngx_sprintf(buf, "%4d-%02d-%02dT%02d:%02d:%02d.%06uiZ",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec, usec);

    ngx_k8s_metrics_emit_member(e, key, buf, p - buf);
}
