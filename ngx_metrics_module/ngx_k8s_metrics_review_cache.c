
/*
 * ngx_metrics_module: the review cache.  The answers of SubjectAccessReview
 * and TokenReview, allowed and denied alike, kept for 10 s in the zone for
 * every worker: a red-black tree keyed by the SHA-256 of what was asked,
 * with a queue to drop the oldest answers first.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/sha.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_review_cache.h"


#define NGX_K8S_METRICS_REVIEW_TTL   10000

/*
 * The cached answers take at most 1/8 of the zone, the rest is the
 * metrics'; an answer is cached whole or not at all, and one over 1/8 of
 * that share (16 KiB of a 1 MiB zone) is not cached.
 */
#define NGX_K8S_METRICS_REVIEW_SHARE    8
#define NGX_K8S_METRICS_REVIEW_ENTRY    8


typedef struct {
    ngx_rbtree_node_t               node;       /* key: the digest's head */
    ngx_queue_t                     queue;      /* oldest last */
    u_char                          digest[SHA256_DIGEST_LENGTH];
    ngx_msec_t                      expires;
    ngx_uint_t                      kind;
    ngx_uint_t                      allowed;
    size_t                          cost;       /* in the zone, bytes */
    size_t                          len;
    u_char                          data[1];    /* reason, or user JSON */
} ngx_k8s_metrics_review_node_t;


static size_t ngx_k8s_metrics_cache_cost(size_t size);
static void ngx_k8s_metrics_cache_expire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_log_t *log);
static void ngx_k8s_metrics_cache_drop(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_review_node_t *rn);
static void ngx_k8s_metrics_review_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


/*
 * An answer: NGX_OK with *allowed and *data (a copy in pool), or
 * NGX_DECLINED when none is cached (or no memory to copy it).
 */

ngx_int_t
ngx_k8s_metrics_review_cache_get(ngx_k8s_metrics_main_conf_t *kmcf,
    u_char *digest, ngx_uint_t kind, ngx_pool_t *pool, ngx_uint_t *allowed,
    ngx_str_t *data)
{
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_k8s_metrics_review_node_t  *rn, *found;

    ngx_memcpy(&key, digest, sizeof(ngx_rbtree_key_t));

    found = NULL;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    ngx_k8s_metrics_cache_expire(kmcf, pool->log);

    node = kmcf->sh->reviews.root;
    sentinel = kmcf->sh->reviews.sentinel;

    while (node != sentinel) {
        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        rn = (ngx_k8s_metrics_review_node_t *) node;

        if (rn->kind == kind
            && ngx_memcmp(rn->digest, digest, SHA256_DIGEST_LENGTH) == 0)
        {
            found = rn;
            break;
        }

        node = (ngx_memcmp(digest, rn->digest, SHA256_DIGEST_LENGTH) < 0)
               ? node->left : node->right;
    }

    if (found) {
        *allowed = found->allowed;
        data->len = found->len;
        data->data = ngx_pnalloc(pool, found->len + 1);

        if (data->data == NULL) {
            found = NULL;

        } else {
            ngx_memcpy(data->data, found->data, found->len);
        }
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, pool->log, 0,
                   "k8s metrics: review cache %s for %s %ui",
                   found ? "hit" : "miss",
                   kind == NGX_K8S_METRICS_REVIEW_TOKEN
                   ? "TokenReview" : "SubjectAccessReview", key);

    return found ? NGX_OK : NGX_DECLINED;
}


/*
 * An answer is kept whole: the oldest ones make room for it, within the
 * cache's share of the zone, and when the metrics leave the zone too full
 * for it.  One larger than an entry may be is not kept (its request has
 * it; the next asks again).
 */

