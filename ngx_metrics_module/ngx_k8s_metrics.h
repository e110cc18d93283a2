
/*
 * ngx_metrics_module: a Kubernetes metrics.k8s.io/v1beta1 extension
 * apiserver inside nginx.  The module's own header: its main and
 * location configuration, the shared zone's head, the request context,
 * and the HTTP entry points.  Each subsystem has its own header beside
 * it (see the README, "Layout").
 */


#ifndef _NGX_K8S_METRICS_H_INCLUDED_
#define _NGX_K8S_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics_identity.h"
#include "ngx_k8s_metrics_route.h"
#include "ngx_k8s_metrics_batch.h"


/* a pod's service-account credentials (k8s_metrics_apiserver in_cluster) */
#define NGX_K8S_METRICS_SA_DIR  "/var/run/secrets/kubernetes.io/serviceaccount"


typedef struct {
    ngx_str_t                       key;
    ngx_str_t                       value;
} ngx_k8s_metrics_label_t;


typedef struct ngx_k8s_metrics_snapshot_s  ngx_k8s_metrics_snapshot_t;
typedef struct ngx_k8s_metrics_ca_s  ngx_k8s_metrics_ca_t;
typedef struct ngx_k8s_metrics_review_ctx_s  ngx_k8s_metrics_review_ctx_t;


/* metrics-server's buckets: its defaults and four more, or one more */
#define NGX_K8S_METRICS_TICK_BUCKETS       15
#define NGX_K8S_METRICS_FRESHNESS_BUCKETS  20


/* counters every worker adds to, in the zone */
typedef struct {
    ngx_atomic_t                    authn[5];   /* by authenticator */
    ngx_atomic_t                    authn_failed;
    ngx_atomic_t                    authz_allowed;
    ngx_atomic_t                    authz_denied;
    ngx_atomic_t                    authz_errors;
    ngx_atomic_t                    sar_cache_hits;
    ngx_atomic_t                    renders_reused;
    ngx_atomic_t                    cycles;
    ngx_atomic_t                    cycle_overruns;
    ngx_atomic_t                    cycle_duration;     /* last, ms */
    ngx_atomic_t                    zone_full;
    ngx_atomic_t                    zone_left_out;
    ngx_atomic_t                    dropped_malformed;
    ngx_atomic_t                    dropped_incomplete;
    ngx_atomic_t                    dropped_zero;
    ngx_atomic_t                    dropped_decrease;
    ngx_atomic_t                    dropped_unlisted;
    ngx_atomic_t                    dropped_misplaced;
    ngx_atomic_t                    dropped_duplicate;
    ngx_atomic_t                    configmap_updates;
    ngx_atomic_t                    configmap_rejected;

    /* metrics-server's own metrics (msmetrics.c) */
    ngx_atomic_t                    kubelet_requests_ok;
    ngx_atomic_t                    kubelet_requests_failed;
    ngx_atomic_t                    tick_resolution;    /* of the buckets */
    ngx_atomic_t                    tick_buckets[NGX_K8S_METRICS_TICK_BUCKETS];
    ngx_atomic_t                    tick_count;
    ngx_atomic_t                    tick_sum;           /* ms */
    ngx_atomic_t                    freshness_buckets[
                                        NGX_K8S_METRICS_FRESHNESS_BUCKETS];
    ngx_atomic_t                    freshness_count;
    ngx_atomic_t                    freshness_sum;      /* ms */
} ngx_k8s_metrics_counters_t;


/*
 * A scrape cycle shared among the workers (share.c): each worker's slot,
 * and its batches staged in the zone once its share is done.
 */
#define NGX_K8S_METRICS_MAX_SHARES         64

#define NGX_K8S_METRICS_SHARE_EMPTY        0   /* not joined yet */
#define NGX_K8S_METRICS_SHARE_RUNNING      1
#define NGX_K8S_METRICS_SHARE_DONE         2
#define NGX_K8S_METRICS_SHARE_LOST         3   /* its worker is gone */
#define NGX_K8S_METRICS_SHARE_STAGING      4   /* its part being copied */
#define NGX_K8S_METRICS_SHARE_FULL         5   /* no room for its part */

typedef struct {
    ngx_uint_t                      state;
    ngx_pid_t                       pid;
    void                           *part;   /* STAGING, DONE: its batches */
} ngx_k8s_metrics_share_slot_t;

typedef struct {
    ngx_uint_t                      cycle;      /* 0: none yet */
    ngx_msec_t                      started;
    ngx_uint_t                      generation; /* of the configuration */
    ngx_uint_t                      nslots;
    ngx_uint_t                      merging;    /* a worker publishes it */
    ngx_k8s_metrics_share_slot_t    slots[NGX_K8S_METRICS_MAX_SHARES];

    /* the parts a worker publishes, until it frees them (share_free) */
    ngx_pid_t                       merger;
    void                           *merged[NGX_K8S_METRICS_MAX_SHARES];
} ngx_k8s_metrics_share_state_t;


