
/*
 * ngx_metrics_module: NodeMetrics and PodMetrics, lists and gets, from the
 * current snapshot of the store, as metrics-server shapes them; Table
 * output for kubectl's "as=Table".
 */


#include "ngx_k8s_metrics.h"


typedef struct {
    ngx_k8s_metrics_main_conf_t    *kmcf;
    ngx_k8s_metrics_snapshot_t     *snap;
    ngx_http_request_t             *r;
    ngx_array_t                    *labels;     /* requirements, or NULL */
    ngx_array_t                    *fields;
    ngx_flag_t                      table;
    ngx_int_t                       rc;         /* of a response sent */
    u_char                          now[NGX_K8S_METRICS_QUANTITY_LEN];
    size_t                          now_len;

    /* what a label lookup sees */
    ngx_k8s_metrics_slabel_t       *lookup_labels;
    ngx_uint_t                      nlookup_labels;
    ngx_str_t                       name;
    ngx_str_t                       namespace;
    ngx_str_t                       value;
} ngx_k8s_metrics_query_t;


static ngx_int_t ngx_k8s_metrics_query_init(ngx_http_request_t *r,
    ngx_k8s_metrics_query_t *q, ngx_flag_t list);
static ngx_int_t ngx_k8s_metrics_selector_arg(ngx_k8s_metrics_query_t *q,
    const char *name, ngx_array_t **requirements, ngx_flag_t field);
static ngx_flag_t ngx_k8s_metrics_query_matches(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name);
static ngx_str_t *ngx_k8s_metrics_lookup_label(void *data, ngx_str_t *key);
static ngx_str_t *ngx_k8s_metrics_lookup_field(void *data, ngx_str_t *key);
static json_t *ngx_k8s_metrics_node_json(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node);
static json_t *ngx_k8s_metrics_pod_json(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod);
static json_t *ngx_k8s_metrics_metadata(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels);
static json_t *ngx_k8s_metrics_usage(uint64_t nanocores, uint64_t bytes);
static void ngx_k8s_metrics_pod_window(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod, ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev);
static json_t *ngx_k8s_metrics_sstr_json(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_sstr_t s);
static json_t *ngx_k8s_metrics_time_json(int64_t ms);
static json_t *ngx_k8s_metrics_window_json(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev);
static ngx_flag_t ngx_k8s_metrics_wants_table(ngx_http_request_t *r);
static json_t *ngx_k8s_metrics_row(ngx_k8s_metrics_query_t *q,
    json_t *metadata, uint64_t nanocores, uint64_t bytes,
    ngx_k8s_metrics_point_t *last, ngx_k8s_metrics_point_t *prev);
static json_t *ngx_k8s_metrics_node_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node);
static json_t *ngx_k8s_metrics_pod_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod);
static json_t *ngx_k8s_metrics_table(json_t *rows);
static ngx_int_t ngx_k8s_metrics_send_items(ngx_k8s_metrics_query_t *q,
    json_t *items, const char *kind);


