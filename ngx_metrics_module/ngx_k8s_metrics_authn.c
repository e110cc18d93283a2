
/*
 * ngx_metrics_module: authentication, as k8s.io/apiserver's delegated
 * authenticator: requestheader (front proxy) -> x509 client certificate ->
 * anonymous.  A presented certificate that no CA store vouches for is an
 * error, never anonymous.
 */


#include "ngx_k8s_metrics.h"


#define NGX_K8S_METRICS_USER_ANONYMOUS       "system:anonymous"
#define NGX_K8S_METRICS_GROUP_UNAUTHENTICATED "system:unauthenticated"
#define NGX_K8S_METRICS_GROUP_AUTHENTICATED  "system:authenticated"


typedef struct {
    X509                       *leaf;
    STACK_OF(X509)             *chain;
    SSL                        *ssl;
    ngx_uint_t                  failures;
} ngx_k8s_metrics_peer_t;


/*
 * What verifying a connection's peer chain against a CA store concluded.
 * The chain cannot change while the connection lives: nginx refuses
 * renegotiation, TLS 1.3 has none, and nginx never asks for a certificate
 * after the handshake.  So a chain that verified stays verified until the
 * earliest notAfter of the chain it was verified with, and one refused
 * stays refused (as nginx's own verification result, fixed at the
 * handshake).  Kept by store id: a CA the ConfigMap replaces is a new
 * store.  The verdicts hang on the SSL object, which the HTTP/2 streams of
 * a connection share, in the pool of its TCP connection, which outlives
 * it.  No free callback: OpenSSL would keep calling it after the module
 * is unloaded by a reload that drops it.  Times are the system clock's,
 * as X509_verify_cert() reads it, not nginx's cached one.
 */

#define NGX_K8S_METRICS_VERDICTS  2

typedef struct {
    ngx_uint_t                  ca;         /* the store's id; 0: none */
    long                        err;        /* X509_V_OK: verified */
    time_t                      until;      /* verified: valid before this */
} ngx_k8s_metrics_verdict_t;


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
static ngx_k8s_metrics_verdict_t *ngx_k8s_metrics_verdict(
    ngx_k8s_metrics_peer_t *peer, ngx_k8s_metrics_ca_t *ca);
static ngx_int_t ngx_k8s_metrics_verify_chain(ngx_http_request_t *r,
    ngx_k8s_metrics_ca_t *ca, ngx_k8s_metrics_peer_t *peer,
    ngx_k8s_metrics_verdict_t *verdict);

static ngx_int_t ngx_k8s_metrics_subject_cn(ngx_pool_t *pool, X509 *cert,
    ngx_str_t *cn);
static ngx_int_t ngx_k8s_metrics_subject_entries(ngx_pool_t *pool, X509 *cert,
    int nid, ngx_array_t *values);
static ngx_int_t ngx_k8s_metrics_entry_value(ngx_pool_t *pool,
    X509_NAME_ENTRY *entry, ngx_str_t *value);
static ngx_int_t ngx_k8s_metrics_read_headers(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_identity_t *id);
static ngx_str_t *ngx_k8s_metrics_first_value(ngx_http_request_t *r,
    ngx_array_t *names);
static ngx_int_t ngx_k8s_metrics_add_extra(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id, ngx_table_elt_t *h, size_t prefix_len);
static ngx_int_t ngx_k8s_metrics_add_group(ngx_pool_t *pool,
    ngx_k8s_metrics_identity_t *id, char *group);
static ngx_int_t ngx_k8s_metrics_identity_init(ngx_pool_t *pool,
    ngx_k8s_metrics_identity_t *id);
#if (NGX_DEBUG)
static void ngx_k8s_metrics_log_identity(ngx_http_request_t *r,
    ngx_k8s_metrics_identity_t *id);
#endif
static int ngx_k8s_metrics_verify_callback(int ok, X509_STORE_CTX *store_ctx);
static void ngx_k8s_metrics_ca_cleanup(void *data);


