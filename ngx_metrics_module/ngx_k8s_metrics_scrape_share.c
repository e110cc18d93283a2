
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
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_share.h"
#include "ngx_k8s_metrics_scrape.h"


/* how often a worker whose share is in looks for a gone one, at most */
#define NGX_K8S_METRICS_SHARE_CHECK     1000


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
    ngx_uint_t                     cycle;
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

    rc = s->running ? NGX_BUSY
         : s->publication ? NGX_AGAIN
         : ngx_k8s_metrics_share_begin(s->kmcf, s->share_worker, s->shares,
                                       &cycle);

    if (rc == NGX_AGAIN) {
        /* a snapshot still being built, here or in another worker */
        ngx_k8s_metrics_scrape_wait(s);
        return;
    }

    if (rc == NGX_BUSY) {
        ngx_k8s_metrics_scrape_overrun(s);

    } else if (rc == NGX_OK) {
        s->share_cycle = cycle;
        ngx_k8s_metrics_scrape_cycle(s);

        if (!s->running) {
            /* no memory: the share is lost, the cycle goes on without */
            rc = ngx_k8s_metrics_share_finish(s->kmcf, s->share_worker,
                                              cycle, NULL, slots);
            ngx_k8s_metrics_scrape_share_next(s, rc, slots);
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

    part = NULL;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        part = ngx_k8s_metrics_share_stage(s->kmcf, s->batches, s->nkubelets,
                                           s->share_worker, s->shares,
                                           s->share_cycle);
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
 * a part lost (its worker gone) or not staged (no room in the zone) fails
 * the cycle, as on a failed scrape (metrics-server serves neither it nor
 * its pods until it is scraped again).  Then as a single scraper: pods
 * reported twice dropped, the store published.  The batches are the
 * parts' until the publication is over.
 */

static void
ngx_k8s_metrics_scrape_share_publish(ngx_k8s_metrics_scraper_t *s,
    ngx_k8s_metrics_share_slot_t *slots)
{
    ngx_uint_t                     i, w, next[NGX_K8S_METRICS_MAX_SHARES];
    ngx_k8s_metrics_batch_t       *batch;
    ngx_k8s_metrics_share_part_t  *part;

    static ngx_str_t  lost = ngx_string("not scraped in this cycle: the "
                                        "worker whose share it was is gone");
    static ngx_str_t  full = ngx_string("not published in this cycle: its "
                                        "worker's share does not fit in "
                                        "k8s_metrics_zone");

    ngx_memcpy(s->share_slots, slots,
               s->shares * sizeof(ngx_k8s_metrics_share_slot_t));

    if (ngx_k8s_metrics_scrape_batches(s) != NGX_OK) {
        ngx_k8s_metrics_scrape_share_free(s);
        return;
    }

    ngx_memzero(next, sizeof(next));

    for (i = 0; i < s->nkubelets; i++) {
        w = i % s->shares;
        part = slots[w].part;
        batch = &s->batches[i];

        if (part && next[w] < part->n
            && part->batches[next[w]].node == s->kubelets[i]->node)
        {
            *batch = part->batches[next[w]++];
            continue;
        }

        batch->node = s->kubelets[i]->node;
        batch->error = (slots[w].state == NGX_K8S_METRICS_SHARE_FULL)
                       ? full : lost;
    }

    if (ngx_k8s_metrics_scrape_dedup(s) == NGX_OK) {
        s->publication = ngx_k8s_metrics_store_publish(s->kmcf, s->batches,
                                  s->nkubelets, NULL, NULL,
                                  ngx_k8s_metrics_scrape_share_published, s,
                                  s->pool, s->log);
        if (s->publication) {
            return;
        }
    }

    ngx_k8s_metrics_scrape_share_published(s, NGX_ERROR);
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

    for (w = 0; w < s->shares; w++) {
        ngx_k8s_metrics_share_free(s->kmcf, s->share_slots[w].part);
        s->share_slots[w].part = NULL;
    }
}
