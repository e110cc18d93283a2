
/*
 * ngx_metrics_module: the render cache: the lists a worker rendered, kept
 * for the requests that ask for them again from the same snapshot.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_send.h"
#include "ngx_k8s_metrics_emit.h"
#include "ngx_k8s_metrics_quantity.h"
#include "ngx_k8s_metrics_protobuf.h"
#include "ngx_k8s_metrics_msmetrics.h"


/* rendered answers kept by a worker, at most; their bytes, at most
 * k8s_metrics_response_cache_size */
#define NGX_K8S_METRICS_RENDERS     8


/*
 * A rendered answer: valid for one snapshot (its address and publication
 * time).  metrics-server stamps every object's creationTimestamp with the
 * time it answers: the offsets of those stamps in the body are kept, and
 * rewritten when the second has changed since.
 */

/*
 * A rendered body, shared by the cache entry and the requests sending it
 * (no copy per request: a 44 MB list is sent by many at once); freed with
 * the last of them.  It is not written to while shared.
 */

typedef struct {
    ngx_uint_t                  refs;
    size_t                      len;
    u_char                     *data;       /* follows the structure */
} ngx_k8s_metrics_rendered_t;


typedef struct {
    void                       *snapshot;
    int64_t                     published;
    ngx_str_t                   key;
    ngx_k8s_metrics_rendered_t *body;
    ngx_uint_t                  used;

    time_t                      second;     /* what the stamps say */
    size_t                     *stamps;
    ngx_uint_t                  nstamps;
    size_t                      stamp_len;
    unsigned                    binary:1;   /* protobuf: varint stamps */

    int64_t                    *times;      /* the items', observed again */
    ngx_uint_t                  ntimes;
} ngx_k8s_metrics_render_t;


static ngx_k8s_metrics_render_t *ngx_k8s_metrics_render_find(void *snapshot,
    int64_t published, ngx_str_t *key);
static ngx_int_t ngx_k8s_metrics_render_restamp(
    ngx_k8s_metrics_render_t *rd, time_t now);
static ngx_k8s_metrics_render_t *ngx_k8s_metrics_render_room(ngx_str_t *key,
    size_t size, size_t budget);
static void ngx_k8s_metrics_render_evict(ngx_k8s_metrics_render_t *rd);
static void ngx_k8s_metrics_render_free(ngx_k8s_metrics_render_t *rd);
static ngx_k8s_metrics_rendered_t *ngx_k8s_metrics_rendered_alloc(size_t len,
    ngx_log_t *log);
static void ngx_k8s_metrics_rendered_release(void *data);


static ngx_k8s_metrics_render_t  ngx_k8s_metrics_renders[NGX_K8S_METRICS_RENDERS];
static ngx_uint_t                ngx_k8s_metrics_render_clock;
static size_t                    ngx_k8s_metrics_render_bytes;


/*
 * The worker's rendered lists: a list asked again from the same snapshot
 * (dashboards, several autoscalers, kubectl top in a loop; a snapshot lives
 * one resolution) is sent again without building it again, its stamps
 * brought to this second.  The key is the request (URI, arguments, the
 * negotiated media type, Table and pretty choices).  NGX_DECLINED: not
 * kept, the caller renders it and may keep it (render_keep(), with the
 * same rq).
 */

ngx_int_t
ngx_k8s_metrics_render_lookup(ngx_http_request_t *r,
    ngx_k8s_metrics_render_req_t *rq)
{
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_pool_cleanup_t           *cln;
    ngx_k8s_metrics_render_t     *rd;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    rd = ngx_k8s_metrics_render_find(rq->snapshot, rq->published, &rq->key);

    if (rd == NULL || ngx_k8s_metrics_render_restamp(rd, rq->now) != NGX_OK) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "k8s metrics: render cache miss \"%V\"%s", &rq->key,
                       rd ? " (stamps do not fit)" : "");
        return NGX_DECLINED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "k8s metrics: render cache hit \"%V\", %uz bytes",
                   &rq->key, rd->body->len);

    rd->used = ++ngx_k8s_metrics_render_clock;
    rq->key.len = 0;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);
    (void) ngx_atomic_fetch_add(&kmcf->sh->counters.renders_reused, 1);
    ngx_k8s_metrics_observe_freshness(kmcf, rd->times, rd->ntimes);

    /* the request holds the body until its pool goes */

    b = ngx_calloc_buf(r->pool);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (b == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd->body->refs++;
    cln->handler = ngx_k8s_metrics_rendered_release;
    cln->data = rd->body;

    b->pos = rd->body->data;
    b->last = rd->body->data + rd->body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_k8s_metrics_send_chain(r, NGX_HTTP_OK, &out, rd->body->len,
                                      ngx_k8s_metrics_body_type(rd->binary));
}


