
/*
 * ngx_metrics_module: identities, as k8s.io/apiserver's user.Info: their
 * groups, their extra keys, and the names a client certificate gives.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_identity.h"


static ngx_int_t ngx_k8s_metrics_entry_value(ngx_pool_t *pool,
    X509_NAME_ENTRY *entry, ngx_str_t *value);


ngx_int_t
ngx_k8s_metrics_identity_init(ngx_pool_t *pool, ngx_k8s_metrics_identity_t *id)
{
    ngx_memzero(id, sizeof(ngx_k8s_metrics_identity_t));

    if (ngx_array_init(&id->groups, pool, 4, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&id->extra, pool, 1,
                          sizeof(ngx_k8s_metrics_extra_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_k8s_metrics_add_group(ngx_pool_t *pool, ngx_k8s_metrics_identity_t *id,
    const char *group)
{
    ngx_str_t  *g;

    if (ngx_k8s_metrics_in_group(id, group)) {
        return NGX_OK;
    }

    g = ngx_array_push(&id->groups);
    if (g == NULL) {
        return NGX_ERROR;
    }

    g->data = (u_char *) group;
    g->len = ngx_strlen(group);

    return NGX_OK;
}


ngx_flag_t
ngx_k8s_metrics_in_group(ngx_k8s_metrics_identity_t *id, const char *group)
{
    size_t       len;
    ngx_str_t   *g;
    ngx_uint_t   i;

    len = ngx_strlen(group);
    g = id->groups.elts;

    for (i = 0; i < id->groups.nelts; i++) {
        if (g[i].len == len && ngx_strncmp(g[i].data, group, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * Kubernetes lower-cases the key, then applies url.PathUnescape(); a key
 * that does not unescape is kept as it was (lower-cased).
 */

ngx_int_t
ngx_k8s_metrics_decode_extra_key(ngx_pool_t *pool, ngx_str_t *raw,
    ngx_str_t *key)
{
    u_char      *p;
    ngx_int_t    hi, lo;
    ngx_uint_t   i;

    key->data = ngx_pnalloc(pool, raw->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(key->data, raw->data, raw->len);

    p = key->data;

    for (i = 0; i < raw->len; i++) {
        if (key->data[i] != '%') {
            *p++ = key->data[i];
            continue;
        }

        hi = (i + 2 < raw->len) ? ngx_hextoi(&key->data[i + 1], 1) : -1;
        lo = (i + 2 < raw->len) ? ngx_hextoi(&key->data[i + 2], 1) : -1;

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            /* invalid escape: the whole key stays as it was */
            key->len = raw->len;
            ngx_strlow(key->data, raw->data, raw->len);
            return NGX_OK;
        }

        *p++ = (u_char) (hi * 16 + lo);
        i += 2;
    }

    key->len = p - key->data;

    return NGX_OK;
}


/*
 * The subject's CN as Go's pkix.Name reads it, which kube-apiserver uses
 * for the x509 user and the front proxy's allowed names alike: the last CN
 * of the subject ("" without one).  A certificate naming a CN twice is
 * read by the module as the apiserver read it.
 */

ngx_int_t
ngx_k8s_metrics_subject_cn(ngx_pool_t *pool, X509 *cert, ngx_str_t *cn)
{
    int         i, last;
    X509_NAME  *name;

    name = X509_get_subject_name(cert);
    last = -1;

    while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, last)) >= 0) {
        last = i;
    }

    if (last < 0) {
        ngx_str_set(cn, "");
        return NGX_OK;
    }

    return ngx_k8s_metrics_entry_value(pool, X509_NAME_get_entry(name, last),
                                       cn);
}


ngx_int_t
ngx_k8s_metrics_subject_entries(ngx_pool_t *pool, X509 *cert, int nid,
    ngx_array_t *values)
{
    int         i;
    ngx_str_t  *value;
    X509_NAME  *name;

    name = X509_get_subject_name(cert);
    i = -1;

    for ( ;; ) {
        i = X509_NAME_get_index_by_NID(name, nid, i);
        if (i < 0) {
            return NGX_OK;
        }

        value = ngx_array_push(values);
        if (value == NULL) {
            return NGX_ERROR;
        }

        if (ngx_k8s_metrics_entry_value(pool, X509_NAME_get_entry(name, i),
                                        value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }
}


/* an entry's value, in UTF-8, copied into the pool */

static ngx_int_t
ngx_k8s_metrics_entry_value(ngx_pool_t *pool, X509_NAME_ENTRY *entry,
    ngx_str_t *value)
{
    int      len;
    u_char  *utf8;

    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) {
        return NGX_ERROR;
    }

    value->len = len;
    value->data = ngx_pnalloc(pool, len);

    if (value->data == NULL) {
        OPENSSL_free(utf8);
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, utf8, len);
    OPENSSL_free(utf8);

    return NGX_OK;
}
