
/*
 * ngx_metrics_module: metrics-server's own metrics, with its names, types,
 * labels, help texts and buckets (pkg/scraper/scraper.go,
 * pkg/server/server.go, pkg/storage/monitoring.go, pkg/api/monitoring.go,
 * pkg/utils/monitoring.go), so that its dashboards and alerts keep working.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_msmetrics.h"
#include "ngx_k8s_metrics_exposition.h"


/* the longest line of a node's, beside its name */
#define NGX_K8S_METRICS_MS_LINE   128
#define NGX_K8S_METRICS_MS_LINES  (NGX_K8S_METRICS_DURATION_BUCKETS + 4)


static ngx_uint_t ngx_k8s_metrics_tick_bounds(ngx_msec_t resolution,
    double *bounds);
static void ngx_k8s_metrics_freshness_bounds(double *bounds);
static u_char *ngx_k8s_metrics_ms_histogram(u_char *p, u_char *last,
    const char *name, double *bounds, ngx_atomic_t *buckets, ngx_uint_t n,
    ngx_atomic_uint_t count, ngx_atomic_uint_t sum);
static u_char *ngx_k8s_metrics_ms_nodes(u_char *p, u_char *last,
    ngx_k8s_metrics_snapshot_t *snap);
static u_char *ngx_k8s_metrics_ms_storage(u_char *p, u_char *last,
    ngx_k8s_metrics_snapshot_t *snap);


/* Prometheus' DefBuckets, seconds */
static double  ngx_k8s_metrics_def_buckets[] = {
    .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10
};

#define NGX_K8S_METRICS_DEF_BUCKETS                                           \
    (sizeof(ngx_k8s_metrics_def_buckets) / sizeof(double))


/*
 * metrics_server_manager_tick_duration_seconds: one scrape cycle.  Its
 * buckets follow the resolution: a reload that changes the resolution
 * starts the histogram over (only the scraping worker writes it).
 */

void
ngx_k8s_metrics_observe_tick(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_msec_t duration)
{
    double                       v, bounds[NGX_K8S_METRICS_TICK_BUCKETS];
    ngx_uint_t                   i, n;
    ngx_k8s_metrics_counters_t  *c;

    c = &kmcf->sh->counters;

    if (c->tick_resolution != kmcf->resolution) {
        ngx_memzero((void *) c->tick_buckets, sizeof(c->tick_buckets));
        c->tick_count = 0;
        c->tick_sum = 0;
        c->tick_resolution = kmcf->resolution;
    }

    n = ngx_k8s_metrics_tick_bounds(kmcf->resolution, bounds);
    v = (double) duration / 1000;

    for (i = 0; i < n; i++) {
        if (v <= bounds[i]) {
            (void) ngx_atomic_fetch_add(&c->tick_buckets[i], 1);
        }
    }

    (void) ngx_atomic_fetch_add(&c->tick_sum, duration);
    (void) ngx_atomic_fetch_add(&c->tick_count, 1);
}


/*
 * metrics_server_api_metric_freshness_seconds: the age of every NodeMetrics
 * and PodMetrics answered (its timestamp, ms), as metrics-server observes
 * them; counted here first, then added to the zone once per bucket.  A
 * timestamp ahead of this clock counts as fresh.
 */

void
ngx_k8s_metrics_observe_freshness(ngx_k8s_metrics_main_conf_t *kmcf,
    int64_t *times, ngx_uint_t n)
{
    double                       bounds[NGX_K8S_METRICS_FRESHNESS_BUCKETS];
    int64_t                      now, age;
    ngx_uint_t                   i, k;
    ngx_time_t                  *tp;
    ngx_atomic_uint_t            sum;
    ngx_atomic_uint_t            counts[NGX_K8S_METRICS_FRESHNESS_BUCKETS];
    ngx_k8s_metrics_counters_t  *c;

    if (n == 0) {
        return;
    }

    c = &kmcf->sh->counters;
    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    ngx_k8s_metrics_freshness_bounds(bounds);
    ngx_memzero(counts, sizeof(counts));
    sum = 0;

    for (i = 0; i < n; i++) {
        age = ngx_max(now - times[i], 0);
        sum += (ngx_atomic_uint_t) age;

        for (k = 0; k < NGX_K8S_METRICS_FRESHNESS_BUCKETS; k++) {
            if ((double) age / 1000 <= bounds[k]) {
                counts[k]++;
            }
        }
    }

    for (k = 0; k < NGX_K8S_METRICS_FRESHNESS_BUCKETS; k++) {
        if (counts[k]) {
            (void) ngx_atomic_fetch_add(&c->freshness_buckets[k], counts[k]);
        }
    }

    (void) ngx_atomic_fetch_add(&c->freshness_sum, sum);
    (void) ngx_atomic_fetch_add(&c->freshness_count, n);
}


