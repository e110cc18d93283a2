
/*
 * ngx_metrics_module: the API location's configuration: k8s_metrics_api,
 * the authentication and authorization directives, their merge, and the
 * checks of a location that serves the API.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_trust.h"
#include "ngx_k8s_metrics_conf.h"

#include <ngx_http_ssl_module.h>


static char *ngx_k8s_metrics_check_api_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_loc_conf_t *klcf);
static char *ngx_k8s_metrics_merge_names(ngx_conf_t *cf, ngx_array_t **conf,
    ngx_array_t *prev, char *default_value);


char *
ngx_k8s_metrics_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_loc_conf_t *klcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (klcf->enable) {
        return "is duplicate";
    }

    klcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_k8s_metrics_api_handler;

    return NGX_CONF_OK;
}


void *
ngx_k8s_metrics_create_loc_conf(ngx_conf_t *cf)
{
    ngx_k8s_metrics_loc_conf_t  *klcf;

    klcf = ngx_pcalloc(cf->pool, sizeof(ngx_k8s_metrics_loc_conf_t));
    if (klcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     klcf->enable = 0;
     */

    klcf->client_ca = NGX_CONF_UNSET_PTR;
    klcf->requestheader_ca = NGX_CONF_UNSET_PTR;
    klcf->allowed_names = NGX_CONF_UNSET_PTR;
    klcf->username_headers = NGX_CONF_UNSET_PTR;
    klcf->group_headers = NGX_CONF_UNSET_PTR;
    klcf->extra_prefixes = NGX_CONF_UNSET_PTR;
    klcf->uid_headers = NGX_CONF_UNSET_PTR;
    klcf->anonymous = NGX_CONF_UNSET;
    klcf->authentication_configmap = NGX_CONF_UNSET;
    klcf->authorization = NGX_CONF_UNSET_UINT;
    klcf->always_allow_paths = NGX_CONF_UNSET_PTR;

    return klcf;
}


char *
ngx_k8s_metrics_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_k8s_metrics_loc_conf_t *prev = parent;
    ngx_k8s_metrics_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->client_ca, prev->client_ca, NULL);
    ngx_conf_merge_ptr_value(conf->requestheader_ca, prev->requestheader_ca,
                             NULL);
    ngx_conf_merge_ptr_value(conf->allowed_names, prev->allowed_names, NULL);
    ngx_conf_merge_value(conf->anonymous, prev->anonymous, 1);
    ngx_conf_merge_value(conf->authentication_configmap,
                         prev->authentication_configmap, 0);

    ngx_conf_merge_uint_value(conf->authorization, prev->authorization,
                              NGX_K8S_METRICS_AUTHZ_WEBHOOK);

    if (ngx_k8s_metrics_merge_names(cf, &conf->username_headers,
                                    prev->username_headers, "X-Remote-User")
        != NGX_CONF_OK
        || ngx_k8s_metrics_merge_names(cf, &conf->group_headers,
                                       prev->group_headers, "X-Remote-Group")
           != NGX_CONF_OK
        || ngx_k8s_metrics_merge_names(cf, &conf->extra_prefixes,
                                       prev->extra_prefixes,
                                       "X-Remote-Extra-")
           != NGX_CONF_OK
        || ngx_k8s_metrics_merge_names(cf, &conf->uid_headers,
                                       prev->uid_headers, NULL)
           != NGX_CONF_OK
        || ngx_k8s_metrics_merge_names(cf, &conf->always_allow_paths,
                                       prev->always_allow_paths,
                                       "/healthz /readyz /livez")
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->enable) {
        return ngx_k8s_metrics_check_api_conf(cf, conf);
    }

    return NGX_CONF_OK;
}


/*
 * Checks a location that serves the API, at merge time: cf->ctx is then
 * the enclosing server's, so its ngx_http_ssl_module configuration (merged
 * before ours, as ssl is a static module) is at hand.
 */

