
/*
 * ngx_metrics_module: a Kubernetes metrics.k8s.io/v1beta1 extension
 * apiserver inside nginx.  One header shared by every source file.
 */


#ifndef _NGX_K8S_METRICS_H_INCLUDED_
#define _NGX_K8S_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/sha.h>


#define NGX_K8S_METRICS_GROUP          "metrics.k8s.io"
#define NGX_K8S_METRICS_VERSION        "v1beta1"
#define NGX_K8S_METRICS_GROUP_VERSION  "metrics.k8s.io/v1beta1"

/* a pod's service-account credentials (k8s_metrics_apiserver in_cluster) */
#define NGX_K8S_METRICS_SA_DIR  "/var/run/secrets/kubernetes.io/serviceaccount"


/* authenticators, in the order they are tried */
typedef enum {
    NGX_K8S_METRICS_AUTHN_NONE = 0,
    NGX_K8S_METRICS_AUTHN_REQUESTHEADER,
    NGX_K8S_METRICS_AUTHN_X509,
    NGX_K8S_METRICS_AUTHN_TOKEN,
    NGX_K8S_METRICS_AUTHN_ANONYMOUS
} ngx_k8s_metrics_authenticator_e;


typedef enum {
    NGX_K8S_METRICS_AUTHZ_WEBHOOK = 0,
    NGX_K8S_METRICS_AUTHZ_ALWAYS_ALLOW
} ngx_k8s_metrics_authz_mode_e;


typedef struct {
    ngx_str_t                       key;
    ngx_array_t                     values;     /* of ngx_str_t */
} ngx_k8s_metrics_extra_t;


typedef struct {
    ngx_str_t                       user;
    ngx_str_t                       uid;
    ngx_array_t                     groups;     /* of ngx_str_t */
    ngx_array_t                     extra;      /* of ngx_k8s_metrics_extra_t */
    ngx_k8s_metrics_authenticator_e authenticator;
} ngx_k8s_metrics_identity_t;


/* what a request asks for, as Kubernetes' RequestInfo */
typedef enum {
    NGX_K8S_METRICS_ROUTE_NOT_FOUND = 0,
    NGX_K8S_METRICS_ROUTE_APIS,
    NGX_K8S_METRICS_ROUTE_GROUP,
    NGX_K8S_METRICS_ROUTE_RESOURCES,
    NGX_K8S_METRICS_ROUTE_NODES,
    NGX_K8S_METRICS_ROUTE_PODS,
    NGX_K8S_METRICS_ROUTE_OPENAPI,
    NGX_K8S_METRICS_ROUTE_HEALTHZ,
    NGX_K8S_METRICS_ROUTE_LIVEZ,
    NGX_K8S_METRICS_ROUTE_READYZ,
    NGX_K8S_METRICS_ROUTE_METRICS,
    NGX_K8S_METRICS_ROUTE_REFUSED       /* see raw_path_refused() */
} ngx_k8s_metrics_route_e;


typedef struct {
    ngx_k8s_metrics_route_e         route;
    unsigned                        resource_request:1;
    ngx_str_t                       verb;       /* get, list; or HTTP verb */
    ngx_str_t                       resource;   /* nodes, pods */
    ngx_str_t                       namespace;  /* empty: all namespaces */
    ngx_str_t                       name;       /* empty: a list */
    ngx_str_t                       check;      /* /readyz/<check> */
    ngx_str_t                       path;
} ngx_k8s_metrics_request_info_t;


/*
 * A CA store of the module's own, never merged with nginx's.  The id is
 * unique among the stores of a process (ngx_k8s_metrics_ca_id()): a
 * connection's verdicts are kept by it (authn.c).
 */
typedef struct {
    ngx_str_t                       file;
    X509_STORE                     *store;
    ngx_uint_t                      id;
} ngx_k8s_metrics_ca_t;


typedef struct {
    ngx_str_t                       key;
    ngx_str_t                       value;
} ngx_k8s_metrics_label_t;


