
/*
 * A node's batch from its kubelet's samples (ngx_k8s_metrics_batch.c):
 * one scrape's samples in, the node's batch or the reason it fails out;
 * then, without an apiserver, each pod of a cycle kept to one node.  A
 * pure unit: no log, no clock, no shared memory (t/unit/test_batch.c).
 */


#ifndef _NGX_K8S_METRICS_BATCH_H_INCLUDED_
#define _NGX_K8S_METRICS_BATCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_parser.h"
#include "ngx_k8s_metrics_rate.h"
#include "ngx_k8s_metrics_merge.h"


/* a kubelet to scrape: a static k8s_metrics_node */
typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       address;    /* host:port */
    ngx_str_t                       url;        /* null-terminated */
    ngx_array_t                    *labels;     /* ngx_k8s_metrics_label_t */
    unsigned                        default_port:1;
} ngx_k8s_metrics_node_conf_t;


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
    ngx_str_t                       example_ns;     /* one of those pods */
    ngx_str_t                       example_pod;
    ngx_str_t                       example_node;   /* where it is taken */
} ngx_k8s_metrics_batch_t;


/*
 * The node a pod runs on, as the apiserver says: NGX_OK and its name in
 * node, or NGX_DECLINED when the apiserver does not list the pod.
 */
typedef ngx_int_t (*ngx_k8s_metrics_pod_node_pt)(void *data,
    ngx_str_t *namespace, ngx_str_t *pod, ngx_str_t *node);


/* one node's batch while its kubelet's samples come in */
typedef struct {
    /* the caller's, before batch_start() */
    ngx_flag_t                      swap;       /* k8s_metrics_swap */
    ngx_uint_t                      max_pods;
    ngx_k8s_metrics_pod_node_pt     pod_node;   /* NULL: no apiserver */
    void                           *data;
    int64_t                         now;        /* ms, of untimed samples */

    ngx_k8s_metrics_batch_t        *batch;
    ngx_pool_t                     *pool;

    ngx_str_t                       reason;     /* why the node fails */
    ngx_str_t                       invalid;    /* the first bad value */
    ngx_uint_t                      ninvalid;
    unsigned                        node_memory:1;  /* a sample was seen */
    unsigned                        unserved:1; /* node CPU or memory at 0 */

    /* the hash of (namespace, pod, container) into batch->containers */
    uint32_t                       *slots;
    ngx_uint_t                      nslots;

    /* containers not taken, by reason: for the caller's counters */
    ngx_uint_t                      zero;       /* the node counts as one */
    ngx_uint_t                      incomplete;
    ngx_uint_t                      unlisted;
    ngx_uint_t                      misplaced;
} ngx_k8s_metrics_batcher_t;


ngx_int_t ngx_k8s_metrics_batch_start(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_batch_t *batch, ngx_pool_t *pool);
/* the parser's handler (ngx_k8s_metrics_sample_pt), data: the batcher */
ngx_int_t ngx_k8s_metrics_batch_sample(void *data,
    ngx_k8s_metrics_sample_t *sample);
/* NGX_OK: the batch is to be taken; NGX_DECLINED: b->reason says why not */
ngx_int_t ngx_k8s_metrics_batch_finish(ngx_k8s_metrics_batcher_t *b,
    ngx_k8s_metrics_parser_t *parser);
ngx_uint_t ngx_k8s_metrics_batch_rejected_level(ngx_uint_t *last,
    ngx_uint_t n);

/*
 * A cycle's batches, sorted by node name: duplicated pods marked, a step
 * of at most max pods at a time (batch_dedup_step: NGX_AGAIN, more to
 * do; NGX_OK, done)
 */
typedef struct {
    ngx_k8s_metrics_merge_t         merge;
    ngx_k8s_metrics_batch_t        *batches;
    ngx_k8s_metrics_csample_t      *pod;        /* the last pod kept */
    ngx_str_t                      *node;       /* its node's name */
    ngx_uint_t                      npods;      /* pods reported so far */
} ngx_k8s_metrics_dedup_t;

ngx_int_t ngx_k8s_metrics_batch_dedup_init(ngx_k8s_metrics_dedup_t *d,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t n, ngx_pool_t *pool);
ngx_int_t ngx_k8s_metrics_batch_dedup_step(ngx_k8s_metrics_dedup_t *d,
    ngx_uint_t max);
ngx_uint_t ngx_k8s_metrics_batch_drop_duplicates(
    ngx_k8s_metrics_batch_t *batch);

ngx_flag_t ngx_k8s_metrics_new_pod(ngx_k8s_metrics_csample_t *cs,
    ngx_uint_t k);
ngx_int_t ngx_k8s_metrics_cmp_pod(ngx_k8s_metrics_csample_t *one,
    ngx_k8s_metrics_csample_t *two);
u_char *ngx_k8s_metrics_printable(u_char *dst, u_char *src, size_t n);


#endif /* _NGX_K8S_METRICS_BATCH_H_INCLUDED_ */