static int  ngx_k8s_metrics_verdicts_index = -1;


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

        if (kmcf->apiserver_url.len == 0) {
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
 * Verifies the presented chain against one of the module's CA stores, for
 * client authentication, with expiry checked; a verdict of the connection
 * for that store stands while it holds.  Counts a failure: a certificate
 * that no store vouches for ends as 401, never anonymous.
 */

static ngx_int_t
ngx_k8s_metrics_verify_peer(ngx_http_request_t *r, ngx_k8s_metrics_ca_t *ca,
    ngx_k8s_metrics_peer_t *peer, const char *authenticator)
{
    char                        subject[256];
    ngx_k8s_metrics_verdict_t  *verdict, fresh;

    verdict = ngx_k8s_metrics_verdict(peer, ca);

    if (verdict == NULL) {
        ngx_memzero(&fresh, sizeof(ngx_k8s_metrics_verdict_t));
        verdict = &fresh;
    }

    if (verdict->ca != ca->id
        || (verdict->err == X509_V_OK && time(NULL) >= verdict->until))
    {
        verdict->ca = ca->id;

        if (ngx_k8s_metrics_verify_chain(r, ca, peer, verdict) != NGX_OK) {
            verdict->ca = 0;
            return NGX_ERROR;
        }
    }

    if (verdict->err == X509_V_OK) {
        return NGX_OK;
    }

    X509_NAME_oneline(X509_get_subject_name(peer->leaf), subject,
                      sizeof(subject));

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "k8s metrics: %s: client certificate \"%s\" does not "
                  "verify against \"%V\": %s",
                  authenticator, subject, &ca->file,
                  X509_verify_cert_error_string(verdict->err));

    peer->failures++;

    return NGX_DECLINED;
}


/*
 * The connection's verdict for this store, or the slot to write it in (the
 * older verdict goes); NULL when none can be kept: verified every time.
 */

static ngx_k8s_metrics_verdict_t *
ngx_k8s_metrics_verdict(ngx_k8s_metrics_peer_t *peer, ngx_k8s_metrics_ca_t *ca)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_k8s_metrics_verdict_t  *verdicts;

    if (peer->ssl == NULL || ngx_k8s_metrics_verdicts_index == -1) {
        return NULL;
    }

    verdicts = SSL_get_ex_data(peer->ssl, ngx_k8s_metrics_verdicts_index);

    if (verdicts == NULL) {
        c = ngx_ssl_get_connection(peer->ssl);

        verdicts = ngx_pcalloc(c->pool, NGX_K8S_METRICS_VERDICTS
                                        * sizeof(ngx_k8s_metrics_verdict_t));
        if (verdicts == NULL) {
            return NULL;
        }

        if (SSL_set_ex_data(peer->ssl, ngx_k8s_metrics_verdicts_index,
                            verdicts)
            == 0)
        {
            return NULL;
        }
    }

    for (i = 0; i < NGX_K8S_METRICS_VERDICTS; i++) {
        if (verdicts[i].ca == ca->id) {
            return &verdicts[i];
        }
    }

    /* the newest first; the oldest goes */

    ngx_memmove(&verdicts[1], &verdicts[0],
                (NGX_K8S_METRICS_VERDICTS - 1)
                * sizeof(ngx_k8s_metrics_verdict_t));
    verdicts[0].ca = 0;

    return &verdicts[0];
}


/*
 * X509_verify_cert(): the verdict's error, and when it verified, the
 * earliest notAfter of the chain built (leaf to anchor).
 */

static ngx_int_t
ngx_k8s_metrics_verify_chain(ngx_http_request_t *r, ngx_k8s_metrics_ca_t *ca,
    ngx_k8s_metrics_peer_t *peer, ngx_k8s_metrics_verdict_t *verdict)
{
    int              i, days, seconds;
    time_t           now, until;
    STACK_OF(X509)  *chain;
    X509_STORE_CTX  *store_ctx;

    store_ctx = X509_STORE_CTX_new();
    if (store_ctx == NULL) {
        ngx_ssl_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "X509_STORE_CTX_new() failed");
        return NGX_ERROR;
    }

    if (X509_STORE_CTX_init(store_ctx, ca->store, peer->leaf, peer->chain)
        == 0
        || X509_STORE_CTX_set_purpose(store_ctx, X509_PURPOSE_SSL_CLIENT)
           == 0)
    {
        ngx_ssl_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "X509_STORE_CTX_init() failed");
        X509_STORE_CTX_free(store_ctx);
        return NGX_ERROR;
    }

    if (X509_verify_cert(store_ctx) == 1) {
        verdict->err = X509_V_OK;

    } else {
        verdict->err = X509_STORE_CTX_get_error(store_ctx);

        if (verdict->err == X509_V_OK) {
            verdict->err = X509_V_ERR_UNSPECIFIED;
        }
    }

    /* ASN1_TIME_diff() counts from its own time(NULL), at or after now */

    now = time(NULL);
    until = NGX_MAX_TIME_T_VALUE;
    chain = X509_STORE_CTX_get0_chain(store_ctx);

    for (i = 0; verdict->err == X509_V_OK && i < sk_X509_num(chain); i++) {

        if (ASN1_TIME_diff(&days, &seconds, NULL,
                           X509_get0_notAfter(sk_X509_value(chain, i)))
            == 0)
        {
            verdict->err = X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
            break;
        }

        until = ngx_min(until, now + (time_t) days * 86400 + seconds);
    }

    verdict->until = until;

    X509_STORE_CTX_free(store_ctx);
    ERR_clear_error();

    return NGX_OK;
}


