
/*
 * ngx_metrics_module: the documents of the metrics API, as metrics-server
 * shapes them: the query (media type, selectors, the render cache's key),
 * NodeMetrics and PodMetrics objects, the list around them, Table output
 * for kubectl's "as=Table", in JSON or protobuf.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_selector.h"
#include "ngx_k8s_metrics_quantity.h"
#include "ngx_k8s_metrics_protobuf.h"
#include "ngx_k8s_metrics_media.h"
#include "ngx_k8s_metrics_msmetrics.h"
#include "ngx_k8s_metrics_resources.h"


static ngx_int_t ngx_k8s_metrics_selector_arg(ngx_k8s_metrics_query_t *q,
    const char *name, ngx_array_t **requirements, ngx_flag_t field);
static ngx_str_t *ngx_k8s_metrics_lookup_label(void *data, ngx_str_t *key);
static ngx_str_t *ngx_k8s_metrics_lookup_field(void *data, ngx_str_t *key);
static void ngx_k8s_metrics_item_time(ngx_k8s_metrics_query_t *q,
    int64_t time);
static void ngx_k8s_metrics_type_meta(ngx_k8s_metrics_emit_t *e,
    const char *kind, const char *api_version);
static void ngx_k8s_metrics_metadata(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels);
static void ngx_k8s_metrics_usage(ngx_k8s_metrics_emit_t *e,
    uint64_t nanocores, uint64_t bytes, uint64_t *swap);
static uint64_t *ngx_k8s_metrics_swap(ngx_k8s_metrics_query_t *q,
    uint64_t *swap, uint32_t has_swap);
static void ngx_k8s_metrics_pod_window(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod, ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev);
static void ngx_k8s_metrics_sstr_value(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t s);
static void ngx_k8s_metrics_time(ngx_k8s_metrics_emit_t *e, int64_t ms);
static void ngx_k8s_metrics_window(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_point_t *last, ngx_k8s_metrics_point_t *prev);
static void ngx_k8s_metrics_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name,
    ngx_uint_t first_label, ngx_uint_t nlabels, uint64_t nanocores,
    uint64_t bytes, uint64_t *swap, ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev);
static void ngx_k8s_metrics_pod_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod);
static void ngx_k8s_metrics_columns(ngx_k8s_metrics_emit_t *e,
    ngx_flag_t swap);


/*
 * The document around the items: a list (list_kind set) or one object,
 * or a Table of either.  Kind and apiVersion lead every object, as Go's
 * struct order has them.  A Table's columns come with its first row: as
 * metrics-server's (nil slices), a Table of no rows has "columnDefinitions"
 * and "rows" null.
 */

void
ngx_k8s_metrics_begin(ngx_k8s_metrics_query_t *q, const char *list_kind)
{
    ngx_k8s_metrics_emit_t  *e;

    e = &q->emit;

    if (q->protobuf) {
        return;
    }

    if (q->table) {
        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_type_meta(e, "Table", "meta.k8s.io/v1");
        ngx_k8s_metrics_emit_name(e, "metadata");
        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_emit_close(e, '}');
        return;
    }

    if (list_kind) {
        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_type_meta(e, list_kind, NGX_K8S_METRICS_GROUP_VERSION);
        ngx_k8s_metrics_emit_name(e, "metadata");
        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_emit_close(e, '}');
        ngx_k8s_metrics_emit_name(e, "items");
        ngx_k8s_metrics_emit_open(e, '[');
    }
}


