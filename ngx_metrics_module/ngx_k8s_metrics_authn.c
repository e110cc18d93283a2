
/*
 * ngx_metrics_module: authentication, as k8s.io/apiserver's delegated
 * authenticator: requestheader (front proxy) -> x509 client certificate ->
 * anonymous.  A presented certificate that no CA store vouches for is an
 * error, never anonymous.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_trust.h"


#define NGX_K8S_METRICS_USER_ANONYMOUS       "system:anonymous"
#define NGX_K8S_METRICS_GROUP_UNAUTHENTICATED "system:unauthenticated"
#define NGX_K8S_METRICS_GROUP_AUTHENTICATED  "system:authenticated"


typedef struct {
    X509                       *leaf;
    STACK_OF(X509)             *chain;
    SSL                        *ssl;
    ngx_uint_t                  failures;
} ngx_k8s_metrics_peer_t;


static ngx_int_t ngx_k8s_metrics_authenticated(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id);
static ngx_flag_t ngx_k8s_metrics_bearer_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_k8s_metrics_authn_requestheader(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_peer_t *peer,
    ngx_k8s_metrics_identity_t *id);
static ngx_int_t ngx_k8s_metrics_authn_x509(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_peer_t *peer,
    ngx_k8s_metrics_identity_t *id);
static ngx_int_t ngx_k8s_metrics_verified_cn(ngx_http_request_t *r,
    ngx_k8s_metrics_ca_t *ca, ngx_k8s_metrics_peer_t *peer,
    const char *authenticator, ngx_str_t *cn);
static ngx_int_t ngx_k8s_metrics_verify_peer(ngx_http_request_t *r,
    ngx_k8s_metrics_ca_t *ca, ngx_k8s_metrics_peer_t *peer,
    const char *authenticator);
static ngx_int_t ngx_k8s_metrics_read_headers(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_identity_t *id);
static ngx_str_t *ngx_k8s_metrics_first_value(ngx_http_request_t *r,
    ngx_array_t *names);
static ngx_int_t ngx_k8s_metrics_add_extra(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id, ngx_table_elt_t *h, size_t prefix_len);
#if (NGX_DEBUG)
static void ngx_k8s_metrics_log_identity(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id);
#endif


/*
 * NGX_OK: authenticated (or anonymous); NGX_DECLINED: 401; NGX_AGAIN: a
 * TokenReview was asked, the request resumes with its answer and comes
 * back here.
 */

ngx_int_t
ngx_k8s_metrics_authenticate(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_str_t                     token;
    ngx_k8s_metrics_peer_t        peer;
    ngx_k8s_metrics_identity_t   *id;
    ngx_k8s_metrics_loc_conf_t    effective;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    id = &ctx->identity;

    if (klcf->authentication_configmap) {
        effective = *klcf;
        ngx_k8s_metrics_authconfig_apply(r, &effective);
        klcf = &effective;
    }

    if (ngx_k8s_metrics_identity_init(r->pool, id) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&peer, sizeof(ngx_k8s_metrics_peer_t));

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        peer.ssl = r->connection->ssl->connection;
        peer.leaf = SSL_get_peer_certificate(peer.ssl);
        peer.chain = SSL_get_peer_cert_chain(peer.ssl);
    }
#endif

    if (peer.leaf) {
        rc = ngx_k8s_metrics_authn_requestheader(r, klcf, &peer, id);

        if (rc == NGX_DECLINED) {
            rc = ngx_k8s_metrics_authn_x509(r, klcf, &peer, id);
        }

        X509_free(peer.leaf);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            return ngx_k8s_metrics_authenticated(r, id);
        }

        /* a certificate no store vouches for: a token may still do */

        if (ngx_k8s_metrics_identity_init(r->pool, id) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_k8s_metrics_bearer_token(r, &token)) {
        kmcf = ngx_http_get_module_main_conf(r, ngx_http_k8s_metrics_module);

        if (kmcf->apiserver.url.len == 0) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "k8s metrics: bearer token refused: no "
                          "k8s_metrics_apiserver for TokenReviews");
            return NGX_DECLINED;
        }

        rc = ngx_k8s_metrics_review_token(r, ctx, &token);

        if (rc == NGX_OK) {
            return ngx_k8s_metrics_authenticated(r, id);
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "k8s metrics: bearer token not authenticated by "
                          "the TokenReview");
        }

        return rc;
    }

    if (peer.failures) {
        return NGX_DECLINED;
    }

    if (!klcf->anonymous) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "k8s metrics: request without credentials refused "
                      "(k8s_metrics_anonymous off)");
        return NGX_DECLINED;
    }

    id->authenticator = NGX_K8S_METRICS_AUTHN_ANONYMOUS;
    ngx_str_set(&id->user, NGX_K8S_METRICS_USER_ANONYMOUS);

    return ngx_k8s_metrics_add_group(r->pool, id,
                                     NGX_K8S_METRICS_GROUP_UNAUTHENTICATED);
}


