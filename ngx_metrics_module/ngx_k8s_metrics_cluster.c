
/*
 * ngx_metrics_module: the cluster as the apiserver lists it, kept up to
 * date by watches in each scraping process (every worker when they share
 * the kubelets): the nodes to scrape (address by
 * k8s_metrics_kubelet_address_types, port, the
 * metrics.k8s.io/resource-metrics-path annotation, node labels) and the
 * running pods' labels and nodes.  Only what the module uses is kept of
 * each object.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_client.h"
#include "ngx_k8s_metrics_conf.h"
#include "ngx_k8s_metrics_auth.h"


#define NGX_K8S_METRICS_PATH_ANNOTATION  "metrics.k8s.io/resource-metrics-path"


struct ngx_k8s_metrics_cluster_s {
    ngx_k8s_metrics_main_conf_t    *kmcf;
    ngx_k8s_metrics_apiserver_t    *api;
    ngx_log_t                      *log;

    ngx_k8s_metrics_informer_t      node_informer;
    ngx_k8s_metrics_informer_t      pod_informer;
    ngx_k8s_metrics_informer_t      configmap_informer;

    json_t                         *nodes;      /* name: {url, labels} */
    json_t                         *pods;       /* "ns/name": [labels, node] */
    json_t                         *node_names; /* name: name, shared */
    json_t                         *nodes_listing;  /* relists under way */
    json_t                         *pods_listing;
    ngx_uint_t                      nodes_changed;

    /*
     * Worker 0 (or the single process) writes what is in the zone: the
     * authentication ConfigMap, whose informer only it runs, and readyz's
     * sync state; other workers read them from there, as before.
     */
    unsigned                        lead:1;
};


static void ngx_k8s_metrics_cluster_node(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t event, json_t *object);
static void ngx_k8s_metrics_cluster_pod(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t event, json_t *object);
static void ngx_k8s_metrics_cluster_configmap(
    ngx_k8s_metrics_informer_t *inf, ngx_uint_t event, json_t *object);
static void ngx_k8s_metrics_cluster_check_synced(
    ngx_k8s_metrics_cluster_t *cl);
static json_t *ngx_k8s_metrics_cluster_node_record(
    ngx_k8s_metrics_cluster_t *cl, json_t *node);
static const char *ngx_k8s_metrics_cluster_address(
    ngx_k8s_metrics_cluster_t *cl, json_t *node);
static json_t *ngx_k8s_metrics_cluster_map(ngx_k8s_metrics_informer_t *inf,
    json_t **map, json_t **listing, ngx_uint_t event);
static ngx_int_t ngx_k8s_metrics_cluster_labels(ngx_pool_t *pool,
    json_t *labels, ngx_array_t **array);
static json_t *ngx_k8s_metrics_cluster_node_name(
    ngx_k8s_metrics_cluster_t *cl, json_t *pod);
static void ngx_k8s_metrics_cluster_prune_names(
    ngx_k8s_metrics_cluster_t *cl);


