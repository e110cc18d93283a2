
/*
 * ngx_metrics_module: a scrape cycle shared among the workers, from
 * k8s_metrics_scrape_share_threshold nodes on.  The cycle's state is in
 * the zone (sh->share): a cycle number, its start, and one slot per
 * worker.  Each worker scrapes its share of the kubelets on its own
 * event loop and stages its batches in the zone, which every worker maps
 * at the same address; the worker that completes the cycle takes every
 * part and publishes them through the store, so the store keeps one
 * writer at a time and one snapshot per cycle.
 *
 * The worker that begins a cycle sets its number of shares (nslots): a
 * worker of index nslots or more declines that cycle, so that workers
 * whose node counts lie on both sides of the threshold (nodes from the
 * apiserver) neither both scrape every node nor leave nodes out.
 *
 * A worker that is gone (killed, crashed) before its part is in loses its
 * part: the cycle is published without it once a worker finds its pid
 * gone, and its nodes fail that cycle as on a failed scrape.  The
 * respawned worker (same slot) scrapes its share from the next cycle on.
 *
 * Every part in the zone is in a slot from the moment it is allocated
 * (STAGING while its worker copies into it), so that whoever finds the
 * cycle over or the worker gone frees it; a part whose slot was cleared
 * while its live worker copied into it is freed by that worker, which
 * then finds the cycle over.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_share.h"


static ngx_k8s_metrics_share_slot_t *ngx_k8s_metrics_share_mine(
    ngx_k8s_metrics_share_state_t *st, ngx_uint_t w, ngx_uint_t cycle);
static ngx_flag_t ngx_k8s_metrics_share_gone(
    ngx_k8s_metrics_share_slot_t *slot, ngx_msec_t elapsed,
    ngx_msec_t resolution);
static ngx_int_t ngx_k8s_metrics_share_complete(
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_k8s_metrics_share_slot_t *slots);
static void ngx_k8s_metrics_share_drop_locked(ngx_slab_pool_t *shpool,
    ngx_k8s_metrics_share_state_t *st);
static void ngx_k8s_metrics_share_reclaim_locked(ngx_slab_pool_t *shpool,
    ngx_k8s_metrics_share_state_t *st);
static ngx_flag_t ngx_k8s_metrics_share_merging_locked(
    ngx_k8s_metrics_share_state_t *st);
static size_t ngx_k8s_metrics_share_size(ngx_k8s_metrics_batch_t *batches,
    ngx_uint_t nbatches, ngx_uint_t *m);
static ngx_k8s_metrics_share_part_t *ngx_k8s_metrics_share_reserve(
    ngx_k8s_metrics_main_conf_t *kmcf, ngx_uint_t w, ngx_uint_t cycle,
    size_t size);
static u_char *ngx_k8s_metrics_share_copy(u_char **p, ngx_str_t *s);


/* k8s_metrics_scrape_share_threshold */

char *
ngx_k8s_metrics_share_threshold_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *threshold = data;

    if (*threshold < 2) {
        return "must be at least 2: one node is not shared";
    }

    if (*threshold > NGX_K8S_METRICS_SHARE_MAX) {
        return "must be at most 10000000";
    }

    return NGX_CONF_OK;
}


/*
 * A tick of worker w: joins the cycle of its configuration that began
 * less than half a resolution ago, else begins one of *n shares, unless a
 * worker is still on its share of the last one (an overrun: NGX_BUSY), or
 * its snapshot is still being built, or its parts wait for a worker that
 * has not joined it (NGX_AGAIN: the tick waits for it).
 * NGX_OK: *n is the cycle's number of shares.  NGX_DECLINED: this worker
 * had its part of the current cycle already, has no share in it (w >= its
 * number of shares, the cycle begun by this tick included), or the cycle
 * is of another configuration (a reload): it keeps that cadence.
 */

