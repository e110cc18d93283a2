
/*
 * A k-way merge of sorted lists (ngx_k8s_metrics_merge.c): each list a
 * run [next, end) of its items, the runs in a heap by their next items.
 * The caller takes heap[0]'s next item (the least of all; among equal
 * ones, that of the first list), moves heap[0].next on, and calls
 * merge_next().  Pure: nothing allocated (the caller gives the heap).
 */


#ifndef _NGX_K8S_METRICS_MERGE_H_INCLUDED_
#define _NGX_K8S_METRICS_MERGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    uint32_t                        next;
    uint32_t                        end;
    uint32_t                        list;       /* equal items: lower first */
} ngx_k8s_metrics_run_t;


/* <0, 0, >0: the next item of one before, as, after that of two */
typedef ngx_int_t (*ngx_k8s_metrics_run_cmp_pt)(void *data,
    ngx_k8s_metrics_run_t *one, ngx_k8s_metrics_run_t *two);


typedef struct {
    ngx_k8s_metrics_run_t          *heap;       /* n runs, none empty */
    ngx_uint_t                      n;
    ngx_k8s_metrics_run_cmp_pt      cmp;
    void                           *data;
} ngx_k8s_metrics_merge_t;


void ngx_k8s_metrics_merge_init(ngx_k8s_metrics_merge_t *m);
void ngx_k8s_metrics_merge_next(ngx_k8s_metrics_merge_t *m);


#endif /* _NGX_K8S_METRICS_MERGE_H_INCLUDED_ */
