
/*
 * ngx_metrics_module: a Kubernetes metrics.k8s.io/v1beta1 extension
 * apiserver inside nginx.  One header shared by every source file.
 */


#ifndef _NGX_K8S_METRICS_H_INCLUDED_
#define _NGX_K8S_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>


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

    u_char                         *authorization_file;
    ngx_uint_t                      authorization_line;
} ngx_k8s_metrics_loc_conf_t;


typedef struct {
    ngx_k8s_metrics_request_info_t  info;
    ngx_k8s_metrics_identity_t      identity;
    unsigned                        authenticated:1;
} ngx_k8s_metrics_ctx_t;


/* ngx_k8s_metrics_module.c */
extern ngx_module_t  ngx_http_k8s_metrics_module;


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
json_t *ngx_k8s_metrics_api_group_list(void);
json_t *ngx_k8s_metrics_api_group(void);
json_t *ngx_k8s_metrics_api_resource_list(void);
json_t *ngx_k8s_metrics_api_group_discovery_list(void);
json_t *ngx_k8s_metrics_empty_list(const char *kind);


/* ngx_k8s_metrics_store.c */
char *ngx_k8s_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_flag_t ngx_k8s_metrics_store_ready(ngx_http_request_t *r);
ngx_flag_t ngx_k8s_metrics_store_collection_timely(ngx_http_request_t *r);


#endif /* _NGX_K8S_METRICS_H_INCLUDED_ */