ngx_int_t
ngx_k8s_metrics_share_begin(ngx_k8s_metrics_main_conf_t *kmcf, ngx_uint_t w,
    ngx_uint_t *n, ngx_uint_t *cycle)
{
    ngx_int_t                       rc;
    ngx_uint_t                      i, empty, waiting;
    ngx_msec_t                      elapsed;
    ngx_k8s_metrics_share_slot_t   *slot;
    ngx_k8s_metrics_share_state_t  *st;

    st = &kmcf->sh->share;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    elapsed = ngx_current_msec - st->started;

    slot = &st->slots[w];

    /*
     * A worker late to a cycle that still waits for it joins it: a worker
     * of a new generation may start a while after the first one began
     * the cycle (ngx_k8s_metrics_share_gone() waits a whole resolution).
     */

    if (st->cycle
        && (elapsed < kmcf->resolution / 2
            || (elapsed < kmcf->resolution && !st->merging
                && st->generation == kmcf->generation
                && slot->state == NGX_K8S_METRICS_SHARE_EMPTY)))
    {
        if (st->generation != kmcf->generation || w >= st->nslots
            || slot->state != NGX_K8S_METRICS_SHARE_EMPTY)
        {
            rc = NGX_DECLINED;
            goto done;
        }

        slot->state = NGX_K8S_METRICS_SHARE_RUNNING;
        slot->pid = ngx_pid;
        *cycle = st->cycle;
        *n = st->nslots;
        rc = NGX_OK;
        goto done;
    }

    /*
     * The last cycle's snapshot still being built, its pods deduplicated or
     * the snapshot itself: wait for it (a cycle begun meanwhile would hand
     * its parts over on top of the ones still being published)
     */

    if (ngx_k8s_metrics_store_publishing_locked(kmcf)
        || ngx_k8s_metrics_share_merging_locked(st))
    {
        rc = NGX_AGAIN;
        goto done;
    }

    /*
     * The last cycle of this configuration: a share still being scraped
     * is an overrun.  An older configuration's workers are on their way
     * out: their cycle is not published.
     */

    empty = 0;
    waiting = 0;

    for (i = 0;
         st->cycle && !st->merging && st->generation == kmcf->generation
         && i < st->nslots;
         i++)
    {
        slot = &st->slots[i];

        if ((slot->state == NGX_K8S_METRICS_SHARE_RUNNING
             || slot->state == NGX_K8S_METRICS_SHARE_STAGING)
            && !ngx_k8s_metrics_share_gone(slot, elapsed, kmcf->resolution))
        {
            rc = NGX_BUSY;
            goto done;
        }

        empty |= (slot->state == NGX_K8S_METRICS_SHARE_EMPTY);
        waiting |= (slot->state == NGX_K8S_METRICS_SHARE_DONE
                    && !ngx_k8s_metrics_share_gone(slot, 0, 0));
    }

    /*
     * Parts in that wait for a worker that has not joined (a resolution
     * at most, ngx_k8s_metrics_share_gone()): their live worker publishes
     * the cycle then (its share check), and this tick waits for it; a
     * cycle begun now would drop them, and with a worker that never
     * joins, every cycle's
     */

    if (empty && waiting) {
        rc = NGX_AGAIN;
        goto done;
    }

    /* parts of a cycle never published (a reload), or none */

    ngx_k8s_metrics_share_reclaim_locked(kmcf->shpool, st);

    if (!st->merging) {
        ngx_k8s_metrics_share_drop_locked(kmcf->shpool, st);
    }

    st->cycle++;
    st->started = ngx_current_msec;
    st->generation = kmcf->generation;
    st->nslots = *n;
    st->merging = 0;

    ngx_memzero(st->slots, sizeof(st->slots));

    kmcf->sh->last_scrape_start = st->started;

    /* begun for the workers that have a share in it */

    if (w >= *n) {
        rc = NGX_DECLINED;
        goto done;
    }

    st->slots[w].state = NGX_K8S_METRICS_SHARE_RUNNING;
    st->slots[w].pid = ngx_pid;

    *cycle = st->cycle;
    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    return rc;
}