ngx_int_t
ngx_k8s_metrics_serve_nodes(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_int_t                     rc;
    json_t                       *items, *item;
    ngx_uint_t                    i;
    ngx_k8s_metrics_snode_t      *node;
    ngx_k8s_metrics_query_t       q;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    rc = ngx_k8s_metrics_query_init(r, &q, info->name.len == 0);
    if (rc != NGX_OK) {
        if (q.snap) {
            ngx_k8s_metrics_snapshot_release(q.kmcf, q.snap);
        }

        return rc == NGX_DONE ? q.rc : rc;
    }

    kmcf = q.kmcf;

    if (info->name.len) {
        node = q.snap ? ngx_k8s_metrics_snapshot_node(q.snap, &info->name)
                      : NULL;

        if (node == NULL || !ngx_k8s_metrics_node_served(node)) {
            rc = ngx_k8s_metrics_send_not_found(r, info);

        } else if (q.table) {
            rc = ngx_k8s_metrics_send_items(&q,
                                        ngx_k8s_metrics_node_row(&q, node),
                                        NULL);

        } else {
            item = ngx_k8s_metrics_node_json(&q, node);
            json_object_set_new(item, "kind", json_string("NodeMetrics"));
            json_object_set_new(item, "apiVersion",
                                json_string(NGX_K8S_METRICS_GROUP_VERSION));
            rc = ngx_k8s_metrics_send_items(&q, item, NULL);
        }

        goto done;
    }

    items = json_array();
    if (items == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    for (i = 0; q.snap && i < q.snap->nnodes; i++) {
        node = &q.snap->nodes[i];

        if (!ngx_k8s_metrics_node_served(node)
            || !ngx_k8s_metrics_query_matches(&q,
                                      &q.snap->labels[node->first_label],
                                      node->nlabels, NULL, node->name))
        {
            continue;
        }

        json_array_append_new(items,
                              q.table ? ngx_k8s_metrics_node_row(&q, node)
                                      : ngx_k8s_metrics_node_json(&q, node));
    }

    rc = ngx_k8s_metrics_send_items(&q, items, "NodeMetricsList");

done:

    if (q.snap) {
        ngx_k8s_metrics_snapshot_release(kmcf, q.snap);
    }

    return rc;
}


ngx_int_t
ngx_k8s_metrics_serve_pods(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_int_t                     rc;
    json_t                       *items, *item;
    ngx_str_t                     ns, name;
    ngx_uint_t                    i;
    ngx_k8s_metrics_spod_t       *pod;
    ngx_k8s_metrics_query_t       q;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    rc = ngx_k8s_metrics_query_init(r, &q, info->name.len == 0);
    if (rc != NGX_OK) {
        if (q.snap) {
            ngx_k8s_metrics_snapshot_release(q.kmcf, q.snap);
        }

        return rc == NGX_DONE ? q.rc : rc;
    }

    kmcf = q.kmcf;

    items = info->name.len ? NULL : json_array();
    item = NULL;

    for (i = 0; q.snap && i < q.snap->npods; i++) {
        pod = &q.snap->pods[q.snap->pod_order[i]];

        ngx_k8s_metrics_sstr(q.snap, pod->namespace, &ns);

        if (info->namespace.len
            && ngx_memn2cmp(ns.data, info->namespace.data, ns.len,
                            info->namespace.len) != 0)
        {
            continue;
        }

        if (info->name.len) {
            ngx_k8s_metrics_sstr(q.snap, pod->name, &name);

            if (name.len == info->name.len
                && ngx_strncmp(name.data, info->name.data, name.len) == 0
                && ngx_k8s_metrics_pod_served(q.snap, pod))
            {
                item = q.table ? ngx_k8s_metrics_pod_row(&q, pod)
                               : ngx_k8s_metrics_pod_json(&q, pod);
                break;
            }

            continue;
        }

        if (!ngx_k8s_metrics_pod_served(q.snap, pod)
            || !ngx_k8s_metrics_query_matches(&q,
                                      &q.snap->labels[pod->first_label],
                                      pod->nlabels, &pod->namespace,
                                      pod->name))
        {
            continue;
        }

        json_array_append_new(items,
                              q.table ? ngx_k8s_metrics_pod_row(&q, pod)
                                      : ngx_k8s_metrics_pod_json(&q, pod));
    }

    if (info->name.len == 0) {
        rc = ngx_k8s_metrics_send_items(&q, items, "PodMetricsList");

    } else if (item == NULL) {
        rc = ngx_k8s_metrics_send_not_found(r, info);

    } else if (q.table) {
        rc = ngx_k8s_metrics_send_items(&q, item, NULL);

    } else {
        json_object_set_new(item, "kind", json_string("PodMetrics"));
        json_object_set_new(item, "apiVersion",
                            json_string(NGX_K8S_METRICS_GROUP_VERSION));
        rc = ngx_k8s_metrics_send_items(&q, item, NULL);
    }

    if (q.snap) {
        ngx_k8s_metrics_snapshot_release(kmcf, q.snap);
    }

    return rc;
}


/*
 * A list (kind set), or a single object (kind NULL): kind and apiVersion
 * lead the object, as Go's struct order has them.
 */

static ngx_int_t
ngx_k8s_metrics_send_items(ngx_k8s_metrics_query_t *q, json_t *items,
    const char *kind)
{
    json_t  *body, *single;

    if (items == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (q->table) {
        if (kind == NULL) {
            single = json_array();
            json_array_append_new(single, items);
            items = single;
        }

        return ngx_k8s_metrics_send_json(q->r, NGX_HTTP_OK,
                                         ngx_k8s_metrics_table(items));
    }

    if (kind == NULL) {
        body = json_pack("{s:O, s:O}",
                         "kind", json_object_get(items, "kind"),
                         "apiVersion", json_object_get(items, "apiVersion"));
        if (body == NULL) {
            json_decref(items);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        json_object_del(items, "kind");
        json_object_del(items, "apiVersion");
        json_object_update(body, items);
        json_decref(items);

        return ngx_k8s_metrics_send_json(q->r, NGX_HTTP_OK, body);
    }

    body = json_pack("{s:s, s:s, s:{}, s:o}",
                     "kind", kind,
                     "apiVersion", NGX_K8S_METRICS_GROUP_VERSION,
                     "metadata",
                     "items", items);

    return ngx_k8s_metrics_send_json(q->r, NGX_HTTP_OK, body);
}


/* selectors apply to lists: a get does not read them, as the apiserver */

static ngx_int_t
ngx_k8s_metrics_query_init(ngx_http_request_t *r, ngx_k8s_metrics_query_t *q,
    ngx_flag_t list)
{
    ngx_int_t  rc;
    ngx_str_t  key;

    ngx_memzero(q, sizeof(ngx_k8s_metrics_query_t));
    q->r = r;
    q->table = ngx_k8s_metrics_wants_table(r);

    /* metrics-server stamps every object with the time it answers */

    q->now_len = ngx_k8s_metrics_format_time(q->now, ngx_time()) - q->now;

    if (list) {
        /* the field selector's errors first, as the apiserver decodes them */

        rc = ngx_k8s_metrics_selector_arg(q, "fieldSelector", &q->fields, 1);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_k8s_metrics_selector_arg(q, "labelSelector", &q->labels, 0);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* released by the caller, whatever happens next */

    q->kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);
    q->snap = ngx_k8s_metrics_snapshot_acquire(q->kmcf);

    if (q->snap == NULL) {
        return NGX_OK;
    }

    /* the same answer, already rendered by this worker this second */

    key.len = r->uri.len + r->args.len + 3;
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(key.data, "%V?%V%c%c", &r->uri, &r->args,
                q->table ? 'T' : 'J', ngx_k8s_metrics_pretty(r) ? 'P' : 'C');

    q->rc = ngx_k8s_metrics_render_lookup(r, q->snap, q->snap->published,
                                          &key);

    return q->rc == NGX_DECLINED ? NGX_OK : NGX_DONE;
}


/*
 * A selector from the query string.  A bad one is answered with a 400
 * BadRequest Status: NGX_DONE, and q->rc is the result of sending it.
 */

static ngx_int_t
ngx_k8s_metrics_selector_arg(ngx_k8s_metrics_query_t *q, const char *name,
    ngx_array_t **requirements, ngx_flag_t field)
{
    ngx_int_t            rc;
    ngx_str_t            value, error;
    ngx_http_request_t  *r;

    r = q->r;

    *requirements = NULL;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &value) != NGX_OK
        || value.len == 0)
    {
        return NGX_OK;
    }

    ngx_str_null(&error);

    rc = field
         ? ngx_k8s_metrics_field_selector_parse(r->pool, &value, requirements,
                                                &error)
         : ngx_k8s_metrics_label_selector_parse(r->pool, &value, requirements,
                                                &error);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "k8s metrics: invalid %s \"%V\": %V",
                      name, &value, &error);

        q->rc = ngx_k8s_metrics_send_status(r, NGX_HTTP_BAD_REQUEST,
                                            "BadRequest", NULL, "%V",
                                            &error);
        return NGX_DONE;
    }

    return NGX_OK;
}


