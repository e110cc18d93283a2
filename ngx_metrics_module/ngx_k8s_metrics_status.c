
/*
 * ngx_metrics_module: metav1.Status bodies, as kube-apiserver writes them
 * for the errors the module answers: in JSON, or in protobuf when the
 * Accept header prefers it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_protobuf.h"
#include "ngx_k8s_metrics_media.h"


static json_t *ngx_k8s_metrics_status(ngx_uint_t code, const char *reason,
    json_t *details, const char *message);
static json_t *ngx_k8s_metrics_json_str(ngx_str_t *s);
static ngx_int_t ngx_k8s_metrics_send_status_negotiated(ngx_http_request_t *r,
    ngx_uint_t code, json_t *status);
static ngx_int_t ngx_k8s_metrics_send_status_pb(ngx_http_request_t *r,
    ngx_uint_t code, json_t *status);
static ngx_str_t ngx_k8s_metrics_json_member(json_t *object, const char *key);


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

    return ngx_k8s_metrics_send_status_negotiated(r, code,
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

    if (ngx_k8s_metrics_add_nosniff(r) != NGX_OK) {
        json_decref(details);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_k8s_metrics_send_status_negotiated(r, NGX_HTTP_FORBIDDEN,
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


static json_t *
ngx_k8s_metrics_json_str(ngx_str_t *s)
{
    return json_stringn((const char *) s->data, s->len);
}


/*
 * A Status as kube-apiserver's ErrorNegotiated writes it: in protobuf
 * when the Accept header prefers it, else in JSON (also when nothing
 * there is served).
 */

static ngx_int_t
ngx_k8s_metrics_send_status_negotiated(ngx_http_request_t *r,
    ngx_uint_t code, json_t *status)
{
    ngx_k8s_metrics_media_t  m;

    if (status == NULL
        || ngx_k8s_metrics_negotiate(r, 0, &m) != NGX_OK
        || m.type != NGX_K8S_METRICS_MEDIA_PROTOBUF)
    {
        return ngx_k8s_metrics_send_json(r, code, status);
    }

    return ngx_k8s_metrics_send_status_pb(r, code, status);
}


/* the Status (taken) in protobuf: its strings read from the JSON built */

static ngx_int_t
ngx_k8s_metrics_send_status_pb(ngx_http_request_t *r, ngx_uint_t code,
    json_t *status)
{
    u_char                       *buf;
    size_t                        size, i;
    json_t                       *details, *causes;
    ngx_k8s_metrics_emit_t        e;
    ngx_k8s_metrics_pb_status_t   s;

    ngx_memzero(&s, sizeof(ngx_k8s_metrics_pb_status_t));

    s.status = ngx_k8s_metrics_json_member(status, "status");
    s.message = ngx_k8s_metrics_json_member(status, "message");
    s.reason = ngx_k8s_metrics_json_member(status, "reason");
    s.code = (int32_t) code;

    details = json_object_get(status, "details");

    if (details) {
        s.has_details = 1;
        s.name = ngx_k8s_metrics_json_member(details, "name");
        s.group = ngx_k8s_metrics_json_member(details, "group");
        s.kind = ngx_k8s_metrics_json_member(details, "kind");

        causes = json_object_get(details, "causes");
        s.ncauses = json_array_size(causes);

        if (s.ncauses) {
            s.causes = ngx_palloc(r->pool, s.ncauses * sizeof(ngx_str_t));
            if (s.causes == NULL) {
                json_decref(status);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            for (i = 0; i < s.ncauses; i++) {
                s.causes[i] = ngx_k8s_metrics_json_member(
                                  json_array_get(causes, i), "message");
            }
        }
    }

    /* encoded before the document goes: its strings are jansson's */

    size = ngx_k8s_metrics_pb_status_size(&s);
    buf = ngx_pnalloc(r->pool, size);

    if (buf == NULL) {
        json_decref(status);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_k8s_metrics_pb_status(buf, &s);
    json_decref(status);

    ngx_k8s_metrics_emit_init(&e, r->pool, 0);
    e.binary = 1;

    ngx_k8s_metrics_emit_raw((char *) buf, size, &e);

    if (ngx_k8s_metrics_pb_frame(r, &e, "v1", "Status", 0) != NGX_OK
        || ngx_k8s_metrics_emit_end(r, &e) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_k8s_metrics_send_emitted(r, code, &e);
}


/* a string member (empty when absent), valid while the document lives */

static ngx_str_t
ngx_k8s_metrics_json_member(json_t *object, const char *key)
{
    json_t     *value;
    ngx_str_t   s;

    value = json_object_get(object, key);

    s.len = json_string_length(value);
    s.data = (u_char *) json_string_value(value);

    if (s.data == NULL) {
        s.len = 0;
    }

    return s;
}

