
/*
 * ngx_metrics_module: the kubelets' credentials and TLS: the rotating
 * bearer token, the client certificate parsed once, each connection's TLS
 * context, and the certificate a kubelet presented, for the log.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_scrape.h"


static ngx_int_t ngx_k8s_metrics_scrape_load_cert(
    ngx_k8s_metrics_scraper_t *s);
static int ngx_k8s_metrics_scrape_no_password(char *buf, int size, int rwflag,
    void *data);
static int ngx_k8s_metrics_scrape_verify(int ok, X509_STORE_CTX *store_ctx);


int  ngx_k8s_metrics_ssl_ctx_index = -1;


/*
 * A bearer token for the kubelets, re-read when the file changes:
 * projected service-account tokens rotate.
 */

ngx_int_t
ngx_k8s_metrics_scrape_token(ngx_k8s_metrics_scraper_t *s)
{
    ngx_int_t                     rc;
    struct curl_slist            *headers;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = s->kmcf;

    if (kmcf->kubelet.token_file.len == 0) {
        return NGX_OK;
    }

    rc = ngx_k8s_metrics_token_read(&kmcf->kubelet.token_file,
                                    "k8s_metrics_kubelet_token_file",
                                    &s->token_mtime, &s->token, s->log);
    if (rc != NGX_OK) {
        return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
    }

    headers = curl_slist_append(NULL, s->token);
    if (headers == NULL) {
        s->token_mtime = 0;     /* read again next cycle */
        return NGX_ERROR;
    }

    if (s->headers) {
        curl_slist_free_all(s->headers);
    }

    s->headers = headers;

    return NGX_OK;
}


/*
 * The TLS context libcurl 7.88 makes for each new connection: the client
 * certificate by reference, and, with verification, a callback that
 * records the subject and SANs of the certificate a kubelet presents, so
 * a verification failure can say what was presented.
 */

CURLcode
ngx_k8s_metrics_scrape_ssl_ctx(CURL *easy, void *ssl_ctx, void *data)
{
    ngx_k8s_metrics_kubelet_t *k = data;

    ngx_k8s_metrics_scraper_t  *s;

    s = k->scraper;

    SSL_CTX_set_ex_data(ssl_ctx, ngx_k8s_metrics_ssl_ctx_index, data);

    if (s->kmcf->kubelet.certificate.len) {
        ngx_k8s_metrics_scrape_client_cert(s);

        if (s->key
            && (SSL_CTX_use_certificate(ssl_ctx, s->cert) != 1
                || SSL_CTX_set1_chain(ssl_ctx, s->chain) != 1
                || SSL_CTX_use_PrivateKey(ssl_ctx, s->key) != 1))
        {
            ngx_ssl_error(NGX_LOG_ALERT, s->log, 0,
                          "k8s metrics: cannot use the kubelet client "
                          "certificate");
            return CURLE_SSL_CERTPROBLEM;
        }
    }

    if (!s->kmcf->kubelet.insecure_tls) {
        SSL_CTX_set_verify(ssl_ctx, SSL_CTX_get_verify_mode(ssl_ctx),
                           ngx_k8s_metrics_scrape_verify);
    }

    return CURLE_OK;
}


/*
 * The kubelet client certificate and key, parsed once and given by
 * reference to every connection's TLS context: parsed by libcurl from the
 * files, they were a copy per kept-alive kubelet (about 7 KiB each,
 * bench/analysis.md).  As libcurl read the files at every connection,
 * they are read again when either file changes (mtime or inode: a
 * Secret's volume swaps a symlink); a pair that cannot be read or does not
 * match keeps the previous one, as a rotating token does.
 */

void
ngx_k8s_metrics_scrape_client_cert(ngx_k8s_metrics_scraper_t *s)
{
    ngx_file_info_t   cfi, kfi;

    if (ngx_file_info(s->kmcf->kubelet.certificate.data, &cfi)
        == NGX_FILE_ERROR
        || ngx_file_info(s->kmcf->kubelet.certificate_key.data, &kfi)
           == NGX_FILE_ERROR)
    {
        return;
    }

    if (ngx_file_mtime(&cfi) == s->cert_mtime
        && ngx_file_mtime(&kfi) == s->key_mtime
        && ngx_file_uniq(&cfi) == s->cert_uniq
        && ngx_file_uniq(&kfi) == s->key_uniq)
    {
        return;
    }

    /* tried once per change of the files: a failure is logged once */

    s->cert_mtime = ngx_file_mtime(&cfi);
    s->key_mtime = ngx_file_mtime(&kfi);
    s->cert_uniq = ngx_file_uniq(&cfi);
    s->key_uniq = ngx_file_uniq(&kfi);

    if (ngx_k8s_metrics_scrape_load_cert(s) != NGX_OK) {
        ngx_ssl_error(NGX_LOG_ERR, s->log, 0,
                      "k8s metrics: cannot load k8s_metrics_kubelet_client_"
                      "certificate \"%V\" with its key \"%V\"%s",
                      &s->kmcf->kubelet.certificate,
                      &s->kmcf->kubelet.certificate_key,
                      s->key ? ", the previous one is kept" : "");
    }
}


