
/*
 * ngx_metrics_module: /metrics, the module's own metrics in the Prometheus
 * text format: per node scrape outcomes and durations, the store, the
 * zone, and the decisions of authentication and authorization.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_msmetrics.h"
#include "ngx_k8s_metrics_exposition.h"


/* the longest line written for a node, beside its name and reason */
#define NGX_K8S_METRICS_PROM_LINE   160
#define NGX_K8S_METRICS_PROM_LINES  (NGX_K8S_METRICS_DURATION_BUCKETS + 10)


/*
 * The families written per node, each whole (its HELP, TYPE and all its
 * nodes' samples together), as the text format requires.
 */
typedef enum {
    NGX_K8S_METRICS_PROM_DURATION = 0,
    NGX_K8S_METRICS_PROM_SCRAPES,
    NGX_K8S_METRICS_PROM_MALFORMED,
    NGX_K8S_METRICS_PROM_REJECTED,
    NGX_K8S_METRICS_PROM_LAST_SCRAPE,
    NGX_K8S_METRICS_PROM_SUCCESS,
    NGX_K8S_METRICS_PROM_NODE_FAMILIES
} ngx_k8s_metrics_prom_family_e;


static u_char *ngx_k8s_metrics_prom_node(u_char *p, u_char *last,
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_snode_t *node,
    ngx_uint_t family);
static u_char *ngx_k8s_metrics_prom_counters(u_char *p, u_char *last,
    ngx_k8s_metrics_main_conf_t *kmcf);


static const char  *ngx_k8s_metrics_prom_node_headers[] = {
    "# HELP k8s_metrics_scrape_duration_seconds Duration of a kubelet "
    "scrape.\n"
    "# TYPE k8s_metrics_scrape_duration_seconds histogram\n",

    "# HELP k8s_metrics_scrapes_total Kubelet scrapes by result.\n"
    "# TYPE k8s_metrics_scrapes_total counter\n",

    "# HELP k8s_metrics_scrape_malformed_lines_total Lines of a kubelet's "
    "answer skipped as malformed.\n"
    "# TYPE k8s_metrics_scrape_malformed_lines_total counter\n",

    "# HELP k8s_metrics_pods_rejected_total Pods of a kubelet's answer not "
    "taken, by reason.\n"
    "# TYPE k8s_metrics_pods_rejected_total counter\n",

    "# HELP k8s_metrics_last_scrape_timestamp_seconds Start of the last "
    "scrape of a kubelet.\n"
    "# TYPE k8s_metrics_last_scrape_timestamp_seconds gauge\n",

    "# HELP k8s_metrics_last_scrape_success Whether the last scrape of a "
    "kubelet succeeded, and why not.\n"
    "# TYPE k8s_metrics_last_scrape_success gauge\n"
};


static ngx_str_t  ngx_k8s_metrics_prom_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