size_t
ngx_k8s_metrics_prom_metrics_server_size(ngx_k8s_metrics_snapshot_t *snap)
{
    size_t      size;
    ngx_uint_t  i;

    size = 8192;

    for (i = 0; snap && i < snap->nnodes; i++) {
        size += (NGX_K8S_METRICS_MS_LINE + 2 * snap->nodes[i].name.len)
                * NGX_K8S_METRICS_MS_LINES;
    }

    return size;
}


/* the families, in the order metrics-server's registry writes them */

u_char *
ngx_k8s_metrics_prom_metrics_server(u_char *p, u_char *last,
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_snapshot_t *snap)
{
    double                       bounds[NGX_K8S_METRICS_FRESHNESS_BUCKETS];
    ngx_uint_t                   n;
    ngx_atomic_t                 zero[NGX_K8S_METRICS_TICK_BUCKETS];
    ngx_k8s_metrics_counters_t  *c;

    c = &kmcf->sh->counters;

    ngx_k8s_metrics_freshness_bounds(bounds);

    p = ngx_slprintf(p, last,
        "# HELP metrics_server_api_metric_freshness_seconds [ALPHA] "
        "Freshness of metrics exported\n"
        "# TYPE metrics_server_api_metric_freshness_seconds histogram\n");

    p = ngx_k8s_metrics_ms_histogram(p, last,
                                     "metrics_server_api_metric_freshness_"
                                     "seconds", bounds, c->freshness_buckets,
                                     NGX_K8S_METRICS_FRESHNESS_BUCKETS,
                                     c->freshness_count, c->freshness_sum);

    p = ngx_k8s_metrics_ms_nodes(p, last, snap);

    p = ngx_slprintf(p, last,
        "# HELP metrics_server_kubelet_request_total [ALPHA] Number of "
        "requests sent to Kubelet API\n"
        "# TYPE metrics_server_kubelet_request_total counter\n"
        "metrics_server_kubelet_request_total{success=\"false\"} %uA\n"
        "metrics_server_kubelet_request_total{success=\"true\"} %uA\n"
        "# HELP metrics_server_manager_tick_duration_seconds [ALPHA] The "
        "total time spent collecting and storing metrics in seconds.\n"
        "# TYPE metrics_server_manager_tick_duration_seconds histogram\n",
        c->kubelet_requests_failed, c->kubelet_requests_ok);

    n = ngx_k8s_metrics_tick_bounds(kmcf->resolution, bounds);

    if (c->tick_resolution == kmcf->resolution) {
        p = ngx_k8s_metrics_ms_histogram(p, last,
                                         "metrics_server_manager_tick_"
                                         "duration_seconds", bounds,
                                         c->tick_buckets, n, c->tick_count,
                                         c->tick_sum);

    } else {
        /* no cycle yet with this resolution */
        ngx_memzero((void *) zero, sizeof(zero));
        p = ngx_k8s_metrics_ms_histogram(p, last,
                                         "metrics_server_manager_tick_"
                                         "duration_seconds", bounds,
                                         zero, n, 0, 0);
    }

    return ngx_k8s_metrics_ms_storage(p, last, snap);
}


/* buckets cumulative, as kept; sum in ms */

static u_char *
ngx_k8s_metrics_ms_histogram(u_char *p, u_char *last, const char *name,
    double *bounds, ngx_atomic_t *buckets, ngx_uint_t n,
    ngx_atomic_uint_t count, ngx_atomic_uint_t sum)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last, "%s_bucket{le=\"", name);
        p = ngx_k8s_metrics_prom_float(p, last, bounds[i]);
        p = ngx_slprintf(p, last, "\"} %uA\n", buckets[i]);
    }

    p = ngx_slprintf(p, last, "%s_bucket{le=\"+Inf\"} %uA\n%s_sum ",
                     name, count, name);
    p = ngx_k8s_metrics_prom_float(p, last, (double) sum / 1000);

    return ngx_slprintf(p, last, "\n%s_count %uA\n", name, count);
}


/*
 * metrics_server_kubelet_last_request_time_seconds and
 * metrics_server_kubelet_request_duration_seconds, per node of the
 * snapshot: the end of its last scrape (whole seconds, as Unix() gives),
 * and the histogram the store keeps for it (DefBuckets).
 */