static char *
ngx_k8s_metrics_check_api_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_loc_conf_t *klcf)
{
    ngx_http_ssl_srv_conf_t      *sscf;
    ngx_http_core_srv_conf_t     *cscf;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_k8s_metrics_module);

    if (kmcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_api\" requires \"k8s_metrics_zone\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (klcf->authorization == NGX_K8S_METRICS_AUTHZ_WEBHOOK
        && kmcf->apiserver.url.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_authorization webhook\" (the "
                           "default) needs \"k8s_metrics_apiserver\" for "
                           "SubjectAccessReviews: set one, or "
                           "\"k8s_metrics_authorization always_allow\"");
        return NGX_CONF_ERROR;
    }

    if (klcf->authentication_configmap) {
        if (kmcf->apiserver.url.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"k8s_metrics_authentication_configmap on\" "
                               "needs \"k8s_metrics_apiserver\" to read "
                               "kube-system/"
                               "extension-apiserver-authentication");
            return NGX_CONF_ERROR;
        }

        kmcf->authentication_configmap = 1;
    }

    sscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_ssl_module);

    if (sscf->ssl.ctx && sscf->verify == 3) {
        if (ngx_k8s_metrics_take_over_client_verify(&sscf->ssl) != NGX_OK) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "SSL_get_ex_new_index() failed");
            return NGX_CONF_ERROR;
        }

    } else if (sscf->ssl.ctx && sscf->verify) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_api\" needs \"ssl_verify_client "
                           "optional_no_ca\" (or none) in its server: the "
                           "module verifies client chains itself, against its "
                           "own CA stores, never against a merged bundle");
        return NGX_CONF_ERROR;

    } else if (klcf->client_ca || klcf->requestheader_ca) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_client_ca\" and "
                           "\"k8s_metrics_requestheader_client_ca\" need a TLS "
                           "server with \"ssl_verify_client optional_no_ca\", "
                           "so that clients can present certificates");
        return NGX_CONF_ERROR;
    }

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    if (klcf->requestheader_ca && cscf->ignore_invalid_headers) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"k8s_metrics_requestheader_client_ca\" is set in "
                           "a server with \"ignore_invalid_headers on\": "
                           "X-Remote-Extra-* headers whose keys hold '.', '/' "
                           "or '%%' (as "
                           "\"authentication.kubernetes.io/pod-name\") are "
                           "dropped before the module sees them");
    }

    if (klcf->client_ca == NULL && klcf->requestheader_ca == NULL
        && !klcf->anonymous)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"k8s_metrics_api\" has no client CA, no "
                           "requestheader CA and \"k8s_metrics_anonymous "
                           "off\": every request will be refused");
    }

    if (klcf->client_ca && klcf->requestheader_ca
        && klcf->allowed_names == NULL
        && klcf->client_ca->file.len == klcf->requestheader_ca->file.len
        && ngx_strncmp(klcf->client_ca->file.data,
                       klcf->requestheader_ca->file.data,
                       klcf->client_ca->file.len) == 0)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"k8s_metrics_requestheader_client_ca\" is the "
                           "same file as \"k8s_metrics_client_ca\" and no "
                           "\"k8s_metrics_requestheader_allowed_names\" are "
                           "set: every client certificate can assert any "
                           "identity in X-Remote-* headers");
    }

    return NGX_CONF_OK;
}


char *
ngx_k8s_metrics_ca_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t              *value;
    ngx_k8s_metrics_ca_t  **field;

    field = (ngx_k8s_metrics_ca_t **) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *field = ngx_k8s_metrics_ca_load(cf, &value[1], (char *) cmd->name.data);
    if (*field == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_k8s_metrics_authorization(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_loc_conf_t *klcf = conf;

    ngx_str_t  *value;

    if (klcf->authorization != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "webhook") == 0) {
        klcf->authorization = NGX_K8S_METRICS_AUTHZ_WEBHOOK;

    } else if (ngx_strcmp(value[1].data, "always_allow") == 0) {
        klcf->authorization = NGX_K8S_METRICS_AUTHZ_ALWAYS_ALLOW;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", "
                           "it must be \"webhook\" or \"always_allow\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a list of names: header names, CNs, paths */

char *
ngx_k8s_metrics_names_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t     *value, *name;
    ngx_uint_t     i;
    ngx_array_t  **names;

    names = (ngx_array_t **) (p + cmd->offset);

    if (*names != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *names = ngx_array_create(cf->pool, cf->args->nelts - 1,
                              sizeof(ngx_str_t));
    if (*names == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" takes no empty value", &cmd->name);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(*names);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = value[i];
    }

    return NGX_CONF_OK;
}


/* inherits a list, or builds the space-separated default */

static char *
ngx_k8s_metrics_merge_names(ngx_conf_t *cf, ngx_array_t **conf,
    ngx_array_t *prev, char *default_value)
{
    u_char     *p, *last, *start;
    ngx_str_t  *name;

    if (*conf != NGX_CONF_UNSET_PTR) {
        return NGX_CONF_OK;
    }

    if (prev != NGX_CONF_UNSET_PTR) {
        *conf = prev;
        return NGX_CONF_OK;
    }

    if (default_value == NULL) {
        *conf = NULL;
        return NGX_CONF_OK;
    }

    *conf = ngx_array_create(cf->pool, 3, sizeof(ngx_str_t));
    if (*conf == NULL) {
        return NGX_CONF_ERROR;
    }

    p = (u_char *) default_value;
    last = p + ngx_strlen(default_value);

    while (p < last) {
        start = p;

        while (p < last && *p != ' ') {
            p++;
        }

        name = ngx_array_push(*conf);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        name->data = start;
        name->len = p - start;

        p++;
    }

    return NGX_CONF_OK;
}