/* when the current cycle began, for the next tick's cadence */

ngx_msec_t
ngx_k8s_metrics_share_started(ngx_k8s_metrics_main_conf_t *kmcf)
{
    return kmcf->sh->share.started;
}


/*
 * Worker w's part of the cycle is in (part: staged, or NULL when it could
 * not be).  NGX_OK: the cycle is complete and this worker publishes it,
 * with slots[] (one per worker: its state, and its part where DONE);
 * NGX_AGAIN: others are still scraping; NGX_DECLINED: the cycle is over
 * (a newer one began), and the part is freed.
 */

ngx_int_t
ngx_k8s_metrics_share_finish(ngx_k8s_metrics_main_conf_t *kmcf, ngx_uint_t w,
    ngx_uint_t cycle, void *part, ngx_k8s_metrics_share_slot_t *slots)
{
    ngx_int_t                       rc;
    ngx_k8s_metrics_share_slot_t   *slot;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    slot = ngx_k8s_metrics_share_mine(&kmcf->sh->share, w, cycle);

    if (slot == NULL) {
        if (part) {
            ngx_slab_free_locked(kmcf->shpool, part);
        }

        ngx_shmtx_unlock(&kmcf->shpool->mutex);
        return NGX_DECLINED;
    }

    /* FULL stays: its part did not fit; RUNNING: it had no memory */

    if (slot->state == NGX_K8S_METRICS_SHARE_STAGING) {
        slot->state = NGX_K8S_METRICS_SHARE_DONE;

    } else if (slot->state == NGX_K8S_METRICS_SHARE_RUNNING) {
        slot->state = NGX_K8S_METRICS_SHARE_LOST;
    }

    rc = ngx_k8s_metrics_share_complete(kmcf, slots);

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    return rc;
}


/* under the mutex: worker w's slot while its share of the cycle is not in */

static ngx_k8s_metrics_share_slot_t *
ngx_k8s_metrics_share_mine(ngx_k8s_metrics_share_state_t *st, ngx_uint_t w,
    ngx_uint_t cycle)
{
    ngx_k8s_metrics_share_slot_t  *slot;

    slot = &st->slots[w];

    if (st->cycle != cycle || st->merging || slot->pid != ngx_pid
        || (slot->state != NGX_K8S_METRICS_SHARE_RUNNING
            && slot->state != NGX_K8S_METRICS_SHARE_STAGING
            && slot->state != NGX_K8S_METRICS_SHARE_FULL))
    {
        return NULL;
    }

    return slot;
}


/*
 * Run while a cycle waits for other workers' parts: a worker that is gone
 * loses its part.  Same answers as share_finish().
 */

ngx_int_t
ngx_k8s_metrics_share_check(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t cycle, ngx_k8s_metrics_share_slot_t *slots)
{
    ngx_int_t                       rc;
    ngx_k8s_metrics_share_state_t  *st;

    st = &kmcf->sh->share;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    rc = (st->cycle == cycle && !st->merging)
         ? ngx_k8s_metrics_share_complete(kmcf, slots) : NGX_DECLINED;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    return rc;
}


/*
 * Under the mutex: the slots are copied out, their parts taken out of the
 * zone's state.  The part a gone worker was copying into is freed.
 */