void
ngx_k8s_metrics_review_cache_put(ngx_k8s_metrics_main_conf_t *kmcf,
    u_char *digest, ngx_uint_t kind, ngx_uint_t allowed, ngx_str_t *data,
    ngx_log_t *log)
{
    size_t                          size, cost, share;
    ngx_queue_t                    *q;
    ngx_k8s_metrics_review_node_t  *rn;

    rn = NULL;
    size = offsetof(ngx_k8s_metrics_review_node_t, data) + data->len;
    cost = ngx_k8s_metrics_cache_cost(size);
    share = kmcf->shm_zone->shm.size / NGX_K8S_METRICS_REVIEW_SHARE;

    if (cost > share / NGX_K8S_METRICS_REVIEW_ENTRY) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "k8s metrics: review answer of %uz bytes not cached "
                       "(at most %uz)", data->len,
                       share / NGX_K8S_METRICS_REVIEW_ENTRY);
        return;
    }

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    ngx_k8s_metrics_cache_expire(kmcf, log);

    for ( ;; ) {
        if (kmcf->sh->reviews_size + cost <= share) {
            rn = ngx_slab_alloc_locked(kmcf->shpool, size);

            if (rn) {
                break;
            }
        }

        if (ngx_queue_empty(&kmcf->sh->reviews_queue)) {
            ngx_shmtx_unlock(&kmcf->shpool->mutex);
            return;
        }

        q = ngx_queue_last(&kmcf->sh->reviews_queue);
        rn = ngx_queue_data(q, ngx_k8s_metrics_review_node_t, queue);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "k8s metrics: review cache evicts %ui", rn->node.key);

        ngx_k8s_metrics_cache_drop(kmcf, rn);
    }

    ngx_memcpy(&rn->node.key, digest, sizeof(ngx_rbtree_key_t));
    ngx_memcpy(rn->digest, digest, SHA256_DIGEST_LENGTH);
    rn->expires = ngx_current_msec + NGX_K8S_METRICS_REVIEW_TTL;
    rn->kind = kind;
    rn->allowed = allowed;
    rn->cost = cost;
    rn->len = data->len;
    ngx_memcpy(rn->data, data->data, data->len);

    ngx_rbtree_insert(&kmcf->sh->reviews, &rn->node);
    ngx_queue_insert_head(&kmcf->sh->reviews_queue, &rn->queue);
    kmcf->sh->reviews_size += cost;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                   "k8s metrics: review cache keeps %ui (%s), %uz bytes",
                   rn->node.key, allowed ? "allowed" : "denied", cost);

    ngx_shmtx_unlock(&kmcf->shpool->mutex);
}


/* what ngx_slab_alloc() takes for size bytes: a power of two, or pages */

static size_t
ngx_k8s_metrics_cache_cost(size_t size)
{
    size_t  cost;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (cost = 8; cost < size; cost <<= 1) { /* void */ }

    return cost;
}


/* under the zone's mutex: drops what has expired */

static void
ngx_k8s_metrics_cache_expire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_log_t *log)
{
    ngx_queue_t                    *q;
    ngx_k8s_metrics_review_node_t  *rn;

    while (!ngx_queue_empty(&kmcf->sh->reviews_queue)) {
        q = ngx_queue_last(&kmcf->sh->reviews_queue);
        rn = ngx_queue_data(q, ngx_k8s_metrics_review_node_t, queue);

        if ((ngx_msec_int_t) (rn->expires - ngx_current_msec) > 0) {
            return;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "k8s metrics: review cache expires %ui", rn->node.key);

        ngx_k8s_metrics_cache_drop(kmcf, rn);
    }
}


/* under the zone's mutex */

static void
ngx_k8s_metrics_cache_drop(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_review_node_t *rn)
{
    ngx_queue_remove(&rn->queue);
    ngx_rbtree_delete(&kmcf->sh->reviews, &rn->node);
    kmcf->sh->reviews_size -= rn->cost;
    ngx_slab_free_locked(kmcf->shpool, rn);
}


/* a new zone: the review cache's part of its head */

void
ngx_k8s_metrics_review_init_zone(ngx_k8s_metrics_shctx_t *sh)
{
    ngx_rbtree_init(&sh->reviews, &sh->reviews_sentinel,
                    ngx_k8s_metrics_review_insert);
    ngx_queue_init(&sh->reviews_queue);
}


/* the tree's insert: equal keys ordered by the whole digest */

static void
ngx_k8s_metrics_review_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_k8s_metrics_review_node_t   *rn, *rnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            rn = (ngx_k8s_metrics_review_node_t *) node;
            rnt = (ngx_k8s_metrics_review_node_t *) temp;

            p = (ngx_memcmp(rn->digest, rnt->digest, SHA256_DIGEST_LENGTH)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
