
/*
 * ngx_metrics_module: a k-way merge of sorted lists with a heap of runs,
 * for the lists that are already sorted per node (a node's pods): the
 * cycle's duplicated pods (batch.c) and the snapshot's pod order
 * (store_build.c) are found in O(N log k), not sorted again in O(N log N),
 * and in about O(N) where the nodes' lists do not interleave.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_merge.h"


static void ngx_k8s_metrics_merge_sift(ngx_k8s_metrics_merge_t *m,
    ngx_uint_t k);
static ngx_flag_t ngx_k8s_metrics_run_before(ngx_k8s_metrics_merge_t *m,
    ngx_k8s_metrics_run_t *one, ngx_k8s_metrics_run_t *two);


void
ngx_k8s_metrics_merge_init(ngx_k8s_metrics_merge_t *m)
{
    ngx_uint_t  i;

    for (i = m->n / 2; i > 0; i--) {
        ngx_k8s_metrics_merge_sift(m, i - 1);
    }
}


/* heap[0].next moved on: the run leaves the heap once it is used up */

void
ngx_k8s_metrics_merge_next(ngx_k8s_metrics_merge_t *m)
{
    if (m->heap[0].next == m->heap[0].end) {
        m->heap[0] = m->heap[--m->n];
    }

    ngx_k8s_metrics_merge_sift(m, 0);
}


/*
 * The run at k to its place, below it heaps: it stays where the lists do
 * not interleave (two comparisons); otherwise, as Floyd's, the hole goes
 * down to a leaf along the first children and the run comes up from there
 * (about one comparison a level, where a sift that compares the run at
 * every level takes two).
 */

static void
ngx_k8s_metrics_merge_sift(ngx_k8s_metrics_merge_t *m, ngx_uint_t k)
{
    ngx_uint_t              n, child, parent, top;
    ngx_k8s_metrics_run_t   run, *heap;

    heap = m->heap;
    n = m->n;
    child = 2 * k + 1;

    if (child >= n
        || (!ngx_k8s_metrics_run_before(m, &heap[child], &heap[k])
            && (child + 1 >= n
                || !ngx_k8s_metrics_run_before(m, &heap[child + 1],
                                               &heap[k]))))
    {
        return;
    }

    run = heap[k];
    top = k;

    while (child < n) {
        if (child + 1 < n
            && ngx_k8s_metrics_run_before(m, &heap[child + 1], &heap[child]))
        {
            child++;
        }

        heap[k] = heap[child];
        k = child;
        child = 2 * k + 1;
    }

    while (k > top) {
        parent = (k - 1) / 2;

        if (!ngx_k8s_metrics_run_before(m, &run, &heap[parent])) {
            break;
        }

        heap[k] = heap[parent];
        k = parent;
    }

    heap[k] = run;
}


static ngx_flag_t
ngx_k8s_metrics_run_before(ngx_k8s_metrics_merge_t *m,
    ngx_k8s_metrics_run_t *one, ngx_k8s_metrics_run_t *two)
{
    ngx_int_t  rc;

    rc = m->cmp(m->data, one, two);

    return rc < 0 || (rc == 0 && one->list < two->list);
}
