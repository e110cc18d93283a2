
/*
 * ngx_metrics_module: this worker's side of a scrape cycle shared among
 * the workers: joining or beginning the cycle, staging its share, and
 * publishing the cycle when it completes it (the state in the zone is
 * ngx_k8s_metrics_share.c's).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_conf.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_share.h"
#include "ngx_k8s_metrics_scrape.h"


/* how often a worker whose share is in looks for a gone one, at most */
#define NGX_K8S_METRICS_SHARE_CHECK     1000


static ngx_uint_t ngx_k8s_metrics_scrape_share_count(
    ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_share_alone(ngx_k8s_metrics_scraper_t *s);
static void ngx_k8s_metrics_scrape_share_next(ngx_k8s_metrics_scraper_t *s,
    ngx_int_t rc, ngx_k8s_metrics_share_slot_t *slots);
static void ngx_k8s_metrics_scrape_share_publish(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_share_slot_t *slots);
static void ngx_k8s_metrics_scrape_share_published(void *data, ngx_int_t rc);
static void ngx_k8s_metrics_scrape_share_free(ngx_k8s_metrics_scraper_t *s);


/*
 * Every worker aims its ticks at the shared cycle's cadence: the first
 * to fire begins a cycle, the others join it (share_begin()).
 */

void
ngx_k8s_metrics_scrape_share_tick(ngx_k8s_metrics_scraper_t *s)
{
    ngx_int_t                      rc;
    ngx_uint_t                     cycle, n;
    ngx_msec_t                     next, jitter, elapsed, half;
    ngx_k8s_metrics_share_slot_t   slots[NGX_K8S_METRICS_MAX_SHARES];

    /*
     * A worker that joined the last cycle late (a slow start, a loaded
     * machine) asks its kubelets again no sooner than half the resolution
     * after: the cycle's cadence alone would give its nodes a window of a
     * moment.  It joins the next cycle late instead.
     */

    half = s->kmcf->resolution / 2;
    elapsed = ngx_current_msec - s->started;

    if (!s->running && s->started && elapsed < half) {
        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, s->log, 0,
                       "k8s metrics: worker %ui asked its share %M ms ago",
                       s->share_worker, elapsed);

        ngx_add_timer(&s->tick, half - elapsed);
        return;
    }

    if (ngx_k8s_metrics_scrape_publishing(s)) {
        /* the last cycle's snapshot still being built here */
        ngx_k8s_metrics_scrape_wait(s);
        return;
    }

    if (!s->running && ngx_k8s_metrics_scrape_unsynced(s)) {
        return;
    }

    n = s->running ? 0 : ngx_k8s_metrics_scrape_share_count(s);

    rc = s->running ? NGX_BUSY
                    : ngx_k8s_metrics_share_begin(s->kmcf, s->share_worker,
                                                  &n, &cycle);

    if (rc == NGX_AGAIN) {
        /*
         * the last cycle's snapshot still being built in another worker,
         * or its parts waiting for a worker that has not joined it
         */
        ngx_k8s_metrics_scrape_wait(s);
        return;
    }

    /*
     * With nodes from the apiserver only the workers still on their share
     * count an overrun: below the threshold worker 0 alone, as a single
     * scraper does
     */

    if (rc == NGX_BUSY && (s->running || s->cluster == NULL)) {
        ngx_k8s_metrics_scrape_overrun(s);

    } else if (rc == NGX_OK) {
        s->share_cycle = cycle;
        s->share_nslots = n;
        ngx_k8s_metrics_scrape_cycle(s);

        if (!s->running) {
            /*
             * No memory: the share is lost, the cycle goes on without; a
             * cycle of one share is not published, as by a single scraper
             */

            rc = ngx_k8s_metrics_share_finish(s->kmcf, s->share_worker,
                                              cycle, NULL, slots);

            if (n > 1) {
                ngx_k8s_metrics_scrape_share_next(s, rc, slots);
            }

            rc = NGX_OK;
        }
    }

    jitter = s->kmcf->resolution / 10;
    next = s->kmcf->resolution - jitter / 2
           + (jitter ? (ngx_msec_t) ngx_random() % jitter : 0);

    elapsed = ngx_current_msec - ngx_k8s_metrics_share_started(s->kmcf);

    if (rc != NGX_BUSY) {
        next = (elapsed < next) ? next - elapsed : 1;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: worker %ui tick: %i, next in %M ms",
                   s->share_worker, rc, next);

    ngx_add_timer(&s->tick, next);
}


