
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
    NGX_K8S_METRICS_ROUTE_METRICS
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


/* a CA store of the module's own, never merged with nginx's */
typedef struct {
    ngx_str_t                       file;
    X509_STORE                     *store;
} ngx_k8s_metrics_ca_t;


/* the head of the shared zone */
typedef struct {
    time_t                          started;
    ngx_msec_t                      last_scrape_start;  /* 0: never */
    void                           *snapshot;           /* NULL: empty */
} ngx_k8s_metrics_shctx_t;


typedef struct {
    ngx_shm_zone_t                 *shm_zone;
    ngx_k8s_metrics_shctx_t        *sh;
    ngx_msec_t                      resolution;
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
    ngx_uint_t                      authorization;
    ngx_array_t                    *always_allow_paths;
} ngx_k8s_metrics_loc_conf_t;


typedef struct {
    ngx_k8s_metrics_request_info_t  info;
    ngx_k8s_metrics_identity_t      identity;
    unsigned                        authenticated:1;
} ngx_k8s_metrics_ctx_t;


/* ngx_k8s_metrics_module.c */
extern ngx_module_t  ngx_http_k8s_metrics_module;


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


/* ngx_k8s_metrics_authn.c */
ngx_int_t ngx_k8s_metrics_authenticate(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_identity_t *id);
ngx_k8s_metrics_ca_t *ngx_k8s_metrics_load_ca(ngx_conf_t *cf,
    ngx_str_t *file, const char *directive);
ngx_int_t ngx_k8s_metrics_decode_extra_key(ngx_pool_t *pool, ngx_str_t *raw,
    ngx_str_t *key);
void ngx_k8s_metrics_take_over_client_verify(ngx_ssl_t *ssl);


/* ngx_k8s_metrics_authz.c */
ngx_int_t ngx_k8s_metrics_authorize(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx,
    ngx_str_t *reason);


/* ngx_k8s_metrics_api.c */
ngx_flag_t ngx_k8s_metrics_parse_bool(ngx_str_t *value);
ngx_int_t ngx_k8s_metrics_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_k8s_metrics_parse_request_info(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info);


/* ngx_k8s_metrics_json.c: every body the module sends */
ngx_int_t ngx_k8s_metrics_send_json(ngx_http_request_t *r,
    ngx_uint_t status, json_t *body);
ngx_int_t ngx_k8s_metrics_send_text(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *text);
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
json_t *ngx_k8s_metrics_api_group_list(ngx_http_request_t *r);
json_t *ngx_k8s_metrics_api_group(void);
json_t *ngx_k8s_metrics_api_resource_list(void);
json_t *ngx_k8s_metrics_api_group_discovery_list(void);
json_t *ngx_k8s_metrics_empty_list(const char *kind);


/* ngx_k8s_metrics_store.c */
char *ngx_k8s_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_flag_t ngx_k8s_metrics_store_ready(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_store_collection_timely(ngx_http_request_t *r);

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
    ngx_str_t                       namespace;  /* label "namespace" */
    ngx_str_t                       pod;        /* label "pod" */
    ngx_str_t                       container;  /* label "container" */
    double                          value;
    int64_t                         timestamp_ms;   /* -1: none on the line */
} ngx_k8s_metrics_sample_t;


/* strings in a sample are valid only during the call; NGX_ERROR aborts */
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
    ngx_uint_t                      samples;    /* handed to the handler */
    ngx_uint_t                      unknown;    /* other metrics, skipped */
    ngx_uint_t                      malformed;  /* bad lines, skipped */
    u_char                          scratch[512];   /* unescaped labels */
} ngx_k8s_metrics_parser_t;


void ngx_k8s_metrics_parser_init(ngx_k8s_metrics_parser_t *parser,
    u_char *buf, size_t size, ngx_k8s_metrics_sample_pt handler, void *data);
ngx_int_t ngx_k8s_metrics_parser_feed(ngx_k8s_metrics_parser_t *parser,
    u_char *data, size_t len);
ngx_int_t ngx_k8s_metrics_parser_finish(ngx_k8s_metrics_parser_t *parser);


#endif /* _NGX_K8S_METRICS_H_INCLUDED_ */
