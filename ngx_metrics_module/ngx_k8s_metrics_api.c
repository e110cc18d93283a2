
/*
 * ngx_metrics_module: the content handler for the extension-apiserver
 * surface: routing (Kubernetes' RequestInfo), authentication and
 * authorization, and the answers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_audit.h"


typedef ngx_int_t (*ngx_k8s_metrics_check_pt)(ngx_http_request_t *r,
    ngx_str_t *reason);


typedef struct {
    ngx_str_t                   name;
    ngx_k8s_metrics_check_pt    check;
} ngx_k8s_metrics_health_check_t;


static void ngx_k8s_metrics_api_resume(ngx_k8s_metrics_review_ctx_t *review);
static ngx_int_t ngx_k8s_metrics_process(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx);
static ngx_int_t ngx_k8s_metrics_serve(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx);
static ngx_int_t ngx_k8s_metrics_serve_apis(ngx_http_request_t *r);
static ngx_int_t ngx_k8s_metrics_serve_health(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_k8s_metrics_health_check_t *checks,
    const char *endpoint);
static ngx_int_t ngx_k8s_metrics_serve_resource(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx);
static void ngx_k8s_metrics_set_verb(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
static ngx_flag_t ngx_k8s_metrics_arg_flag(ngx_http_request_t *r,
    const char *name);
static ngx_flag_t ngx_k8s_metrics_accepts_aggregated(ngx_http_request_t *r);
static ngx_int_t ngx_k8s_metrics_check_ping(ngx_http_request_t *r,
    ngx_str_t *reason);
static ngx_int_t ngx_k8s_metrics_check_storage_ready(ngx_http_request_t *r,
    ngx_str_t *reason);
static ngx_int_t ngx_k8s_metrics_check_snapshot_fresh(ngx_http_request_t *r,
    ngx_str_t *reason);
static ngx_int_t ngx_k8s_metrics_check_collection_timely(
    ngx_http_request_t *r, ngx_str_t *reason);
static ngx_int_t ngx_k8s_metrics_check_shutdown(ngx_http_request_t *r,
    ngx_str_t *reason);
static ngx_int_t ngx_k8s_metrics_check_informers(ngx_http_request_t *r,
    ngx_str_t *reason);


static ngx_k8s_metrics_health_check_t  ngx_k8s_metrics_livez_checks[] = {
    { ngx_string("ping"), ngx_k8s_metrics_check_ping },
    { ngx_string("metric-collection-timely"),
      ngx_k8s_metrics_check_collection_timely },
    { ngx_null_string, NULL }
};


static ngx_k8s_metrics_health_check_t  ngx_k8s_metrics_readyz_checks[] = {
    { ngx_string("ping"), ngx_k8s_metrics_check_ping },
    { ngx_string("metadata-informer-sync"),
      ngx_k8s_metrics_check_informers },
    { ngx_string("metric-storage-ready"),
      ngx_k8s_metrics_check_storage_ready },
    { ngx_string("metric-snapshot-fresh"),
      ngx_k8s_metrics_check_snapshot_fresh },
    { ngx_string("shutdown"), ngx_k8s_metrics_check_shutdown },
    { ngx_null_string, NULL }
};


static ngx_str_t  ngx_k8s_metrics_text_type =
    ngx_string("text/plain; charset=utf-8");


ngx_int_t
ngx_k8s_metrics_api_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_k8s_metrics_ctx_t  *ctx;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_k8s_metrics_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->review = ngx_pcalloc(r->pool, sizeof(ngx_k8s_metrics_review_ctx_t));
    if (ctx->review == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->review->handler = ngx_k8s_metrics_api_resume;
    ctx->review->data = r;

    ngx_http_set_ctx(r, ctx, ngx_http_k8s_metrics_module);

    if (ngx_k8s_metrics_audit_init(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_k8s_metrics_parse_request_info(r, &ctx->info) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_k8s_metrics_process(r, ctx);
}


/* a review answered: the request goes on where it waited */