/*
 * A rendering of resources_object.c to keep, ended (send.c's emit_end()): its
 * stamps all the time of this answer (rq->now), each of them recorded.
 */

void
ngx_k8s_metrics_render_keep(ngx_http_request_t *r,
    ngx_k8s_metrics_render_req_t *rq, ngx_k8s_metrics_emit_t *e)
{
    u_char                       *p;
    ngx_chain_t                  *cl;
    ngx_k8s_metrics_render_t     *slot, next;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (rq->key.len == 0 || e->stamps == NULL
        || e->size > kmcf->response_cache_size)
    {
        return;
    }

    ngx_memzero(&next, sizeof(ngx_k8s_metrics_render_t));

    next.body = ngx_k8s_metrics_rendered_alloc(e->size, r->connection->log);
    next.key.len = rq->key.len;
    next.key.data = ngx_alloc(rq->key.len, r->connection->log);
    next.nstamps = e->stamps->nelts;
    next.stamps = ngx_alloc(e->stamps->nelts * sizeof(size_t) + 1,
                            r->connection->log);
    next.ntimes = e->times ? e->times->nelts : 0;
    next.times = ngx_alloc(next.ntimes * sizeof(int64_t) + 1,
                           r->connection->log);

    if (next.body == NULL || next.key.data == NULL || next.stamps == NULL
        || next.times == NULL)
    {
        ngx_k8s_metrics_render_free(&next);
        return;
    }

    p = next.body->data;

    for (cl = e->out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    ngx_memcpy(next.key.data, rq->key.data, rq->key.len);
    ngx_memcpy(next.stamps, e->stamps->elts, next.nstamps * sizeof(size_t));

    if (next.ntimes) {
        ngx_memcpy(next.times, e->times->elts, next.ntimes * sizeof(int64_t));
    }

    next.snapshot = rq->snapshot;
    next.published = rq->published;
    next.second = rq->now;
    next.stamp_len = rq->now_len;
    next.binary = e->binary;
    next.used = ++ngx_k8s_metrics_render_clock;

    slot = ngx_k8s_metrics_render_room(&next.key, e->size,
                                       kmcf->response_cache_size);
    *slot = next;
    ngx_k8s_metrics_render_bytes += e->size;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "k8s metrics: render cache keeps \"%V\", %uz bytes, "
                   "%uz in all", &next.key, e->size,
                   ngx_k8s_metrics_render_bytes);

    rq->key.len = 0;
}


static ngx_k8s_metrics_render_t *
ngx_k8s_metrics_render_find(void *snapshot, int64_t published, ngx_str_t *key)
{
    ngx_uint_t                 i;
    ngx_k8s_metrics_render_t  *rd;

    for (i = 0; i < NGX_K8S_METRICS_RENDERS; i++) {
        rd = &ngx_k8s_metrics_renders[i];

        if (rd->snapshot == snapshot && rd->published == published
            && rd->key.len == key->len
            && ngx_memcmp(rd->key.data, key->data, key->len) == 0)
        {
            return rd;
        }
    }

    return NULL;
}


/*
 * The stamps of a kept rendering, brought to this second: in place, or in
 * a copy when requests are still sending the body.
 */

