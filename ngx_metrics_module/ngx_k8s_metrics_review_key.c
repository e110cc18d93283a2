
/*
 * ngx_metrics_module: the SubjectAccessReview a request asks, and its
 * cache key: the spec as kube-apiserver gets it (each byte that is not
 * UTF-8 as U+FFFD, extra keys that become the same merged), and the
 * SHA-256 of its JSON with the keys sorted.  No nginx runtime beyond a
 * pool (t/unit/test_review_key.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_review_key.h"
#include "ngx_k8s_metrics_utf8.h"

#include <jansson.h>
#include <openssl/sha.h>


static json_t *ngx_k8s_metrics_review_user(ngx_pool_t *pool,
    ngx_k8s_metrics_identity_t *id);
static json_t *ngx_k8s_metrics_review_attributes(ngx_pool_t *pool,
    ngx_k8s_metrics_request_info_t *info);
static ngx_int_t ngx_k8s_metrics_review_set(ngx_pool_t *pool,
    json_t *object, const char *key, ngx_str_t *value);
static ngx_int_t ngx_k8s_metrics_review_append(ngx_pool_t *pool,
    json_t *array, ngx_array_t *values);
static json_t *ngx_k8s_metrics_review_string(ngx_pool_t *pool,
    ngx_str_t *s);


/*
 * The spec of the review of a request by an identity (a new reference,
 * NULL on no memory), and in digest (SHA256_DIGEST_LENGTH bytes) its cache
 * key: the whole spec, keys sorted, as the apiserver gets it (identities
 * that differ only in bytes that are not UTF-8 ask the same review, and
 * share its answer).
 */

json_t *
ngx_k8s_metrics_review_spec(ngx_pool_t *pool, ngx_k8s_metrics_identity_t *id,
    ngx_k8s_metrics_request_info_t *info, u_char *digest)
{
    char    *canonical;
    json_t  *spec, *attributes;

    spec = ngx_k8s_metrics_review_user(pool, id);
    if (spec == NULL) {
        return NULL;
    }

    attributes = ngx_k8s_metrics_review_attributes(pool, info);

    if (attributes == NULL || json_object_update_new(spec, attributes) != 0) {
        json_decref(spec);
        return NULL;
    }

    canonical = json_dumps(spec, JSON_COMPACT|JSON_SORT_KEYS);
    if (canonical == NULL) {
        json_decref(spec);
        return NULL;
    }

    SHA256((u_char *) canonical, ngx_strlen(canonical), digest);
    free(canonical);

    return spec;
}


/*
 * The "user", "groups", "extra", "uid" of a SubjectAccessReviewSpec.  Each
 * byte that is not UTF-8 is U+FFFD, as Go's encoding/json writes it
 * (kube-apiserver's aggregator passes the bytes it has); extra keys that
 * become the same keep all their values.
 */

static json_t *
ngx_k8s_metrics_review_user(ngx_pool_t *pool, ngx_k8s_metrics_identity_t *id)
{
    json_t                   *spec, *groups, *extra, *values;
    ngx_str_t                 key;
    ngx_uint_t                i;
    ngx_k8s_metrics_extra_t  *e;

    spec = json_object();
    if (spec == NULL) {
        return NULL;
    }

    if (ngx_k8s_metrics_review_set(pool, spec, "user", &id->user) != NGX_OK) {
        goto failed;
    }

    groups = json_array();

    if (json_object_set_new(spec, "groups", groups) != 0
        || ngx_k8s_metrics_review_append(pool, groups, &id->groups) != NGX_OK)
    {
        goto failed;
    }

    if (id->extra.nelts) {
        extra = json_object();

        if (json_object_set_new(spec, "extra", extra) != 0) {
            goto failed;
        }

        e = id->extra.elts;

        for (i = 0; i < id->extra.nelts; i++) {
            if (ngx_k8s_metrics_utf8_replace(pool, &e[i].key, &key)
                == NGX_ERROR)
            {
                goto failed;
            }

            values = json_object_getn(extra, (char *) key.data, key.len);

            if (values == NULL) {
                values = json_array();

                if (json_object_setn_new(extra, (char *) key.data, key.len,
                                         values)
                    != 0)
                {
                    goto failed;
                }
            }

            if (ngx_k8s_metrics_review_append(pool, values, &e[i].values)
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    if (id->uid.len
        && ngx_k8s_metrics_review_set(pool, spec, "uid", &id->uid) != NGX_OK)
    {
        goto failed;
    }

    return spec;

failed:

    json_decref(spec);

    return NULL;
}


/* the request's resource attributes, or non-resource ones */

static json_t *
ngx_k8s_metrics_review_attributes(ngx_pool_t *pool,
    ngx_k8s_metrics_request_info_t *info)
{
    json_t     *attrs, *wrap;
    ngx_str_t   group, version;

    attrs = json_object();
    if (attrs == NULL) {
        return NULL;
    }

    wrap = json_object();

    if (!info->resource_request) {
        if (json_object_set_new(wrap, "nonResourceAttributes", attrs) != 0
            || ngx_k8s_metrics_review_set(pool, attrs, "path", &info->path)
               != NGX_OK
            || ngx_k8s_metrics_review_set(pool, attrs, "verb", &info->verb)
               != NGX_OK)
        {
            json_decref(wrap);
            return NULL;
        }

        return wrap;
    }

    ngx_str_set(&group, NGX_K8S_METRICS_GROUP);
    ngx_str_set(&version, NGX_K8S_METRICS_VERSION);

    if (json_object_set_new(wrap, "resourceAttributes", attrs) != 0
        || ngx_k8s_metrics_review_set(pool, attrs, "verb", &info->verb)
           != NGX_OK
        || ngx_k8s_metrics_review_set(pool, attrs, "group", &group) != NGX_OK
        || ngx_k8s_metrics_review_set(pool, attrs, "version", &version)
           != NGX_OK
        || ngx_k8s_metrics_review_set(pool, attrs, "resource",
                                      &info->resource)
           != NGX_OK
        || (info->namespace.len
            && ngx_k8s_metrics_review_set(pool, attrs, "namespace",
                                          &info->namespace)
               != NGX_OK)
        || (info->name.len
            && ngx_k8s_metrics_review_set(pool, attrs, "name", &info->name)
               != NGX_OK))
    {
        json_decref(wrap);
        return NULL;
    }

    return wrap;
}


static ngx_int_t
ngx_k8s_metrics_review_set(ngx_pool_t *pool, json_t *object, const char *key,
    ngx_str_t *value)
{
    if (json_object_set_new(object, key,
                            ngx_k8s_metrics_review_string(pool, value))
        != 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_review_append(ngx_pool_t *pool, json_t *array,
    ngx_array_t *values)
{
    ngx_str_t   *v;
    ngx_uint_t   i;

    v = values->elts;

    for (i = 0; i < values->nelts; i++) {
        if (json_array_append_new(array,
                                  ngx_k8s_metrics_review_string(pool, &v[i]))
            != 0)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static json_t *
ngx_k8s_metrics_review_string(ngx_pool_t *pool, ngx_str_t *s)
{
    ngx_str_t  valid;

    if (ngx_k8s_metrics_utf8_replace(pool, s, &valid) == NGX_ERROR) {
        return NULL;
    }

    return json_stringn_nocheck((char *) valid.data, valid.len);
}