static ngx_int_t
ngx_k8s_metrics_share_complete(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_share_slot_t *slots)
{
    ngx_uint_t                      i;
    ngx_msec_t                      elapsed;
    ngx_k8s_metrics_share_slot_t   *slot;
    ngx_k8s_metrics_share_state_t  *st;

    st = &kmcf->sh->share;
    elapsed = ngx_current_msec - st->started;

    /* the parts of a publisher gone (killed) are freed before new ones */

    ngx_k8s_metrics_share_reclaim_locked(kmcf->shpool, st);

    for (i = 0; i < st->nslots; i++) {
        slot = &st->slots[i];

        if ((slot->state == NGX_K8S_METRICS_SHARE_RUNNING
             || slot->state == NGX_K8S_METRICS_SHARE_STAGING
             || slot->state == NGX_K8S_METRICS_SHARE_EMPTY)
            && ngx_k8s_metrics_share_gone(slot, elapsed, kmcf->resolution))
        {
            if (slot->state == NGX_K8S_METRICS_SHARE_EMPTY) {
                ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                              "k8s metrics: worker %ui did not join scrape "
                              "cycle %ui within k8s_metrics_resolution "
                              "(%M ms): its nodes fail that cycle",
                              i, st->cycle, kmcf->resolution);

            } else {
                ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                              "k8s metrics: worker %ui (pid %P) is gone "
                              "before its share of scrape cycle %ui was in: "
                              "its nodes fail that cycle",
                              i, slot->pid, st->cycle);
            }

            if (slot->part) {
                ngx_slab_free_locked(kmcf->shpool, slot->part);
                slot->part = NULL;
            }

            slot->state = NGX_K8S_METRICS_SHARE_LOST;
        }

        if (slot->state != NGX_K8S_METRICS_SHARE_DONE
            && slot->state != NGX_K8S_METRICS_SHARE_LOST
            && slot->state != NGX_K8S_METRICS_SHARE_FULL)
        {
            return NGX_AGAIN;
        }
    }

    for (i = 0; i < st->nslots; i++) {
        slots[i] = st->slots[i];
        st->merged[i] = st->slots[i].part;
        st->slots[i].part = NULL;
    }

    st->merging = 1;
    st->merger = ngx_pid;

    return NGX_OK;
}


/*
 * A slot whose worker is no more: its pid gone (SIGKILL, a crash; the
 * master reaps it at once), or never joined within a resolution.
 */

static ngx_flag_t
ngx_k8s_metrics_share_gone(ngx_k8s_metrics_share_slot_t *slot,
    ngx_msec_t elapsed, ngx_msec_t resolution)
{
    if (slot->state == NGX_K8S_METRICS_SHARE_EMPTY) {
        return elapsed >= resolution;
    }

    return kill(slot->pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}


/*
 * The parts of a cycle that will not be published; a live worker still
 * copying into its part frees it itself (share_finish() finds the cycle
 * over).
 */

static void
ngx_k8s_metrics_share_drop_locked(ngx_slab_pool_t *shpool,
    ngx_k8s_metrics_share_state_t *st)
{
    ngx_uint_t                     i;
    ngx_k8s_metrics_share_slot_t  *slot;

    for (i = 0; i < st->nslots; i++) {
        slot = &st->slots[i];

        if (slot->part == NULL
            || (slot->state == NGX_K8S_METRICS_SHARE_STAGING
                && !ngx_k8s_metrics_share_gone(slot, 0, 0)))
        {
            continue;
        }

        ngx_slab_free_locked(shpool, slot->part);
        slot->part = NULL;
    }
}


/*
 * A single scraper's tick (the configuration shares no more): what the
 * last shared cycle of an older one left in the zone is dropped, and that
 * cycle is over for the workers still on it.
 */

void
ngx_k8s_metrics_share_end(ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_k8s_metrics_share_state_t  *st;

    st = &kmcf->sh->share;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    ngx_k8s_metrics_share_reclaim_locked(kmcf->shpool, st);

    if (st->nslots) {
        ngx_log_debug1(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "k8s metrics: shared scrape cycle %ui dropped",
                       st->cycle);

        ngx_k8s_metrics_share_drop_locked(kmcf->shpool, st);

        st->cycle++;
        st->nslots = 0;
        st->merging = 0;
        ngx_memzero(st->slots, sizeof(st->slots));
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);
}


void
ngx_k8s_metrics_share_free(ngx_k8s_metrics_main_conf_t *kmcf, void *part)
{
    ngx_uint_t                      i;
    ngx_k8s_metrics_share_state_t  *st;

    if (part == NULL) {
        return;
    }

    st = &kmcf->sh->share;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    for (i = 0; i < NGX_K8S_METRICS_MAX_SHARES; i++) {
        if (st->merged[i] == part) {
            st->merged[i] = NULL;
        }
    }

    ngx_slab_free_locked(kmcf->shpool, part);

    ngx_shmtx_unlock(&kmcf->shpool->mutex);
}


/*
 * Under the mutex: a live worker publishes the last shared cycle, from the
 * handover (share_complete) until it frees the parts (share_free)
 */

static ngx_flag_t
ngx_k8s_metrics_share_merging_locked(ngx_k8s_metrics_share_state_t *st)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_K8S_METRICS_MAX_SHARES; i++) {
        if (st->merged[i]) {
            return st->merger == ngx_pid
                   || kill(st->merger, 0) == 0 || ngx_errno != NGX_ESRCH;
        }
    }

    return 0;
}


