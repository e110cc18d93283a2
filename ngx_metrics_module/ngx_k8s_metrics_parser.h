
/*
 * The kubelet's /metrics/resource text format, parsed as it streams in
 * (ngx_k8s_metrics_parser.c): a pure unit, no allocation, no nginx
 * runtime call.
 */


#ifndef _NGX_K8S_METRICS_PARSER_H_INCLUDED_
#define _NGX_K8S_METRICS_PARSER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


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


#endif /* _NGX_K8S_METRICS_PARSER_H_INCLUDED_ */
