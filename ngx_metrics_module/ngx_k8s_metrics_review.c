
/*
 * ngx_metrics_module: SubjectAccessReview and TokenReview against the
 * apiserver, from the worker that serves the request (each worker has its
 * own client), with their decisions cached for 10 s in the shared zone,
 * allowed and denied alike, for every worker.  A review is asynchronous:
 * the request waits (r->main->count) and resumes when the answer comes.
 * A failed review fails closed.
 */


#include "ngx_k8s_metrics.h"


#define NGX_K8S_METRICS_REVIEW_TTL   10000
#define NGX_K8S_METRICS_REVIEW_MAX   4096       /* stored answer, bytes */


typedef struct {
    ngx_rbtree_node_t               node;       /* key: the digest's head */
    ngx_queue_t                     queue;      /* oldest last */
    u_char                          digest[SHA256_DIGEST_LENGTH];
    ngx_msec_t                      expires;
    ngx_uint_t                      kind;
    ngx_uint_t                      allowed;
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
static ngx_int_t ngx_k8s_metrics_review_answer(ngx_k8s_metrics_review_t *rv,
    json_t *status, ngx_uint_t *allowed, ngx_str_t *data);
static json_t *ngx_k8s_metrics_review_user(ngx_k8s_metrics_identity_t *id);
static json_t *ngx_k8s_metrics_review_attributes(ngx_k8s_metrics_ctx_t *ctx);
static ngx_int_t ngx_k8s_metrics_identity_from_json(ngx_pool_t *pool,
    ngx_str_t *text, ngx_k8s_metrics_identity_t *id);
static ngx_int_t ngx_k8s_metrics_push_json_string(ngx_pool_t *pool,
    ngx_array_t *a, json_t *value);
static ngx_k8s_metrics_review_node_t *ngx_k8s_metrics_cache_get(
    ngx_k8s_metrics_main_conf_t *kmcf, u_char *digest, ngx_uint_t kind,
    ngx_pool_t *pool, ngx_uint_t *allowed, ngx_str_t *data);
static void ngx_k8s_metrics_cache_put(ngx_k8s_metrics_main_conf_t *kmcf,
    u_char *digest, ngx_uint_t kind, ngx_uint_t allowed, ngx_str_t *data);
static void ngx_k8s_metrics_cache_expire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t force);


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
    ngx_str_t                     path, user;
    ngx_uint_t                    allowed;
    ngx_k8s_metrics_main_conf_t  *kmcf;
    u_char                        digest[SHA256_DIGEST_LENGTH];

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (ctx->review_done) {
        ctx->review_done = 0;
        allowed = ctx->review_allowed;
        user = ctx->review_data;

    } else {
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

    if (ctx->review_failed) {
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
    char                         *canonical;
    json_t                       *body, *spec;
    ngx_str_t                     path;
    ngx_uint_t                    allowed;
    ngx_k8s_metrics_main_conf_t  *kmcf;
    u_char                        digest[SHA256_DIGEST_LENGTH];

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

    if (ctx->review_done) {
        ctx->review_done = 0;

        if (ctx->review_failed) {
            *reason = ctx->review_data;
            return NGX_ERROR;
        }

        *reason = ctx->review_data;
        return ctx->review_allowed ? NGX_OK : NGX_DECLINED;
    }

    spec = ngx_k8s_metrics_review_user(&ctx->identity);
    if (spec == NULL) {
        return NGX_ERROR;
    }

    json_object_update_new(spec, ngx_k8s_metrics_review_attributes(ctx));

    /* the cache key: the whole spec, keys sorted */

    canonical = json_dumps(spec, JSON_COMPACT|JSON_SORT_KEYS);
    if (canonical == NULL) {
        json_decref(spec);
        return NGX_ERROR;
    }

    SHA256((u_char *) canonical, ngx_strlen(canonical), digest);
    free(canonical);

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
                                        ->apiserver_timeout,
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

    json_t                       *doc;
    ngx_str_t                     error, data;
    ngx_uint_t                    allowed;
    ngx_k8s_metrics_ctx_t        *ctx;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    ctx = rv->ctx;
    kmcf = call->api->kmcf;

    ctx->review_done = 1;
    ctx->review_failed = 0;
    ngx_str_null(&ctx->review_data);

    doc = NULL;

    if (call->error || (call->status != 200 && call->status != 201)
        || (doc = json_loadb((char *) call->body.data, call->body.len, 0,
                             NULL))
           == NULL
        || ngx_k8s_metrics_review_answer(rv, json_object_get(doc, "status"),
                                         &allowed, &data)
           != NGX_OK)
    {
        ngx_k8s_metrics_api_error(call, &error);

        ngx_log_error(NGX_LOG_ERR, rv->r->connection->log, 0,
                      "k8s metrics: %s (POST %s) failed: HTTP %l: %V",
                      rv->kind == NGX_K8S_METRICS_REVIEW_TOKEN
                      ? "TokenReview" : "SubjectAccessReview",
                      call->url, call->status, &error);

        ctx->review_failed = 1;

        ctx->review_data.data = ngx_pstrdup(rv->r->pool, &error);
        ctx->review_data.len = ctx->review_data.data ? error.len : 0;

    } else {
        ctx->review_allowed = allowed;
        ctx->review_data.len = data.len;
        ctx->review_data.data = ngx_pstrdup(rv->r->pool, &data);

        ngx_k8s_metrics_cache_put(kmcf, rv->digest, rv->kind, allowed, &data);
    }

    json_decref(doc);

    ngx_k8s_metrics_api_resume(rv->r);
}


/*
 * SubjectAccessReviewStatus: allowed, or denied with its reason;
 * TokenReviewStatus: authenticated, and the user as JSON.
 */

static ngx_int_t
ngx_k8s_metrics_review_answer(ngx_k8s_metrics_review_t *rv, json_t *status,
    ngx_uint_t *allowed, ngx_str_t *data)
{
    char        *user;
    const char  *reason;

    if (!json_is_object(status)) {
        return NGX_ERROR;
    }

    if (rv->kind == NGX_K8S_METRICS_REVIEW_ACCESS) {
        *allowed = json_is_true(json_object_get(status, "allowed"));

        reason = json_string_value(json_object_get(status, "reason"));

        data->data = (u_char *) (reason ? reason : "");
        data->len = ngx_strlen(data->data);

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


/* the "user", "groups", "extra", "uid" of a SubjectAccessReviewSpec */

static json_t *
ngx_k8s_metrics_review_user(ngx_k8s_metrics_identity_t *id)
{
    json_t                   *spec, *groups, *extra, *values;
    ngx_str_t                *v;
    ngx_uint_t                i, k;
    ngx_k8s_metrics_extra_t  *e;

    groups = json_array();
    v = id->groups.elts;

    for (i = 0; i < id->groups.nelts; i++) {
        json_array_append_new(groups, json_stringn((char *) v[i].data,
                                                   v[i].len));
    }

    spec = json_pack("{s:s%, s:o}", "user", (char *) id->user.data,
                     id->user.len, "groups", groups);
    if (spec == NULL) {
        return NULL;
    }

    if (id->extra.nelts) {
        extra = json_object();
        e = id->extra.elts;

        for (i = 0; i < id->extra.nelts; i++) {
            values = json_array();
            v = e[i].values.elts;

            for (k = 0; k < e[i].values.nelts; k++) {
                json_array_append_new(values,
                                      json_stringn((char *) v[k].data,
                                                   v[k].len));
            }

            json_object_setn_new(extra, (char *) e[i].key.data, e[i].key.len,
                                 values);
        }

        json_object_set_new(spec, "extra", extra);
    }

    if (id->uid.len) {
        json_object_set_new(spec, "uid", json_stringn((char *) id->uid.data,
                                                      id->uid.len));
    }

    return spec;
}


/* the request's resource attributes, or non-resource ones */

static json_t *
ngx_k8s_metrics_review_attributes(ngx_k8s_metrics_ctx_t *ctx)
{
    json_t                          *attrs;
    ngx_k8s_metrics_request_info_t  *info;

    info = &ctx->info;

    if (!info->resource_request) {
        return json_pack("{s:{s:s%, s:s%}}", "nonResourceAttributes",
                         "path", (char *) info->path.data, info->path.len,
                         "verb", (char *) info->verb.data, info->verb.len);
    }

    attrs = json_pack("{s:s%, s:s, s:s, s:s%}",
                      "verb", (char *) info->verb.data, info->verb.len,
                      "group", NGX_K8S_METRICS_GROUP,
                      "version", NGX_K8S_METRICS_VERSION,
                      "resource", (char *) info->resource.data,
                      info->resource.len);
    if (attrs == NULL) {
        return NULL;
    }

    if (info->namespace.len) {
        json_object_set_new(attrs, "namespace",
                            json_stringn((char *) info->namespace.data,
                                         info->namespace.len));
    }

    if (info->name.len) {
        json_object_set_new(attrs, "name",
                            json_stringn((char *) info->name.data,
                                         info->name.len));
    }

    return json_pack("{s:o}", "resourceAttributes", attrs);
}


/* a TokenReview's UserInfo: username, uid, groups, extra */

static ngx_int_t
ngx_k8s_metrics_identity_from_json(ngx_pool_t *pool, ngx_str_t *text,
    ngx_k8s_metrics_identity_t *id)
{
    size_t                    i, k;
    json_t                   *user, *groups, *extra, *values, *v;
    const char               *key, *name;
    ngx_k8s_metrics_extra_t  *e;

    user = json_loadb((char *) text->data, text->len, 0, NULL);
    name = json_string_value(json_object_get(user, "username"));

    if (name == NULL || *name == '\0') {
        json_decref(user);
        return NGX_DECLINED;
    }

    id->user.len = ngx_strlen(name);
    id->user.data = ngx_pnalloc(pool, id->user.len);

    if (id->user.data == NULL) {
        goto failed;
    }

    ngx_memcpy(id->user.data, name, id->user.len);

    if (json_string_value(json_object_get(user, "uid"))) {
        id->uid.len = json_string_length(json_object_get(user, "uid"));
        id->uid.data = ngx_pnalloc(pool, id->uid.len);

        if (id->uid.data == NULL) {
            goto failed;
        }

        ngx_memcpy(id->uid.data,
                   json_string_value(json_object_get(user, "uid")),
                   id->uid.len);
    }

    groups = json_object_get(user, "groups");

    json_array_foreach(groups, i, v) {
        if (ngx_k8s_metrics_push_json_string(pool, &id->groups, v) != NGX_OK) {
            goto failed;
        }
    }

    extra = json_object_get(user, "extra");

    json_object_foreach(extra, key, values) {
        e = ngx_array_push(&id->extra);
        if (e == NULL) {
            goto failed;
        }

        e->key.len = ngx_strlen(key);
        e->key.data = ngx_pnalloc(pool, e->key.len);

        if (e->key.data == NULL
            || ngx_array_init(&e->values, pool, 1, sizeof(ngx_str_t))
               != NGX_OK)
        {
            goto failed;
        }

        ngx_memcpy(e->key.data, key, e->key.len);

        json_array_foreach(values, k, v) {
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
ngx_k8s_metrics_push_json_string(ngx_pool_t *pool, ngx_array_t *a,
    json_t *value)
{
    ngx_str_t  *s;

    if (!json_is_string(value)) {
        return NGX_ERROR;
    }

    s = ngx_array_push(a);
    if (s == NULL) {
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

    ngx_k8s_metrics_cache_expire(kmcf, 0);

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

    return found;
}


static void
ngx_k8s_metrics_cache_put(ngx_k8s_metrics_main_conf_t *kmcf, u_char *digest,
    ngx_uint_t kind, ngx_uint_t allowed, ngx_str_t *data)
{
    size_t                          len;
    ngx_k8s_metrics_review_node_t  *rn;

    len = ngx_min(data->len, NGX_K8S_METRICS_REVIEW_MAX);

    ngx_shmtx_lock(&kmcf->shpool->mutex);

    rn = ngx_slab_alloc_locked(kmcf->shpool,
                               sizeof(ngx_k8s_metrics_review_node_t) + len);

    if (rn == NULL) {
        /* the zone is full: drop every cached answer and try again */
        ngx_k8s_metrics_cache_expire(kmcf, 1);
        rn = ngx_slab_alloc_locked(kmcf->shpool,
                                   sizeof(ngx_k8s_metrics_review_node_t)
                                   + len);
    }

    if (rn) {
        ngx_memcpy(&rn->node.key, digest, sizeof(ngx_rbtree_key_t));
        ngx_memcpy(rn->digest, digest, SHA256_DIGEST_LENGTH);
        rn->expires = ngx_current_msec + NGX_K8S_METRICS_REVIEW_TTL;
        rn->kind = kind;
        rn->allowed = allowed;
        rn->len = len;
        ngx_memcpy(rn->data, data->data, len);

        ngx_rbtree_insert(&kmcf->sh->reviews, &rn->node);
        ngx_queue_insert_head(&kmcf->sh->reviews_queue, &rn->queue);
    }

    ngx_shmtx_unlock(&kmcf->shpool->mutex);
}


/* under the zone's mutex: drops what has expired (or everything) */

static void
ngx_k8s_metrics_cache_expire(ngx_k8s_metrics_main_conf_t *kmcf,
    ngx_uint_t force)
{
    ngx_queue_t                    *q;
    ngx_k8s_metrics_review_node_t  *rn;

    while (!ngx_queue_empty(&kmcf->sh->reviews_queue)) {
        q = ngx_queue_last(&kmcf->sh->reviews_queue);
        rn = ngx_queue_data(q, ngx_k8s_metrics_review_node_t, queue);

        if (!force && (ngx_msec_int_t) (rn->expires - ngx_current_msec) > 0) {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&kmcf->sh->reviews, &rn->node);
        ngx_slab_free_locked(kmcf->shpool, rn);
    }
}


/* the tree's insert: equal keys ordered by the whole digest */

void
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