/* a kubelet to scrape: a static k8s_metrics_node */
typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       address;    /* host:port */
    ngx_str_t                       url;        /* null-terminated */
    ngx_array_t                    *labels;     /* ngx_k8s_metrics_label_t */
    unsigned                        default_port:1;
} ngx_k8s_metrics_node_conf_t;


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
    uint64_t                        cpu;        /* cumulative, ns */
    int64_t                         time;       /* ms; 0: no point */
} ngx_k8s_metrics_point_t;


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


typedef struct ngx_k8s_metrics_snapshot_s  ngx_k8s_metrics_snapshot_t;

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


/* one container's samples from one scrape (process memory) */
typedef struct {
    ngx_str_t                       namespace;
    ngx_str_t                       pod;
    ngx_str_t                       name;
    ngx_k8s_metrics_point_t         point;
    uint64_t                        memory;
    uint64_t                        swap;
    int64_t                         start;      /* ms; 0: unknown */
    uint32_t                        hash;
    unsigned                        has_cpu:1;
    unsigned                        has_memory:1;
    unsigned                        has_swap:1;
    unsigned                        duplicate:1;
} ngx_k8s_metrics_csample_t;


/* what one kubelet gave in one cycle, for the store to take in */
typedef struct {
    ngx_k8s_metrics_node_conf_t    *node;
    ngx_uint_t                      ok;
    ngx_str_t                       error;
    int64_t                         scrape_time;    /* ms */
    ngx_msec_t                      duration;
    ngx_k8s_metrics_point_t         point;
    uint64_t                        memory;
    uint64_t                        swap;
    ngx_uint_t                      has_swap;
    ngx_array_t                     containers; /* csample, sorted, valid */
    ngx_uint_t                      malformed;
    ngx_uint_t                      misplaced;  /* pods not taken, by reason */
    ngx_uint_t                      duplicates;
} ngx_k8s_metrics_batch_t;


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


/* the head of the shared zone */
typedef struct {
    ngx_msec_t                      started;    /* monotonic, all processes */
    ngx_msec_t                      last_scrape_start;  /* 0: never */
    ngx_k8s_metrics_snapshot_t     *snapshot;           /* NULL: empty */
    ngx_msec_t                      published;  /* its time; 0: none */
    ngx_k8s_metrics_snapshot_t     *retired;
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
} ngx_k8s_metrics_shctx_t;


typedef struct {
    ngx_shm_zone_t                 *shm_zone;
    ngx_k8s_metrics_shctx_t        *sh;
    ngx_slab_pool_t                *shpool;
    ngx_uint_t                      generation;
    ngx_msec_t                      resolution;

    ngx_array_t                    *nodes;      /* ngx_k8s_metrics_node_conf_t */
    ngx_uint_t                      kubelet_port;
    ngx_str_t                       kubelet_ca;
    ngx_flag_t                      kubelet_insecure_tls;
    ngx_str_t                       kubelet_certificate;
    ngx_str_t                       kubelet_certificate_key;
    ngx_str_t                       kubelet_token_file;
    ngx_msec_t                      kubelet_timeout;
    size_t                          kubelet_max_body;
    ngx_uint_t                      kubelet_max_pods;
    ngx_flag_t                      swap;       /* served in usage */

    /* the kube-apiserver; apiserver_url.len == 0: none */
    ngx_str_t                       apiserver_url;      /* no trailing / */
    ngx_str_t                       apiserver_ca;
    ngx_str_t                       apiserver_token_file;
    ngx_str_t                       apiserver_certificate;
    ngx_str_t                       apiserver_certificate_key;
    ngx_msec_t                      apiserver_timeout;
    ngx_flag_t                      apiserver_in_cluster;
    ngx_str_t                       node_selector;      /* query-escaped */
    ngx_flag_t                      kubelet_use_node_status_port;
    ngx_array_t                    *kubelet_address_types;   /* ngx_str_t */
    ngx_flag_t                      authentication_configmap;

    size_t                          response_cache_size;    /* per worker */
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

    /* the answer of the review the request waited for */
    ngx_str_t                       review_data;
    unsigned                        review_done:1;
    unsigned                        review_failed:1;
    unsigned                        review_allowed:1;

    unsigned                        authenticated:1;

    /* what to keep the rendered answer under (json.c) */
    ngx_str_t                       render_key;
    void                           *render_snapshot;
    int64_t                         render_published;
    time_t                          render_now;     /* its stamps */
    size_t                          render_now_len;

    /* the audit event (audit.c) */
    ngx_str_t                       audit_id;
    ngx_uint_t                      audit_decision;
    ngx_str_t                       audit_reason;
} ngx_k8s_metrics_ctx_t;