static ngx_flag_t
ngx_k8s_metrics_query_matches(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name)
{
    q->lookup_labels = labels;
    q->nlookup_labels = nlabels;

    ngx_k8s_metrics_sstr(q->snap, name, &q->name);

    if (namespace) {
        ngx_k8s_metrics_sstr(q->snap, *namespace, &q->namespace);

    } else {
        ngx_str_null(&q->namespace);
    }

    if (q->labels
        && !ngx_k8s_metrics_selector_matches(q->labels,
                                             ngx_k8s_metrics_lookup_label, q))
    {
        return 0;
    }

    if (q->fields
        && !ngx_k8s_metrics_selector_matches(q->fields,
                                             ngx_k8s_metrics_lookup_field, q))
    {
        return 0;
    }

    return 1;
}


static ngx_str_t *
ngx_k8s_metrics_lookup_label(void *data, ngx_str_t *key)
{
    ngx_k8s_metrics_query_t *q = data;

    ngx_str_t                  k;
    ngx_uint_t                 i;
    ngx_k8s_metrics_slabel_t  *label;

    label = q->lookup_labels;

    for (i = 0; i < q->nlookup_labels; i++) {
        ngx_k8s_metrics_sstr(q->snap, label[i].key, &k);

        if (k.len == key->len && ngx_strncmp(k.data, key->data, k.len) == 0) {
            ngx_k8s_metrics_sstr(q->snap, label[i].value, &q->value);
            return &q->value;
        }
    }

    return NULL;
}


