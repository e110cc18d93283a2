
/*
 * Unit tests of ngx_k8s_metrics_route.c: request routing, every path
 * shape the server knows and the ones it refuses (k8s.io/apiserver's
 * pkg/endpoints/request/requestinfo.go for the resource paths).
 */


#include "unit.h"
#include "ngx_k8s_metrics_route.h"


#define R(name)  NGX_K8S_METRICS_ROUTE_ ## name


static ngx_k8s_metrics_request_info_t  info;


/* uri as nginx decoded it, raw as the client sent it (NULL: the same) */

static void
route(const char *uri, const char *raw, const char *verb)
{
    ngx_str_t  u, w;

    ngx_memzero(&info, sizeof(info));

    info.verb.data = (u_char *) verb;
    info.verb.len = strlen(verb);

    u.data = (u_char *) uri;
    u.len = strlen(uri);

    w.data = (u_char *) (raw ? raw : uri);
    w.len = strlen((char *) w.data);

    ngx_k8s_metrics_route(&u, &w, &info);
}


static int
is(ngx_str_t *s, const char *v)
{
    return s->len == strlen(v) && memcmp(s->data, v, s->len) == 0;
}


#define expect(uri, r)                                                       \
    do {                                                                     \
        route(uri, NULL, "get");                                             \
        check(info.route == R(r), "%s: route %d, expected " #r, uri,        \
              (int) info.route);                                             \
    } while (0)


#define refused(raw, uri)                                                    \
    do {                                                                     \
        route(uri, raw, "get");                                              \
        check(info.route == R(REFUSED), "%s refused: route %d", raw,        \
              (int) info.route);                                             \
    } while (0)


#define RES  "/apis/metrics.k8s.io/v1beta1"


static void
test_discovery(void)
{
    expect("/apis", APIS);
    expect("/apis/", APIS);
    expect("/apis/metrics.k8s.io", GROUP);
    expect("/apis/metrics.k8s.io/", GROUP);
    expect("/apis/other.k8s.io", NOT_FOUND);
    expect("/apis/metrics.k8s.io.evil", NOT_FOUND);
    expect("/apis/metrics.k8s.i", NOT_FOUND);
    expect(RES, RESOURCES);
    expect(RES "/", RESOURCES);
    expect("/apis/metrics.k8s.io/v1", NOT_FOUND);
    expect("/apis/metrics.k8s.io/v1beta2", NOT_FOUND);
    expect("/APIS", NOT_FOUND);
    expect("/api", NOT_FOUND);

    route(RES, NULL, "get");
    check(!info.resource_request && is(&info.path, RES)
          && is(&info.verb, "get"), "discovery is no resource request");
}


static void
test_resources(void)
{
    route(RES "/nodes", NULL, "get");
    check(info.route == R(NODES) && info.resource_request
          && is(&info.resource, "nodes") && is(&info.verb, "list")
          && info.name.len == 0 && info.namespace.len == 0,
          "nodes: a list");

    route(RES "/nodes/node-1", NULL, "get");
    check(info.route == R(NODES) && is(&info.name, "node-1")
          && is(&info.verb, "get"), "nodes/NAME: a get");

    route(RES "/nodes/", NULL, "get");
    check(info.route == R(NODES) && is(&info.verb, "list"),
          "nodes/: a list (trailing slash)");

    route(RES "/pods", NULL, "get");
    check(info.route == R(PODS) && is(&info.verb, "list")
          && info.namespace.len == 0 && is(&info.resource, "pods"),
          "pods: every namespace");

    route(RES "/pods/p", NULL, "get");
    check(info.route == R(PODS) && is(&info.name, "p")
          && is(&info.verb, "get") && info.namespace.len == 0,
          "pods/NAME without a namespace");

    route(RES "/namespaces/kube-system/pods", NULL, "get");
    check(info.route == R(PODS) && is(&info.namespace, "kube-system")
          && is(&info.verb, "list") && info.name.len == 0,
          "namespaces/NS/pods: a list");

    route(RES "/namespaces/ns/pods/pod.name-1", NULL, "get");
    check(info.route == R(PODS) && is(&info.namespace, "ns")
          && is(&info.name, "pod.name-1") && is(&info.verb, "get"),
          "namespaces/NS/pods/NAME: a get, dots in the name");

    /* a verb other than get is left as it is */
    route(RES "/nodes", NULL, "create");
    check(info.route == R(NODES) && is(&info.verb, "create"),
          "POST nodes: create");

    route(RES "/pods", NULL, "watch");
    check(info.route == R(PODS) && is(&info.verb, "watch"),
          "another verb kept");

    expect(RES "/namespaces/ns/nodes", NOT_FOUND);
    expect(RES "/namespaces/ns/nodes/n", NOT_FOUND);
    expect(RES "/namespaces/ns", NOT_FOUND);
    expect(RES "/namespaces", NOT_FOUND);
    expect(RES "/namespaces/ns/pods/p/status", NOT_FOUND);
    expect(RES "/namespaces/ns/services", NOT_FOUND);
    expect(RES "/nodes/n/status", NOT_FOUND);
    expect(RES "/pods/p/log", NOT_FOUND);
    expect(RES "/services", NOT_FOUND);
    expect(RES "/Nodes", NOT_FOUND);

    route(RES "/services", NULL, "get");
    check(!info.resource_request && is(&info.verb, "get"),
          "unknown resource: no resource request, verb unchanged");
}