static void
ngx_k8s_metrics_api_resume(ngx_k8s_metrics_review_ctx_t *review)
{
    ngx_http_request_t *r = review->data;

    ngx_connection_t       *c;
    ngx_k8s_metrics_ctx_t  *ctx;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_k8s_metrics_module);

    ngx_http_finalize_request(r, ngx_k8s_metrics_process(r, ctx));
    ngx_http_run_posted_requests(c);
}


/*
 * Authentication, authorization, the answer; a phase that waits for a
 * review holds the request (r->main->count) and is run again on resume.
 */

static ngx_int_t
ngx_k8s_metrics_process(ngx_http_request_t *r, ngx_k8s_metrics_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_str_t                     reason;
    ngx_k8s_metrics_loc_conf_t   *klcf;
    ngx_k8s_metrics_counters_t   *counters;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_k8s_metrics_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);
    counters = &kmcf->sh->counters;

    if (ctx->phase == NGX_K8S_METRICS_PHASE_AUTHN) {
        rc = ngx_k8s_metrics_authenticate(r, klcf, ctx);

        if (rc == NGX_AGAIN) {
            r->main->count++;
            return NGX_DONE;
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            (void) ngx_atomic_fetch_add(&counters->authn_failed, 1);
            ctx->identity.authenticator = NGX_K8S_METRICS_AUTHN_NONE;
            return ngx_k8s_metrics_send_unauthorized(r);
        }

        (void) ngx_atomic_fetch_add(
                            &counters->authn[ctx->identity.authenticator], 1);

        ctx->authenticated = 1;
        ctx->phase = NGX_K8S_METRICS_PHASE_AUTHZ;
    }

    /*
     * A raw path nginx would route elsewhere: a 404, as kube-apiserver's
     * router answers a path it has no route for, once the client is
     * authenticated (401 first, as kube-apiserver's filters), before
     * authorization: the answer depends on no permission, and a review
     * would be asked for another path than the one written.
     */

    if (ctx->info.route == NGX_K8S_METRICS_ROUTE_REFUSED) {
        return ngx_k8s_metrics_send_not_found(r, &ctx->info);
    }

    if (ctx->phase == NGX_K8S_METRICS_PHASE_AUTHZ) {
        ngx_str_null(&reason);

        rc = ngx_k8s_metrics_authorize(r, klcf, ctx, &reason);

        if (rc == NGX_AGAIN) {
            r->main->count++;
            return NGX_DONE;
        }

        if (rc == NGX_ERROR) {
            (void) ngx_atomic_fetch_add(&counters->authz_errors, 1);
            ngx_k8s_metrics_audit_decision(r, ctx, NGX_K8S_METRICS_AUDIT_ERROR,
                                           NULL);
            return ngx_k8s_metrics_send_status(r,
                       NGX_HTTP_INTERNAL_SERVER_ERROR, "InternalError",
                       json_pack("{s:[{s:s%}]}", "causes", "message",
                                 (char *) reason.data, reason.len),
                       "Internal error occurred: the authorization check "
                       "failed: %V", &reason);
        }

        if (rc == NGX_DECLINED) {
            (void) ngx_atomic_fetch_add(&counters->authz_denied, 1);
            ngx_k8s_metrics_audit_decision(r, ctx,
                                           NGX_K8S_METRICS_AUDIT_FORBID,
                                           &reason);
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "k8s metrics: user \"%V\" may not %V \"%V\"",
                          &ctx->identity.user, &ctx->info.verb,
                          &ctx->info.path);
            return ngx_k8s_metrics_send_forbidden(r, ctx, &reason);
        }

        (void) ngx_atomic_fetch_add(&counters->authz_allowed, 1);
        ngx_k8s_metrics_audit_decision(r, ctx, NGX_K8S_METRICS_AUDIT_ALLOW,
                                       &reason);
        ctx->phase = NGX_K8S_METRICS_PHASE_SERVE;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_k8s_metrics_send_method_not_supported(r);
    }

    return ngx_k8s_metrics_serve(r, ctx);
}