static ngx_int_t
ngx_k8s_metrics_scrape_load_cert(ngx_k8s_metrics_scraper_t *s)
{
    BIO             *bio;
    X509            *cert, *x;
    EVP_PKEY        *key;
    STACK_OF(X509)  *chain;

    key = NULL;
    chain = NULL;

    bio = BIO_new_file((char *) s->kmcf->kubelet.certificate.data, "r");
    if (bio == NULL) {
        return NGX_ERROR;
    }

    /* as SSL_CTX_use_certificate_chain_file(): the leaf, then its chain */

    cert = PEM_read_bio_X509_AUX(bio, NULL,
                                 ngx_k8s_metrics_scrape_no_password, NULL);
    if (cert == NULL) {
        goto failed;
    }

    chain = sk_X509_new_null();
    if (chain == NULL) {
        goto failed;
    }

    for ( ;; ) {
        x = PEM_read_bio_X509(bio, NULL,
                              ngx_k8s_metrics_scrape_no_password, NULL);
        if (x == NULL) {
            if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
                goto failed;
            }

            ERR_clear_error();
            break;
        }

        if (sk_X509_push(chain, x) == 0) {
            X509_free(x);
            goto failed;
        }
    }

    BIO_free(bio);

    bio = BIO_new_file((char *) s->kmcf->kubelet.certificate_key.data, "r");
    if (bio == NULL) {
        goto failed;
    }

    key = PEM_read_bio_PrivateKey(bio, NULL,
                                  ngx_k8s_metrics_scrape_no_password, NULL);

    if (key == NULL || X509_check_private_key(cert, key) != 1) {
        goto failed;
    }

    BIO_free(bio);

    if (s->key) {
        X509_free(s->cert);
        sk_X509_pop_free(s->chain, X509_free);
        EVP_PKEY_free(s->key);
    }

    s->cert = cert;
    s->chain = chain;
    s->key = key;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, s->log, 0,
                   "k8s metrics: kubelet client certificate read from \"%V\"",
                   &s->kmcf->kubelet.certificate);

    return NGX_OK;

failed:

    if (bio) {
        BIO_free(bio);
    }

    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);

    return NGX_ERROR;
}


/* an encrypted key is refused, as libcurl did without a passphrase */

static int
ngx_k8s_metrics_scrape_no_password(char *buf, int size, int rwflag,
    void *data)
{
    return 0;
}


static int
ngx_k8s_metrics_scrape_verify(int ok, X509_STORE_CTX *store_ctx)
{
    int                         i, n;
    SSL                        *ssl;
    X509                       *cert;
    u_char                     *p, *last;
    GENERAL_NAME               *gn;
    GENERAL_NAMES              *names;
    ngx_k8s_metrics_kubelet_t  *k;
    char                        subject[256];

    if (X509_STORE_CTX_get_error_depth(store_ctx) != 0) {
        return ok;
    }

    ssl = X509_STORE_CTX_get_ex_data(store_ctx,
                                     SSL_get_ex_data_X509_STORE_CTX_idx());
    k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                            ngx_k8s_metrics_ssl_ctx_index);
    cert = X509_STORE_CTX_get_current_cert(store_ctx);

    if (k == NULL || cert == NULL) {
        return ok;
    }

    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));

    p = (u_char *) k->peer;
    last = p + sizeof(k->peer) - 1;

    p = ngx_slprintf(p, last, "\"%s\"", subject);

    names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);

    if (names) {
        n = sk_GENERAL_NAME_num(names);
        p = ngx_slprintf(p, last, " with SANs");

        for (i = 0; i < n; i++) {
            gn = sk_GENERAL_NAME_value(names, i);

            if (gn->type == GEN_DNS) {
                p = ngx_slprintf(p, last, " DNS:%*s",
                                 (size_t) ASN1_STRING_length(gn->d.dNSName),
                                 ASN1_STRING_get0_data(gn->d.dNSName));

            } else if (gn->type == GEN_IPADD
                       && ASN1_STRING_length(gn->d.iPAddress) == 4)
            {
                const u_char *a = ASN1_STRING_get0_data(gn->d.iPAddress);
                p = ngx_slprintf(p, last, " IP:%ud.%ud.%ud.%ud",
                                 a[0], a[1], a[2], a[3]);
            }
        }

        GENERAL_NAMES_free(names);

    } else {
        p = ngx_slprintf(p, last, " without SANs");
    }

    *p = '\0';

    return ok;
}
