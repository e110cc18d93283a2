
/*
 * ngx_metrics_module: request routing.  The path nginx decoded gives the
 * route; the path as the client sent it is checked first, as the
 * aggregator authorized that one.
 */


#include "ngx_k8s_metrics_route.h"


#define NGX_K8S_METRICS_MAX_SEGMENTS  8

#define ngx_k8s_metrics_seg_is(s, lit)                                       \
    ((s).len == sizeof(lit) - 1 && ngx_strncmp((s).data, lit, (s).len) == 0)


static void ngx_k8s_metrics_parse_resource_path(
    ngx_k8s_metrics_request_info_t *info, ngx_str_t *seg, ngx_uint_t n);
static ngx_flag_t ngx_k8s_metrics_raw_path_refused(ngx_str_t *uri);
static ngx_int_t ngx_k8s_metrics_split_path(ngx_str_t *path,
    ngx_str_t *segments, ngx_uint_t max);


/*
 * Kubernetes' RequestInfo for the paths this server knows (uri as nginx
 * decoded it, raw as the client sent it; the verb set by the caller):
 *   /apis[/metrics.k8s.io[/v1beta1[/nodes[/NAME]]]]
 *   /apis/metrics.k8s.io/v1beta1[/namespaces/NS]/pods[/NAME]
 *   /healthz, /livez, /readyz [/CHECK], /metrics, /version, /openapi/...
 */

void
ngx_k8s_metrics_route(ngx_str_t *uri, ngx_str_t *raw,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_int_t  n;
    ngx_str_t  seg[NGX_K8S_METRICS_MAX_SEGMENTS];

    info->path = *uri;

    if (ngx_k8s_metrics_raw_path_refused(raw)) {
        info->route = NGX_K8S_METRICS_ROUTE_REFUSED;
        return;
    }

    n = ngx_k8s_metrics_split_path(uri, seg, NGX_K8S_METRICS_MAX_SEGMENTS);

    if (n <= 0) {
        info->route = NGX_K8S_METRICS_ROUTE_NOT_FOUND;
        return;
    }

    if (ngx_k8s_metrics_seg_is(seg[0], "apis")) {
        if (n == 1) {
            info->route = NGX_K8S_METRICS_ROUTE_APIS;

        } else if (!ngx_k8s_metrics_seg_is(seg[1], NGX_K8S_METRICS_GROUP)) {
            info->route = NGX_K8S_METRICS_ROUTE_NOT_FOUND;

        } else if (n == 2) {
            info->route = NGX_K8S_METRICS_ROUTE_GROUP;

        } else if (!ngx_k8s_metrics_seg_is(seg[2], NGX_K8S_METRICS_VERSION)) {
            info->route = NGX_K8S_METRICS_ROUTE_NOT_FOUND;

        } else if (n == 3) {
            info->route = NGX_K8S_METRICS_ROUTE_RESOURCES;

        } else {
            ngx_k8s_metrics_parse_resource_path(info, &seg[3], n - 3);
        }

        return;
    }

    if (n <= 2) {
        if (ngx_k8s_metrics_seg_is(seg[0], "healthz")) {
            info->route = NGX_K8S_METRICS_ROUTE_HEALTHZ;

        } else if (ngx_k8s_metrics_seg_is(seg[0], "livez")) {
            info->route = NGX_K8S_METRICS_ROUTE_LIVEZ;

        } else if (ngx_k8s_metrics_seg_is(seg[0], "readyz")) {
            info->route = NGX_K8S_METRICS_ROUTE_READYZ;
        }

        if (info->route != NGX_K8S_METRICS_ROUTE_NOT_FOUND && n == 2) {
            info->check = seg[1];
        }
    }

    if (n == 1 && ngx_k8s_metrics_seg_is(seg[0], "metrics")) {
        info->route = NGX_K8S_METRICS_ROUTE_METRICS;
    }

    if (n == 1 && ngx_k8s_metrics_seg_is(seg[0], "version")) {
        info->route = NGX_K8S_METRICS_ROUTE_VERSION;
    }

    if (ngx_k8s_metrics_seg_is(seg[0], "openapi")) {
        info->route = NGX_K8S_METRICS_ROUTE_OPENAPI;
    }
}


