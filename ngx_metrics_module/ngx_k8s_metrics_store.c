
/*
 * ngx_metrics_module: the metrics store, in a shared memory zone.
 *
 * One writer (the scraping worker) publishes a new immutable snapshot per
 * cycle (store_build.c); readers in every worker take a reference to the
 * current one, use it without a lock, and give it back.  The zone's mutex
 * guards only the current pointer, the reference counts and the list of
 * retired snapshots, which are freed once no reader holds them.  A reader
 * killed while holding one cannot pin it forever: a retired snapshot is
 * freed after NGX_K8S_METRICS_RETIRE_MAX whatever its count, far longer
 * than any reader's synchronous use.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"


#define NGX_K8S_METRICS_RETIRE_MAX    60000

/* readyz: how many cycles old the served snapshot may be (store_fresh) */
#define NGX_K8S_METRICS_STALE_CYCLES  3


/* upper bounds of the scrape duration histogram, ms: Prometheus' defaults */
ngx_msec_t  ngx_k8s_metrics_duration_bounds[NGX_K8S_METRICS_DURATION_BUCKETS] =
    { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };


/* a new zone: the store's part of its head */

void
ngx_k8s_metrics_store_init_zone(ngx_k8s_metrics_shctx_t *sh)
{
    sh->started = ngx_current_msec;
}


ngx_flag_t
ngx_k8s_metrics_store_ready(ngx_http_request_t *r)
{
    ngx_flag_t                    ready;
    ngx_k8s_metrics_snapshot_t   *snap;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    snap = ngx_k8s_metrics_snapshot_acquire(kmcf);
    if (snap == NULL) {
        return 0;
    }

    ready = snap->ready;

    ngx_k8s_metrics_snapshot_release(kmcf, snap);

    return ready;
}


/*
 * livez: the last scrape started no more than 1.5 x resolution ago; before
 * the first one, the zone's creation stands for it.
 */

ngx_flag_t
ngx_k8s_metrics_store_collection_timely(ngx_http_request_t *r)
{
    ngx_msec_t                    last;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    last = kmcf->sh->last_scrape_start ? kmcf->sh->last_scrape_start
                                       : kmcf->sh->started;

    return (ngx_msec_int_t) (ngx_current_msec - last)
           <= (ngx_msec_int_t) (kmcf->resolution * 3 / 2);
}


/*
 * readyz: the served snapshot is at most 3 x the longer of the resolution
 * and the kubelet timeout old.  A cycle publishes once its slowest kubelet
 * has answered or timed out, and a tick that finds the cycle still running
 * is skipped: a healthy store is up to about resolution + timeout old, up
 * to twice the timeout plus a resolution when cycles overrun.  Three times
 * the longer of the two covers both and still fails once two cycles in a
 * row could not publish (a zone too small for the cluster, a scraper that
 * no longer runs).  No snapshot yet: metric-storage-ready says so.
 */

ngx_flag_t
ngx_k8s_metrics_store_fresh(ngx_http_request_t *r, ngx_msec_int_t *age,
    ngx_msec_t *limit)
{
    ngx_msec_t                    published;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    *limit = NGX_K8S_METRICS_STALE_CYCLES
             * ngx_max(kmcf->resolution, kmcf->kubelet.timeout);

    published = kmcf->sh->published;
    *age = published ? (ngx_msec_int_t) (ngx_current_msec - published) : 0;

    return *age <= (ngx_msec_int_t) *limit;
}


ngx_msec_int_t
ngx_k8s_metrics_snapshot_age(ngx_k8s_metrics_snapshot_t *snap)
{
    return (ngx_msec_int_t) (ngx_current_msec - (ngx_msec_t) snap->published);
}