ngx_k8s_metrics_cluster_t *
ngx_k8s_metrics_cluster_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_curl_t *curl)
{
    ngx_k8s_metrics_cluster_t  *cl;

    cl = ngx_pcalloc(cycle->pool, sizeof(ngx_k8s_metrics_cluster_t));
    if (cl == NULL) {
        return NULL;
    }

    cl->kmcf = kmcf;
    cl->log = cycle->log;
    cl->lead = (ngx_worker == 0);
    cl->nodes = json_object();
    cl->pods = json_object();
    cl->node_names = json_object();

    if (cl->nodes == NULL || cl->pods == NULL || cl->node_names == NULL) {
        return NULL;
    }

    cl->api = ngx_k8s_metrics_apiserver_create(cycle, kmcf, curl);
    if (cl->api == NULL) {
        return NULL;
    }

    /*
     * an annotation is any string, "\u0000" included: refused, it would
     * stop the list and every watch of nodes and pods
     */

    cl->node_informer.api = cl->api;
    cl->node_informer.name = "nodes";
    cl->node_informer.allow_nul = 1;
    ngx_str_set(&cl->node_informer.path, "/api/v1/nodes");
    cl->node_informer.query = kmcf->apiserver.node_selector;
    cl->node_informer.handler = ngx_k8s_metrics_cluster_node;
    cl->node_informer.data = cl;

    /*
     * Full pods (plain JSON): spec.nodeName, which the metadata view
     * lacks, says which kubelet may report a pod; of each, only it and
     * the labels are kept.
     */

    cl->pod_informer.api = cl->api;
    cl->pod_informer.name = "pods";
    ngx_str_set(&cl->pod_informer.path, "/api/v1/pods");
    ngx_str_set(&cl->pod_informer.query,
                "fieldSelector=status.phase%3DRunning");
    cl->pod_informer.allow_nul = 1;
    cl->pod_informer.handler = ngx_k8s_metrics_cluster_pod;
    cl->pod_informer.data = cl;

    ngx_k8s_metrics_informer_start(&cl->node_informer);
    ngx_k8s_metrics_informer_start(&cl->pod_informer);

    if (kmcf->authentication_configmap && cl->lead) {
        cl->configmap_informer.api = cl->api;
        cl->configmap_informer.name = "the authentication ConfigMap";
        ngx_str_set(&cl->configmap_informer.path,
                    "/api/v1/namespaces/kube-system/configmaps");
        ngx_str_set(&cl->configmap_informer.query,
                    "fieldSelector=metadata.name%3D"
                    "extension-apiserver-authentication");
        cl->configmap_informer.handler = ngx_k8s_metrics_cluster_configmap;
        cl->configmap_informer.data = cl;

        ngx_k8s_metrics_informer_start(&cl->configmap_informer);
    }

    return cl;
}


void
ngx_k8s_metrics_cluster_exit(ngx_k8s_metrics_cluster_t *cl)
{
    ngx_k8s_metrics_informer_stop(&cl->node_informer);
    ngx_k8s_metrics_informer_stop(&cl->pod_informer);
    ngx_k8s_metrics_informer_stop(&cl->configmap_informer);
    ngx_k8s_metrics_apiserver_destroy(cl->api);

    json_decref(cl->nodes);
    json_decref(cl->pods);
    json_decref(cl->node_names);
    json_decref(cl->nodes_listing);
    json_decref(cl->pods_listing);
}


ngx_flag_t
ngx_k8s_metrics_cluster_synced(ngx_k8s_metrics_cluster_t *cl)
{
    return cl->node_informer.synced && cl->pod_informer.synced;
}


/*
 * A relist builds a new map, which replaces the old one once complete, so
 * that a node deleted while the watch was down goes away.
 */

static json_t *
ngx_k8s_metrics_cluster_map(ngx_k8s_metrics_informer_t *inf, json_t **map,
    json_t **listing, ngx_uint_t event)
{
    if (event == NGX_K8S_METRICS_EVENT_RESET) {
        json_decref(*listing);
        *listing = json_object();
        return NULL;
    }

    if (event == NGX_K8S_METRICS_EVENT_SYNCED) {
        if (*listing) {
            json_decref(*map);
            *map = *listing;
            *listing = NULL;
        }

        return NULL;
    }

    return (inf->listing && *listing) ? *listing : *map;
}


static void
ngx_k8s_metrics_cluster_node(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t event, json_t *object)
{
    ngx_k8s_metrics_cluster_t *cl = inf->data;

    json_t      *map, *record;
    const char  *name;

    map = ngx_k8s_metrics_cluster_map(inf, &cl->nodes, &cl->nodes_listing,
                                      event);

    cl->nodes_changed = 1;

    if (event == NGX_K8S_METRICS_EVENT_SYNCED) {
        ngx_k8s_metrics_cluster_check_synced(cl);
        ngx_k8s_metrics_cluster_prune_names(cl);
    }

    if (map == NULL) {
        return;
    }

    name = json_string_value(json_object_get(json_object_get(object,
                                                             "metadata"),
                                             "name"));
    if (name == NULL) {
        return;
    }

    if (event == NGX_K8S_METRICS_EVENT_DELETED) {
        json_object_del(map, name);
        return;
    }

    record = ngx_k8s_metrics_cluster_node_record(cl, object);

    if (record == NULL) {
        json_object_del(map, name);
        return;
    }

    json_object_set_new(map, name, record);
}