static u_char *
ngx_k8s_metrics_ms_nodes(u_char *p, u_char *last,
    ngx_k8s_metrics_snapshot_t *snap)
{
    u_char                   buf[2 * 256];
    ngx_str_t                s, name;
    ngx_uint_t               i, k, pass;
    ngx_k8s_metrics_snode_t  *node;

    for (pass = 0; pass < 2; pass++) {

        p = ngx_slprintf(p, last, pass == 0
            ? "# HELP metrics_server_kubelet_last_request_time_seconds "
              "[ALPHA] Time of last request performed to Kubelet API since "
              "unix epoch in seconds\n"
              "# TYPE metrics_server_kubelet_last_request_time_seconds "
              "gauge\n"
            : "# HELP metrics_server_kubelet_request_duration_seconds "
              "[ALPHA] Duration of requests to Kubelet API in seconds\n"
              "# TYPE metrics_server_kubelet_request_duration_seconds "
              "histogram\n");

        for (i = 0; snap && i < snap->nnodes; i++) {
            node = &snap->nodes[i];

            ngx_k8s_metrics_sstr(snap, node->name, &s);
            name.data = buf;
            name.len = ngx_k8s_metrics_prom_escape(buf, buf + sizeof(buf), &s)
                       - buf;

            if (pass == 0) {
                p = ngx_slprintf(p, last,
                                 "metrics_server_kubelet_last_request_time_"
                                 "seconds{node=\"%V\"} ", &name);
                p = ngx_k8s_metrics_prom_float(p, last, (double)
                        ((node->scrape_time + node->duration) / 1000));
                p = ngx_slprintf(p, last, "\n");
                continue;
            }

            for (k = 0; k < NGX_K8S_METRICS_DURATION_BUCKETS; k++) {
                p = ngx_slprintf(p, last,
                                 "metrics_server_kubelet_request_duration_"
                                 "seconds_bucket{node=\"%V\",le=\"", &name);
                p = ngx_k8s_metrics_prom_float(p, last,
                        (double) ngx_k8s_metrics_duration_bounds[k] / 1000);
                p = ngx_slprintf(p, last, "\"} %uL\n", node->buckets[k]);
            }

            p = ngx_slprintf(p, last,
                             "metrics_server_kubelet_request_duration_seconds"
                             "_bucket{node=\"%V\",le=\"+Inf\"} %uL\n"
                             "metrics_server_kubelet_request_duration_seconds"
                             "_sum{node=\"%V\"} ",
                             &name, node->successes + node->failures, &name);
            p = ngx_k8s_metrics_prom_float(p, last,
                                           (double) node->duration_sum / 1000);
            p = ngx_slprintf(p, last,
                             "\nmetrics_server_kubelet_request_duration_"
                             "seconds_count{node=\"%V\"} %uL\n",
                             &name, node->successes + node->failures);
        }
    }

    return p;
}


/*
 * metrics_server_storage_points: as metrics-server counts them, the points
 * a rate can be given for: nodes and containers with two points.
 */

static u_char *
ngx_k8s_metrics_ms_storage(u_char *p, u_char *last,
    ngx_k8s_metrics_snapshot_t *snap)
{
    ngx_uint_t  i, nodes, containers;

    nodes = 0;
    containers = 0;

    for (i = 0; snap && i < snap->nnodes; i++) {
        nodes += ngx_k8s_metrics_node_served(&snap->nodes[i]);
    }

    for (i = 0; snap && i < snap->ncontainers; i++) {
        containers += (snap->containers[i].prev.time != 0);
    }

    return ngx_slprintf(p, last,
        "# HELP metrics_server_storage_points [ALPHA] Number of metrics "
        "points stored.\n"
        "# TYPE metrics_server_storage_points gauge\n"
        "metrics_server_storage_points{type=\"container\"} %ui\n"
        "metrics_server_storage_points{type=\"node\"} %ui\n",
        containers, nodes);
}


/* utils.BucketsForScrapeDuration(resolution), as metrics-server computes */

static ngx_uint_t
ngx_k8s_metrics_tick_bounds(ngx_msec_t resolution, double *bounds)
{
    double      t, max;
    ngx_uint_t  i, n;

    n = NGX_K8S_METRICS_DEF_BUCKETS;
    ngx_memcpy(bounds, ngx_k8s_metrics_def_buckets, n * sizeof(double));

    max = bounds[n - 1];
    t = (double) ((int64_t) resolution * 1000000) / 1e9;

    if (t > max) {
        bounds[n++] = max + (t - max) / 2;
        bounds[n++] = t;
        bounds[n++] = t * 1.5;
        bounds[n++] = t * 2.0;
        return n;
    }

    if (t == max) {
        return n;
    }

    for (i = 0; i < n; i++) {
        if (bounds[i] > t) {
            break;
        }
    }

    /* close enough to a bucket already there */

    if (bounds[i] - t < bounds[0] || (i > 0 && t - bounds[i - 1] < bounds[0]))
    {
        return n;
    }

    ngx_memmove(&bounds[i + 1], &bounds[i], (n - i) * sizeof(double));
    bounds[i] = t;

    return n + 1;
}


/* metrics.ExponentialBuckets(1, 1.364, 20) */

static void
ngx_k8s_metrics_freshness_bounds(double *bounds)
{
    double      b;
    ngx_uint_t  i;

    b = 1;

    for (i = 0; i < NGX_K8S_METRICS_FRESHNESS_BUCKETS; i++) {
        bounds[i] = b;
        b *= 1.364;
    }
}