/*
 * Under the mutex: the parts of a worker gone (SIGKILL, a crash) while it
 * published them: a publication takes many polls (store_build.c), and
 * the parts are its until it is over.
 */

static void
ngx_k8s_metrics_share_reclaim_locked(ngx_slab_pool_t *shpool,
    ngx_k8s_metrics_share_state_t *st)
{
    ngx_uint_t  i, n;

    if (st->merger == 0 || st->merger == ngx_pid
        || kill(st->merger, 0) == 0 || ngx_errno != NGX_ESRCH)
    {
        return;
    }

    n = 0;

    for (i = 0; i < NGX_K8S_METRICS_MAX_SHARES; i++) {
        if (st->merged[i]) {
            ngx_slab_free_locked(shpool, st->merged[i]);
            st->merged[i] = NULL;
            n++;
        }
    }

    if (n) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "k8s metrics: worker (pid %P) is gone before it "
                      "published its shared scrape cycle: its %ui parts "
                      "are freed", st->merger, n);
    }

    st->merger = 0;
}


/*
 * Worker w's batches (those of its share: the others have no node),
 * copied into one block of the zone: the batches, their nodes (the name
 * only: a discovered node's configuration is in its worker's memory),
 * their containers, then every string.  Other workers read them at the
 * same addresses.  NULL: the cycle is over, or no room (the slot says
 * FULL).
 */

ngx_k8s_metrics_share_part_t *
ngx_k8s_metrics_share_stage(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_batch_t *batches, ngx_uint_t nbatches, ngx_uint_t w,
    ngx_uint_t cycle)
{
    u_char                        *p;
    size_t                         size;
    ngx_uint_t                     i, j, m;
    ngx_k8s_metrics_batch_t       *b, *from;
    ngx_k8s_metrics_csample_t     *to;
    ngx_k8s_metrics_node_conf_t   *node;
    ngx_k8s_metrics_share_part_t  *part;

    size = ngx_k8s_metrics_share_size(batches, nbatches, &m);

    part = ngx_k8s_metrics_share_reserve(kmcf, w, cycle, size);
    if (part == NULL) {
        return NULL;
    }

    part->n = m;
    part->batches = (ngx_k8s_metrics_batch_t *) (part + 1);

    /* the batches, nodes and csamples first: they are 8-byte aligned */

    node = (ngx_k8s_metrics_node_conf_t *) (part->batches + m);
    p = (u_char *) (node + m);

    for (i = 0, b = part->batches; i < nbatches; i++) {
        from = &batches[i];

        if (from->node == NULL) {
            continue;
        }

        ngx_memzero(node, sizeof(ngx_k8s_metrics_node_conf_t));
        node->name = from->node->name;

        *b = *from;
        b->node = node++;
        b->containers.pool = NULL;
        b->containers.nalloc = from->containers.nelts;
        b->containers.elts = p;

        if (from->containers.nelts) {
            ngx_memcpy(p, from->containers.elts,
                       from->containers.nelts
                       * sizeof(ngx_k8s_metrics_csample_t));
            p += from->containers.nelts * sizeof(ngx_k8s_metrics_csample_t);
        }

        b++;
    }

    for (b = part->batches; b < part->batches + m; b++) {
        b->node->name.data = ngx_k8s_metrics_share_copy(&p, &b->node->name);
        b->error.data = ngx_k8s_metrics_share_copy(&p, &b->error);

        to = b->containers.elts;

        for (j = 0; j < b->containers.nelts; j++) {
            to[j].namespace.data = ngx_k8s_metrics_share_copy(&p,
                                                        &to[j].namespace);
            to[j].pod.data = ngx_k8s_metrics_share_copy(&p, &to[j].pod);
            to[j].name.data = ngx_k8s_metrics_share_copy(&p, &to[j].name);
        }
    }

    return part;
}


