
/*
 * The client side: libcurl on nginx's events (curl.c), calls to the
 * kube-apiserver (apiserver.c), list and watch (informer.c), the
 * cluster's nodes and pods (cluster.c).  The only header that includes
 * curl and jansson.
 */


#ifndef _NGX_K8S_METRICS_CLIENT_H_INCLUDED_
#define _NGX_K8S_METRICS_CLIENT_H_INCLUDED_


#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_reflector.h"

#include <curl/curl.h>
#include <jansson.h>


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

/* ngx_k8s_metrics_token.c: the clients' rotating bearer token */
ngx_int_t ngx_k8s_metrics_token_read(ngx_str_t *file, const char *directive,
    time_t *mtime, char **header, ngx_log_t *log);
void ngx_k8s_metrics_redact(ngx_str_t *text, const char *header);


/* ngx_k8s_metrics_informer.c: list and watch */

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


#endif /* _NGX_K8S_METRICS_CLIENT_H_INCLUDED_ */