static void
ngx_k8s_metrics_parse_resource_path(ngx_k8s_metrics_request_info_t *info,
    ngx_str_t *seg, ngx_uint_t n)
{
    info->route = NGX_K8S_METRICS_ROUTE_NOT_FOUND;

    if (ngx_k8s_metrics_seg_is(seg[0], "namespaces")) {
        if (n < 3 || n > 4 || !ngx_k8s_metrics_seg_is(seg[2], "pods")) {
            return;
        }

        info->namespace = seg[1];
        seg += 2;
        n -= 2;

    } else if (n > 2) {
        return;
    }

    if (ngx_k8s_metrics_seg_is(seg[0], "nodes") && info->namespace.len == 0) {
        info->route = NGX_K8S_METRICS_ROUTE_NODES;

    } else if (ngx_k8s_metrics_seg_is(seg[0], "pods")) {
        info->route = NGX_K8S_METRICS_ROUTE_PODS;

    } else {
        return;
    }

    info->resource_request = 1;
    info->resource = seg[0];

    if (n == 2) {
        info->name = seg[1];
    }

    if (info->verb.len == 3 && ngx_strncmp(info->verb.data, "get", 3) == 0
        && info->name.len == 0)
    {
        ngx_str_set(&info->verb, "list");
    }
}


/*
 * The aggregator authorized the path as the client wrote it, where nginx
 * routes on r->uri: dot segments resolved, %2F decoded into a slash,
 * slashes merged.  namespaces/NS/../../pods would list every pod; an
 * empty segment moves Kubernetes' RequestInfo by one (/v1beta1//pods is
 * resource "", name "pods" to the aggregator).  So a raw path is refused
 * with a "." or ".." segment, an empty segment before another one, or an
 * encoded "/", "." or NUL (a decoded NUL nginx refuses itself, with a path
 * above the root).  Dots inside a name (metrics.k8s.io, pod.name) are
 * names; the query is not the path.
 */

static ngx_flag_t
ngx_k8s_metrics_raw_path_refused(ngx_str_t *uri)
{
    size_t   len;
    u_char  *p, *last, *start;

    p = uri->data;
    last = p + uri->len;

    if (p == last || *p != '/') {
        return 0;
    }

    for (start = ++p; /* void */; p++) {

        if (p < last && *p != '/' && *p != '?') {

            if (*p == '%' && last - p >= 3
                && ((p[1] == '2' && (p[2] == 'e' || p[2] == 'E'
                                     || p[2] == 'f' || p[2] == 'F'))
                    || (p[1] == '0' && p[2] == '0')))
            {
                return 1;
            }

            continue;
        }

        len = p - start;

        if ((len == 1 && start[0] == '.')
            || (len == 2 && start[0] == '.' && start[1] == '.'))
        {
            return 1;
        }

        if (p == last || *p == '?') {
            return 0;
        }

        if (len == 0 && p + 1 < last && p[1] != '/' && p[1] != '?') {
            return 1;
        }

        start = p + 1;
    }
}


/* the segments of a path; empty ones (a trailing slash) are skipped */

static ngx_int_t
ngx_k8s_metrics_split_path(ngx_str_t *path, ngx_str_t *segments,
    ngx_uint_t max)
{
    u_char      *p, *last, *start;
    ngx_uint_t   n;

    p = path->data;
    last = p + path->len;
    n = 0;

    while (p < last) {
        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        start = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (n == max) {
            return NGX_ERROR;
        }

        segments[n].data = start;
        segments[n].len = p - start;
        n++;
    }

    return n;
}