static void
test_other(void)
{
    route("/readyz/ping", NULL, "get");
    check(info.route == R(READYZ) && is(&info.check, "ping"),
          "readyz/CHECK");

    route("/livez", NULL, "get");
    check(info.route == R(LIVEZ) && info.check.len == 0, "livez");

    expect("/healthz", HEALTHZ);
    expect("/healthz/", HEALTHZ);
    expect("/healthz/ping", HEALTHZ);
    expect("/healthz/a/b", NOT_FOUND);
    expect("/readyz/a/b", NOT_FOUND);
    expect("/metrics", METRICS);
    expect("/metrics/", METRICS);
    expect("/metrics/x", NOT_FOUND);
    expect("/version", VERSION);
    expect("/version/", VERSION);
    expect("/version/x", NOT_FOUND);
    expect("/openapi", OPENAPI);
    expect("/openapi/v2", OPENAPI);
    expect("/openapi/v3/apis/metrics.k8s.io/v1beta1", OPENAPI);
    expect("/", NOT_FOUND);
    expect("", NOT_FOUND);
    expect("/healthzz", NOT_FOUND);

    /* eight segments at most, more is no path of this server */
    expect("/openapi/1/2/3/4/5/6/7", OPENAPI);
    expect("/openapi/1/2/3/4/5/6/7/8", NOT_FOUND);
}


static void
test_refused(void)
{
    /* dot segments: nginx resolves them, the aggregator did not */
    refused(RES "/namespaces/ns/../../pods", RES "/pods");
    refused(RES "/namespaces/ns/pods/..", RES "/namespaces/ns");
    refused(RES "/./nodes", RES "/nodes");
    refused(RES "/nodes/.", RES "/nodes");
    refused("/..", "/");
    refused("/.", "/");
    refused("/./apis", "/apis");

    /* encoded dots, slashes and NUL, either case */
    refused(RES "/namespaces/ns/%2e%2e/%2e%2e/pods", RES "/pods");
    refused(RES "/namespaces/ns/%2E%2E/%2E%2E/pods", RES "/pods");
    refused(RES "/nodes/a%2eb", RES "/nodes/a.b");
    refused(RES "/namespaces/ns%2Fpods", RES "/namespaces/ns/pods");
    refused(RES "/namespaces/ns%2fpods", RES "/namespaces/ns/pods");
    refused(RES "/nodes/n%00", RES "/nodes/n");
    refused("/apis%2F", "/apis/");

    /* an empty segment before another one */
    refused(RES "//pods", RES "/pods");
    refused("//apis", "/apis");
    refused("/apis//metrics.k8s.io", "/apis/metrics.k8s.io");
    refused(RES "/namespaces//pods", RES "/namespaces/pods");

    route(RES "/nodes/x", RES "/nodes/%2e", "get");
    check(info.route == R(REFUSED) && info.resource.len == 0
          && is(&info.verb, "get"), "refused: nothing else set");
}


static void
test_allowed(void)
{
    /* a trailing slash, or two, is no segment before another */
    route(RES "/nodes", RES "/nodes//", "get");
    check(info.route == R(NODES), "trailing //: allowed");

    /* dots inside a name are a name; three dots are a name */
    route(RES "/nodes/...", NULL, "get");
    check(info.route == R(NODES) && is(&info.name, "..."), "\"...\" name");

    route(RES "/nodes/.n", NULL, "get");
    check(info.route == R(NODES) && is(&info.name, ".n"), "\".n\" name");

    route(RES "/nodes/n..", NULL, "get");
    check(info.route == R(NODES) && is(&info.name, "n.."), "\"n..\" name");

    /* other escapes are decoded by nginx and fine */
    route(RES "/nodes/a b", RES "/nodes/a%20b", "get");
    check(info.route == R(NODES) && is(&info.name, "a b"), "%%20 allowed");

    route(RES "/nodes/a%", RES "/nodes/a%2", "get");
    check(info.route == R(NODES), "a short escape at the end: allowed");

    route(RES "/nodes/a%", RES "/nodes/a%25", "get");
    check(info.route == R(NODES), "%%25 allowed");

    /* the query is not the path */
    route(RES "/pods", RES "/pods?labelSelector=a%2Fb", "get");
    check(info.route == R(PODS), "%%2F in the query: allowed");

    route(RES "/pods", RES "/pods?x=/../..", "get");
    check(info.route == R(PODS), "dot segments in the query: allowed");

    route("/apis", "/apis?", "get");
    check(info.route == R(APIS), "an empty query: allowed");

    route("/readyz", "/readyz/?verbose", "get");
    check(info.route == R(READYZ), "slash before the query: allowed");
}


int
main(void)
{
    test_discovery();
    test_resources();
    test_other();
    test_refused();
    test_allowed();

    return unit_done("test_route");
}
