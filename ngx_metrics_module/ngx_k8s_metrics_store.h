
/*
 * The store (ngx_k8s_metrics_store.c, the builder in _store_build.c): the
 * snapshots in the shared zone and what a scrape cycle hands them.
 */


#ifndef _NGX_K8S_METRICS_STORE_H_INCLUDED_
#define _NGX_K8S_METRICS_STORE_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_rate.h"
#include "ngx_k8s_metrics_batch.h"


struct json_t;


/*
 * The store: one immutable snapshot per scrape cycle, in the shared zone,
 * built by the scraping worker from the previous snapshot and the cycle's
 * results; it holds both what is served and the points rates are computed
 * from, so a reload or a new scraping worker goes on where the last left
 * off.  Readers hold a reference while they use one (see store.c).
 */

#define NGX_K8S_METRICS_DURATION_BUCKETS  11


typedef struct {
    uint32_t                        off;        /* in snapshot->strings */
    uint32_t                        len;
} ngx_k8s_metrics_sstr_t;


typedef struct {
    ngx_k8s_metrics_sstr_t          key;
    ngx_k8s_metrics_sstr_t          value;
} ngx_k8s_metrics_slabel_t;


typedef struct {
    ngx_k8s_metrics_sstr_t          name;
    ngx_k8s_metrics_point_t         last;
    ngx_k8s_metrics_point_t         prev;
    int64_t                         start;      /* ms; 0: unknown */
    uint64_t                        memory;
    uint64_t                        swap;
    uint32_t                        has_swap;   /* k8s_metrics_swap, reported */
} ngx_k8s_metrics_scontainer_t;


typedef struct {
    ngx_k8s_metrics_sstr_t          namespace;
    ngx_k8s_metrics_sstr_t          name;
    uint32_t                        node;
    uint32_t                        first_container;
    uint32_t                        ncontainers;
    uint32_t                        first_label;
    uint32_t                        nlabels;
} ngx_k8s_metrics_spod_t;


typedef struct {
    ngx_k8s_metrics_sstr_t          name;
    ngx_k8s_metrics_sstr_t          address;
    ngx_k8s_metrics_sstr_t          error;      /* why the last scrape failed */
    ngx_k8s_metrics_point_t         last;
    ngx_k8s_metrics_point_t         prev;
    uint64_t                        memory;
    uint64_t                        swap;
    uint32_t                        has_swap;   /* k8s_metrics_swap, reported */
    uint32_t                        first_pod;
    uint32_t                        npods;
    uint32_t                        first_label;
    uint32_t                        nlabels;
    uint32_t                        scraped;    /* the last scrape succeeded */
    uint32_t                        duration;   /* of the last scrape, ms */
    int64_t                         scrape_time;    /* its start, ms */
    uint64_t                        successes;
    uint64_t                        failures;
    uint64_t                        malformed;  /* lines skipped, in all */
    uint64_t                        misplaced;  /* pods of other nodes */
    uint64_t                        duplicates; /* pods an earlier node has */
    uint64_t                        buckets[NGX_K8S_METRICS_DURATION_BUCKETS];
    uint64_t                        duration_sum;   /* ms */
} ngx_k8s_metrics_snode_t;


struct ngx_k8s_metrics_snapshot_s {
    ngx_k8s_metrics_snapshot_t     *next;       /* retired, still in use */
    ngx_uint_t                      refs;       /* under the zone's mutex */
    ngx_msec_t                      retired;
    size_t                          size;

    int64_t                         published;  /* ms */
    ngx_uint_t                      ready;      /* as metrics-server's */

    ngx_uint_t                      nnodes;
    ngx_uint_t                      npods;
    ngx_uint_t                      ncontainers;
    ngx_uint_t                      nlabels;