/* the fields metrics-server filters on */

static ngx_str_t *
ngx_k8s_metrics_lookup_field(void *data, ngx_str_t *key)
{
    ngx_k8s_metrics_query_t *q = data;

    if (key->len == sizeof("metadata.name") - 1
        && ngx_strncmp(key->data, "metadata.name", key->len) == 0)
    {
        return &q->name;
    }

    if (key->len == sizeof("metadata.namespace") - 1
        && ngx_strncmp(key->data, "metadata.namespace", key->len) == 0)
    {
        return &q->namespace;
    }

    return NULL;
}


static json_t *
ngx_k8s_metrics_node_json(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node)
{
    return json_pack("{s:o, s:o, s:o, s:o}",
                     "metadata",
                     ngx_k8s_metrics_metadata(q, NULL, node->name,
                                    &q->snap->labels[node->first_label],
                                    node->nlabels),
                     "timestamp",
                     ngx_k8s_metrics_time_json(node->last.time),
                     "window",
                     ngx_k8s_metrics_window_json(&node->last, &node->prev),
                     "usage",
                     ngx_k8s_metrics_usage(
                         ngx_k8s_metrics_cpu_rate(&node->last, &node->prev),
                         node->memory));
}


/*
 * A pod's timestamp and window are those of its container with the
 * earliest last point, as metrics-server reports them.
 */