/* ngx_k8s_metrics_module.c */
extern ngx_module_t  ngx_http_k8s_metrics_module;


/* ngx_k8s_metrics_selector.c: label and field selectors */

typedef enum {
    NGX_K8S_METRICS_SEL_EQUALS = 0,         /* "=" and "==" */
    NGX_K8S_METRICS_SEL_NOT_EQUALS,
    NGX_K8S_METRICS_SEL_IN,
    NGX_K8S_METRICS_SEL_NOT_IN,
    NGX_K8S_METRICS_SEL_EXISTS,
    NGX_K8S_METRICS_SEL_NOT_EXISTS,
    NGX_K8S_METRICS_SEL_GREATER_THAN,       /* labels only: "key>int" */
    NGX_K8S_METRICS_SEL_LESS_THAN
} ngx_k8s_metrics_selector_op_e;


typedef struct {
    ngx_str_t                       key;
    ngx_k8s_metrics_selector_op_e   op;
    ngx_array_t                     values;     /* of ngx_str_t */
    unsigned                        field:1;    /* an absent field is "" */
} ngx_k8s_metrics_requirement_t;


/* the value of a label or field, or NULL when the object has none */
typedef ngx_str_t *(*ngx_k8s_metrics_lookup_pt)(void *data, ngx_str_t *key);


