
/*
 * ngx_metrics_module: the discovery documents of metrics.k8s.io/v1beta1
 * (APIGroupList, APIGroup, APIResourceList, the aggregated
 * APIGroupDiscoveryList with its ETag).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_send.h"


static json_t *ngx_k8s_metrics_group_version(void);
static json_t *ngx_k8s_metrics_resource(const char *name, const char *singular,
    ngx_flag_t namespaced, const char *kind);
static json_t *ngx_k8s_metrics_discovery_resource(const char *name,
    const char *singular, const char *scope, const char *kind);
static json_t *ngx_k8s_metrics_verbs(void);


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