static ngx_int_t
ngx_k8s_metrics_authenticated(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id)
{
    if (ngx_k8s_metrics_add_group(r->pool, id,
                                  NGX_K8S_METRICS_GROUP_AUTHENTICATED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

#if (NGX_DEBUG)
    ngx_k8s_metrics_log_identity(r, id);
#endif

    return NGX_OK;
}


/* "Authorization: Bearer TOKEN", the scheme case-insensitive */

static ngx_flag_t
ngx_k8s_metrics_bearer_token(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char     *p, *last;
    ngx_str_t  *value;

    if (r->headers_in.authorization == NULL) {
        return 0;
    }

    value = &r->headers_in.authorization->value;

    if (value->len <= sizeof("Bearer ") - 1
        || ngx_strncasecmp(value->data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) != 0)
    {
        return 0;
    }

    p = value->data + sizeof("Bearer ") - 1;
    last = value->data + value->len;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        return 0;
    }

    token->data = p;
    token->len = last - p;

    return 1;
}


/*
 * The front proxy: the chain must verify against the requestheader CA and
 * the CN be allowed; only then are the X-Remote-* headers believed.
 * NGX_DECLINED passes the request on to the next authenticator.
 */

static ngx_int_t
ngx_k8s_metrics_authn_requestheader(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_peer_t *peer,
    ngx_k8s_metrics_identity_t *id)
{
    ngx_int_t    rc;
    ngx_str_t    cn, *name;
    ngx_uint_t   i;

    if (klcf->requestheader_ca == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_k8s_metrics_verified_cn(r, klcf->requestheader_ca, peer,
                                     "requestheader", &cn);
    if (rc != NGX_OK) {
        return rc;
    }

    if (klcf->allowed_names) {
        name = klcf->allowed_names->elts;

        for (i = 0; i < klcf->allowed_names->nelts; i++) {
            if (name[i].len == cn.len
                && ngx_memcmp(name[i].data, cn.data, cn.len) == 0)
            {
                break;
            }
        }

        if (i == klcf->allowed_names->nelts) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "k8s metrics: front-proxy certificate \"CN=%V\" is "
                          "not in k8s_metrics_requestheader_allowed_names",
                          &cn);
            peer->failures++;
            return NGX_DECLINED;
        }
    }

    rc = ngx_k8s_metrics_read_headers(r, klcf, id);
    if (rc != NGX_OK) {
        return rc;
    }

    id->authenticator = NGX_K8S_METRICS_AUTHN_REQUESTHEADER;

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_authn_x509(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_peer_t *peer,
    ngx_k8s_metrics_identity_t *id)
{
    ngx_int_t  rc;
    ngx_str_t  cn;

    if (klcf->client_ca == NULL) {
        if (klcf->requestheader_ca == NULL) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "k8s metrics: client certificate refused: "
                          "no k8s_metrics_client_ca is configured");
            peer->failures++;
        }

        return NGX_DECLINED;
    }

    rc = ngx_k8s_metrics_verified_cn(r, klcf->client_ca, peer, "x509", &cn);
    if (rc != NGX_OK) {
        return rc;
    }

    /* as Kubernetes' CommonNameUserConversion: no CN, no user */

    if (cn.len == 0) {
        return NGX_DECLINED;
    }

    id->user = cn;
    id->authenticator = NGX_K8S_METRICS_AUTHN_X509;

    return ngx_k8s_metrics_subject_entries(r->pool, peer->leaf,
                                           NID_organizationName, &id->groups);
}


/* the CN of a certificate that verified against the store */

static ngx_int_t
ngx_k8s_metrics_verified_cn(ngx_http_request_t *r, ngx_k8s_metrics_ca_t *ca,
    ngx_k8s_metrics_peer_t *peer, const char *authenticator, ngx_str_t *cn)
{
    ngx_int_t  rc;

    rc = ngx_k8s_metrics_verify_peer(r, ca, peer, authenticator);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_k8s_metrics_subject_cn(r->pool, peer->leaf, cn);
}


/*
 * The presented chain against one of the module's CA stores (trust.c).
 * Counts a failure: a certificate that no store vouches for ends as 401,
 * never anonymous.
 */

static ngx_int_t
ngx_k8s_metrics_verify_peer(ngx_http_request_t *r, ngx_k8s_metrics_ca_t *ca,
    ngx_k8s_metrics_peer_t *peer, const char *authenticator)
{
    char  subject[256];
    long  err;

    if (ngx_k8s_metrics_trust_verify(peer->ssl, peer->leaf, peer->chain, ca,
                                     r->connection->log, &err)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (err == X509_V_OK) {
        return NGX_OK;
    }

    X509_NAME_oneline(X509_get_subject_name(peer->leaf), subject,
                      sizeof(subject));

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "k8s metrics: %s: client certificate \"%s\" does not "
                  "verify against \"%V\": %s",
                  authenticator, subject, &ca->file,
                  X509_verify_cert_error_string(err));

    peer->failures++;

    return NGX_DECLINED;
}