static json_t *
ngx_k8s_metrics_pod_json(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod)
{
    json_t                        *containers;
    ngx_uint_t                     i;
    ngx_k8s_metrics_point_t        last, prev;
    ngx_k8s_metrics_scontainer_t  *c;

    containers = json_array();
    if (containers == NULL) {
        return NULL;
    }

    c = &q->snap->containers[pod->first_container];

    for (i = 0; i < pod->ncontainers; i++) {
        json_array_append_new(containers,
            json_pack("{s:o, s:o}",
                      "name", ngx_k8s_metrics_sstr_json(q->snap, c[i].name),
                      "usage",
                      ngx_k8s_metrics_usage(
                          ngx_k8s_metrics_cpu_rate(&c[i].last, &c[i].prev),
                          c[i].memory)));
    }

    ngx_k8s_metrics_pod_window(q->snap, pod, &last, &prev);

    return json_pack("{s:o, s:o, s:o, s:o}",
                     "metadata",
                     ngx_k8s_metrics_metadata(q, &pod->namespace, pod->name,
                                        &q->snap->labels[pod->first_label],
                                        pod->nlabels),
                     "timestamp", ngx_k8s_metrics_time_json(last.time),
                     "window", ngx_k8s_metrics_window_json(&last, &prev),
                     "containers", containers);
}


static void
ngx_k8s_metrics_pod_window(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod, ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev)
{
    ngx_uint_t                     i;
    ngx_k8s_metrics_scontainer_t  *c;

    c = &snap->containers[pod->first_container];

    *last = c[0].last;
    *prev = c[0].prev;

    for (i = 1; i < pod->ncontainers; i++) {
        if (c[i].last.time < last->time) {
            *last = c[i].last;
            *prev = c[i].prev;
        }
    }
}


/* ObjectMeta in Go's field order: name, namespace, creationTimestamp, labels */

static json_t *
ngx_k8s_metrics_metadata(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels)
{
    json_t      *meta, *l;
    ngx_str_t    key;
    ngx_uint_t   i;

    meta = json_object();
    if (meta == NULL) {
        return NULL;
    }

    json_object_set_new(meta, "name", ngx_k8s_metrics_sstr_json(q->snap, name));

    if (namespace) {
        json_object_set_new(meta, "namespace",
                            ngx_k8s_metrics_sstr_json(q->snap, *namespace));
    }

    json_object_set_new(meta, "creationTimestamp",
                        json_stringn((char *) q->now, q->now_len));

    if (nlabels == 0) {
        return meta;
    }

    /* Go's encoding/json sorts map keys */

    l = json_object();

    for (i = 0; i < nlabels; i++) {
        ngx_k8s_metrics_sstr(q->snap, labels[i].key, &key);
        json_object_setn_new(l, (char *) key.data, key.len,
                             ngx_k8s_metrics_sstr_json(q->snap,
                                                       labels[i].value));
    }

    json_object_set_new(meta, "labels", l);

    return meta;
}


static json_t *
ngx_k8s_metrics_usage(uint64_t nanocores, uint64_t bytes)
{
    u_char  *p, cpu[NGX_K8S_METRICS_QUANTITY_LEN];
    u_char  *m, memory[NGX_K8S_METRICS_QUANTITY_LEN];

    p = ngx_k8s_metrics_format_cpu(cpu, nanocores);
    m = ngx_k8s_metrics_format_memory(memory, bytes);

    return json_pack("{s:s%, s:s%}",
                     "cpu", (char *) cpu, (size_t) (p - cpu),
                     "memory", (char *) memory, (size_t) (m - memory));
}


static json_t *
ngx_k8s_metrics_sstr_json(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_sstr_t s)
{
    return json_stringn((char *) snap->strings + s.off, s.len);
}


static json_t *
ngx_k8s_metrics_time_json(int64_t ms)
{
    u_char  *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];

    p = ngx_k8s_metrics_format_time(buf, (time_t) (ms / 1000));

    return json_stringn((char *) buf, p - buf);
}


static json_t *
ngx_k8s_metrics_window_json(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev)
{
    u_char  *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];

    p = ngx_k8s_metrics_format_duration(buf,
                                        (last->time - prev->time) * 1000000);

    return json_stringn((char *) buf, p - buf);
}


/* kubectl asks for application/json;as=Table;v=v1;g=meta.k8s.io */