/* the head of the shared zone */
typedef struct {
    ngx_msec_t                      started;    /* monotonic, all processes */
    ngx_msec_t                      last_scrape_start;  /* 0: never */
    ngx_k8s_metrics_snapshot_t     *snapshot;           /* NULL: empty */
    ngx_msec_t                      published;  /* its time; 0: none */
    ngx_k8s_metrics_snapshot_t     *retired;
    ngx_pid_t                       builder;    /* publishing; 0: none */
    ngx_k8s_metrics_snapshot_t     *building;   /* the builder's, half built */
    ngx_k8s_metrics_counters_t      counters;

    /* the authentication ConfigMap's data, as JSON; informers synced */
    u_char                         *authconfig;
    size_t                          authconfig_len;
    ngx_uint_t                      authconfig_version;
    ngx_uint_t                      informers_synced;
    ngx_uint_t                      generation;     /* configurations */

    /* SubjectAccessReview and TokenReview answers, for 10 s */
    ngx_rbtree_t                    reviews;
    ngx_rbtree_node_t               reviews_sentinel;
    ngx_queue_t                     reviews_queue;
    size_t                          reviews_size;   /* their slab bytes */

    ngx_k8s_metrics_share_state_t   share;
} ngx_k8s_metrics_shctx_t;


/* the kubelets: k8s_metrics_node, k8s_metrics_kubelet_* (kubelet_conf.c) */
typedef struct {
    ngx_array_t                    *nodes;      /* ngx_k8s_metrics_node_conf_t */
    ngx_uint_t                      port;
    ngx_str_t                       ca;
    ngx_flag_t                      insecure_tls;
    ngx_str_t                       certificate;
    ngx_str_t                       certificate_key;
    ngx_str_t                       token_file;
    ngx_msec_t                      timeout;
    size_t                          max_body;
    ngx_uint_t                      max_pods;
    ngx_flag_t                      use_node_status_port;
    ngx_array_t                    *address_types;  /* ngx_str_t */
} ngx_k8s_metrics_kubelet_conf_t;


/*
 * The kube-apiserver: k8s_metrics_apiserver* and k8s_metrics_node_selector
 * (apiserver_conf.c); url.len == 0: none.
 */
typedef struct {
    ngx_str_t                       url;        /* no trailing / */
    ngx_str_t                       ca;
    ngx_str_t                       token_file;
    ngx_str_t                       certificate;
    ngx_str_t                       certificate_key;
    ngx_msec_t                      timeout;
    ngx_flag_t                      in_cluster;
    ngx_str_t                       node_selector;  /* query-escaped */
} ngx_k8s_metrics_apiserver_conf_t;


typedef struct {
    ngx_shm_zone_t                 *shm_zone;
    ngx_k8s_metrics_shctx_t        *sh;
    ngx_slab_pool_t                *shpool;
    ngx_uint_t                      generation;
    ngx_msec_t                      resolution;

    ngx_k8s_metrics_kubelet_conf_t  kubelet;
    ngx_k8s_metrics_apiserver_conf_t  apiserver;

    ngx_flag_t                      swap;       /* served in usage */

    /* a location reads the authentication ConfigMap */
    ngx_flag_t                      authentication_configmap;

    size_t                          response_cache_size;    /* per worker */

    /* k8s_metrics_scrape_share_threshold: from that many nodes on */
    ngx_uint_t                      share_threshold;
} ngx_k8s_metrics_main_conf_t;


typedef struct {
    ngx_flag_t                      enable;

    ngx_k8s_metrics_ca_t           *client_ca;
    ngx_k8s_metrics_ca_t           *requestheader_ca;

    ngx_array_t                    *allowed_names;      /* of ngx_str_t */
    ngx_array_t                    *username_headers;   /* of ngx_str_t */
    ngx_array_t                    *group_headers;
    ngx_array_t                    *extra_prefixes;
    ngx_array_t                    *uid_headers;

    ngx_flag_t                      anonymous;
    ngx_flag_t                      authentication_configmap;
    ngx_uint_t                      authorization;
    ngx_array_t                    *always_allow_paths;
} ngx_k8s_metrics_loc_conf_t;


typedef enum {
    NGX_K8S_METRICS_PHASE_AUTHN = 0,
    NGX_K8S_METRICS_PHASE_AUTHZ,
    NGX_K8S_METRICS_PHASE_SERVE
} ngx_k8s_metrics_phase_e;


typedef struct {
    ngx_k8s_metrics_request_info_t  info;
    ngx_k8s_metrics_identity_t      identity;
    ngx_k8s_metrics_phase_e         phase;

    ngx_k8s_metrics_review_ctx_t   *review;     /* the review waited for */

    unsigned                        authenticated:1;

    /* the audit event (audit.c) */
    ngx_str_t                       audit_id;
    ngx_uint_t                      audit_decision;
    ngx_str_t                       audit_reason;
} ngx_k8s_metrics_ctx_t;

/* ngx_k8s_metrics_module.c */
extern ngx_module_t  ngx_http_k8s_metrics_module;


/* ngx_k8s_metrics_zone.c */
char *ngx_k8s_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


/* ngx_k8s_metrics_api.c */
ngx_int_t ngx_k8s_metrics_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_parse_request_info(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);


/* ngx_k8s_metrics_resources.c, ngx_k8s_metrics_prometheus.c */
ngx_int_t ngx_k8s_metrics_serve_nodes(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_serve_pods(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_serve_prometheus(ngx_http_request_t *r);


/* ngx_k8s_metrics_version.c */
ngx_int_t ngx_k8s_metrics_serve_version(ngx_http_request_t *r);


/* ngx_k8s_metrics_openapi.c */
ngx_int_t ngx_k8s_metrics_serve_openapi(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);


/* ngx_k8s_metrics_scrape.c */
ngx_int_t ngx_k8s_metrics_scraper_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf);
void ngx_k8s_metrics_scraper_exit(ngx_cycle_t *cycle);
ngx_uint_t ngx_k8s_metrics_scraper_shares(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf);




#endif /* _NGX_K8S_METRICS_H_INCLUDED_ */