/*
 * The subject's CN as Go's pkix.Name reads it, which kube-apiserver uses
 * for the x509 user and the front proxy's allowed names alike: the last CN
 * of the subject ("" without one).  A certificate naming a CN twice is
 * read by the module as the apiserver read it.
 */

static ngx_int_t
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


static ngx_int_t
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


static ngx_int_t
ngx_k8s_metrics_add_group(ngx_pool_t *pool, ngx_k8s_metrics_identity_t *id,
    char *group)
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


static ngx_int_t
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


/*
 * The module verifies every presented chain itself, against the store the
 * request calls for.  nginx's own verification (with no CA under
 * "ssl_verify_client optional_no_ca") must therefore never refuse a request
 * before the module can answer it in Kubernetes' terms: errors it would
 * treat as fatal (expired, wrong purpose, ...) are reported to it as the
 * "optional" unknown-issuer error.  The chain stays unverified for nginx.
 */

ngx_int_t
ngx_k8s_metrics_take_over_client_verify(ngx_ssl_t *ssl)
{
    if (ngx_k8s_metrics_verdicts_index == -1) {
        ngx_k8s_metrics_verdicts_index = SSL_get_ex_new_index(0, NULL, NULL,
                                                              NULL, NULL);
        if (ngx_k8s_metrics_verdicts_index == -1) {
            return NGX_ERROR;
        }
    }

    SSL_CTX_set_verify(ssl->ctx, SSL_CTX_get_verify_mode(ssl->ctx),
                       ngx_k8s_metrics_verify_callback);

    /*
     * A resumed session brings back the client's certificate but not the
     * intermediates it sent: the chain could no longer be verified.  Every
     * connection makes a full handshake (the aggregator, Go's client, does
     * not resume anyway; keep-alive spares the handshakes).
     */

    SSL_CTX_set_session_cache_mode(ssl->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ssl->ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ssl->ctx, 0);

    return NGX_OK;
}


/* a store id unique in this process (ids of the configuration's stores
 * are inherited by the workers, which go on counting) */

ngx_uint_t
ngx_k8s_metrics_ca_id(void)
{
    static ngx_uint_t  last;

    return ++last;
}


static int
ngx_k8s_metrics_verify_callback(int ok, X509_STORE_CTX *store_ctx)
{
    if (!ok) {
        X509_STORE_CTX_set_error(store_ctx,
                                 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    }

    return 1;
}


ngx_k8s_metrics_ca_t *
ngx_k8s_metrics_load_ca(ngx_conf_t *cf, ngx_str_t *file, const char *directive)
{
    BIO                   *bio;
    ngx_uint_t             n;
    X509_INFO             *info;
    ngx_file_info_t        fi;
    ngx_pool_cleanup_t    *cln;
    ngx_k8s_metrics_ca_t  *ca;
    STACK_OF(X509_INFO)   *infos;

    ca = ngx_pcalloc(cf->pool, sizeof(ngx_k8s_metrics_ca_t));
    if (ca == NULL) {
        return NULL;
    }

    ca->file = *file;
    ca->id = ngx_k8s_metrics_ca_id();

    if (ngx_conf_full_name(cf->cycle, &ca->file, 1) != NGX_OK) {
        return NULL;
    }

    if (ngx_file_info(ca->file.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": cannot read CA file \"%V\"",
                           directive, &ca->file);
        return NULL;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": CA file \"%V\" is not a regular file",
                           directive, &ca->file);
        return NULL;
    }

    bio = BIO_new_file((char *) ca->file.data, "r");
    if (bio == NULL) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\": cannot read CA file \"%V\"",
                      directive, &ca->file);
        return NULL;
    }

    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (infos == NULL) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\": CA file \"%V\" is not valid PEM",
                      directive, &ca->file);
        return NULL;
    }

    ca->store = X509_STORE_new();
    if (ca->store == NULL) {
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        X509_STORE_free(ca->store);
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        return NULL;
    }

    cln->handler = ngx_k8s_metrics_ca_cleanup;
    cln->data = ca->store;

    n = 0;

    while (sk_X509_INFO_num(infos)) {
        info = sk_X509_INFO_shift(infos);

        if (info->x509) {
            if (X509_STORE_add_cert(ca->store, info->x509) != 1) {
                ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"%s\": cannot use a certificate of \"%V\"",
                              directive, &ca->file);
                X509_INFO_free(info);
                sk_X509_INFO_pop_free(infos, X509_INFO_free);
                return NULL;
            }

            n++;
        }

        X509_INFO_free(info);
    }

    sk_X509_INFO_free(infos);

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": CA file \"%V\" holds no certificate",
                           directive, &ca->file);
        return NULL;
    }

    return ca;
}


static void
ngx_k8s_metrics_ca_cleanup(void *data)
{
    X509_STORE_free(data);
}