    ngx_k8s_metrics_snode_t        *nodes;      /* sorted by name */
    ngx_k8s_metrics_spod_t         *pods;       /* by node, then ns/name */
    ngx_k8s_metrics_scontainer_t   *containers; /* by pod, then name */
    ngx_k8s_metrics_slabel_t       *labels;
    uint32_t                       *pod_order;  /* pods by namespace/name */
    u_char                         *strings;
};


#define ngx_k8s_metrics_sstr(snap, s, str)                                  \
    (str)->data = (snap)->strings + (s).off; (str)->len = (s).len


/* ngx_k8s_metrics_store.c */
void ngx_k8s_metrics_store_init_zone(ngx_k8s_metrics_shctx_t *sh);
ngx_flag_t ngx_k8s_metrics_store_ready(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_store_collection_timely(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_store_fresh(ngx_http_request_t *r,
    ngx_msec_int_t *age, ngx_msec_t *limit);
ngx_msec_int_t ngx_k8s_metrics_snapshot_age(ngx_k8s_metrics_snapshot_t *snap);
ngx_k8s_metrics_snapshot_t *ngx_k8s_metrics_snapshot_acquire(
    ngx_k8s_metrics_main_conf_t *kmcf);
void ngx_k8s_metrics_snapshot_release(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_snapshot_t *snap);
extern ngx_msec_t  ngx_k8s_metrics_duration_bounds[];

/* ngx_k8s_metrics_store_build.c */

/* the labels of a pod (a JSON object), or NULL when it is not to be served */
typedef struct json_t *(*ngx_k8s_metrics_pod_labels_pt)(void *data,
    ngx_str_t *namespace, ngx_str_t *name);

/* the end of a publication: NGX_OK, published; else not (store_publish) */
typedef void (*ngx_k8s_metrics_published_pt)(void *data, ngx_int_t rc);

typedef struct ngx_k8s_metrics_publication_s  ngx_k8s_metrics_publication_t;

ngx_k8s_metrics_publication_t *ngx_k8s_metrics_store_publish(
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_batch_t *batches,
    ngx_uint_t n, ngx_k8s_metrics_pod_labels_pt pod_labels, void *data,
    ngx_k8s_metrics_published_pt handler, void *handler_data,
    ngx_pool_t *pool, ngx_log_t *log);
void ngx_k8s_metrics_store_publish_abort(ngx_k8s_metrics_publication_t *pub);

/* ngx_k8s_metrics_store.c: lookups */
ngx_k8s_metrics_snode_t *ngx_k8s_metrics_snapshot_node(
    ngx_k8s_metrics_snapshot_t *snap, ngx_str_t *name);
ngx_flag_t ngx_k8s_metrics_node_served(ngx_k8s_metrics_snode_t *node);
ngx_flag_t ngx_k8s_metrics_pod_served(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod);

/* ngx_k8s_metrics_store.c, for the builder (store_build.c) */
ngx_int_t ngx_k8s_metrics_sstr_cmp(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_sstr_t s, ngx_str_t *str);
ngx_k8s_metrics_snode_t *ngx_k8s_metrics_find_node(
    ngx_k8s_metrics_snapshot_t *snap, ngx_str_t *name);
ngx_k8s_metrics_spod_t *ngx_k8s_metrics_find_pod(
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_snode_t *node,
    ngx_str_t *namespace, ngx_str_t *name);
ngx_k8s_metrics_scontainer_t *ngx_k8s_metrics_find_container(
    ngx_k8s_metrics_snapshot_t *snap, ngx_k8s_metrics_spod_t *pod,
    ngx_str_t *name);
void ngx_k8s_metrics_retire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_snapshot_t *old);
void ngx_k8s_metrics_free_retired(ngx_k8s_metrics_main_conf_t *kmcf);
ngx_flag_t ngx_k8s_metrics_store_publishing_locked(
    ngx_k8s_metrics_main_conf_t *kmcf);


#endif /* _NGX_K8S_METRICS_STORE_H_INCLUDED_ */
