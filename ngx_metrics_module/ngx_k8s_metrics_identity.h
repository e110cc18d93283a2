
/*
 * Identities (ngx_k8s_metrics_identity.c), as k8s.io/apiserver's
 * user.Info, and what a client certificate names.
 */


#ifndef _NGX_K8S_METRICS_IDENTITY_H_INCLUDED_
#define _NGX_K8S_METRICS_IDENTITY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* OpenSSL's (openssl/types.h), so that this header stands alone */
typedef struct x509_st  X509;


/* authenticators, in the order they are tried */
typedef enum {
    NGX_K8S_METRICS_AUTHN_NONE = 0,
    NGX_K8S_METRICS_AUTHN_REQUESTHEADER,
    NGX_K8S_METRICS_AUTHN_X509,
    NGX_K8S_METRICS_AUTHN_TOKEN,
    NGX_K8S_METRICS_AUTHN_ANONYMOUS
} ngx_k8s_metrics_authenticator_e;



typedef struct {
    ngx_str_t                       key;
    ngx_array_t                     values;     /* of ngx_str_t */
} ngx_k8s_metrics_extra_t;


typedef struct {
    ngx_str_t                       user;
    ngx_str_t                       uid;
    ngx_array_t                     groups;     /* of ngx_str_t */
    ngx_array_t                     extra;      /* of ngx_k8s_metrics_extra_t */
    ngx_k8s_metrics_authenticator_e authenticator;
} ngx_k8s_metrics_identity_t;


ngx_int_t ngx_k8s_metrics_identity_init(ngx_pool_t *pool,
    ngx_k8s_metrics_identity_t *id);
ngx_int_t ngx_k8s_metrics_add_group(ngx_pool_t *pool,
    ngx_k8s_metrics_identity_t *id, const char *group);
ngx_flag_t ngx_k8s_metrics_in_group(ngx_k8s_metrics_identity_t *id,
    const char *group);
ngx_int_t ngx_k8s_metrics_decode_extra_key(ngx_pool_t *pool, ngx_str_t *raw,
    ngx_str_t *key);
ngx_int_t ngx_k8s_metrics_subject_cn(ngx_pool_t *pool, X509 *cert,
    ngx_str_t *cn);
ngx_int_t ngx_k8s_metrics_subject_entries(ngx_pool_t *pool, X509 *cert,
    int nid, ngx_array_t *values);


#endif /* _NGX_K8S_METRICS_IDENTITY_H_INCLUDED_ */