/*
 * The shares of a cycle this worker would begin: every worker's with
 * static nodes; with nodes from the apiserver, as many as it lists now
 * decide (the cycle's beginner decides for all: share_begin()), below
 * k8s_metrics_scrape_share_threshold one, worker 0's.
 */

static ngx_uint_t
ngx_k8s_metrics_scrape_share_count(ngx_k8s_metrics_scraper_t *s)
{
    if (s->cluster == NULL) {
        return s->shares;
    }

    /* out of memory: scrape_cycle() says it */
    (void) ngx_k8s_metrics_scrape_discovered(s);

    return (s->nkubelets >= s->kmcf->share_threshold) ? s->shares : 1;
}


/*
 * This worker's share of a shared cycle is done: staged in the zone, and
 * published with the others' by the worker that completes the cycle.  A
 * worker on its way out stages nothing: that cycle is left unpublished,
 * as a single scraper leaves it, and the next generation drops what other
 * workers staged (its first shared cycle, or its single scraper's tick).
 */

void
ngx_k8s_metrics_scrape_share_in(ngx_k8s_metrics_scraper_t *s)
{
    ngx_int_t                      rc;
    ngx_k8s_metrics_share_part_t  *part;
    ngx_k8s_metrics_share_slot_t   slots[NGX_K8S_METRICS_MAX_SHARES];

    if (s->share_nslots == 1) {
        ngx_k8s_metrics_scrape_share_alone(s);
        return;
    }

    part = NULL;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        part = ngx_k8s_metrics_share_stage(s->kmcf, s->batches, s->nkubelets,
                                           s->share_worker, s->share_cycle);
    }

    ngx_destroy_pool(s->pool);
    s->pool = NULL;
    s->batches = NULL;

    /* once staged, its part is in (a signal may have come meanwhile) */

    if (part == NULL && (ngx_exiting || ngx_quit || ngx_terminate)) {
        return;
    }

    rc = ngx_k8s_metrics_share_finish(s->kmcf, s->share_worker,
                                      s->share_cycle, part, slots);

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: worker %ui's share of cycle %ui in: %i",
                   s->share_worker, s->share_cycle, rc);

    ngx_k8s_metrics_scrape_share_next(s, rc, slots);
}


/*
 * The one share of a cycle (nodes from the apiserver, below the
 * threshold): its slot closes without a part, and this worker publishes
 * its own batches as a single scraper does, unless the cycle is over.
 */

static void
ngx_k8s_metrics_scrape_share_alone(ngx_k8s_metrics_scraper_t *s)
{
    ngx_int_t                      rc;
    ngx_k8s_metrics_share_slot_t   slots[NGX_K8S_METRICS_MAX_SHARES];

    rc = NGX_DECLINED;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        rc = ngx_k8s_metrics_share_finish(s->kmcf, s->share_worker,
                                          s->share_cycle, NULL, slots);
    }

    if (rc == NGX_OK) {
        ngx_k8s_metrics_scrape_publish(s,
                                       ngx_k8s_metrics_scrape_share_published);
        return;
    }

    ngx_destroy_pool(s->pool);
    s->pool = NULL;
    s->batches = NULL;
}


/* the cycle waits for the other workers' shares, or to find one gone */

void
ngx_k8s_metrics_scrape_share_check(ngx_event_t *ev)
{
    ngx_int_t                      rc;
    ngx_k8s_metrics_scraper_t     *s;
    ngx_k8s_metrics_share_slot_t   slots[NGX_K8S_METRICS_MAX_SHARES];

    s = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    rc = ngx_k8s_metrics_share_check(s->kmcf, s->share_cycle, slots);

    ngx_k8s_metrics_scrape_share_next(s, rc, slots);
}


/* share_finish()'s or share_check()'s answer: publish, or wait on */

