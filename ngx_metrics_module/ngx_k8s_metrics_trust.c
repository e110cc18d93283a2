
/*
 * ngx_metrics_module: trust.  The module's own CA stores (the client,
 * requestheader, kubelet and apiserver CA files, the ConfigMap's bundles),
 * read by one PEM reader; the verdicts of a connection's client chain
 * against them; nginx's verify callback, taken over so that the module
 * answers every chain in Kubernetes' terms.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_trust.h"


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


static ngx_int_t ngx_k8s_metrics_ca_file(ngx_conf_t *cf, ngx_str_t *file,
    const char *directive, X509_STORE *store);
static ngx_int_t ngx_k8s_metrics_ca_read(BIO *bio, X509_STORE *store,
    ngx_uint_t *n);
static void ngx_k8s_metrics_ca_error(ngx_conf_t *cf, const char *fmt, ...);
static ngx_int_t ngx_k8s_metrics_file_check(ngx_conf_t *cf, const char *peer,
    const char *what, ngx_str_t *file);
static ngx_k8s_metrics_ca_t *ngx_k8s_metrics_ca_create(ngx_pool_t *pool);
static void ngx_k8s_metrics_ca_cleanup(void *data);
static int ngx_k8s_metrics_verify_callback(int ok, X509_STORE_CTX *store_ctx);
static ngx_k8s_metrics_verdict_t *ngx_k8s_metrics_verdict(ngx_ssl_conn_t *ssl,
    ngx_k8s_metrics_ca_t *ca, ngx_log_t *log);
static ngx_int_t ngx_k8s_metrics_verify_chain(X509 *leaf,
    STACK_OF(X509) *chain, ngx_k8s_metrics_ca_t *ca, ngx_log_t *log,
    ngx_k8s_metrics_verdict_t *verdict);


static int  ngx_k8s_metrics_verdicts_index = -1;


/* a directive's CA file, in a store of its own */

ngx_k8s_metrics_ca_t *
ngx_k8s_metrics_ca_load(ngx_conf_t *cf, ngx_str_t *file, const char *directive)
{
    ngx_k8s_metrics_ca_t  *ca;

    ca = ngx_k8s_metrics_ca_create(cf->pool);
    if (ca == NULL) {
        return NULL;
    }

    ca->file = *file;

    if (ngx_k8s_metrics_ca_file(cf, &ca->file, directive, ca->store)
        != NGX_OK)
    {
        return NULL;
    }

    return ca;
}


/*
 * A CA file that only a client library reads (libcurl, for the kubelets
 * and the apiserver): checked as ngx_k8s_metrics_ca_load() would, without
 * a store; *file becomes its full name.
 */

ngx_int_t
ngx_k8s_metrics_ca_check(ngx_conf_t *cf, ngx_str_t *file,
    const char *directive)
{
    return ngx_k8s_metrics_ca_file(cf, file, directive, NULL);
}


static ngx_int_t
ngx_k8s_metrics_ca_file(ngx_conf_t *cf, ngx_str_t *file,
    const char *directive, X509_STORE *store)
{
    BIO              *bio;
    ngx_int_t         rc;
    ngx_uint_t        n;
    ngx_file_info_t   fi;

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_file_info(file->data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": cannot read CA file \"%V\"",
                           directive, file);
        return NGX_ERROR;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": CA file \"%V\" is not a regular file",
                           directive, file);
        return NGX_ERROR;
    }

    bio = BIO_new_file((char *) file->data, "r");
    if (bio == NULL) {
        ngx_k8s_metrics_ca_error(cf, "\"%s\": cannot read CA file \"%V\"",
                                 directive, file);
        return NGX_ERROR;
    }

    rc = ngx_k8s_metrics_ca_read(bio, store, &n);
    BIO_free(bio);

    if (rc == NGX_DECLINED) {
        ngx_k8s_metrics_ca_error(cf, "\"%s\": CA file \"%V\" is not valid PEM",
                                 directive, file);
        return NGX_ERROR;
    }

    if (rc == NGX_ERROR) {
        ngx_k8s_metrics_ca_error(cf,
                                 "\"%s\": cannot use a certificate of \"%V\"",
                                 directive, file);
        return NGX_ERROR;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": CA file \"%V\" holds no certificate",
                           directive, file);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a configuration error with OpenSSL's reason, as ngx_ssl_error() gives it */

