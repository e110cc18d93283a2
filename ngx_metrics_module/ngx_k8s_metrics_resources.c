
/*
 * ngx_metrics_module: serving NodeMetrics and PodMetrics from the current
 * snapshot of the store: a get written at once; a list written in slices
 * with the worker's other events between them, or, when another request
 * of this worker is writing the same list, sent what that one kept; the
 * request's cleanup.  The documents themselves: resources_object.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_resources.h"


static ngx_int_t ngx_k8s_metrics_list(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info, ngx_flag_t pods);
static ngx_flag_t ngx_k8s_metrics_list_wait(ngx_k8s_metrics_query_t *q);
static void ngx_k8s_metrics_list_start(ngx_k8s_metrics_query_t *q);
static ngx_int_t ngx_k8s_metrics_list_slice(ngx_k8s_metrics_query_t *q);
static void ngx_k8s_metrics_list_node(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node);
static void ngx_k8s_metrics_list_pod(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod);
static void ngx_k8s_metrics_list_resume(ngx_event_t *ev);
static void ngx_k8s_metrics_list_cleanup(void *data);


/*
 * The items of a list written at most this many at a time: a 5000-node
 * pods list is 44 MB (0.5 s), and the worker serves its other connections
 * (probes included) between slices.
 */
#define NGX_K8S_METRICS_SLICE  512


/* the lists this worker is writing, for the same ones asked meanwhile */
static ngx_queue_t  ngx_k8s_metrics_rendering;


ngx_int_t
ngx_k8s_metrics_serve_nodes(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_int_t                 rc;
    ngx_k8s_metrics_snode_t  *node;
    ngx_k8s_metrics_query_t   q;

    if (info->name.len == 0) {
        return ngx_k8s_metrics_list(r, info, 0);
    }

    rc = ngx_k8s_metrics_query_init(r, &q, 0);
    if (rc != NGX_OK) {
        rc = (rc == NGX_DONE) ? q.rc : rc;
        goto done;
    }

    node = q.snap ? ngx_k8s_metrics_snapshot_node(q.snap, &info->name) : NULL;

    if (node == NULL || !ngx_k8s_metrics_node_served(node)) {
        rc = ngx_k8s_metrics_send_not_found(r, info);
        goto done;
    }

    ngx_k8s_metrics_begin(&q, NULL);
    ngx_k8s_metrics_node(&q, node, "NodeMetrics");
    rc = ngx_k8s_metrics_end(&q, NULL);

done:

    if (q.snap) {
        ngx_k8s_metrics_snapshot_release(q.kmcf, q.snap);
    }

    return rc;
}


ngx_int_t
ngx_k8s_metrics_serve_pods(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_int_t                 rc;
    ngx_str_t                 ns, name;
    ngx_uint_t                i;
    ngx_k8s_metrics_spod_t   *pod, *found;
    ngx_k8s_metrics_query_t   q;

    if (info->name.len == 0) {
        return ngx_k8s_metrics_list(r, info, 1);
    }

    rc = ngx_k8s_metrics_query_init(r, &q, 0);
    if (rc != NGX_OK) {
        rc = (rc == NGX_DONE) ? q.rc : rc;
        goto done;
    }

    found = NULL;

    for (i = 0; q.snap && i < q.snap->npods; i++) {
        pod = &q.snap->pods[q.snap->pod_order[i]];

        ngx_k8s_metrics_sstr(q.snap, pod->namespace, &ns);
        ngx_k8s_metrics_sstr(q.snap, pod->name, &name);

        if ((info->namespace.len == 0
             || ngx_memn2cmp(ns.data, info->namespace.data, ns.len,
                             info->namespace.len) == 0)
            && name.len == info->name.len
            && ngx_strncmp(name.data, info->name.data, name.len) == 0
            && ngx_k8s_metrics_pod_served(q.snap, pod))
        {
            found = pod;
            break;
        }
    }

    if (found == NULL) {
        rc = ngx_k8s_metrics_send_not_found(r, info);

    } else {
        ngx_k8s_metrics_begin(&q, NULL);
        ngx_k8s_metrics_pod(&q, found, "PodMetrics");
        rc = ngx_k8s_metrics_end(&q, NULL);
    }

done:

    if (q.snap) {
        ngx_k8s_metrics_snapshot_release(q.kmcf, q.snap);
    }

    return rc;
}