static ngx_int_t
ngx_k8s_metrics_render_restamp(ngx_k8s_metrics_render_t *rd, time_t now)
{
    u_char                      *end, stamp[NGX_K8S_METRICS_QUANTITY_LEN];
    ngx_uint_t                   i;
    ngx_k8s_metrics_rendered_t  *body;

    if (rd->second == now) {
        return NGX_OK;
    }

    end = rd->binary ? ngx_k8s_metrics_pb_varint(stamp, (uint64_t) now)
                     : ngx_k8s_metrics_format_time(stamp, now);

    if ((size_t) (end - stamp) != rd->stamp_len) {
        return NGX_DECLINED;
    }

    if (rd->body->refs > 1) {
        body = ngx_k8s_metrics_rendered_alloc(rd->body->len, ngx_cycle->log);
        if (body == NULL) {
            return NGX_DECLINED;
        }

        ngx_memcpy(body->data, rd->body->data, rd->body->len);
        ngx_k8s_metrics_rendered_release(rd->body);
        rd->body = body;
    }

    for (i = 0; i < rd->nstamps; i++) {
        ngx_memcpy(rd->body->data + rd->stamps[i], stamp, rd->stamp_len);
    }

    rd->second = now;

    return NGX_OK;
}


/*
 * A free slot for a rendering of size bytes (at most the budget): an older
 * rendering of the same request goes first, then the least recently used
 * ones until the kept bytes leave room.
 */

static ngx_k8s_metrics_render_t *
ngx_k8s_metrics_render_room(ngx_str_t *key, size_t size, size_t budget)
{
    ngx_uint_t                 i;
    ngx_k8s_metrics_render_t  *rd, *empty, *oldest;

    for (i = 0; i < NGX_K8S_METRICS_RENDERS; i++) {
        rd = &ngx_k8s_metrics_renders[i];

        if (rd->body && rd->key.len == key->len
            && ngx_memcmp(rd->key.data, key->data, key->len) == 0)
        {
            ngx_k8s_metrics_render_evict(rd);
        }
    }

    for ( ;; ) {
        empty = NULL;
        oldest = NULL;

        for (i = 0; i < NGX_K8S_METRICS_RENDERS; i++) {
            rd = &ngx_k8s_metrics_renders[i];

            if (rd->body == NULL) {
                empty = rd;

            } else if (oldest == NULL || rd->used < oldest->used) {
                oldest = rd;
            }
        }

        if (empty && ngx_k8s_metrics_render_bytes + size <= budget) {
            return empty;
        }

        /* oldest is set: with no rendering kept, the bytes are 0 */

        ngx_k8s_metrics_render_evict(oldest);
    }
}


/* a kept rendering goes, and its bytes with it */

static void
ngx_k8s_metrics_render_evict(ngx_k8s_metrics_render_t *rd)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "k8s metrics: render cache evicts \"%V\", %uz bytes",
                   &rd->key, rd->body->len);

    ngx_k8s_metrics_render_bytes -= rd->body->len;
    ngx_k8s_metrics_render_free(rd);
}


static void
ngx_k8s_metrics_render_free(ngx_k8s_metrics_render_t *rd)
{
    if (rd->body) {
        ngx_k8s_metrics_rendered_release(rd->body);
    }

    if (rd->key.data) {
        ngx_free(rd->key.data);
    }

    if (rd->stamps) {
        ngx_free(rd->stamps);
    }

    if (rd->times) {
        ngx_free(rd->times);
    }

    ngx_memzero(rd, sizeof(ngx_k8s_metrics_render_t));
}


static ngx_k8s_metrics_rendered_t *
ngx_k8s_metrics_rendered_alloc(size_t len, ngx_log_t *log)
{
    ngx_k8s_metrics_rendered_t  *body;

    body = ngx_alloc(sizeof(ngx_k8s_metrics_rendered_t) + len, log);
    if (body == NULL) {
        return NULL;
    }

    body->refs = 1;
    body->len = len;
    body->data = (u_char *) (body + 1);

    return body;
}


static void
ngx_k8s_metrics_rendered_release(void *data)
{
    ngx_k8s_metrics_rendered_t *body = data;

    if (--body->refs == 0) {
        ngx_free(body);
    }
}