static void
ngx_k8s_metrics_ca_error(ngx_conf_t *cf, const char *fmt, ...)
{
    u_char   *p, text[NGX_MAX_CONF_ERRSTR];
    char      reason[256];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(text, text + sizeof(text), fmt, args);
    va_end(args);

    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
    ERR_clear_error();

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s (SSL: %s)", p - text, text,
                       reason);
}


/*
 * A peer's client credentials (PEER: "kubelet", "apiserver"): a certificate
 * and its key go together; each file set is made absolute, null-terminated,
 * and must be readable now.
 */

ngx_int_t
ngx_k8s_metrics_credentials_check(ngx_conf_t *cf, const char *peer,
    ngx_str_t *certificate, ngx_str_t *key, ngx_str_t *token_file)
{
    if ((certificate->len == 0) != (key->len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_%s_client_certificate\" and "
                           "\"k8s_metrics_%s_client_certificate_key\" go "
                           "together: one is missing", peer, peer);
        return NGX_ERROR;
    }

    if (ngx_k8s_metrics_file_check(cf, peer, "client_certificate",
                                   certificate)
        != NGX_OK
        || ngx_k8s_metrics_file_check(cf, peer, "client_certificate_key", key)
           != NGX_OK
        || ngx_k8s_metrics_file_check(cf, peer, "token_file", token_file)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_file_check(ngx_conf_t *cf, const char *peer,
    const char *what, ngx_str_t *file)
{
    if (file->len == 0) {
        return NGX_OK;
    }

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (access((char *) file->data, R_OK) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"k8s_metrics_%s_%s\": cannot read \"%V\"",
                           peer, what, file);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A bundle of the ConfigMap, in a store of its own, named for the log;
 * NULL when it holds no certificate or on no memory.  Certificates before
 * a broken block are taken, as before a clean end.
 */

ngx_k8s_metrics_ca_t *
ngx_k8s_metrics_ca_from_pem(ngx_pool_t *pool, const char *pem,
    ngx_str_t *name)
{
    BIO                   *bio;
    ngx_int_t              rc;
    ngx_uint_t             n;
    ngx_k8s_metrics_ca_t  *ca;

    ca = ngx_k8s_metrics_ca_create(pool);
    if (ca == NULL) {
        return NULL;
    }

    ca->file = *name;

    bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) {
        return NULL;
    }

    rc = ngx_k8s_metrics_ca_read(bio, ca->store, &n);
    BIO_free(bio);
    ERR_clear_error();

    return (rc != NGX_ERROR && n) ? ca : NULL;
}


/* how many certificates a PEM bundle holds (before any broken block) */

ngx_uint_t
ngx_k8s_metrics_pem_certificates(const char *pem)
{
    BIO         *bio;
    ngx_uint_t   n;

    bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) {
        return 0;
    }

    (void) ngx_k8s_metrics_ca_read(bio, NULL, &n);
    BIO_free(bio);
    ERR_clear_error();

    return n;
}


/*
 * The one PEM reader: every certificate of the input, added to the store
 * when one is given (other PEM blocks are skipped).  NGX_OK: the input
 * ended cleanly; NGX_DECLINED: a block does not decode (*n counts those
 * before it); NGX_ERROR: the store refused a certificate.
 */

static ngx_int_t
ngx_k8s_metrics_ca_read(BIO *bio, X509_STORE *store, ngx_uint_t *n)
{
    X509  *cert;

    *n = 0;
    ERR_clear_error();

    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {

        if (store && X509_STORE_add_cert(store, cert) != 1) {
            X509_free(cert);
            return NGX_ERROR;
        }

        X509_free(cert);
        (*n)++;
    }

    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
        return NGX_DECLINED;
    }

    ERR_clear_error();

    return NGX_OK;
}