ngx_int_t
ngx_k8s_metrics_end(ngx_k8s_metrics_query_t *q, const char *list_kind)
{
    ngx_k8s_metrics_emit_t  *e;

    e = &q->emit;

    if (q->protobuf) {
        if (ngx_k8s_metrics_pb_frame(q->r, e, NGX_K8S_METRICS_GROUP_VERSION,
                                     list_kind ? list_kind : q->kind,
                                     list_kind != NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (q->table && !q->table_rows) {
        ngx_k8s_metrics_emit_name(e, "columnDefinitions");
        ngx_k8s_metrics_emit_null(e);
        ngx_k8s_metrics_emit_name(e, "rows");
        ngx_k8s_metrics_emit_null(e);
        ngx_k8s_metrics_emit_close(e, '}');

    } else if (q->table || list_kind) {
        ngx_k8s_metrics_emit_close(e, ']');
        ngx_k8s_metrics_emit_close(e, '}');
    }

    if (ngx_k8s_metrics_emit_end(q->r, e) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_k8s_metrics_render_keep(q->r, &q->render, e);

    if (e->times) {
        ngx_k8s_metrics_observe_freshness(q->kmcf, e->times->elts,
                                          e->times->nelts);
    }

    return ngx_k8s_metrics_send_emitted(q->r, NGX_HTTP_OK, e);
}


/* selectors apply to lists: a get does not read them, as the apiserver */

ngx_int_t
ngx_k8s_metrics_query_init(ngx_http_request_t *r, ngx_k8s_metrics_query_t *q,
    ngx_flag_t list)
{
    ngx_int_t                 rc;
    ngx_str_t                 key;
    ngx_k8s_metrics_media_t   m;

    ngx_memzero(q, sizeof(ngx_k8s_metrics_query_t));
    q->r = r;

    /*
     * a header that names nothing served is answered JSON, as the
     * contract says ("JSON otherwise"), not kube-apiserver's 406
     */

    (void) ngx_k8s_metrics_negotiate(r, 1, &m);

    q->table = m.table;
    q->protobuf = (m.type == NGX_K8S_METRICS_MEDIA_PROTOBUF);

    ngx_k8s_metrics_emit_init(&q->emit, r->pool,
                              !q->protobuf
                              && (m.pretty || ngx_k8s_metrics_pretty(r)));
    q->emit.binary = q->protobuf;

    /* where the time of the answer is, for a rendering kept (render.c) */
    q->emit.stamps = ngx_array_create(r->pool, 16, sizeof(size_t));

    /* the items' timestamps, for the freshness metrics-server observes */
    q->emit.times = ngx_array_create(r->pool, 16, sizeof(int64_t));

    /* metrics-server stamps every object with the time it answers */

    q->now_time = ngx_time();
    q->now_len = q->protobuf
                 ? ngx_k8s_metrics_pb_varint(q->now, (uint64_t) q->now_time)
                   - q->now
                 : ngx_k8s_metrics_format_time(q->now, q->now_time) - q->now;

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
                q->protobuf ? 'B' : (q->table ? 'T' : 'J'),
                q->emit.pretty ? 'P' : 'C');

    q->render.key = key;
    q->render.snapshot = q->snap;
    q->render.published = q->snap->published;
    q->render.now = q->now_time;
    q->render.now_len = q->now_len;

    q->rc = ngx_k8s_metrics_render_lookup(r, &q->render);

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


ngx_flag_t
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


/*
 * One NodeMetrics, or its Table row; kind set for a get, which carries its
 * kind and apiVersion, NULL for an item of a list.
 */

void
ngx_k8s_metrics_node(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node, const char *kind)
{
    uint64_t                 cpu;
    ngx_k8s_metrics_emit_t  *e;

    ngx_k8s_metrics_item_time(q, node->last.time);

    if (q->protobuf) {
        q->kind = kind;
        ngx_k8s_metrics_pb_emit_node(&q->emit, q->snap, node, q->kmcf->swap,
                                     q->now_time, kind == NULL);
        return;
    }

    cpu = ngx_k8s_metrics_cpu_rate(&node->last, &node->prev);

    if (q->table) {
        ngx_k8s_metrics_row(q, NULL, node->name, node->first_label,
                            node->nlabels, cpu, node->memory,
                            ngx_k8s_metrics_swap(q, &node->swap,
                                                 node->has_swap),
                            &node->last, &node->prev);
        return;
    }

    e = &q->emit;

    ngx_k8s_metrics_emit_open(e, '{');

    if (kind) {
        ngx_k8s_metrics_type_meta(e, kind, NGX_K8S_METRICS_GROUP_VERSION);
    }

    ngx_k8s_metrics_metadata(q, NULL, node->name,
                             &q->snap->labels[node->first_label],
                             node->nlabels);

    ngx_k8s_metrics_emit_name(e, "timestamp");
    ngx_k8s_metrics_time(e, node->last.time);
    ngx_k8s_metrics_emit_name(e, "window");
    ngx_k8s_metrics_window(e, &node->last, &node->prev);
    ngx_k8s_metrics_usage(e, cpu, node->memory,
                          ngx_k8s_metrics_swap(q, &node->swap,
                                               node->has_swap));

    ngx_k8s_metrics_emit_close(e, '}');
}


/*
 * A pod's timestamp and window are those of its container with the
 * earliest last point, as metrics-server reports them.
 */

void
ngx_k8s_metrics_pod(ngx_k8s_metrics_query_t *q, ngx_k8s_metrics_spod_t *pod,
    const char *kind)
{
    ngx_uint_t                     i;
    ngx_k8s_metrics_emit_t        *e;
    ngx_k8s_metrics_point_t        last, prev;
    ngx_k8s_metrics_scontainer_t  *c;

    ngx_k8s_metrics_pod_window(q->snap, pod, &last, &prev);
    ngx_k8s_metrics_item_time(q, last.time);

    if (q->table) {
        ngx_k8s_metrics_pod_row(q, pod);
        return;
    }

    if (q->protobuf) {
        q->kind = kind;
        ngx_k8s_metrics_pb_emit_pod(&q->emit, q->snap, pod, &last, &prev,
                                    q->kmcf->swap, q->now_time, kind == NULL);
        return;
    }

    e = &q->emit;
    c = &q->snap->containers[pod->first_container];

    ngx_k8s_metrics_emit_open(e, '{');

    if (kind) {
        ngx_k8s_metrics_type_meta(e, kind, NGX_K8S_METRICS_GROUP_VERSION);
    }

    ngx_k8s_metrics_metadata(q, &pod->namespace, pod->name,
                             &q->snap->labels[pod->first_label],
                             pod->nlabels);

    ngx_k8s_metrics_emit_name(e, "timestamp");
    ngx_k8s_metrics_time(e, last.time);
    ngx_k8s_metrics_emit_name(e, "window");
    ngx_k8s_metrics_window(e, &last, &prev);

    ngx_k8s_metrics_emit_name(e, "containers");
    ngx_k8s_metrics_emit_open(e, '[');

    for (i = 0; i < pod->ncontainers; i++) {
        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_emit_name(e, "name");
        ngx_k8s_metrics_sstr_value(q, c[i].name);
        ngx_k8s_metrics_usage(e, ngx_k8s_metrics_cpu_rate(&c[i].last,
                                                          &c[i].prev),
                              c[i].memory,
                              ngx_k8s_metrics_swap(q, &c[i].swap,
                                                   c[i].has_swap));
        ngx_k8s_metrics_emit_close(e, '}');
    }

    ngx_k8s_metrics_emit_close(e, ']');
    ngx_k8s_metrics_emit_close(e, '}');
}


/* out of memory fails the answer, as emit.c does */

static void
ngx_k8s_metrics_item_time(ngx_k8s_metrics_query_t *q, int64_t time)
{
    int64_t  *t;

    if (q->emit.times == NULL) {
        return;
    }

    t = ngx_array_push(q->emit.times);
    if (t == NULL) {
        q->emit.failed = 1;
        return;
    }

    *t = time;
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


static void
ngx_k8s_metrics_type_meta(ngx_k8s_metrics_emit_t *e, const char *kind,
    const char *api_version)
{
    ngx_k8s_metrics_emit_member(e, "kind", (u_char *) kind,
                                ngx_strlen(kind));
    ngx_k8s_metrics_emit_member(e, "apiVersion", (u_char *) api_version,
                                ngx_strlen(api_version));
}


/*
 * "metadata": ObjectMeta in Go's field order: name, namespace,
 * creationTimestamp, labels (sorted by key in the snapshot, as Go's
 * encoding/json sorts map keys)
 */

static void
ngx_k8s_metrics_metadata(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name,
    ngx_k8s_metrics_slabel_t *labels, ngx_uint_t nlabels)
{
    ngx_str_t                key;
    ngx_uint_t               i;
    ngx_k8s_metrics_emit_t  *e;

    e = &q->emit;

    ngx_k8s_metrics_emit_name(e, "metadata");
    ngx_k8s_metrics_emit_open(e, '{');

    ngx_k8s_metrics_emit_name(e, "name");
    ngx_k8s_metrics_sstr_value(q, name);

    if (namespace) {
        ngx_k8s_metrics_emit_name(e, "namespace");
        ngx_k8s_metrics_sstr_value(q, *namespace);
    }

    ngx_k8s_metrics_emit_name(e, "creationTimestamp");
    ngx_k8s_metrics_emit_stamp(e, q->now, q->now_len);

    if (nlabels) {
        ngx_k8s_metrics_emit_name(e, "labels");
        ngx_k8s_metrics_emit_open(e, '{');

        for (i = 0; i < nlabels; i++) {
            ngx_k8s_metrics_sstr(q->snap, labels[i].key, &key);
            ngx_k8s_metrics_emit_key(e, key.data, key.len);
            ngx_k8s_metrics_sstr_value(q, labels[i].value);
        }

        ngx_k8s_metrics_emit_close(e, '}');
    }

    ngx_k8s_metrics_emit_close(e, '}');
}


/* "usage": {"cpu": ..., "memory": ...} */

static void
ngx_k8s_metrics_usage(ngx_k8s_metrics_emit_t *e, uint64_t nanocores,
    uint64_t bytes, uint64_t *swap)
{
    u_char  *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];

    ngx_k8s_metrics_emit_name(e, "usage");
    ngx_k8s_metrics_emit_open(e, '{');

    p = ngx_k8s_metrics_format_cpu(buf, nanocores);
    ngx_k8s_metrics_emit_member(e, "cpu", buf, p - buf);

    p = ngx_k8s_metrics_format_memory(buf, bytes);
    ngx_k8s_metrics_emit_member(e, "memory", buf, p - buf);

    if (swap) {
        p = ngx_k8s_metrics_format_memory(buf, *swap);
        ngx_k8s_metrics_emit_member(e, "swap", buf, p - buf);
    }

    ngx_k8s_metrics_emit_close(e, '}');
}


/*
 * Swap, beyond metrics-server: with k8s_metrics_swap on, where the kubelet
 * reported it (a snapshot taken before a reload turned it on has none).
 */

static uint64_t *
ngx_k8s_metrics_swap(ngx_k8s_metrics_query_t *q, uint64_t *swap,
    uint32_t has_swap)
{
    return (q->kmcf->swap && has_swap) ? swap : NULL;
}


static void
ngx_k8s_metrics_sstr_value(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t s)
{
    ngx_k8s_metrics_emit_string(&q->emit, q->snap->strings + s.off, s.len);
}


static void
ngx_k8s_metrics_time(ngx_k8s_metrics_emit_t *e, int64_t ms)
{
    u_char  *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];

    p = ngx_k8s_metrics_format_time(buf, (time_t) (ms / 1000));

    ngx_k8s_metrics_emit_string(e, buf, p - buf);
}


static void
ngx_k8s_metrics_window(ngx_k8s_metrics_emit_t *e,
    ngx_k8s_metrics_point_t *last, ngx_k8s_metrics_point_t *prev)
{
    u_char  *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];

    p = ngx_k8s_metrics_format_duration(buf,
                                        (last->time - prev->time) * 1000000);

    ngx_k8s_metrics_emit_string(e, buf, p - buf);
}


/*
 * metrics-server's table: Name, then one column per resource (cpu,
 * memory), then Window; for a pod, the usage of its containers summed.
 * Each row carries its object's metadata as PartialObjectMetadata.
 */

static void
ngx_k8s_metrics_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_sstr_t *namespace, ngx_k8s_metrics_sstr_t name,
    ngx_uint_t first_label, ngx_uint_t nlabels, uint64_t nanocores,
    uint64_t bytes, uint64_t *swap, ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev)
{
    u_char                  *p, buf[NGX_K8S_METRICS_QUANTITY_LEN];
    ngx_k8s_metrics_emit_t  *e;

    e = &q->emit;

    /* the columns are the first row's resources, as metrics-server's */

    if (!q->table_rows) {
        q->table_swap = (swap != NULL);
        ngx_k8s_metrics_columns(e, q->table_swap);
        ngx_k8s_metrics_emit_name(e, "rows");
        ngx_k8s_metrics_emit_open(e, '[');
        q->table_rows = 1;
    }

    ngx_k8s_metrics_emit_open(e, '{');
    ngx_k8s_metrics_emit_name(e, "cells");
    ngx_k8s_metrics_emit_open(e, '[');

    ngx_k8s_metrics_sstr_value(q, name);

    p = ngx_k8s_metrics_format_cpu(buf, nanocores);
    ngx_k8s_metrics_emit_string(e, buf, p - buf);

    p = ngx_k8s_metrics_format_memory(buf, bytes);
    ngx_k8s_metrics_emit_string(e, buf, p - buf);

    if (q->table_swap) {
        p = ngx_k8s_metrics_format_memory(buf, swap ? *swap : 0);
        ngx_k8s_metrics_emit_string(e, buf, p - buf);
    }

    ngx_k8s_metrics_window(e, last, prev);

    ngx_k8s_metrics_emit_close(e, ']');

    ngx_k8s_metrics_emit_name(e, "object");
    ngx_k8s_metrics_emit_open(e, '{');
    ngx_k8s_metrics_type_meta(e, "PartialObjectMetadata", "meta.k8s.io/v1");
    ngx_k8s_metrics_metadata(q, namespace, name, &q->snap->labels[first_label],
                             nlabels);
    ngx_k8s_metrics_emit_close(e, '}');

    ngx_k8s_metrics_emit_close(e, '}');
}


static void
ngx_k8s_metrics_pod_row(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod)
{
    uint64_t                       cpu, memory, swap;
    uint32_t                       has_swap;
    ngx_uint_t                     i;
    ngx_k8s_metrics_point_t        last, prev;
    ngx_k8s_metrics_scontainer_t  *c;

    c = &q->snap->containers[pod->first_container];
    cpu = 0;
    memory = 0;
    swap = 0;
    has_swap = 0;

    /* as metrics-server sums the containers' usage: any one's resources */

    for (i = 0; i < pod->ncontainers; i++) {
        cpu += ngx_k8s_metrics_cpu_rate(&c[i].last, &c[i].prev);
        memory += c[i].memory;

        if (c[i].has_swap) {
            swap += c[i].swap;
            has_swap = 1;
        }
    }

    ngx_k8s_metrics_pod_window(q->snap, pod, &last, &prev);

    ngx_k8s_metrics_row(q, &pod->namespace, pod->name, pod->first_label,
                        pod->nlabels, cpu, memory,
                        ngx_k8s_metrics_swap(q, &swap, has_swap),
                        &last, &prev);
}


/* "columnDefinitions" */

static void
ngx_k8s_metrics_columns(ngx_k8s_metrics_emit_t *e, ngx_flag_t swap)
{
    static const char  *columns[][3] = {
        { "Name", "name", "Name of the resource" },
        { "cpu", "quantity", "" },
        { "memory", "quantity", "" },
        { "swap", "quantity", "" },
        { "Window", "duration", "" },
    };

    ngx_uint_t  i;

    ngx_k8s_metrics_emit_name(e, "columnDefinitions");
    ngx_k8s_metrics_emit_open(e, '[');

    for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {

        if (i == 3 && !swap) {
            continue;
        }

        ngx_k8s_metrics_emit_open(e, '{');
        ngx_k8s_metrics_emit_member(e, "name", (u_char *) columns[i][0],
                                    ngx_strlen(columns[i][0]));
        ngx_k8s_metrics_emit_literal(e, "type", "string");
        ngx_k8s_metrics_emit_member(e, "format", (u_char *) columns[i][1],
                                    ngx_strlen(columns[i][1]));
        ngx_k8s_metrics_emit_member(e, "description",
                                    (u_char *) columns[i][2],
                                    ngx_strlen(columns[i][2]));
        ngx_k8s_metrics_emit_name(e, "priority");
        ngx_k8s_metrics_emit_int(e, 0);
        ngx_k8s_metrics_emit_close(e, '}');
    }

    ngx_k8s_metrics_emit_close(e, ']');
}