static ngx_flag_t
ngx_k8s_metrics_wants_table(ngx_http_request_t *r)
{
    ngx_str_t  *accept;

    if (r->headers_in.accept == NULL) {
        return 0;
    }

    accept = &r->headers_in.accept->value;

    return ngx_strlcasestrn(accept->data, accept->data + accept->len,
                            (u_char *) "as=Table", sizeof("as=Table") - 2)
           != NULL;
}


/*
 * metrics-server's table: Name, then one column per resource (cpu,
 * memory), then Window; for a pod, the usage of its containers summed.
 * Each row carries its object's metadata as PartialObjectMetadata.
 */

static json_t *
ngx_k8s_metrics_row(ngx_k8s_metrics_query_t *q, json_t *metadata,
    uint64_t nanocores, uint64_t bytes, ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev)
{
    u_char  *p, cpu[NGX_K8S_METRICS_QUANTITY_LEN];
    u_char  *m, memory[NGX_K8S_METRICS_QUANTITY_LEN];

    p = ngx_k8s_metrics_format_cpu(cpu, nanocores);
    m = ngx_k8s_metrics_format_memory(memory, bytes);

    return json_pack("{s:[O, s%, s%, o], s:{s:s, s:s, s:o}}",
                     "cells",
                     json_object_get(metadata, "name"),
                     (char *) cpu, (size_t) (p - cpu),
                     (char *) memory, (size_t) (m - memory),
                     ngx_k8s_metrics_window_json(last, prev),
                     "object",
                     "kind", "PartialObjectMetadata",
                     "apiVersion", "meta.k8s.io/v1",
                     "metadata", metadata);
}


static json_t *
ngx_k8s_metrics_node_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node)
{
    return ngx_k8s_metrics_row(q,
               ngx_k8s_metrics_metadata(q, NULL, node->name,
                                        &q->snap->labels[node->first_label],
                                        node->nlabels),
               ngx_k8s_metrics_cpu_rate(&node->last, &node->prev),
               node->memory, &node->last, &node->prev);
}


static json_t *
ngx_k8s_metrics_pod_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod)
{
    uint64_t                       cpu, memory;
    ngx_uint_t                     i;
    ngx_k8s_metrics_point_t        last, prev;
    ngx_k8s_metrics_scontainer_t  *c;

    c = &q->snap->containers[pod->first_container];
    cpu = 0;
    memory = 0;

    for (i = 0; i < pod->ncontainers; i++) {
        cpu += ngx_k8s_metrics_cpu_rate(&c[i].last, &c[i].prev);
        memory += c[i].memory;
    }

    ngx_k8s_metrics_pod_window(q->snap, pod, &last, &prev);

    return ngx_k8s_metrics_row(q,
               ngx_k8s_metrics_metadata(q, &pod->namespace, pod->name,
                                        &q->snap->labels[pod->first_label],
                                        pod->nlabels),
               cpu, memory, &last, &prev);
}


static json_t *
ngx_k8s_metrics_table(json_t *rows)
{
    json_t  *columns;

    columns = json_pack("[{s:s, s:s, s:s, s:s, s:i}, "
                        "{s:s, s:s, s:s, s:s, s:i}, "
                        "{s:s, s:s, s:s, s:s, s:i}, "
                        "{s:s, s:s, s:s, s:s, s:i}]",
                        "name", "Name", "type", "string", "format", "name",
                        "description", "Name of the resource",
                        "priority", 0,
                        "name", "cpu", "type", "string",
                        "format", "quantity", "description", "",
                        "priority", 0,
                        "name", "memory", "type", "string",
                        "format", "quantity", "description", "",
                        "priority", 0,
                        "name", "Window", "type", "string",
                        "format", "duration", "description", "",
                        "priority", 0);

    return json_pack("{s:s, s:s, s:{}, s:o, s:o}",
                     "kind", "Table",
                     "apiVersion", "meta.k8s.io/v1",
                     "metadata",
                     "columnDefinitions", columns,
                     "rows", rows);
}