static ngx_int_t
ngx_k8s_metrics_serve(ngx_http_request_t *r, ngx_k8s_metrics_ctx_t *ctx)
{
    switch (ctx->info.route) {

    case NGX_K8S_METRICS_ROUTE_APIS:
        return ngx_k8s_metrics_serve_apis(r);

    case NGX_K8S_METRICS_ROUTE_GROUP:
        return ngx_k8s_metrics_send_json(r, NGX_HTTP_OK,
                                         ngx_k8s_metrics_api_group());

    case NGX_K8S_METRICS_ROUTE_RESOURCES:
        return ngx_k8s_metrics_send_json(r, NGX_HTTP_OK,
                                         ngx_k8s_metrics_api_resource_list());

    case NGX_K8S_METRICS_ROUTE_NODES:
    case NGX_K8S_METRICS_ROUTE_PODS:
        return ngx_k8s_metrics_serve_resource(r, ctx);

    case NGX_K8S_METRICS_ROUTE_HEALTHZ:
        return ngx_k8s_metrics_serve_health(r, ctx,
                                            ngx_k8s_metrics_livez_checks,
                                            "healthz");

    case NGX_K8S_METRICS_ROUTE_LIVEZ:
        return ngx_k8s_metrics_serve_health(r, ctx,
                                            ngx_k8s_metrics_livez_checks,
                                            "livez");

    case NGX_K8S_METRICS_ROUTE_METRICS:
        return ngx_k8s_metrics_serve_prometheus(r);

    case NGX_K8S_METRICS_ROUTE_READYZ:
        return ngx_k8s_metrics_serve_health(r, ctx,
                                            ngx_k8s_metrics_readyz_checks,
                                            "readyz");

    case NGX_K8S_METRICS_ROUTE_VERSION:
        return ngx_k8s_metrics_serve_version(r);

    case NGX_K8S_METRICS_ROUTE_OPENAPI:
        return ngx_k8s_metrics_serve_openapi(r, &ctx->info);

    default: /* NOT_FOUND */
        return ngx_k8s_metrics_send_not_found(r, &ctx->info);
    }
}


static ngx_int_t
ngx_k8s_metrics_serve_apis(ngx_http_request_t *r)
{
    if (!ngx_k8s_metrics_accepts_aggregated(r)) {
        return ngx_k8s_metrics_send_json(r, NGX_HTTP_OK,
                                         ngx_k8s_metrics_api_group_list(r));
    }

    return ngx_k8s_metrics_send_discovery(r,
                                  ngx_k8s_metrics_api_group_discovery_list());
}


/*
 * kube-apiserver serves apidiscovery.k8s.io/v2 when the Accept header
 * names it: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList
 */

static ngx_flag_t
ngx_k8s_metrics_accepts_aggregated(ngx_http_request_t *r)
{
    ngx_str_t  *accept;

    if (r->headers_in.accept == NULL) {
        return 0;
    }

    accept = &r->headers_in.accept->value;

    return ngx_strlcasestrn(accept->data, accept->data + accept->len,
                            (u_char *) "as=APIGroupDiscoveryList",
                            sizeof("as=APIGroupDiscoveryList") - 2)
               != NULL
           && ngx_strlcasestrn(accept->data, accept->data + accept->len,
                               (u_char *) "v=v2", sizeof("v=v2") - 2)
               != NULL;
}


static ngx_int_t
ngx_k8s_metrics_serve_resource(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx)
{
    ngx_k8s_metrics_request_info_t  *info;

    info = &ctx->info;

    if (ngx_k8s_metrics_arg_flag(r, "watch")) {
        return ngx_k8s_metrics_send_watch_not_supported(r, info);
    }

    if (info->route == NGX_K8S_METRICS_ROUTE_NODES) {
        return ngx_k8s_metrics_serve_nodes(r, info);
    }

    return ngx_k8s_metrics_serve_pods(r, info);
}