static void
ngx_k8s_metrics_scrape_share_next(ngx_k8s_metrics_scraper_t *s, ngx_int_t rc,
    ngx_k8s_metrics_share_slot_t *slots)
{
    if (rc == NGX_OK) {
        ngx_k8s_metrics_scrape_share_publish(s, slots);

    } else if (rc == NGX_AGAIN) {
        ngx_add_timer(&s->share_check,
                      ngx_min(NGX_K8S_METRICS_SHARE_CHECK,
                              s->kmcf->resolution / 4));
    }
}


/*
 * The cycle's batches, by node name, from every worker's part; a node of
 * a part lost (its worker gone) or not staged (no room in the zone), or
 * that its worker did not list yet (nodes from the apiserver), fails the
 * cycle, as on a failed scrape (metrics-server serves neither it nor its
 * pods until it is scraped again).  A node its worker listed and this one
 * does not yet is left out.  Then as a single scraper.  The batches are
 * the parts' until the publication is over.
 */

static void
ngx_k8s_metrics_scrape_share_publish(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_share_slot_t *slots)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i, w, next[NGX_K8S_METRICS_MAX_SHARES];
    ngx_k8s_metrics_batch_t       *batch;
    ngx_k8s_metrics_node_conf_t   *node;
    ngx_k8s_metrics_share_part_t  *part;

    static ngx_str_t  lost = ngx_string("not scraped in this cycle: the "
                                        "worker whose share it was is gone");
    static ngx_str_t  full = ngx_string("not published in this cycle: its "
                                        "worker's share does not fit in "
                                        "k8s_metrics_zone");
    static ngx_str_t  unlisted = ngx_string("not scraped in this cycle: the "
                                            "worker whose share it is did "
                                            "not list it yet");
    static ngx_str_t  absent = ngx_string("not scraped in this cycle: the "
                                          "worker whose share it is did not "
                                          "join it (its informers not synced "
                                          "yet, or it started late)");

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: worker %ui publishes shared cycle %ui",
                   s->share_worker, s->share_cycle);

    ngx_memcpy(s->share_slots, slots,
               s->share_nslots * sizeof(ngx_k8s_metrics_share_slot_t));

    if (ngx_k8s_metrics_scrape_batches(s) != NGX_OK) {
        ngx_k8s_metrics_scrape_share_free(s);
        return;
    }

    ngx_memzero(next, sizeof(next));

    for (i = 0; i < s->nkubelets; i++) {
        w = ngx_k8s_metrics_scrape_owner(s, i);
        part = slots[w].part;
        batch = &s->batches[i];
        node = s->kubelets[i]->node;
        rc = 1;

        /* both sorted by name; the part's nodes not listed here skipped */

        while (part && next[w] < part->n) {
            rc = ngx_k8s_metrics_cmp_nodes(part->batches[next[w]].node, node);

            if (rc >= 0) {
                break;
            }

            next[w]++;
        }

        if (rc == 0) {
            *batch = part->batches[next[w]++];
            batch->node = node;
            continue;
        }

        batch->node = node;
        batch->error = (slots[w].state == NGX_K8S_METRICS_SHARE_FULL) ? full
                       : part ? unlisted
                       : (slots[w].pid == 0) ? absent : lost;
    }

    ngx_k8s_metrics_scrape_publish(s, ngx_k8s_metrics_scrape_share_published);
}


/* the shared cycle's publication is over: the parts go with the batches */

static void
ngx_k8s_metrics_scrape_share_published(void *data, ngx_int_t rc)
{
    ngx_k8s_metrics_scraper_t *s = data;

    s->publication = NULL;

    ngx_k8s_metrics_scrape_cycle_done(s,
                                      ngx_k8s_metrics_share_started(s->kmcf));
    ngx_k8s_metrics_scrape_share_free(s);
}


static void
ngx_k8s_metrics_scrape_share_free(ngx_k8s_metrics_scraper_t *s)
{
    ngx_uint_t  w;

    for (w = 0; w < s->share_nslots; w++) {
        ngx_k8s_metrics_share_free(s->kmcf, s->share_slots[w].part);
        s->share_slots[w].part = NULL;
    }
}