ngx_k8s_metrics_snapshot_t *
ngx_k8s_metrics_snapshot_acquire(ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_k8s_metrics_snapshot_t  *snap;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    snap = kmcf->sh->snapshot;

    if (snap) {
        snap->refs++;
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    return snap;
}


void
ngx_k8s_metrics_snapshot_release(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_snapshot_t *snap)
{
    ngx_shmtx_lock(&kmcf->shpool->mutex);

    if (snap->refs) {
        snap->refs--;
    }

    if (snap->refs == 0 && snap != kmcf->sh->snapshot) {
        ngx_k8s_metrics_free_retired(kmcf);
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);
}


ngx_int_t
ngx_k8s_metrics_sstr_cmp(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_sstr_t s, ngx_str_t *str)
{
    ngx_int_t  rc;

    rc = ngx_memn2cmp(snap->strings + s.off, str->data, s.len, str->len);

    return rc;
}


ngx_k8s_metrics_snode_t *
ngx_k8s_metrics_find_node(ngx_k8s_metrics_snapshot_t *snap, ngx_str_t *name)
{
    ngx_int_t   rc;
    ngx_uint_t  lo, hi, mid;

    if (snap == NULL) {
        return NULL;
    }

    lo = 0;
    hi = snap->nnodes;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = ngx_k8s_metrics_sstr_cmp(snap, snap->nodes[mid].name, name);

        if (rc == 0) {
            return &snap->nodes[mid];
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


ngx_k8s_metrics_snode_t *
ngx_k8s_metrics_snapshot_node(ngx_k8s_metrics_snapshot_t *snap,
    ngx_str_t *name)
{
    return ngx_k8s_metrics_find_node(snap, name);
}


/* a node's pods are sorted by namespace, then name */

ngx_k8s_metrics_spod_t *
ngx_k8s_metrics_find_pod(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_snode_t *node, ngx_str_t *namespace, ngx_str_t *name)
{
    ngx_int_t                rc;
    ngx_uint_t               lo, hi, mid;
    ngx_k8s_metrics_spod_t  *pod;

    lo = node->first_pod;
    hi = node->first_pod + node->npods;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        pod = &snap->pods[mid];

        rc = ngx_k8s_metrics_sstr_cmp(snap, pod->namespace, namespace);
        if (rc == 0) {
            rc = ngx_k8s_metrics_sstr_cmp(snap, pod->name, name);
        }

        if (rc == 0) {
            return pod;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}


ngx_k8s_metrics_scontainer_t *
ngx_k8s_metrics_find_container(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod, ngx_str_t *name)
{
    ngx_uint_t                     i;
    ngx_k8s_metrics_scontainer_t  *c;

    c = &snap->containers[pod->first_container];

    for (i = 0; i < pod->ncontainers; i++) {
        if (ngx_k8s_metrics_sstr_cmp(snap, c[i].name, name) == 0) {
            return &c[i];
        }
    }

    return NULL;
}


/* under the zone's mutex */

void
ngx_k8s_metrics_retire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_snapshot_t *old)
{
    old->retired = ngx_current_msec;
    old->next = kmcf->sh->retired;
    kmcf->sh->retired = old;
}


/* under the zone's mutex */

void
ngx_k8s_metrics_free_retired(ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_k8s_metrics_snapshot_t  **sp, *snap;

    sp = &kmcf->sh->retired;

    while (*sp) {
        snap = *sp;

        if (snap->refs == 0
            || ngx_current_msec - snap->retired > NGX_K8S_METRICS_RETIRE_MAX)
        {
            *sp = snap->next;
            ngx_slab_free_locked(kmcf->shpool, snap);
            continue;
        }

        sp = &snap->next;
    }
}


ngx_flag_t
ngx_k8s_metrics_node_served(ngx_k8s_metrics_snode_t *node)
{
    return node->scraped && node->prev.time != 0;
}


/* as metrics-server: a pod is served when all its containers have a rate */

ngx_flag_t
ngx_k8s_metrics_pod_served(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod)
{
    ngx_uint_t                     i;
    ngx_k8s_metrics_scontainer_t  *c;

    if (pod->ncontainers == 0) {
        return 0;
    }

    c = &snap->containers[pod->first_container];

    for (i = 0; i < pod->ncontainers; i++) {
        if (c[i].prev.time == 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * Under the zone's mutex: a process is building the next snapshot
 * (store_build.c).  One that is gone (SIGKILL, a crash; the master reaps
 * it at once) publishes no more.
 */

ngx_flag_t
ngx_k8s_metrics_store_publishing_locked(ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_pid_t  builder;

    builder = kmcf->sh->builder;

    if (builder == 0) {
        return 0;
    }

    return builder == ngx_pid
           || kill(builder, 0) == 0 || ngx_errno != NGX_ESRCH;
}