/*
 * /healthz, /livez, /readyz as k8s.io/apiserver's healthz handlers: "ok",
 * or with ?verbose (or on failure) one line per check.  /readyz/NAME runs
 * the one check.
 */

static ngx_int_t
ngx_k8s_metrics_serve_health(ngx_http_request_t *r, ngx_k8s_metrics_ctx_t *ctx,
    ngx_k8s_metrics_health_check_t *checks, const char *endpoint)
{
    u_char                          *p;
    size_t                           len;
    ngx_str_t                        text, reason;
    ngx_uint_t                       failed, verbose;
    ngx_k8s_metrics_health_check_t  *c;

    if (ctx->info.check.len) {
        for (c = checks; c->name.len; c++) {
            if (c->name.len == ctx->info.check.len
                && ngx_strncmp(c->name.data, ctx->info.check.data,
                               c->name.len) == 0)
            {
                break;
            }
        }

        if (c->name.len == 0) {
            return ngx_k8s_metrics_send_not_found(r, &ctx->info);
        }

        ngx_str_null(&reason);

        if (c->check(r, &reason) == NGX_OK) {
            ngx_str_set(&text, "ok");
            return ngx_k8s_metrics_send_text(r, NGX_HTTP_OK,
                                             &ngx_k8s_metrics_text_type,
                                             &text);
        }

        text.len = sizeof("internal server error: \n") - 1 + reason.len;
        text.data = ngx_pnalloc(r->pool, text.len);
        if (text.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(text.data, "internal server error: %V\n", &reason);

        return ngx_k8s_metrics_send_text(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         &ngx_k8s_metrics_text_type, &text);
    }

    verbose = ngx_k8s_metrics_arg_flag(r, "verbose");
    failed = 0;
    len = sizeof(" check failed\n") + ngx_strlen(endpoint);

    for (c = checks; c->name.len; c++) {
        len += sizeof("[-] failed: reason withheld\n") + c->name.len;
    }

    text.data = ngx_pnalloc(r->pool, len);
    if (text.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = text.data;

    for (c = checks; c->name.len; c++) {
        ngx_str_null(&reason);

        if (c->check(r, &reason) == NGX_OK) {
            p = ngx_sprintf(p, "[+]%V ok\n", &c->name);
            continue;
        }

        failed++;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "k8s metrics: %s check \"%V\" failed: %V",
                      endpoint, &c->name, &reason);

        p = ngx_sprintf(p, "[-]%V failed: reason withheld\n", &c->name);
    }

    if (!failed && !verbose) {
        ngx_str_set(&text, "ok");
        return ngx_k8s_metrics_send_text(r, NGX_HTTP_OK,
                                         &ngx_k8s_metrics_text_type, &text);
    }

    p = ngx_sprintf(p, "%s check %s\n", endpoint, failed ? "failed" : "passed");
    text.len = p - text.data;

    return ngx_k8s_metrics_send_text(r, failed ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                               : NGX_HTTP_OK,
                                     &ngx_k8s_metrics_text_type, &text);
}


static ngx_int_t
ngx_k8s_metrics_check_ping(ngx_http_request_t *r, ngx_str_t *reason)
{
    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_check_storage_ready(ngx_http_request_t *r, ngx_str_t *reason)
{
    if (ngx_k8s_metrics_store_ready(r)) {
        return NGX_OK;
    }

    ngx_str_set(reason, "no metrics to serve");

    return NGX_ERROR;
}


/* the snapshot served is not older than a few cycles (store_fresh) */

static ngx_int_t
ngx_k8s_metrics_check_snapshot_fresh(ngx_http_request_t *r,
    ngx_str_t *reason)
{
    u_char          *p;
    size_t           len;
    ngx_msec_t       limit;
    ngx_msec_int_t   age;

    if (ngx_k8s_metrics_store_fresh(r, &age, &limit)) {
        return NGX_OK;
    }

    len = 128;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        ngx_str_set(reason, "the snapshot served is stale");
        return NGX_ERROR;
    }

    reason->data = p;
    reason->len = ngx_snprintf(p, len, "the snapshot served is %M ms old, "
                               "more than %M ms: no cycle could replace it",
                               (ngx_msec_t) age, limit)
                  - p;

    return NGX_ERROR;
}


static ngx_int_t
ngx_k8s_metrics_check_collection_timely(ngx_http_request_t *r,
    ngx_str_t *reason)
{
    if (ngx_k8s_metrics_store_collection_timely(r)) {
        return NGX_OK;
    }

    ngx_str_set(reason, "metric collection didn't finish on time");

    return NGX_ERROR;
}


/* with an apiserver: its nodes and pods listed once (else trivially ok) */

static ngx_int_t
ngx_k8s_metrics_check_informers(ngx_http_request_t *r, ngx_str_t *reason)
{
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (kmcf->apiserver.url.len == 0 || kmcf->sh->informers_synced) {
        return NGX_OK;
    }

    ngx_str_set(reason, "the nodes and pods are not listed yet");

    return NGX_ERROR;
}


/*
 * Fails while the instance shuts down; a worker that exits because a
 * newer configuration was loaded (a reload) is not the instance going away.
 */

static ngx_int_t
ngx_k8s_metrics_check_shutdown(ngx_http_request_t *r, ngx_str_t *reason)
{
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if ((!ngx_exiting && !ngx_terminate && !ngx_quit)
        || kmcf->generation != kmcf->sh->generation)
    {
        return NGX_OK;
    }

    ngx_str_set(reason, "process is shutting down");

    return NGX_ERROR;
}


/* Kubernetes' RequestInfo of a request: its verb here, the rest route.c's */

ngx_int_t
ngx_k8s_metrics_parse_request_info(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_k8s_metrics_set_verb(r, info);

    ngx_k8s_metrics_route(&r->uri, &r->unparsed_uri, info);

    if (info->route == NGX_K8S_METRICS_ROUTE_REFUSED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "k8s metrics: path refused: a \".\" or \"..\" "
                      "segment, an empty one, or an encoded \"/\", \".\" "
                      "or NUL in \"%V\"", &r->unparsed_uri);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "k8s metrics: route %ui verb \"%V\" resource \"%V\" "
                   "name \"%V\"", (ngx_uint_t) info->route, &info->verb,
                   &info->resource, &info->name);

    return NGX_OK;
}