/* {url, labels} of a node (url "" when it has no address to scrape) */

static json_t *
ngx_k8s_metrics_cluster_node_record(ngx_k8s_metrics_cluster_t *cl,
    json_t *node)
{
    u_char       url[1024], *p;
    json_t      *meta, *labels;
    json_int_t   port;
    const char  *address, *path, *name;

    meta = json_object_get(node, "metadata");
    name = json_string_value(json_object_get(meta, "name"));

    address = ngx_k8s_metrics_cluster_address(cl, node);
    labels = json_object_get(meta, "labels");
    labels = json_is_object(labels) ? labels : NULL;

    if (address == NULL) {
        /* kept, to fail each cycle as metrics-server's address resolver */

        ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                      "k8s metrics: node \"%s\" has no address of the "
                      "types in k8s_metrics_kubelet_address_types: it "
                      "fails every scrape until it has one", name);

        return json_pack("{s:s, s:o}", "url", "",
                         "labels", labels ? json_incref(labels)
                                          : json_object());
    }

    port = cl->kmcf->kubelet.port;

    if (cl->kmcf->kubelet.use_node_status_port) {
        port = json_integer_value(json_object_get(json_object_get(
                   json_object_get(json_object_get(node, "status"),
                                   "daemonEndpoints"),
                   "kubeletEndpoint"), "Port"));

        if (port <= 0 || port > 65535) {
            port = cl->kmcf->kubelet.port;
        }
    }

    path = json_string_value(json_object_get(json_object_get(meta,
                                                             "annotations"),
                                             NGX_K8S_METRICS_PATH_ANNOTATION));
    if (path == NULL || path[0] != '/') {
        path = "/metrics/resource";
    }

    p = ngx_snprintf(url, sizeof(url) - 1,
                     ngx_strchr(address, ':') ? "https://[%s]:%L%s"
                                              : "https://%s:%L%s",
                     address, (int64_t) port, path);
    *p = '\0';

    return json_pack("{s:s, s:o}", "url", (char *) url,
                     "labels", labels ? json_incref(labels) : json_object());
}


/* the first address of the most preferred type */

static const char *
ngx_k8s_metrics_cluster_address(ngx_k8s_metrics_cluster_t *cl, json_t *node)
{
    size_t       i;
    json_t      *addresses, *a;
    ngx_str_t   *type;
    ngx_uint_t   t;
    const char  *atype;

    addresses = json_object_get(json_object_get(node, "status"), "addresses");
    type = cl->kmcf->kubelet.address_types->elts;

    for (t = 0; t < cl->kmcf->kubelet.address_types->nelts; t++) {
        json_array_foreach(addresses, i, a) {
            atype = json_string_value(json_object_get(a, "type"));

            if (atype && ngx_strlen(atype) == type[t].len
                && ngx_strncmp(atype, type[t].data, type[t].len) == 0
                && json_string_value(json_object_get(a, "address")))
            {
                return json_string_value(json_object_get(a, "address"));
            }
        }
    }

    return NULL;
}


