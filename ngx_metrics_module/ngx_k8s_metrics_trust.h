
/*
 * Trust (ngx_k8s_metrics_trust.c): the module's own CA stores, from a file
 * or from PEM in memory, and the verdicts of a connection's client chain
 * against them.
 */


#ifndef _NGX_K8S_METRICS_TRUST_H_INCLUDED_
#define _NGX_K8S_METRICS_TRUST_H_INCLUDED_


#include "ngx_k8s_metrics.h"


/*
 * A CA store of the module's own, never merged with nginx's.  The id is
 * unique among the stores of a process: a connection's verdicts are kept
 * by it.
 */
struct ngx_k8s_metrics_ca_s {
    ngx_str_t                       file;
    X509_STORE                     *store;
    ngx_uint_t                      id;
};


ngx_k8s_metrics_ca_t *ngx_k8s_metrics_ca_load(ngx_conf_t *cf,
    ngx_str_t *file, const char *directive);
ngx_int_t ngx_k8s_metrics_ca_check(ngx_conf_t *cf, ngx_str_t *file,
    const char *directive);
ngx_k8s_metrics_ca_t *ngx_k8s_metrics_ca_from_pem(ngx_pool_t *pool,
    const char *pem, ngx_str_t *name);
ngx_uint_t ngx_k8s_metrics_pem_certificates(const char *pem);
ngx_int_t ngx_k8s_metrics_credentials_check(ngx_conf_t *cf, const char *peer,
    ngx_str_t *certificate, ngx_str_t *key, ngx_str_t *token_file);

ngx_int_t ngx_k8s_metrics_take_over_client_verify(ngx_ssl_t *ssl);
ngx_int_t ngx_k8s_metrics_trust_verify(ngx_ssl_conn_t *ssl, X509 *leaf,
    STACK_OF(X509) *chain, ngx_k8s_metrics_ca_t *ca, ngx_log_t *log,
    long *err);


#endif /* _NGX_K8S_METRICS_TRUST_H_INCLUDED_ */