/*
 * A list, written in slices of NGX_K8S_METRICS_SLICE items with the
 * worker's other events between them (the next slice is posted to run
 * after the next poll), then sent whole: its length and its bytes are
 * those of a list written at once.  The snapshot is held until the last
 * slice; a client gone meanwhile ends the request, and the pool's cleanup
 * takes the posted slice back and releases the snapshot.
 */

static ngx_int_t
ngx_k8s_metrics_list(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info, ngx_flag_t pods)
{
    ngx_int_t                 rc;
    ngx_pool_cleanup_t       *cln;
    ngx_k8s_metrics_query_t  *q;

    q = ngx_pcalloc(r->pool, sizeof(ngx_k8s_metrics_query_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (q == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_k8s_metrics_list_cleanup;
    cln->data = q;

    rc = ngx_k8s_metrics_query_init(r, q, 1);

    if (rc != NGX_OK) {
        if (q->snap) {
            ngx_k8s_metrics_snapshot_release(q->kmcf, q->snap);
            q->snap = NULL;
        }

        return (rc == NGX_DONE) ? q->rc : rc;
    }

    q->pods = pods ? 1 : 0;
    q->namespace_only = info->namespace;
    q->list_kind = pods ? "PodMetricsList" : "NodeMetricsList";

    q->slice.handler = ngx_k8s_metrics_list_resume;
    q->slice.data = q;
    q->slice.log = r->connection->log;

    if (ngx_k8s_metrics_list_wait(q)) {
        rc = NGX_OK;

    } else {
        ngx_k8s_metrics_list_start(q);
        rc = ngx_k8s_metrics_list_slice(q);
    }

    if (!q->slice.posted) {
        return rc;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "k8s metrics: %s written in slices", q->list_kind);

    /* held until the last slice; a client that goes ends the request */

    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;

    /* a close read with the request is not reported by the poll again */

    if (r->connection->read->pending_eof) {
        ngx_post_event(r->connection->read, &ngx_posted_events);
    }

    return NGX_DONE;
}


/*
 * The same list (key and snapshot) being written by another request of
 * this worker: this one waits for it and is sent what it kept (the
 * requests of a busy list come together when a new snapshot is published,
 * and written at once the first was kept before the next was read).
 * Waiting, it looks again after every poll.
 */

static ngx_flag_t
ngx_k8s_metrics_list_wait(ngx_k8s_metrics_query_t *q)
{
    ngx_queue_t              *l;
    ngx_k8s_metrics_query_t  *other;

    if (q->render.key.len == 0 || ngx_k8s_metrics_rendering.next == NULL) {
        return 0;
    }

    for (l = ngx_queue_head(&ngx_k8s_metrics_rendering);
         l != ngx_queue_sentinel(&ngx_k8s_metrics_rendering);
         l = ngx_queue_next(l))
    {
        other = ngx_queue_data(l, ngx_k8s_metrics_query_t, queue);

        if (other->render.snapshot == q->render.snapshot
            && other->render.published == q->render.published
            && other->render.key.len == q->render.key.len
            && ngx_memcmp(other->render.key.data, q->render.key.data,
                          q->render.key.len) == 0)
        {
            q->waiting = 1;
            ngx_post_event(&q->slice, &ngx_posted_next_events);
            return 1;
        }
    }

    return 0;
}


static void
ngx_k8s_metrics_list_start(ngx_k8s_metrics_query_t *q)
{
    if (ngx_k8s_metrics_rendering.next == NULL) {
        ngx_queue_init(&ngx_k8s_metrics_rendering);
    }

    ngx_queue_insert_tail(&ngx_k8s_metrics_rendering, &q->queue);
    q->rendering = 1;

    ngx_k8s_metrics_begin(q, q->list_kind);
}


/* the next slice posted (q->slice.posted), or the list sent: its result */

static ngx_int_t
ngx_k8s_metrics_list_slice(ngx_k8s_metrics_query_t *q)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i, n, last;
    ngx_k8s_metrics_snapshot_t  *snap;

    snap = q->snap;
    n = snap == NULL ? 0 : (q->pods ? snap->npods : snap->nnodes);
    last = ngx_min(n, q->next + NGX_K8S_METRICS_SLICE);

    for (i = q->next; i < last; i++) {
        if (q->pods) {
            ngx_k8s_metrics_list_pod(q, &snap->pods[snap->pod_order[i]]);

        } else {
            ngx_k8s_metrics_list_node(q, &snap->nodes[i]);
        }
    }

    q->next = last;

    if (last < n && !q->emit.failed) {
        ngx_post_event(&q->slice, &ngx_posted_next_events);
        return NGX_OK;
    }

    rc = ngx_k8s_metrics_end(q, q->list_kind);

    ngx_queue_remove(&q->queue);
    q->rendering = 0;

    if (snap) {
        ngx_k8s_metrics_snapshot_release(q->kmcf, snap);
        q->snap = NULL;
    }

    return rc;
}


static void
ngx_k8s_metrics_list_node(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_snode_t *node)
{
    if (ngx_k8s_metrics_node_served(node)
        && ngx_k8s_metrics_query_matches(q, &q->snap->labels[node->first_label],
                                         node->nlabels, NULL, node->name))
    {
        ngx_k8s_metrics_node(q, node, NULL);
    }
}


static void
ngx_k8s_metrics_list_pod(ngx_k8s_metrics_query_t *q,
    ngx_k8s_metrics_spod_t *pod)
{
    ngx_str_t  ns;

    if (q->namespace_only.len) {
        ngx_k8s_metrics_sstr(q->snap, pod->namespace, &ns);

        if (ngx_memn2cmp(ns.data, q->namespace_only.data, ns.len,
                         q->namespace_only.len) != 0)
        {
            return;
        }
    }

    if (ngx_k8s_metrics_pod_served(q->snap, pod)
        && ngx_k8s_metrics_query_matches(q, &q->snap->labels[pod->first_label],
                                         pod->nlabels, &pod->namespace,
                                         pod->name))
    {
        ngx_k8s_metrics_pod(q, pod, NULL);
    }
}


static void
ngx_k8s_metrics_list_resume(ngx_event_t *ev)
{
    ngx_k8s_metrics_query_t *q = ev->data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = q->r;
    c = r->connection;

    if (!q->waiting) {
        rc = ngx_k8s_metrics_list_slice(q);

    } else if (ngx_k8s_metrics_list_wait(q)) {
        return;

    } else {
        q->waiting = 0;
        rc = ngx_k8s_metrics_render_lookup(r, &q->render);

        if (rc == NGX_DECLINED) {
            /* not kept (too large, or its writer gone): written here */
            ngx_k8s_metrics_list_start(q);
            rc = ngx_k8s_metrics_list_slice(q);

        } else {
            ngx_k8s_metrics_snapshot_release(q->kmcf, q->snap);
            q->snap = NULL;
        }
    }

    if (q->slice.posted) {
        return;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_k8s_metrics_list_cleanup(void *data)
{
    ngx_k8s_metrics_query_t *q = data;

    if (q->slice.posted) {
        ngx_delete_posted_event(&q->slice);
    }

    if (q->rendering) {
        ngx_queue_remove(&q->queue);
        q->rendering = 0;
    }

    if (q->snap) {
        ngx_k8s_metrics_snapshot_release(q->kmcf, q->snap);
        q->snap = NULL;
    }
}