static void
ngx_k8s_metrics_cluster_pod(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t event, json_t *object)
{
    ngx_k8s_metrics_cluster_t *cl = inf->data;

    u_char       key[512], *p;
    json_t      *map, *meta, *labels, *node;
    const char  *ns, *name;

    map = ngx_k8s_metrics_cluster_map(inf, &cl->pods, &cl->pods_listing,
                                      event);

    if (event == NGX_K8S_METRICS_EVENT_SYNCED) {
        ngx_k8s_metrics_cluster_check_synced(cl);
        ngx_k8s_metrics_cluster_prune_names(cl);
    }

    if (map == NULL) {
        return;
    }

    meta = json_object_get(object, "metadata");
    ns = json_string_value(json_object_get(meta, "namespace"));
    name = json_string_value(json_object_get(meta, "name"));

    if (ns == NULL || name == NULL) {
        return;
    }

    p = ngx_snprintf(key, sizeof(key) - 1, "%s/%s", ns, name);
    *p = '\0';

    if (event == NGX_K8S_METRICS_EVENT_DELETED) {
        json_object_del(map, (char *) key);
        return;
    }

    labels = json_object_get(meta, "labels");
    labels = json_is_object(labels) ? json_copy(labels) : json_object();
    node = ngx_k8s_metrics_cluster_node_name(cl, object);

    if (labels == NULL || node == NULL) {
        json_decref(labels);
        json_object_del(map, (char *) key);
        return;
    }

    json_object_set_new(map, (char *) key, json_pack("[o, O]", labels, node));
}


/*
 * A pod's spec.nodeName ("" when none), as one string per node that all
 * its pods share.
 */

static json_t *
ngx_k8s_metrics_cluster_node_name(ngx_k8s_metrics_cluster_t *cl, json_t *pod)
{
    json_t      *name;
    const char  *node;

    node = json_string_value(json_object_get(json_object_get(pod, "spec"),
                                             "nodeName"));
    if (node == NULL) {
        node = "";
    }

    name = json_object_get(cl->node_names, node);

    if (name == NULL) {
        name = json_string(node);

        if (json_object_set_new(cl->node_names, node, name) != 0) {
            return NULL;
        }
    }

    return name;
}


/* after a relist: the names no pod holds any more */

static void
ngx_k8s_metrics_cluster_prune_names(ngx_k8s_metrics_cluster_t *cl)
{
    void        *tmp;
    json_t      *name;
    const char  *node;

    json_object_foreach_safe(cl->node_names, tmp, node, name) {
        if (name->refcount == 1) {
            json_object_del(cl->node_names, node);
        }
    }
}


/* readyz's metadata-informer-sync, for every worker to see */

static void
ngx_k8s_metrics_cluster_check_synced(ngx_k8s_metrics_cluster_t *cl)
{
    if (!cl->lead) {
        return;
    }

    cl->kmcf->sh->informers_synced = ngx_k8s_metrics_cluster_synced(cl);
}


static void
ngx_k8s_metrics_cluster_configmap(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t event, json_t *object)
{
    ngx_k8s_metrics_cluster_t *cl = inf->data;

    switch (event) {

    case NGX_K8S_METRICS_EVENT_ADDED:
    case NGX_K8S_METRICS_EVENT_MODIFIED:
        ngx_k8s_metrics_authconfig_update(cl->kmcf,
                                          json_object_get(object, "data"),
                                          cl->log);
        break;

    case NGX_K8S_METRICS_EVENT_DELETED:
        ngx_log_error(NGX_LOG_WARN, cl->log, 0,
                      "k8s metrics: the authentication ConfigMap "
                      "kube-system/extension-apiserver-authentication was "
                      "deleted: its settings are kept");
        break;

    default:
        break;
    }
}


/*
 * The nodes to scrape, sorted by name, built in the pool; NGX_DECLINED
 * when nothing changed since the last call.
 */

