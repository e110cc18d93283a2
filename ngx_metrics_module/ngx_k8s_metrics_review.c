
/*
 * ngx_metrics_module: SubjectAccessReview and TokenReview against the
 * apiserver, from the worker that serves the request (each worker has its
 * own client), with their decisions cached for 10 s in the shared zone,
 * allowed and denied alike, for every worker.  A review is asynchronous:
 * the request waits (r->main->count) and resumes when the answer comes.
 * A failed review fails closed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_client.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_review_key.h"
#include "ngx_k8s_metrics_utf8.h"


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


typedef struct {
    ngx_http_request_t             *r;
    ngx_k8s_metrics_ctx_t          *ctx;
    ngx_uint_t                      kind;
    u_char                          digest[SHA256_DIGEST_LENGTH];
} ngx_k8s_metrics_review_t;


static ngx_k8s_metrics_apiserver_t *ngx_k8s_metrics_reviewer;


static ngx_int_t ngx_k8s_metrics_review_start(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_uint_t kind, u_char *digest,
    ngx_str_t *path, json_t *body);
static void ngx_k8s_metrics_review_done(ngx_k8s_metrics_call_t *call);
static void ngx_k8s_metrics_review_fail(ngx_k8s_metrics_review_t *rv,
    ngx_k8s_metrics_call_t *call, const char *fmt, ...);
static json_t *ngx_k8s_metrics_review_load(ngx_str_t *body, ngx_uint_t kind,
    json_error_t *error);
static void ngx_k8s_metrics_review_unnul(ngx_str_t *body);
static ngx_int_t ngx_k8s_metrics_review_answer(ngx_k8s_metrics_review_t *rv,
    json_t *status, ngx_uint_t *allowed, ngx_str_t *data);
static ngx_int_t ngx_k8s_metrics_identity_from_json(ngx_pool_t *pool,
    ngx_str_t *text, ngx_k8s_metrics_identity_t *id);
static ngx_int_t ngx_k8s_metrics_copy_json_string(ngx_pool_t *pool,
    ngx_str_t *s, json_t *value);
static ngx_int_t ngx_k8s_metrics_push_json_string(ngx_pool_t *pool,
    ngx_array_t *a, json_t *value);
static ngx_k8s_metrics_review_node_t *ngx_k8s_metrics_cache_get(
    ngx_k8s_metrics_main_conf_t *kmcf, u_char *digest, ngx_uint_t kind,
    ngx_pool_t *pool, ngx_uint_t *allowed, ngx_str_t *data);
static void ngx_k8s_metrics_cache_put(ngx_k8s_metrics_main_conf_t *kmcf,
    u_char *digest, ngx_uint_t kind, ngx_uint_t allowed, ngx_str_t *data,
    ngx_log_t *log);
static size_t ngx_k8s_metrics_cache_cost(size_t size);
static void ngx_k8s_metrics_cache_expire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_log_t *log);
static void ngx_k8s_metrics_cache_drop(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_k8s_metrics_review_node_t *rn);
static void ngx_k8s_metrics_review_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


/* every worker: its own client for reviews */