/*
 * "text" is the raw query-string value.  NGX_OK: *requirements is an
 * array, empty for a selector that selects everything; NGX_DECLINED:
 * *error holds Kubernetes' message (valid UTF-8) for a 400 BadRequest;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_k8s_metrics_label_selector_parse(ngx_pool_t *pool,
    ngx_str_t *text, ngx_array_t **requirements, ngx_str_t *error);
ngx_int_t ngx_k8s_metrics_field_selector_parse(ngx_pool_t *pool,
    ngx_str_t *text, ngx_array_t **requirements, ngx_str_t *error);
ngx_flag_t ngx_k8s_metrics_selector_matches(ngx_array_t *requirements,
    ngx_k8s_metrics_lookup_pt lookup, void *data);


/* ngx_k8s_metrics_resources.c, ngx_k8s_metrics_prometheus.c */
ngx_int_t ngx_k8s_metrics_serve_nodes(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_serve_pods(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_serve_prometheus(ngx_http_request_t *r);


/* ngx_k8s_metrics_curl.c: libcurl's multi interface on nginx's events */

typedef struct ngx_k8s_metrics_transfer_s  ngx_k8s_metrics_transfer_t;

typedef void (*ngx_k8s_metrics_transfer_done_pt)(
    ngx_k8s_metrics_transfer_t *t, CURLcode result);

struct ngx_k8s_metrics_transfer_s {
    CURL                               *easy;
    ngx_k8s_metrics_transfer_done_pt    done;
    void                               *data;
};


typedef struct {
    CURLM                          *multi;
    ngx_event_t                     timer;
    ngx_log_t                      *log;
    ngx_uint_t                      running;
} ngx_k8s_metrics_curl_t;


ngx_k8s_metrics_curl_t *ngx_k8s_metrics_curl_create(ngx_pool_t *pool,
    ngx_log_t *log, ngx_uint_t max_connections);
ngx_int_t ngx_k8s_metrics_curl_start(ngx_k8s_metrics_curl_t *kc,
    ngx_k8s_metrics_transfer_t *t);
void ngx_k8s_metrics_curl_stop(ngx_k8s_metrics_curl_t *kc, CURL *easy);
void ngx_k8s_metrics_curl_destroy(ngx_k8s_metrics_curl_t *kc);


/* ngx_k8s_metrics_apiserver.c: calls to the kube-apiserver */

typedef struct ngx_k8s_metrics_call_s  ngx_k8s_metrics_call_t;

typedef void (*ngx_k8s_metrics_call_pt)(ngx_k8s_metrics_call_t *call);
typedef ngx_int_t (*ngx_k8s_metrics_line_pt)(ngx_k8s_metrics_call_t *call,
    u_char *line, size_t len);


typedef struct {
    ngx_k8s_metrics_main_conf_t    *kmcf;
    ngx_k8s_metrics_curl_t         *curl;
    ngx_log_t                      *log;
    ngx_k8s_metrics_call_t         *calls;      /* in flight */
    char                           *token;      /* the Authorization line */
    time_t                          token_mtime;
} ngx_k8s_metrics_apiserver_t;


struct ngx_k8s_metrics_call_s {
    ngx_k8s_metrics_transfer_t      transfer;
    ngx_k8s_metrics_apiserver_t    *api;
    ngx_k8s_metrics_call_t         *next;
    ngx_k8s_metrics_call_t        **prev;

    ngx_k8s_metrics_call_pt         handler;
    ngx_k8s_metrics_line_pt         line;
    void                           *data;

    u_char                         *url;
    char                           *request;
    struct curl_slist              *headers;

    long                            status;
    CURLcode                        result;
    const char                     *error;      /* transport failure */
    ngx_str_t                       body;       /* what came back */
    size_t                          size;
    char                            errbuf[CURL_ERROR_SIZE];
};


ngx_k8s_metrics_apiserver_t *ngx_k8s_metrics_apiserver_create(
    ngx_cycle_t *cycle, ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_curl_t *curl);
void ngx_k8s_metrics_apiserver_destroy(ngx_k8s_metrics_apiserver_t *api);
ngx_k8s_metrics_call_t *ngx_k8s_metrics_api_call(
    ngx_k8s_metrics_apiserver_t *api, const char *method, ngx_str_t *path,
    json_t *body, const char *accept, ngx_msec_t timeout,
    ngx_k8s_metrics_call_pt handler, ngx_k8s_metrics_line_pt line,
    void *data);
void ngx_k8s_metrics_api_cancel(ngx_k8s_metrics_call_t *call);
void ngx_k8s_metrics_api_error(ngx_k8s_metrics_call_t *call,
    ngx_str_t *text);
void ngx_k8s_metrics_api_message(ngx_k8s_metrics_call_t *call,
    u_char *message, size_t len, ngx_str_t *text);
void ngx_k8s_metrics_redact(ngx_str_t *text, const char *header);
ngx_int_t ngx_k8s_metrics_read_token(ngx_str_t *file, u_char *buf,
    size_t size, ngx_str_t *token, ngx_log_t *log);


/* ngx_k8s_metrics_informer.c: list and watch */

#define NGX_K8S_METRICS_EVENT_RESET     0   /* a full list begins */
#define NGX_K8S_METRICS_EVENT_ADDED     1
#define NGX_K8S_METRICS_EVENT_MODIFIED  2
#define NGX_K8S_METRICS_EVENT_DELETED   3
#define NGX_K8S_METRICS_EVENT_SYNCED    4   /* the list is complete */

typedef struct ngx_k8s_metrics_informer_s  ngx_k8s_metrics_informer_t;

typedef void (*ngx_k8s_metrics_informer_pt)(ngx_k8s_metrics_informer_t *inf,
    ngx_uint_t event, json_t *object);

struct ngx_k8s_metrics_informer_s {
    ngx_k8s_metrics_apiserver_t    *api;
    const char                     *name;       /* for the log */
    ngx_str_t                       path;
    ngx_str_t                       query;      /* selectors, escaped */
    const char                     *accept;     /* unless metadata */
    ngx_k8s_metrics_informer_pt     handler;
    void                           *data;

    ngx_k8s_metrics_call_t         *call;
    ngx_event_t                     retry;
    ngx_msec_t                      backoff;
    ngx_msec_t                      watch_started;
    ngx_uint_t                      events;     /* of this watch */
    ngx_uint_t                      empty_watches;  /* in a row */
    char                           *cont;       /* list continue token */
    char                            rv[64];     /* resourceVersion */
    unsigned                        synced:1;
    unsigned                        listing:1;
    unsigned                        relist:1;
    unsigned                        metadata:1; /* PartialObjectMetadata */
    unsigned                        allow_nul:1;    /* "\u0000" in strings */
};


void ngx_k8s_metrics_informer_start(ngx_k8s_metrics_informer_t *inf);
void ngx_k8s_metrics_informer_stop(ngx_k8s_metrics_informer_t *inf);


/* ngx_k8s_metrics_cluster.c: nodes and pods from the apiserver */

typedef struct ngx_k8s_metrics_cluster_s  ngx_k8s_metrics_cluster_t;

ngx_k8s_metrics_cluster_t *ngx_k8s_metrics_cluster_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_curl_t *curl);
void ngx_k8s_metrics_cluster_exit(ngx_k8s_metrics_cluster_t *cl);
ngx_flag_t ngx_k8s_metrics_cluster_synced(ngx_k8s_metrics_cluster_t *cl);
ngx_int_t ngx_k8s_metrics_cluster_nodes(ngx_k8s_metrics_cluster_t *cl,
    ngx_pool_t *pool, ngx_k8s_metrics_node_conf_t **nodes, ngx_uint_t *n);
json_t *ngx_k8s_metrics_cluster_find_pod(ngx_k8s_metrics_cluster_t *cl,
    ngx_str_t *namespace, ngx_str_t *name, ngx_str_t *node);
json_t *ngx_k8s_metrics_cluster_pod_labels(void *data, ngx_str_t *namespace,
    ngx_str_t *name);


/* ngx_k8s_metrics_scrape.c */
ngx_int_t ngx_k8s_metrics_scraper_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf);
void ngx_k8s_metrics_scraper_exit(ngx_cycle_t *cycle);