/* the authorization verb: get for HEAD and GET, list set by the resource */

static void
ngx_k8s_metrics_set_verb(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    switch (r->method) {

    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        ngx_str_set(&info->verb, "get");
        break;

    case NGX_HTTP_POST:
        ngx_str_set(&info->verb, "create");
        break;

    case NGX_HTTP_PUT:
        ngx_str_set(&info->verb, "update");
        break;

    case NGX_HTTP_PATCH:
        ngx_str_set(&info->verb, "patch");
        break;

    case NGX_HTTP_DELETE:
        ngx_str_set(&info->verb, "delete");
        break;

    default:
        info->verb.len = r->method_name.len;
        info->verb.data = ngx_pnalloc(r->pool, r->method_name.len);

        if (info->verb.data == NULL) {
            info->verb.len = 0;
            break;
        }

        ngx_strlow(info->verb.data, r->method_name.data, r->method_name.len);
    }
}


/* ?name, or ?name=VALUE with a true VALUE */

static ngx_flag_t
ngx_k8s_metrics_arg_flag(ngx_http_request_t *r, const char *name)
{
    u_char     *p, *last, *start;
    size_t      len;
    ngx_str_t   value;

    len = ngx_strlen(name);
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        start = p;

        while (p < last && *p != '&') {
            p++;
        }

        if ((size_t) (p - start) >= len
            && ngx_strncmp(start, name, len) == 0
            && (start + len == p || start[len] == '='))
        {
            if (start + len == p) {
                return 1;
            }

            value.data = start + len + 1;
            value.len = p - value.data;

            return value.len == 0 || ngx_k8s_metrics_parse_bool(&value);
        }

        p++;
    }

    return 0;
}