/* the size of a worker's part, and its number of batches (m) */

static size_t
ngx_k8s_metrics_share_size(ngx_k8s_metrics_batch_t *batches,
    ngx_uint_t nbatches, ngx_uint_t *m)
{
    size_t                      size;
    ngx_uint_t                  i, j;
    ngx_k8s_metrics_batch_t    *from;
    ngx_k8s_metrics_csample_t  *cs;

    size = sizeof(ngx_k8s_metrics_share_part_t);
    *m = 0;

    for (i = 0; i < nbatches; i++) {
        from = &batches[i];
        cs = from->containers.elts;

        if (from->node == NULL) {
            continue;
        }

        size += sizeof(ngx_k8s_metrics_batch_t)
                + sizeof(ngx_k8s_metrics_node_conf_t) + from->node->name.len
                + from->error.len
                + from->containers.nelts * sizeof(ngx_k8s_metrics_csample_t);

        for (j = 0; j < from->containers.nelts; j++) {
            size += cs[j].namespace.len + cs[j].pod.len + cs[j].name.len;
        }

        (*m)++;
    }

    return size;
}


/*
 * Worker w's part, allocated and put in its slot under one lock: from
 * then on a drop or a worker that finds it gone frees it.
 */

static ngx_k8s_metrics_share_part_t *
ngx_k8s_metrics_share_reserve(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t w, ngx_uint_t cycle, size_t size)
{
    ngx_k8s_metrics_share_part_t  *part;
    ngx_k8s_metrics_share_slot_t  *slot;

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    slot = ngx_k8s_metrics_share_mine(&kmcf->sh->share, w, cycle);

    if (slot == NULL || slot->state != NGX_K8S_METRICS_SHARE_RUNNING) {
        ngx_shmtx_unlock(&kmcf->shpool->mutex);
        return NULL;
    }

    /* the error below says it: not the slab allocator's "no memory" too */

    kmcf->shpool->log_nomem = 0;
    part = ngx_slab_alloc_locked(kmcf->shpool, size);
    kmcf->shpool->log_nomem = 1;

    slot->state = part ? NGX_K8S_METRICS_SHARE_STAGING
                       : NGX_K8S_METRICS_SHARE_FULL;
    slot->part = part;

    ngx_shmtx_unlock(&kmcf->shpool->mutex);

    if (part == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "k8s metrics: k8s_metrics_zone \"%V\" is full: "
                      "worker %ui cannot stage its share of the scrape "
                      "cycle (%uz bytes), whose nodes fail it",
                      &kmcf->shm_zone->shm.name, w, size);
    }

    return part;
}


static u_char *
ngx_k8s_metrics_share_copy(u_char **p, ngx_str_t *s)
{
    u_char  *data;

    /* a failed batch's empty error and array have no data: memcpy(NULL) */

    if (s->len == 0) {
        return NULL;
    }

    data = *p;
    *p = ngx_cpymem(*p, s->data, s->len);

    return data;
}