/* ngx_k8s_metrics_module.c */
int ngx_libc_cdecl ngx_k8s_metrics_cmp_nodes(const void *one,
    const void *two);


/* ngx_k8s_metrics_authn.c */
ngx_int_t ngx_k8s_metrics_authenticate(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx);
ngx_k8s_metrics_ca_t *ngx_k8s_metrics_load_ca(ngx_conf_t *cf,
    ngx_str_t *file, const char *directive);
ngx_int_t ngx_k8s_metrics_decode_extra_key(ngx_pool_t *pool, ngx_str_t *raw,
    ngx_str_t *key);
ngx_int_t ngx_k8s_metrics_take_over_client_verify(ngx_ssl_t *ssl);
ngx_uint_t ngx_k8s_metrics_ca_id(void);
ngx_flag_t ngx_k8s_metrics_in_group(ngx_k8s_metrics_identity_t *id,
    const char *group);


/* ngx_k8s_metrics_review.c: SubjectAccessReview, TokenReview */

#define NGX_K8S_METRICS_REVIEW_ACCESS  0
#define NGX_K8S_METRICS_REVIEW_TOKEN   1

ngx_int_t ngx_k8s_metrics_review_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf);
void ngx_k8s_metrics_review_exit(void);
ngx_int_t ngx_k8s_metrics_review_token(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *token);
ngx_int_t ngx_k8s_metrics_review_access(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *reason);
void ngx_k8s_metrics_review_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