ngx_int_t
ngx_k8s_metrics_serve_prometheus(ngx_http_request_t *r)
{
    u_char                       *p, *last;
    size_t                        size;
    ngx_str_t                     text;
    ngx_int_t                     rc;
    ngx_uint_t                    i, f, points;
    ngx_k8s_metrics_snode_t      *node;
    ngx_k8s_metrics_snapshot_t   *snap;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    snap = ngx_k8s_metrics_snapshot_acquire(kmcf);

    size = 8192 + ngx_k8s_metrics_prom_metrics_server_size(snap);

    for (i = 0; snap && i < snap->nnodes; i++) {
        node = &snap->nodes[i];
        size += (NGX_K8S_METRICS_PROM_LINE + 2 * node->name.len)
                * NGX_K8S_METRICS_PROM_LINES
                + 4 * node->error.len;
    }

    text.data = ngx_pnalloc(r->pool, size);
    if (text.data == NULL) {
        if (snap) {
            ngx_k8s_metrics_snapshot_release(kmcf, snap);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = text.data;
    last = text.data + size;

    for (f = 0; f < NGX_K8S_METRICS_PROM_NODE_FAMILIES; f++) {
        p = ngx_slprintf(p, last, "%s", ngx_k8s_metrics_prom_node_headers[f]);

        for (i = 0; snap && i < snap->nnodes; i++) {
            p = ngx_k8s_metrics_prom_node(p, last, snap, &snap->nodes[i], f);
        }
    }

    points = 0;

    for (i = 0; snap && i < snap->nnodes; i++) {
        points += snap->nodes[i].scraped;
    }

    p = ngx_slprintf(p, last,
        "# HELP k8s_metrics_points_stored Metric points in the store "
        "(nodes and containers).\n"
        "# TYPE k8s_metrics_points_stored gauge\n"
        "k8s_metrics_points_stored %ui\n"
        "# HELP k8s_metrics_pods_stored Pods in the store.\n"
        "# TYPE k8s_metrics_pods_stored gauge\n"
        "k8s_metrics_pods_stored %ui\n"
        "# HELP k8s_metrics_snapshot_bytes Size of the current snapshot.\n"
        "# TYPE k8s_metrics_snapshot_bytes gauge\n"
        "k8s_metrics_snapshot_bytes %uz\n",
        snap ? points + snap->ncontainers : 0,
        snap ? snap->npods : 0,
        snap ? snap->size : 0);

    p = ngx_k8s_metrics_prom_metrics_server(p, last, kmcf, snap);

    if (snap) {
        p = ngx_slprintf(p, last,
            "# HELP k8s_metrics_snapshot_age_seconds Age of the snapshot "
            "served (a new one is published every cycle).\n"
            "# TYPE k8s_metrics_snapshot_age_seconds gauge\n"
            "k8s_metrics_snapshot_age_seconds %.3f\n",
            (double) ngx_k8s_metrics_snapshot_age(snap) / 1000);

        ngx_k8s_metrics_snapshot_release(kmcf, snap);
    }

    p = ngx_k8s_metrics_prom_counters(p, last, kmcf);

    text.len = p - text.data;

    rc = ngx_k8s_metrics_send_text(r, NGX_HTTP_OK, &ngx_k8s_metrics_prom_type,
                                   &text);

    return rc;
}


static u_char *
ngx_k8s_metrics_prom_node(u_char *p, u_char *last,
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_snode_t *node,
    ngx_uint_t family)
{
    u_char      buf[2 * 256];
    ngx_str_t   s, name;
    ngx_uint_t  i, count;

    ngx_k8s_metrics_sstr(snap, node->name, &s);

    name.data = buf;
    name.len = ngx_k8s_metrics_prom_escape(buf, buf + sizeof(buf), &s) - buf;

    switch (family) {

    case NGX_K8S_METRICS_PROM_DURATION:
        count = node->successes + node->failures;

        for (i = 0; i < NGX_K8S_METRICS_DURATION_BUCKETS; i++) {
            p = ngx_slprintf(p, last,
                             "k8s_metrics_scrape_duration_seconds_bucket"
                             "{node=\"%V\",le=\"%.3f\"} %uL\n",
                             &name,
                             (double) ngx_k8s_metrics_duration_bounds[i]
                             / 1000,
                             node->buckets[i]);
        }

        return ngx_slprintf(p, last,
                            "k8s_metrics_scrape_duration_seconds_bucket"
                            "{node=\"%V\",le=\"+Inf\"} %uL\n"
                            "k8s_metrics_scrape_duration_seconds_sum"
                            "{node=\"%V\"} %.3f\n"
                            "k8s_metrics_scrape_duration_seconds_count"
                            "{node=\"%V\"} %uL\n",
                            &name, count,
                            &name, (double) node->duration_sum / 1000,
                            &name, count);

    case NGX_K8S_METRICS_PROM_SCRAPES:
        return ngx_slprintf(p, last,
                            "k8s_metrics_scrapes_total"
                            "{node=\"%V\",result=\"success\"} %uL\n"
                            "k8s_metrics_scrapes_total"
                            "{node=\"%V\",result=\"failure\"} %uL\n",
                            &name, node->successes, &name, node->failures);

    case NGX_K8S_METRICS_PROM_MALFORMED:
        return ngx_slprintf(p, last,
                            "k8s_metrics_scrape_malformed_lines_total"
                            "{node=\"%V\"} %uL\n",
                            &name, node->malformed);

    case NGX_K8S_METRICS_PROM_REJECTED:
        return ngx_slprintf(p, last,
                            "k8s_metrics_pods_rejected_total"
                            "{node=\"%V\",reason=\"misplaced\"} %uL\n"
                            "k8s_metrics_pods_rejected_total"
                            "{node=\"%V\",reason=\"duplicate\"} %uL\n",
                            &name, node->misplaced, &name, node->duplicates);

    case NGX_K8S_METRICS_PROM_LAST_SCRAPE:
        return ngx_slprintf(p, last,
                            "k8s_metrics_last_scrape_timestamp_seconds"
                            "{node=\"%V\"} %.3f\n",
                            &name, (double) node->scrape_time / 1000);

    default: /* NGX_K8S_METRICS_PROM_SUCCESS */
        p = ngx_slprintf(p, last,
                         "k8s_metrics_last_scrape_success"
                         "{node=\"%V\",reason=\"", &name);

        ngx_k8s_metrics_sstr(snap, node->error, &s);
        p = ngx_k8s_metrics_prom_escape(p, last, &s);

        return ngx_slprintf(p, last, "\"} %d\n", node->scraped ? 1 : 0);
    }
}


static u_char *
ngx_k8s_metrics_prom_counters(u_char *p, u_char *last,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    size_t                       used;
    ngx_uint_t                   i;
    ngx_slab_pool_t             *shpool;
    ngx_k8s_metrics_counters_t  *c;

    static const char  *authenticators[] = {
        NULL, "requestheader", "x509", "token", "anonymous"
    };

    c = &kmcf->sh->counters;
    shpool = kmcf->shpool;

    /* pages handed out, as the slab allocator counts them */

    ngx_shmtx_lock(&shpool->mutex);
    used = (size_t) (shpool->end - shpool->start)
           - shpool->pfree * ngx_pagesize;
    ngx_shmtx_unlock(&shpool->mutex);

    p = ngx_slprintf(p, last,
        "# HELP k8s_metrics_zone_bytes Size of the shared zone.\n"
        "# TYPE k8s_metrics_zone_bytes gauge\n"
        "k8s_metrics_zone_bytes %uz\n"
        "# HELP k8s_metrics_zone_used_bytes Bytes of the zone in use.\n"
        "# TYPE k8s_metrics_zone_used_bytes gauge\n"
        "k8s_metrics_zone_used_bytes %uz\n"
        "# HELP k8s_metrics_zone_full_total Snapshots that did not fit "
        "whole (nodes left out, or the previous snapshot kept).\n"
        "# TYPE k8s_metrics_zone_full_total counter\n"
        "k8s_metrics_zone_full_total %uA\n"
        "# HELP k8s_metrics_zone_left_out_nodes_total Nodes whose pods "
        "were left out of a snapshot that did not fit.\n"
        "# TYPE k8s_metrics_zone_left_out_nodes_total counter\n"
        "k8s_metrics_zone_left_out_nodes_total %uA\n"
        "# HELP k8s_metrics_scrape_cycles_total Scrape cycles finished.\n"
        "# TYPE k8s_metrics_scrape_cycles_total counter\n"
        "k8s_metrics_scrape_cycles_total %uA\n"
        "# HELP k8s_metrics_scrape_cycle_overruns_total Ticks skipped "
        "because the previous cycle was still running.\n"
        "# TYPE k8s_metrics_scrape_cycle_overruns_total counter\n"
        "k8s_metrics_scrape_cycle_overruns_total %uA\n"
        "# HELP k8s_metrics_scrape_cycle_duration_seconds Duration of the "
        "last scrape cycle.\n"
        "# TYPE k8s_metrics_scrape_cycle_duration_seconds gauge\n"
        "k8s_metrics_scrape_cycle_duration_seconds %.3f\n",
        kmcf->shm_zone->shm.size, used, c->zone_full, c->zone_left_out,
        c->cycles,
        c->cycle_overruns, (double) c->cycle_duration / 1000);

    p = ngx_slprintf(p, last,
        "# HELP k8s_metrics_samples_dropped_total Samples or lines not "
        "stored, by reason.\n"
        "# TYPE k8s_metrics_samples_dropped_total counter\n"
        "k8s_metrics_samples_dropped_total{reason=\"malformed\"} %uA\n"
        "k8s_metrics_samples_dropped_total{reason=\"incomplete\"} %uA\n"
        "k8s_metrics_samples_dropped_total{reason=\"zero\"} %uA\n"
        "k8s_metrics_samples_dropped_total{reason=\"unlisted\"} %uA\n"
        "k8s_metrics_samples_dropped_total{reason=\"misplaced\"} %uA\n"
        "k8s_metrics_samples_dropped_total{reason=\"duplicate\"} %uA\n"
        "# HELP k8s_metrics_authentication_configmap_updates_total Changes "
        "of the authentication ConfigMap taken.\n"
        "# TYPE k8s_metrics_authentication_configmap_updates_total counter\n"
        "k8s_metrics_authentication_configmap_updates_total %uA\n"
        "# HELP k8s_metrics_authentication_configmap_rejected_total Values "
        "of the authentication ConfigMap not taken: a CA bundle without a "
        "certificate, a list that does not parse (the previous kept).\n"
        "# TYPE k8s_metrics_authentication_configmap_rejected_total counter\n"
        "k8s_metrics_authentication_configmap_rejected_total %uA\n",
        c->dropped_malformed, c->dropped_incomplete, c->dropped_zero,
        c->dropped_unlisted, c->dropped_misplaced, c->dropped_duplicate,
        c->configmap_updates, c->configmap_rejected);

    p = ngx_slprintf(p, last,
        "# HELP k8s_metrics_authentications_total Requests by "
        "authenticator, or failed.\n"
        "# TYPE k8s_metrics_authentications_total counter\n");

    for (i = 1; i < 5; i++) {
        p = ngx_slprintf(p, last,
                         "k8s_metrics_authentications_total"
                         "{authenticator=\"%s\",result=\"success\"} %uA\n",
                         authenticators[i], c->authn[i]);
    }

    return ngx_slprintf(p, last,
        "k8s_metrics_authentications_total{authenticator=\"\","
        "result=\"failure\"} %uA\n"
        "# HELP k8s_metrics_authorizations_total Authorization decisions.\n"
        "# TYPE k8s_metrics_authorizations_total counter\n"
        "k8s_metrics_authorizations_total{decision=\"allowed\"} %uA\n"
        "k8s_metrics_authorizations_total{decision=\"denied\"} %uA\n"
        "k8s_metrics_authorizations_total{decision=\"error\"} %uA\n"
        "# HELP k8s_metrics_sar_cache_hits_total SubjectAccessReview "
        "decisions answered from the cache.\n"
        "# TYPE k8s_metrics_sar_cache_hits_total counter\n"
        "k8s_metrics_sar_cache_hits_total %uA\n"
        "# HELP k8s_metrics_responses_reused_total Metrics responses a "
        "worker sent again from its rendering of the same snapshot.\n"
        "# TYPE k8s_metrics_responses_reused_total counter\n"
        "k8s_metrics_responses_reused_total %uA\n",
        c->authn_failed, c->authz_allowed, c->authz_denied, c->authz_errors,
        c->sar_cache_hits, c->renders_reused);
}