static ngx_k8s_metrics_ca_t *
ngx_k8s_metrics_ca_create(ngx_pool_t *pool)
{
    ngx_pool_cleanup_t    *cln;
    ngx_k8s_metrics_ca_t  *ca;

    /* a store id unique in this process (ids of the configuration's
     * stores are inherited by the workers, which go on counting) */

    static ngx_uint_t  last_id;

    ca = ngx_pcalloc(pool, sizeof(ngx_k8s_metrics_ca_t));
    if (ca == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ca->store = X509_STORE_new();
    if (ca->store == NULL) {
        return NULL;
    }

    cln->handler = ngx_k8s_metrics_ca_cleanup;
    cln->data = ca->store;

    ca->id = ++last_id;

    return ca;
}


static void
ngx_k8s_metrics_ca_cleanup(void *data)
{
    X509_STORE_free(data);
}


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


static int
ngx_k8s_metrics_verify_callback(int ok, X509_STORE_CTX *store_ctx)
{
    if (!ok) {
        X509_STORE_CTX_set_error(store_ctx,
                                 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    }

    return 1;
}


/*
 * The presented chain against one of the module's CA stores, for client
 * authentication, with expiry checked; the connection's verdict for that
 * store stands while it holds.  NGX_OK: *err says (X509_V_OK: verified);
 * NGX_ERROR: it could not be verified at all.
 */

ngx_int_t
ngx_k8s_metrics_trust_verify(ngx_ssl_conn_t *ssl, X509 *leaf,
    STACK_OF(X509) *chain, ngx_k8s_metrics_ca_t *ca, ngx_log_t *log,
    long *err)
{
    ngx_k8s_metrics_verdict_t  *verdict, fresh;

    verdict = ngx_k8s_metrics_verdict(ssl, ca, log);

    if (verdict == NULL) {
        ngx_memzero(&fresh, sizeof(ngx_k8s_metrics_verdict_t));
        verdict = &fresh;
    }

    if (verdict->ca == ca->id
        && (verdict->err != X509_V_OK || time(NULL) < verdict->until))
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "k8s metrics: verdict cache hit for \"%V\": %s",
                       &ca->file, X509_verify_cert_error_string(verdict->err));

        *err = verdict->err;
        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "k8s metrics: verdict cache miss for \"%V\"%s",
                   &ca->file, verdict->ca == ca->id ? " (expired)" : "");

    verdict->ca = ca->id;

    if (ngx_k8s_metrics_verify_chain(leaf, chain, ca, log, verdict)
        != NGX_OK)
    {
        verdict->ca = 0;
        return NGX_ERROR;
    }

    *err = verdict->err;

    return NGX_OK;
}


/*
 * The connection's verdict for this store, or the slot to write it in (the
 * older verdict goes); NULL when none can be kept: verified every time.
 */

static ngx_k8s_metrics_verdict_t *
ngx_k8s_metrics_verdict(ngx_ssl_conn_t *ssl, ngx_k8s_metrics_ca_t *ca,
    ngx_log_t *log)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_k8s_metrics_verdict_t  *verdicts;

    if (ssl == NULL || ngx_k8s_metrics_verdicts_index == -1) {
        return NULL;
    }

    verdicts = SSL_get_ex_data(ssl, ngx_k8s_metrics_verdicts_index);

    if (verdicts == NULL) {
        c = ngx_ssl_get_connection(ssl);

        verdicts = ngx_pcalloc(c->pool, NGX_K8S_METRICS_VERDICTS
                                        * sizeof(ngx_k8s_metrics_verdict_t));
        if (verdicts == NULL) {
            return NULL;
        }

        if (SSL_set_ex_data(ssl, ngx_k8s_metrics_verdicts_index, verdicts)
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

    if (verdicts[NGX_K8S_METRICS_VERDICTS - 1].ca) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "k8s metrics: verdict cache evicts store %ui",
                       verdicts[NGX_K8S_METRICS_VERDICTS - 1].ca);
    }

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
ngx_k8s_metrics_verify_chain(X509 *leaf, STACK_OF(X509) *chain,
    ngx_k8s_metrics_ca_t *ca, ngx_log_t *log,
    ngx_k8s_metrics_verdict_t *verdict)
{
    int              i, days, seconds;
    time_t           now, until;
    STACK_OF(X509)  *built;
    X509_STORE_CTX  *store_ctx;

    store_ctx = X509_STORE_CTX_new();
    if (store_ctx == NULL) {
        ngx_ssl_error(NGX_LOG_ALERT, log, 0, "X509_STORE_CTX_new() failed");
        return NGX_ERROR;
    }

    if (X509_STORE_CTX_init(store_ctx, ca->store, leaf, chain) == 0
        || X509_STORE_CTX_set_purpose(store_ctx, X509_PURPOSE_SSL_CLIENT)
           == 0)
    {
        ngx_ssl_error(NGX_LOG_ALERT, log, 0, "X509_STORE_CTX_init() failed");
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
    built = X509_STORE_CTX_get0_chain(store_ctx);

    for (i = 0; verdict->err == X509_V_OK && i < sk_X509_num(built); i++) {

        if (ASN1_TIME_diff(&days, &seconds, NULL,
                           X509_get0_notAfter(sk_X509_value(built, i)))
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

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                   "k8s metrics: chain verified against \"%V\": %s, "
                   "kept until %T", &ca->file,
                   X509_verify_cert_error_string(verdict->err), until);

    return NGX_OK;
}