/*
 * user: the first non-empty username header; groups: every non-empty value
 * of every group header; extra: every header under a prefix, its key
 * lower-cased then percent-decoded; uid: the first non-empty uid header.
 * A verified proxy that names no user passes the request on.
 */

static ngx_int_t
ngx_k8s_metrics_read_headers(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_identity_t *id)
{
    ngx_str_t        *user, *uid, *name, *group;
    ngx_uint_t        i, n, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    user = ngx_k8s_metrics_first_value(r, klcf->username_headers);
    if (user == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "k8s metrics: requestheader: verified front-proxy "
                      "certificate but no username header");
        return NGX_DECLINED;
    }

    id->user = *user;

    uid = ngx_k8s_metrics_first_value(r, klcf->uid_headers);
    if (uid) {
        id->uid = *uid;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        name = klcf->group_headers->elts;

        for (n = 0; n < klcf->group_headers->nelts; n++) {
            if (h[i].key.len == name[n].len
                && h[i].value.len
                && ngx_strncasecmp(h[i].key.data, name[n].data, name[n].len)
                   == 0)
            {
                group = ngx_array_push(&id->groups);
                if (group == NULL) {
                    return NGX_ERROR;
                }

                *group = h[i].value;
            }
        }

        name = klcf->extra_prefixes->elts;

        for (k = 0; k < klcf->extra_prefixes->nelts; k++) {
            if (h[i].key.len > name[k].len
                && ngx_strncasecmp(h[i].key.data, name[k].data, name[k].len)
                   == 0)
            {
                if (ngx_k8s_metrics_add_extra(r, id, &h[i], name[k].len)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                break;
            }
        }
    }

    return NGX_OK;
}


/* the first non-empty value, taking the names in order, as net/http's Get */

static ngx_str_t *
ngx_k8s_metrics_first_value(ngx_http_request_t *r, ngx_array_t *names)
{
    ngx_str_t        *name;
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (names == NULL) {
        return NULL;
    }

    name = names->elts;

    for (n = 0; n < names->nelts; n++) {

        part = &r->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].key.len == name[n].len
                && ngx_strncasecmp(h[i].key.data, name[n].data, name[n].len)
                   == 0)
            {
                /* only the first occurrence counts, as Header.Get() */

                if (h[i].value.len) {
                    return &h[i].value;
                }

                break;
            }
        }
    }

    return NULL;
}


static ngx_int_t
ngx_k8s_metrics_add_extra(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id, ngx_table_elt_t *h, size_t prefix_len)
{
    ngx_str_t                raw, key, *value;
    ngx_uint_t               i;
    ngx_k8s_metrics_extra_t *extra;

    raw.data = h->key.data + prefix_len;
    raw.len = h->key.len - prefix_len;

    if (ngx_k8s_metrics_decode_extra_key(r->pool, &raw, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    extra = id->extra.elts;

    for (i = 0; i < id->extra.nelts; i++) {
        if (extra[i].key.len == key.len
            && ngx_strncmp(extra[i].key.data, key.data, key.len) == 0)
        {
            break;
        }
    }

    if (i == id->extra.nelts) {
        extra = ngx_array_push(&id->extra);
        if (extra == NULL) {
            return NGX_ERROR;
        }

        extra->key = key;

        if (ngx_array_init(&extra->values, r->pool, 1, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        extra = &extra[i];
    }

    value = ngx_array_push(&extra->values);
    if (value == NULL) {
        return NGX_ERROR;
    }

    *value = h->value;

    return NGX_OK;
}


#if (NGX_DEBUG)

static void
ngx_k8s_metrics_log_identity(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id)
{
    u_char                   *p, *last, buf[NGX_MAX_ERROR_STR];
    ngx_str_t                *v;
    ngx_uint_t                i, k;
    ngx_k8s_metrics_extra_t  *extra;

    if (!(r->connection->log->log_level & NGX_LOG_DEBUG_HTTP)) {
        return;
    }

    p = buf;
    last = buf + sizeof(buf);
    v = id->groups.elts;

    for (i = 0; i < id->groups.nelts; i++) {
        p = ngx_slprintf(p, last, "%s\"%V\"", i ? "," : "", &v[i]);
    }

    p = ngx_slprintf(p, last, " extra:");
    extra = id->extra.elts;

    for (i = 0; i < id->extra.nelts; i++) {
        p = ngx_slprintf(p, last, " \"%V\"=[", &extra[i].key);
        v = extra[i].values.elts;

        for (k = 0; k < extra[i].values.nelts; k++) {
            p = ngx_slprintf(p, last, "%s\"%V\"", k ? "," : "", &v[k]);
        }

        p = ngx_slprintf(p, last, "]");
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "k8s metrics: user \"%V\" uid \"%V\" groups: %*s",
                   &id->user, &id->uid, p - buf, buf);
}

#endif