/* ngx_k8s_metrics_authconfig.c: the authentication ConfigMap */
void ngx_k8s_metrics_authconfig_update(ngx_k8s_metrics_main_conf_t *kmcf,
    json_t *data, ngx_log_t *log);
void ngx_k8s_metrics_authconfig_apply(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf);


/* ngx_k8s_metrics_authz.c */
ngx_int_t ngx_k8s_metrics_authorize(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx,
    ngx_str_t *reason);


/* ngx_k8s_metrics_api.c */
ngx_flag_t ngx_k8s_metrics_parse_bool(ngx_str_t *value);
ngx_int_t ngx_k8s_metrics_api_handler(ngx_http_request_t *r);
void ngx_k8s_metrics_api_resume(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_parse_request_info(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);


/* ngx_k8s_metrics_emit.c: JSON written into a chain of buffers */
typedef struct {
    ngx_pool_t                     *pool;
    ngx_chain_t                    *out;
    ngx_chain_t                   **last;
    ngx_buf_t                      *buf;
    size_t                          size;
    ngx_uint_t                      depth;
    ngx_array_t                    *stamps;     /* of size_t, or NULL */
    ngx_array_t                    *times;      /* items' int64_t, ms */
    unsigned                        pretty:1;
    unsigned                        first:1;    /* nothing yet at depth */
    unsigned                        after_key:1;
    unsigned                        failed:1;   /* out of memory */
} ngx_k8s_metrics_emit_t;

void ngx_k8s_metrics_emit_init(ngx_k8s_metrics_emit_t *e, ngx_pool_t *pool,
    ngx_flag_t pretty);
int ngx_k8s_metrics_emit_raw(const char *buffer, size_t size, void *data);
void ngx_k8s_metrics_emit_open(ngx_k8s_metrics_emit_t *e, u_char bracket);
void ngx_k8s_metrics_emit_close(ngx_k8s_metrics_emit_t *e, u_char bracket);
void ngx_k8s_metrics_emit_key(ngx_k8s_metrics_emit_t *e, u_char *key,
    size_t len);
void ngx_k8s_metrics_emit_string(ngx_k8s_metrics_emit_t *e, u_char *s,
    size_t len);
void ngx_k8s_metrics_emit_int(ngx_k8s_metrics_emit_t *e, ngx_int_t n);
void ngx_k8s_metrics_emit_null(ngx_k8s_metrics_emit_t *e);
void ngx_k8s_metrics_emit_member(ngx_k8s_metrics_emit_t *e, const char *key,
    u_char *value, size_t len);
void ngx_k8s_metrics_emit_stamp(ngx_k8s_metrics_emit_t *e, u_char *now,
    size_t len);

#define ngx_k8s_metrics_emit_name(e, key)                                     \
    ngx_k8s_metrics_emit_key(e, (u_char *) key, sizeof(key) - 1)
#define ngx_k8s_metrics_emit_literal(e, key, value)                           \
    ngx_k8s_metrics_emit_member(e, key, (u_char *) value, sizeof(value) - 1)


/* ngx_k8s_metrics_json.c: every body the module sends */
ngx_int_t ngx_k8s_metrics_send_json(ngx_http_request_t *r,
    ngx_uint_t status, json_t *body);
ngx_int_t ngx_k8s_metrics_send_emitted(ngx_http_request_t *r,
    ngx_uint_t status, ngx_k8s_metrics_emit_t *e);
ngx_int_t ngx_k8s_metrics_send_text(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *text);
ngx_int_t ngx_k8s_metrics_add_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
ngx_int_t ngx_k8s_metrics_send_status(ngx_http_request_t *r,
    ngx_uint_t code, const char *reason, json_t *details,
    const char *fmt, ...);
ngx_int_t ngx_k8s_metrics_send_unauthorized(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_send_forbidden(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *reason);
ngx_int_t ngx_k8s_metrics_send_not_found(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_send_method_not_supported(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_send_watch_not_supported(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);
ngx_int_t ngx_k8s_metrics_send_discovery(ngx_http_request_t *r,
    json_t *body);
ngx_flag_t ngx_k8s_metrics_pretty(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_render_lookup(ngx_http_request_t *r,
    void *snapshot, int64_t published, ngx_str_t *key, time_t now,
    size_t now_len);
json_t *ngx_k8s_metrics_api_group_list(ngx_http_request_t *r);
json_t *ngx_k8s_metrics_api_group(void);
json_t *ngx_k8s_metrics_api_resource_list(void);
json_t *ngx_k8s_metrics_api_group_discovery_list(void);


/* ngx_k8s_metrics_store.c */
char *ngx_k8s_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
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

/* the labels of a pod (a JSON object), or NULL when it is not to be served */
typedef json_t *(*ngx_k8s_metrics_pod_labels_pt)(void *data,
    ngx_str_t *namespace, ngx_str_t *name);

ngx_int_t ngx_k8s_metrics_store_publish(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t n,
    ngx_k8s_metrics_pod_labels_pt pod_labels, void *data, ngx_pool_t *pool,
    ngx_log_t *log);
ngx_flag_t ngx_k8s_metrics_new_pod(ngx_k8s_metrics_csample_t *cs,
    ngx_uint_t k);
ngx_int_t ngx_k8s_metrics_cmp_pod(ngx_k8s_metrics_csample_t *one,
    ngx_k8s_metrics_csample_t *two);
ngx_k8s_metrics_snode_t *ngx_k8s_metrics_snapshot_node(
    ngx_k8s_metrics_snapshot_t *snap, ngx_str_t *name);
ngx_flag_t ngx_k8s_metrics_node_served(ngx_k8s_metrics_snode_t *node);
ngx_flag_t ngx_k8s_metrics_pod_served(ngx_k8s_metrics_snapshot_t *snap,
    ngx_k8s_metrics_spod_t *pod);
uint64_t ngx_k8s_metrics_cpu_rate(ngx_k8s_metrics_point_t *last,
    ngx_k8s_metrics_point_t *prev);

/* ngx_k8s_metrics_openapi.c */
ngx_int_t ngx_k8s_metrics_serve_openapi(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);


/* ngx_k8s_metrics_audit.c: $k8s_metrics_audit_event */

#define NGX_K8S_METRICS_AUDIT_ALLOW   1
#define NGX_K8S_METRICS_AUDIT_FORBID  2
#define NGX_K8S_METRICS_AUDIT_ERROR   3

ngx_int_t ngx_k8s_metrics_audit_init(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx);
void ngx_k8s_metrics_audit_decision(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_uint_t decision, ngx_str_t *reason);
ngx_int_t ngx_k8s_metrics_audit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* ngx_k8s_metrics_msmetrics.c: metrics-server's own metrics */
void ngx_k8s_metrics_observe_tick(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_msec_t duration);
void ngx_k8s_metrics_observe_freshness(ngx_k8s_metrics_main_conf_t *kmcf,
    int64_t *times, ngx_uint_t n);
u_char *ngx_k8s_metrics_prom_metrics_server(u_char *p, u_char *last,
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_snapshot_t *snap);
size_t ngx_k8s_metrics_prom_metrics_server_size(
    ngx_k8s_metrics_snapshot_t *snap);

/* ngx_k8s_metrics_prometheus.c */
u_char *ngx_k8s_metrics_prom_escape(u_char *p, u_char *last,
    ngx_str_t *value);
u_char *ngx_k8s_metrics_prom_float(u_char *p, u_char *last, double value);

/* ngx_k8s_metrics_quantity.c: Kubernetes' canonical quantities, Go's
 * time.Duration.String() and RFC 3339 times; buffers of at least
 * NGX_K8S_METRICS_QUANTITY_LEN bytes, no terminating NUL written */

#define NGX_K8S_METRICS_QUANTITY_LEN  48

u_char *ngx_k8s_metrics_format_cpu(u_char *p, uint64_t nanocores);
u_char *ngx_k8s_metrics_format_memory(u_char *p, uint64_t bytes);
u_char *ngx_k8s_metrics_format_duration(u_char *p, int64_t ns);
u_char *ngx_k8s_metrics_format_time(u_char *p, time_t t);


/* ngx_k8s_metrics_parser.c: the kubelet's /metrics/resource text format,
 * parsed as it streams in; no allocation, no nginx runtime call */

typedef enum {
    NGX_K8S_METRICS_SAMPLE_NODE_CPU = 0,    /* node_cpu_usage_seconds_total */
    NGX_K8S_METRICS_SAMPLE_NODE_MEMORY,     /* node_memory_working_set_bytes */
    NGX_K8S_METRICS_SAMPLE_NODE_SWAP,       /* node_swap_usage_bytes */
    NGX_K8S_METRICS_SAMPLE_POD_CPU,         /* pod_cpu_usage_seconds_total */
    NGX_K8S_METRICS_SAMPLE_POD_MEMORY,      /* pod_memory_working_set_bytes */
    NGX_K8S_METRICS_SAMPLE_POD_SWAP,        /* pod_swap_usage_bytes */
    NGX_K8S_METRICS_SAMPLE_CONTAINER_CPU,   /* container_cpu_usage_seconds_total */
    NGX_K8S_METRICS_SAMPLE_CONTAINER_MEMORY,
                                      /* container_memory_working_set_bytes */
    NGX_K8S_METRICS_SAMPLE_CONTAINER_SWAP,  /* container_swap_usage_bytes */
    NGX_K8S_METRICS_SAMPLE_CONTAINER_START, /* container_start_time_seconds */
    NGX_K8S_METRICS_SAMPLE_SCRAPE_ERROR     /* scrape_error, resource_scrape_error */
} ngx_k8s_metrics_sample_kind_e;


typedef struct {
    ngx_k8s_metrics_sample_kind_e   kind;
    ngx_str_t                      *name;       /* the metric's */
    ngx_str_t                       namespace;  /* label "namespace" */
    ngx_str_t                       pod;        /* label "pod" */
    ngx_str_t                       container;  /* label "container" */
    ngx_str_t                       text;       /* the value as written */
    double                          value;      /* NaN and +-Inf too */
    int64_t                         timestamp_ms;   /* -1: none on the line */
} ngx_k8s_metrics_sample_t;


/*
 * Strings in a sample are valid only during the call.  NGX_ERROR aborts;
 * NGX_DECLINED counts the line as malformed.
 */
typedef ngx_int_t (*ngx_k8s_metrics_sample_pt)(void *data,
    ngx_k8s_metrics_sample_t *sample);


typedef struct {
    ngx_k8s_metrics_sample_pt       handler;
    void                           *data;

    u_char                         *buf;        /* partial line carried over */
    size_t                          size;       /* the longest line kept */
    size_t                          len;
    unsigned                        overlong:1; /* skipping to end of line */

    ngx_uint_t                      lines;
    ngx_uint_t                      samples;    /* taken by the handler */
    ngx_uint_t                      unknown;    /* other metrics, skipped */
    ngx_uint_t                      malformed;  /* bad lines, skipped */
    u_char                          scratch[512];   /* unescaped labels */
} ngx_k8s_metrics_parser_t;


void ngx_k8s_metrics_parser_init(ngx_k8s_metrics_parser_t *parser,
    u_char *buf, size_t size, ngx_k8s_metrics_sample_pt handler, void *data);
ngx_int_t ngx_k8s_metrics_parser_feed(ngx_k8s_metrics_parser_t *parser,
    u_char *data, size_t len);
ngx_int_t ngx_k8s_metrics_parser_finish(ngx_k8s_metrics_parser_t *parser);

/* the value in the store's unit; NULL, or why it does not fit */
const char *ngx_k8s_metrics_sample_value(ngx_k8s_metrics_sample_t *sample,
    uint64_t *value);


#endif /* _NGX_K8S_METRICS_H_INCLUDED_ */