ngx_int_t
ngx_k8s_metrics_cluster_nodes(ngx_k8s_metrics_cluster_t *cl, ngx_pool_t *pool,
    ngx_k8s_metrics_node_conf_t **nodes, ngx_uint_t *n)
{
    u_char                       *p, *host;
    json_t                       *record;
    ngx_uint_t                    i;
    const char                   *name, *url;
    ngx_k8s_metrics_node_conf_t  *node;

    if (!cl->nodes_changed || !cl->node_informer.synced) {
        return NGX_DECLINED;
    }

    cl->nodes_changed = 0;

    *n = json_object_size(cl->nodes);
    *nodes = ngx_pcalloc(pool, (*n + 1) * sizeof(ngx_k8s_metrics_node_conf_t));
    if (*nodes == NULL) {
        return NGX_ERROR;
    }

    i = 0;

    json_object_foreach(cl->nodes, name, record) {
        node = &(*nodes)[i++];
        url = json_string_value(json_object_get(record, "url"));

        node->name.len = ngx_strlen(name);
        node->name.data = ngx_pnalloc(pool, node->name.len);
        node->url.len = ngx_strlen(url);
        node->url.data = ngx_pnalloc(pool, node->url.len + 1);

        if (node->name.data == NULL || node->url.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(node->name.data, name, node->name.len);
        ngx_cpystrn(node->url.data, (u_char *) url, node->url.len + 1);

        /* the address: what lies between "https://" and the path */

        if (node->url.len) {
            host = node->url.data + sizeof("https://") - 1;
            p = (u_char *) ngx_strchr(host, '/');

            node->address.data = host;
            node->address.len = p ? (size_t) (p - host) : ngx_strlen(host);
        }

        if (ngx_k8s_metrics_cluster_labels(pool,
                                           json_object_get(record, "labels"),
                                           &node->labels)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_qsort(*nodes, *n, sizeof(ngx_k8s_metrics_node_conf_t),
              ngx_k8s_metrics_cmp_nodes);

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_cluster_labels(ngx_pool_t *pool, json_t *labels,
    ngx_array_t **array)
{
    json_t                   *value;
    const char               *key;
    ngx_k8s_metrics_label_t  *label;

    *array = NULL;

    if (json_object_size(labels) == 0) {
        return NGX_OK;
    }

    *array = ngx_array_create(pool, json_object_size(labels),
                              sizeof(ngx_k8s_metrics_label_t));
    if (*array == NULL) {
        return NGX_ERROR;
    }

    json_object_foreach(labels, key, value) {
        if (!json_is_string(value)) {
            continue;
        }

        label = ngx_array_push(*array);
        if (label == NULL) {
            return NGX_ERROR;
        }

        label->key.len = ngx_strlen(key);
        label->key.data = ngx_pnalloc(pool, label->key.len);
        label->value.len = json_string_length(value);
        label->value.data = ngx_pnalloc(pool, label->value.len);

        if (label->key.data == NULL || label->value.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(label->key.data, key, label->key.len);
        ngx_memcpy(label->value.data, json_string_value(value),
                   label->value.len);
    }

    return NGX_OK;
}


/*
 * The labels of a running pod the apiserver knows (an object, maybe
 * empty), and in *node the node it runs on; NULL when the apiserver does
 * not list it as running, or its pods are not listed yet.
 */

json_t *
ngx_k8s_metrics_cluster_find_pod(ngx_k8s_metrics_cluster_t *cl,
    ngx_str_t *namespace, ngx_str_t *name, ngx_str_t *node)
{
    u_char   key[512], *p;
    json_t  *record, *name_json;

    if (!cl->pod_informer.synced) {
        return NULL;
    }

    p = ngx_snprintf(key, sizeof(key) - 1, "%V/%V", namespace, name);
    *p = '\0';

    record = json_object_get(cl->pods, (char *) key);
    if (record == NULL) {
        return NULL;
    }

    if (node) {
        name_json = json_array_get(record, 1);
        node->data = (u_char *) json_string_value(name_json);
        node->len = json_string_length(name_json);
    }

    return json_array_get(record, 0);
}


/* the store's view: the labels of a pod it is to serve */

json_t *
ngx_k8s_metrics_cluster_pod_labels(void *data, ngx_str_t *namespace,
    ngx_str_t *name)
{
    return ngx_k8s_metrics_cluster_find_pod(data, namespace, name, NULL);
}