ngx_int_t
ngx_k8s_metrics_review_init(ngx_cycle_t *cycle,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_k8s_metrics_curl_t  *curl;

    curl = ngx_k8s_metrics_curl_create(cycle->pool, cycle->log, 16);
    if (curl == NULL) {
        return NGX_ERROR;
    }

    ngx_k8s_metrics_reviewer = ngx_k8s_metrics_apiserver_create(cycle, kmcf,
                                                                curl);
    if (ngx_k8s_metrics_reviewer == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_k8s_metrics_review_exit(void)
{
    ngx_k8s_metrics_curl_t  *curl;

    if (ngx_k8s_metrics_reviewer == NULL) {
        return;
    }

    curl = ngx_k8s_metrics_reviewer->curl;

    ngx_k8s_metrics_apiserver_destroy(ngx_k8s_metrics_reviewer);
    ngx_k8s_metrics_curl_destroy(curl);

    ngx_k8s_metrics_reviewer = NULL;
}


/*
 * TokenReview of a bearer token: NGX_OK (id filled), NGX_DECLINED (not
 * authenticated), NGX_AGAIN (asked; the request resumes), NGX_ERROR.
 */

ngx_int_t
ngx_k8s_metrics_review_token(ngx_http_request_t *r, ngx_k8s_metrics_ctx_t *ctx,
    ngx_str_t *token)
{
    json_t                       *body;
    ngx_str_t                     path, user, valid;
    ngx_uint_t                    allowed;
    ngx_k8s_metrics_main_conf_t  *kmcf;
    u_char                        digest[SHA256_DIGEST_LENGTH];

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (ctx->review->done) {
        ctx->review->done = 0;
        allowed = ctx->review->allowed;
        user = ctx->review->answer;

    } else {
        /*
         * JSON carries UTF-8 only: any other token would reach the
         * apiserver as another one (U+FFFD for its bytes), so it is none
         */

        if (ngx_k8s_metrics_utf8_replace(NULL, token, &valid) != NGX_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "k8s metrics: bearer token is not valid UTF-8");
            return NGX_DECLINED;
        }

        SHA256(token->data, token->len, digest);

        if (ngx_k8s_metrics_cache_get(kmcf, digest,
                                      NGX_K8S_METRICS_REVIEW_TOKEN, r->pool,
                                      &allowed, &user)
            == NULL)
        {
            body = json_pack("{s:s, s:s, s:{s:s%}}",
                             "apiVersion", "authentication.k8s.io/v1",
                             "kind", "TokenReview",
                             "spec", "token", (char *) token->data,
                             token->len);

            ngx_str_set(&path,
                        "/apis/authentication.k8s.io/v1/tokenreviews");

            return ngx_k8s_metrics_review_start(r, ctx,
                                                NGX_K8S_METRICS_REVIEW_TOKEN,
                                                digest, &path, body);
        }
    }

    if (ctx->review->failed) {
        return NGX_DECLINED;
    }

    if (!allowed) {
        return NGX_DECLINED;
    }

    if (ngx_k8s_metrics_identity_from_json(r->pool, &user, &ctx->identity)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->identity.authenticator = NGX_K8S_METRICS_AUTHN_TOKEN;

    return NGX_OK;
}


/*
 * SubjectAccessReview of the request: NGX_OK (allowed), NGX_DECLINED
 * (denied, *reason set), NGX_AGAIN (asked), NGX_ERROR (the review failed:
 * a 500, fail closed).
 */

ngx_int_t
ngx_k8s_metrics_review_access(ngx_http_request_t *r,
    ngx_k8s_metrics_ctx_t *ctx, ngx_str_t *reason)
{
    json_t                       *body, *spec;
    ngx_str_t                     path;
    ngx_uint_t                    allowed;
    ngx_k8s_metrics_main_conf_t  *kmcf;
    u_char                        digest[SHA256_DIGEST_LENGTH];

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (ctx->review->done) {
        ctx->review->done = 0;

        if (ctx->review->failed) {
            *reason = ctx->review->answer;
            return NGX_ERROR;
        }

        *reason = ctx->review->answer;
        return ctx->review->allowed ? NGX_OK : NGX_DECLINED;
    }

    spec = ngx_k8s_metrics_review_spec(r->pool, &ctx->identity, &ctx->info,
                                       digest);
    if (spec == NULL) {
        return NGX_ERROR;
    }

    if (ngx_k8s_metrics_cache_get(kmcf, digest, NGX_K8S_METRICS_REVIEW_ACCESS,
                                  r->pool, &allowed, reason)
        != NULL)
    {
        json_decref(spec);
        (void) ngx_atomic_fetch_add(&kmcf->sh->counters.sar_cache_hits, 1);
        return allowed ? NGX_OK : NGX_DECLINED;
    }

    body = json_pack("{s:s, s:s, s:o}",
                     "apiVersion", "authorization.k8s.io/v1",
                     "kind", "SubjectAccessReview",
                     "spec", spec);

    ngx_str_set(&path, "/apis/authorization.k8s.io/v1/subjectaccessreviews");

    return ngx_k8s_metrics_review_start(r, ctx, NGX_K8S_METRICS_REVIEW_ACCESS,
                                        digest, &path, body);
}


static ngx_int_t
ngx_k8s_metrics_review_start(ngx_http_request_t *r, ngx_k8s_metrics_ctx_t *ctx,
    ngx_uint_t kind, u_char *digest, ngx_str_t *path, json_t *body)
{
    ngx_k8s_metrics_call_t    *call;
    ngx_k8s_metrics_review_t  *rv;

    if (body == NULL || ngx_k8s_metrics_reviewer == NULL) {
        json_decref(body);
        return NGX_ERROR;
    }

    rv = ngx_pcalloc(r->pool, sizeof(ngx_k8s_metrics_review_t));
    if (rv == NULL) {
        json_decref(body);
        return NGX_ERROR;
    }

    rv->r = r;
    rv->ctx = ctx;
    rv->kind = kind;
    ngx_memcpy(rv->digest, digest, SHA256_DIGEST_LENGTH);

    call = ngx_k8s_metrics_api_call(ngx_k8s_metrics_reviewer, "POST", path,
                                    body, NULL,
                                    ngx_k8s_metrics_reviewer->kmcf
                                        ->apiserver.timeout,
                                    ngx_k8s_metrics_review_done, NULL, rv);
    json_decref(body);

    if (call == NULL) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_k8s_metrics_review_done(ngx_k8s_metrics_call_t *call)
{
    ngx_k8s_metrics_review_t *rv = call->data;

    json_t                 *doc;
    ngx_str_t               data;
    ngx_uint_t              allowed;
    json_error_t            error;
    ngx_k8s_metrics_ctx_t  *ctx;

    ctx = rv->ctx;

    ctx->review->done = 1;
    ctx->review->failed = 0;
    ngx_str_null(&ctx->review->answer);

    doc = NULL;

    if (call->error || (call->status != 200 && call->status != 201)) {
        ngx_k8s_metrics_review_fail(rv, call, NULL);

    } else if ((doc = ngx_k8s_metrics_review_load(&call->body, rv->kind,
                                                  &error))
               == NULL)
    {
        /* jansson's error text quotes the answer: only the position */

        ngx_k8s_metrics_review_fail(rv, call,
                                    "the answer (%uz bytes) %s: line %d, "
                                    "column %d", call->body.len,
                                    json_error_code(&error)
                                    == json_error_null_byte_in_key
                                    ? "has a key with a NUL byte, which "
                                      "jansson cannot hold"
                                    : "is not JSON",
                                    error.line, error.column);

    } else if (ngx_k8s_metrics_review_answer(rv, json_object_get(doc, "status"),
                                             &allowed, &data)
               != NGX_OK)
    {
        ngx_k8s_metrics_review_fail(rv, call,
                                    "the answer (%uz bytes) has no valid "
                                    "status", call->body.len);

    } else {
        ctx->review->allowed = allowed;
        ctx->review->answer.len = data.len;
        ctx->review->answer.data = ngx_pstrdup(rv->r->pool, &data);

        ngx_k8s_metrics_cache_put(call->api->kmcf, rv->digest, rv->kind,
                                  allowed, &data, rv->r->connection->log);
    }

    json_decref(doc);

    ctx->review->handler(ctx->review);
}


/*
 * Logs a failed review, and keeps why for the request (a failed
 * SubjectAccessReview says it in its 500).  Nothing of a TokenReview's
 * answer is logged: it holds the token it was asked about (spec.token).
 */

static void
ngx_k8s_metrics_review_fail(ngx_k8s_metrics_review_t *rv,
    ngx_k8s_metrics_call_t *call, const char *fmt, ...)
{
    u_char     *p, buf[NGX_MAX_ERROR_STR];
    va_list     args;
    ngx_str_t   error;

    if (fmt) {
        va_start(args, fmt);
        p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
        va_end(args);

        error.data = buf;
        error.len = p - buf;

    } else if (call->error || rv->kind == NGX_K8S_METRICS_REVIEW_ACCESS) {
        ngx_k8s_metrics_api_error(call, &error);

    } else {
        error.data = buf;
        error.len = ngx_snprintf(buf, sizeof(buf),
                                 "the answer (%uz bytes) is not logged: it "
                                 "may hold the token", call->body.len)
                    - buf;
    }

    ngx_log_error(NGX_LOG_ERR, rv->r->connection->log, 0,
                  "k8s metrics: %s (POST %s) failed: HTTP %l: %V",
                  rv->kind == NGX_K8S_METRICS_REVIEW_TOKEN
                  ? "TokenReview" : "SubjectAccessReview",
                  call->url, call->status, &error);

    rv->ctx->review->failed = 1;

    rv->ctx->review->answer.data = ngx_pstrdup(rv->r->pool, &error);
    rv->ctx->review->answer.len = rv->ctx->review->answer.data ? error.len : 0;
}


/*
 * An answer; its strings may hold NUL ("\u0000").  jansson refuses a NUL
 * in an object key whatever its flags, and a SubjectAccessReview echoes
 * the spec it was asked, whose extra keys may hold one (a header
 * X-Remote-Extra-%00): such keys are renamed and the answer read again,
 * its status (all that is read of it) has none.  A TokenReview's keys
 * are the user's: one with a NUL fails the review.
 */

static json_t *
ngx_k8s_metrics_review_load(ngx_str_t *body, ngx_uint_t kind,
    json_error_t *error)
{
    json_t  *doc;

    doc = json_loadb((char *) body->data, body->len, JSON_ALLOW_NUL, error);

    if (doc == NULL && kind == NGX_K8S_METRICS_REVIEW_ACCESS
        && json_error_code(error) == json_error_null_byte_in_key)
    {
        ngx_k8s_metrics_review_unnul(body);

        doc = json_loadb((char *) body->data, body->len, JSON_ALLOW_NUL,
                         error);
    }

    return doc;
}


/*
 * In place, "\u0000" becomes "\ufffd" in every object key: strings are
 * walked escape by escape (so "\\u0000" is left alone), and a string
 * followed by ':' is a key.
 */

static void
ngx_k8s_metrics_review_unnul(ngx_str_t *body)
{
    u_char      *p, *q, *start, *last;
    ngx_uint_t   nul;

    p = body->data;
    last = body->data + body->len;

    while (p < last) {

        if (*p++ != '"') {
            continue;
        }

        start = p;
        nul = 0;

        while (p < last && *p != '"') {

            if (*p != '\\') {
                p++;
                continue;
            }

            if (last - p >= 6 && ngx_strncmp(p, "\\u0000", 6) == 0) {
                nul = 1;
            }

            p += 2;
        }

        if (p >= last) {
            return;
        }

        for (q = p + 1; q < last; q++) {
            if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') {
                break;
            }
        }

        if (nul && q < last && *q == ':') {

            for (q = start; q < p; q += (*q == '\\') ? 2 : 1) {
                if (*q == '\\' && p - q >= 6
                    && ngx_strncmp(q, "\\u0000", 6) == 0)
                {
                    ngx_memcpy(q + 2, "fffd", 4);
                }
            }
        }

        p++;
    }
}


/*
 * SubjectAccessReviewStatus: allowed, or denied with its reason;
 * TokenReviewStatus: authenticated, and the user as JSON.
 */

static ngx_int_t
ngx_k8s_metrics_review_answer(ngx_k8s_metrics_review_t *rv, json_t *status,
    ngx_uint_t *allowed, ngx_str_t *data)
{
    char    *user;
    json_t  *reason;

    if (!json_is_object(status)) {
        return NGX_ERROR;
    }

    if (rv->kind == NGX_K8S_METRICS_REVIEW_ACCESS) {
        *allowed = json_is_true(json_object_get(status, "allowed"));

        reason = json_object_get(status, "reason");

        if (json_is_string(reason)) {
            data->data = (u_char *) json_string_value(reason);
            data->len = json_string_length(reason);

        } else {
            ngx_str_set(data, "");
        }

        return NGX_OK;
    }

    *allowed = json_is_true(json_object_get(status, "authenticated"));

    if (!*allowed) {
        ngx_str_set(data, "");
        return NGX_OK;
    }

    user = json_dumps(json_object_get(status, "user"), JSON_COMPACT);
    if (user == NULL) {
        return NGX_ERROR;
    }

    data->len = ngx_strlen(user);
    data->data = ngx_pnalloc(rv->r->pool, data->len);

    if (data->data) {
        ngx_memcpy(data->data, user, data->len);
    }

    free(user);

    return data->data ? NGX_OK : NGX_ERROR;
}


/*
 * A TokenReview's UserInfo: username, uid, groups, extra; strings whole,
 * NUL included.
 */

static ngx_int_t
ngx_k8s_metrics_identity_from_json(ngx_pool_t *pool, ngx_str_t *text,
    ngx_k8s_metrics_identity_t *id)
{
    size_t                    i, len;
    json_t                   *user, *groups, *extra, *values, *v;
    const char               *key;
    ngx_k8s_metrics_extra_t  *e;

    user = json_loadb((char *) text->data, text->len, JSON_ALLOW_NUL, NULL);

    v = json_object_get(user, "username");

    if (!json_is_string(v) || json_string_length(v) == 0) {
        json_decref(user);
        return NGX_DECLINED;
    }

    if (ngx_k8s_metrics_copy_json_string(pool, &id->user, v) != NGX_OK) {
        goto failed;
    }

    v = json_object_get(user, "uid");

    if (json_is_string(v)
        && ngx_k8s_metrics_copy_json_string(pool, &id->uid, v) != NGX_OK)
    {
        goto failed;
    }

    groups = json_object_get(user, "groups");

    json_array_foreach(groups, i, v) {
        if (ngx_k8s_metrics_push_json_string(pool, &id->groups, v) != NGX_OK) {
            goto failed;
        }
    }

    extra = json_object_get(user, "extra");

    json_object_keylen_foreach(extra, key, len, values) {
        e = ngx_array_push(&id->extra);
        if (e == NULL) {
            goto failed;
        }

        e->key.len = len;
        e->key.data = ngx_pnalloc(pool, len);

        if (e->key.data == NULL
            || ngx_array_init(&e->values, pool, 1, sizeof(ngx_str_t))
               != NGX_OK)
        {
            goto failed;
        }

        ngx_memcpy(e->key.data, key, len);

        json_array_foreach(values, i, v) {
            if (ngx_k8s_metrics_push_json_string(pool, &e->values, v)
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    json_decref(user);

    return NGX_OK;

failed:

    json_decref(user);

    return NGX_ERROR;
}


static ngx_int_t
ngx_k8s_metrics_copy_json_string(ngx_pool_t *pool, ngx_str_t *s,
    json_t *value)
{
    if (!json_is_string(value)) {
        return NGX_ERROR;
    }

    s->len = json_string_length(value);
    s->data = ngx_pnalloc(pool, s->len);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s->data, json_string_value(value), s->len);

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_push_json_string(ngx_pool_t *pool, ngx_array_t *a,
    json_t *value)
{
    ngx_str_t  *s;

    s = ngx_array_push(a);
    if (s == NULL) {
        return NGX_ERROR;
    }

    return ngx_k8s_metrics_copy_json_string(pool, s, value);
}


/*
 * The cache: a red-black tree in the zone, keyed by the SHA-256 of what
 * was asked, with a queue to drop the oldest answers first.
 */

static ngx_k8s_metrics_review_node_t *
ngx_k8s_metrics_cache_get(ngx_k8s_metrics_main_conf_t *kmcf, u_char *digest,
    ngx_uint_t kind, ngx_pool_t *pool, ngx_uint_t *allowed, ngx_str_t *data)
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

    return found;
}


/*
 * An answer is kept whole: the oldest ones make room for it, within the
 * cache's share of the zone, and when the metrics leave the zone too full
 * for it.  One larger than an entry may be is not kept (its request has
 * it; the next asks again).
 */

static void
ngx_k8s_metrics_cache_put(ngx_k8s_metrics_main_conf_t *kmcf, u_char *digest,
    ngx_uint_t kind, ngx_uint_t allowed, ngx_str_t *data, ngx_log_t *log)
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
