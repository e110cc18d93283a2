
/*
 * ngx_metrics_module: directives, configuration and variables.
 */


#include "ngx_k8s_metrics.h"

#include <ngx_http_ssl_module.h>


static ngx_int_t ngx_k8s_metrics_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_k8s_metrics_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_k8s_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_k8s_metrics_exit_process(ngx_cycle_t *cycle);
static char *ngx_k8s_metrics_node(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_k8s_metrics_apiserver(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_k8s_metrics_node_selector(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_k8s_metrics_address_types(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_k8s_metrics_check_apiserver_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static ngx_int_t ngx_k8s_metrics_node_label(ngx_conf_t *cf,
    ngx_k8s_metrics_node_conf_t *node, ngx_str_t *arg);
static char *ngx_k8s_metrics_check_timeout(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static char *ngx_k8s_metrics_check_kubelet_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static char *ngx_k8s_metrics_node_urls(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static ngx_int_t ngx_k8s_metrics_check_file(ngx_conf_t *cf, ngx_str_t *file,
    const char *directive);

static void *ngx_k8s_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_k8s_metrics_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_k8s_metrics_create_loc_conf(ngx_conf_t *cf);
static char *ngx_k8s_metrics_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_k8s_metrics_check_api_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_loc_conf_t *klcf);
static char *ngx_k8s_metrics_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_k8s_metrics_ca_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_k8s_metrics_authorization(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_k8s_metrics_names_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_k8s_metrics_merge_names(ngx_conf_t *cf, ngx_array_t **conf,
    ngx_array_t *prev, char *default_value);
static char *ngx_k8s_metrics_resolution_check(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_k8s_metrics_max_pods_check(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_k8s_metrics_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_k8s_metrics_groups_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_k8s_metrics_authenticator_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_conf_post_t  ngx_k8s_metrics_resolution_post = {
    ngx_k8s_metrics_resolution_check
};


static ngx_conf_num_bounds_t  ngx_k8s_metrics_port_bounds = {
    ngx_conf_check_num_bounds, 1, 65535
};


static ngx_conf_post_t  ngx_k8s_metrics_max_pods_post = {
    ngx_k8s_metrics_max_pods_check
};


static ngx_command_t  ngx_k8s_metrics_commands[] = {

    { ngx_string("k8s_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_resolution"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, resolution),
      &ngx_k8s_metrics_resolution_post },

    { ngx_string("k8s_metrics_node"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_k8s_metrics_node,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_kubelet_port"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_port),
      &ngx_k8s_metrics_port_bounds },

    { ngx_string("k8s_metrics_kubelet_ca"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_ca),
      NULL },

    { ngx_string("k8s_metrics_kubelet_insecure_tls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_insecure_tls),
      NULL },

    { ngx_string("k8s_metrics_kubelet_client_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_certificate),
      NULL },

    { ngx_string("k8s_metrics_kubelet_client_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_certificate_key),
      NULL },

    { ngx_string("k8s_metrics_kubelet_token_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_token_file),
      NULL },

    { ngx_string("k8s_metrics_kubelet_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_timeout),
      NULL },

    { ngx_string("k8s_metrics_kubelet_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_max_body),
      NULL },

    { ngx_string("k8s_metrics_kubelet_max_pods"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_max_pods),
      &ngx_k8s_metrics_max_pods_post },

    { ngx_string("k8s_metrics_swap"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, swap),
      NULL },

    { ngx_string("k8s_metrics_response_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, response_cache_size),
      NULL },

    { ngx_string("k8s_metrics_apiserver"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_apiserver,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_apiserver_ca"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver_ca),
      NULL },

    { ngx_string("k8s_metrics_apiserver_token_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver_token_file),
      NULL },

    { ngx_string("k8s_metrics_apiserver_client_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver_certificate),
      NULL },

    { ngx_string("k8s_metrics_apiserver_client_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver_certificate_key),
      NULL },

    { ngx_string("k8s_metrics_apiserver_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver_timeout),
      NULL },

    { ngx_string("k8s_metrics_node_selector"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_node_selector,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_kubelet_use_node_status_port"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet_use_node_status_port),
      NULL },

    { ngx_string("k8s_metrics_kubelet_address_types"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_address_types,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_k8s_metrics_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_client_ca"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_ca_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, client_ca),
      NULL },

    { ngx_string("k8s_metrics_requestheader_client_ca"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_ca_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, requestheader_ca),
      NULL },

    { ngx_string("k8s_metrics_requestheader_allowed_names"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_names_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, allowed_names),
      NULL },

    { ngx_string("k8s_metrics_requestheader_username_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_names_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, username_headers),
      NULL },

    { ngx_string("k8s_metrics_requestheader_group_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_names_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, group_headers),
      NULL },

    { ngx_string("k8s_metrics_requestheader_extra_headers_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_names_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, extra_prefixes),
      NULL },

    { ngx_string("k8s_metrics_requestheader_uid_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_names_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, uid_headers),
      NULL },

    { ngx_string("k8s_metrics_authentication_configmap"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, authentication_configmap),
      NULL },

    { ngx_string("k8s_metrics_anonymous"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, anonymous),
      NULL },

    { ngx_string("k8s_metrics_authorization"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_authorization,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_authorization_always_allow_paths"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_names_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_loc_conf_t, always_allow_paths),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_k8s_metrics_module_ctx = {
    ngx_k8s_metrics_add_variables,         /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_k8s_metrics_create_main_conf,      /* create main configuration */
    ngx_k8s_metrics_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_k8s_metrics_create_loc_conf,       /* create location configuration */
    ngx_k8s_metrics_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_k8s_metrics_module = {
    NGX_MODULE_V1,
    &ngx_k8s_metrics_module_ctx,           /* module context */
    ngx_k8s_metrics_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_k8s_metrics_init_module,           /* init module */
    ngx_k8s_metrics_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_k8s_metrics_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_k8s_metrics_vars[] = {

    { ngx_string("k8s_metrics_user"), NULL,
      ngx_k8s_metrics_user_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("k8s_metrics_groups"), NULL,
      ngx_k8s_metrics_groups_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("k8s_metrics_authenticator"), NULL,
      ngx_k8s_metrics_authenticator_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("k8s_metrics_audit_event"), NULL,
      ngx_k8s_metrics_audit_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_k8s_metrics_authenticator_names[] = {
    ngx_string(""),
    ngx_string("requestheader"),
    ngx_string("x509"),
    ngx_string("token"),
    ngx_string("anonymous")
};


static ngx_int_t
ngx_k8s_metrics_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_k8s_metrics_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_k8s_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_k8s_metrics_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     kmcf->shm_zone = NULL;
     *     kmcf->nodes = NULL;
     *     kmcf->kubelet_ca = { 0, NULL };
     *     kmcf->kubelet_certificate = { 0, NULL };
     *     kmcf->kubelet_certificate_key = { 0, NULL };
     *     kmcf->kubelet_token_file = { 0, NULL };
     */

    kmcf->resolution = NGX_CONF_UNSET_MSEC;
    kmcf->kubelet_port = NGX_CONF_UNSET_UINT;
    kmcf->kubelet_insecure_tls = NGX_CONF_UNSET;
    kmcf->kubelet_timeout = NGX_CONF_UNSET_MSEC;
    kmcf->kubelet_max_body = NGX_CONF_UNSET_SIZE;
    kmcf->kubelet_max_pods = NGX_CONF_UNSET_UINT;
    kmcf->swap = NGX_CONF_UNSET;
    kmcf->response_cache_size = NGX_CONF_UNSET_SIZE;
    kmcf->kubelet_use_node_status_port = NGX_CONF_UNSET;
    kmcf->apiserver_timeout = NGX_CONF_UNSET_MSEC;

    return kmcf;
}


static char *
ngx_k8s_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    ngx_conf_init_msec_value(kmcf->resolution, 15000);
    ngx_conf_init_uint_value(kmcf->kubelet_port, 10250);
    ngx_conf_init_value(kmcf->kubelet_insecure_tls, 0);
    ngx_conf_init_size_value(kmcf->kubelet_max_body, 16 * 1024 * 1024);
    ngx_conf_init_uint_value(kmcf->kubelet_max_pods, 1000);
    ngx_conf_init_value(kmcf->swap, 0);
    ngx_conf_init_size_value(kmcf->response_cache_size, 128 * 1024 * 1024);

    ngx_conf_init_value(kmcf->kubelet_use_node_status_port, 0);
    ngx_conf_init_msec_value(kmcf->apiserver_timeout, 10000);

    if (kmcf->nodes && kmcf->shm_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_node\" requires \"k8s_metrics_zone\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_check_apiserver_conf(cf, kmcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_check_kubelet_conf(cf, kmcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_check_timeout(cf, kmcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_k8s_metrics_node_urls(cf, kmcf);
}


/*
 * A scrape lasts less than 0.9 x the resolution, so that cycles do not
 * overlap: metrics-server refuses a longer --kubelet-request-timeout; its
 * 10s default becomes 0.9 x a resolution shorter than 11.2s.
 */

static char *
ngx_k8s_metrics_check_timeout(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_msec_t  limit;

    limit = kmcf->resolution / 10 * 9 + kmcf->resolution % 10 * 9 / 10;

    if (kmcf->kubelet_timeout == NGX_CONF_UNSET_MSEC) {
        kmcf->kubelet_timeout = ngx_min(10000, limit);
        return NGX_CONF_OK;
    }

    if (kmcf->kubelet_timeout > limit) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_kubelet_timeout\" %M ms is more than "
                      "0.9 x \"k8s_metrics_resolution\" %M ms: scrape "
                      "cycles would overlap", kmcf->kubelet_timeout,
                      kmcf->resolution);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_k8s_metrics_check_kubelet_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_k8s_metrics_ca_t  *ca;

    if (kmcf->kubelet_insecure_tls && kmcf->kubelet_ca.len) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_kubelet_insecure_tls on\" conflicts "
                      "with \"k8s_metrics_kubelet_ca\": verify kubelets "
                      "or don't, not both");
        return NGX_CONF_ERROR;
    }

    if ((kmcf->nodes || kmcf->apiserver_url.len)
        && !kmcf->kubelet_insecure_tls && kmcf->kubelet_ca.len == 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "kubelets need \"k8s_metrics_kubelet_ca\" "
                      "to verify their serving certificates (or "
                      "\"k8s_metrics_kubelet_insecure_tls on\", not for "
                      "production)");
        return NGX_CONF_ERROR;
    }

    if (kmcf->kubelet_ca.len) {
        ca = ngx_k8s_metrics_load_ca(cf, &kmcf->kubelet_ca,
                                     "k8s_metrics_kubelet_ca");
        if (ca == NULL) {
            return NGX_CONF_ERROR;
        }

        kmcf->kubelet_ca = ca->file;
    }

    if ((kmcf->kubelet_certificate.len == 0)
        != (kmcf->kubelet_certificate_key.len == 0))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_kubelet_client_certificate\" and "
                      "\"k8s_metrics_kubelet_client_certificate_key\" go "
                      "together: one is missing");
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_check_file(cf, &kmcf->kubelet_certificate,
                                   "k8s_metrics_kubelet_client_certificate")
        != NGX_OK
        || ngx_k8s_metrics_check_file(cf, &kmcf->kubelet_certificate_key,
                               "k8s_metrics_kubelet_client_certificate_key")
           != NGX_OK
        || ngx_k8s_metrics_check_file(cf, &kmcf->kubelet_token_file,
                                      "k8s_metrics_kubelet_token_file")
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* an optional file: made absolute, null-terminated, and readable now */

static ngx_int_t
ngx_k8s_metrics_check_file(ngx_conf_t *cf, ngx_str_t *file,
    const char *directive)
{
    if (file->len == 0) {
        return NGX_OK;
    }

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (access((char *) file->data, R_OK) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "\"%s\": cannot read \"%V\"", directive, file);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The kubelets' URLs, once the default port is known; nodes sorted by
 * name, the store's order, and each name once.
 */

static char *
ngx_k8s_metrics_node_urls(ngx_conf_t *cf, ngx_k8s_metrics_main_conf_t *kmcf)
{
    u_char                       *p;
    ngx_uint_t                    i;
    ngx_k8s_metrics_node_conf_t  *node;

    if (kmcf->nodes == NULL) {
        return NGX_CONF_OK;
    }

    node = kmcf->nodes->elts;

    ngx_qsort(node, kmcf->nodes->nelts, sizeof(ngx_k8s_metrics_node_conf_t),
              ngx_k8s_metrics_cmp_nodes);

    for (i = 0; i < kmcf->nodes->nelts; i++) {

        if (i && ngx_k8s_metrics_cmp_nodes(&node[i - 1], &node[i]) == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"k8s_metrics_node\" \"%V\" is defined twice",
                          &node[i].name);
            return NGX_CONF_ERROR;
        }

        if (node[i].default_port) {
            /* k8s_metrics_kubelet_port is known only now */

            p = ngx_pnalloc(cf->pool, node[i].address.len + NGX_INT_T_LEN + 1);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }

            node[i].address.len = ngx_sprintf(p, "%V:%ui", &node[i].address,
                                              kmcf->kubelet_port)
                                  - p;
            node[i].address.data = p;
        }

        p = ngx_pnalloc(cf->pool, sizeof("https:///metrics/resource")
                                  + node[i].address.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        node[i].url.data = p;
        node[i].url.len = ngx_sprintf(p, "https://%V/metrics/resource%Z",
                                      &node[i].address)
                          - p - 1;
    }

    return NGX_CONF_OK;
}


int ngx_libc_cdecl
ngx_k8s_metrics_cmp_nodes(const void *one, const void *two)
{
    ngx_k8s_metrics_node_conf_t  *a, *b;

    a = (ngx_k8s_metrics_node_conf_t *) one;
    b = (ngx_k8s_metrics_node_conf_t *) two;

    return (int) ngx_memn2cmp(a->name.data, b->name.data, a->name.len,
                              b->name.len);
}


/* k8s_metrics_node NAME ADDRESS[:PORT] [label=KEY=VALUE ...] */

static char *
ngx_k8s_metrics_node(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    ngx_url_t                     u;
    ngx_str_t                    *value;
    ngx_uint_t                    i;
    ngx_k8s_metrics_node_conf_t  *node;

    value = cf->args->elts;

    if (kmcf->nodes == NULL) {
        kmcf->nodes = ngx_array_create(cf->pool, 16,
                                       sizeof(ngx_k8s_metrics_node_conf_t));
        if (kmcf->nodes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    node = ngx_array_push(kmcf->nodes);
    if (node == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(node, sizeof(ngx_k8s_metrics_node_conf_t));

    if (value[1].len == 0 || value[1].len > 253) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid node name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    node->name = value[1];

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = value[2];
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.uri.len || u.host.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid kubelet address \"%V\" of node \"%V\"%s%s",
                           &value[2], &value[1], u.err ? ": " : "",
                           u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    node->address = value[2];
    node->default_port = u.no_port;

    for (i = 3; i < cf->args->nelts; i++) {
        if (ngx_k8s_metrics_node_label(cf, node, &value[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_k8s_metrics_node_label(ngx_conf_t *cf, ngx_k8s_metrics_node_conf_t *node,
    ngx_str_t *arg)
{
    u_char                   *eq;
    ngx_k8s_metrics_label_t  *label;

    if (arg->len < 8 || ngx_strncmp(arg->data, "label=", 6) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" of node \"%V\", it "
                           "must be label=KEY=VALUE", arg, &node->name);
        return NGX_ERROR;
    }

    eq = ngx_strlchr(arg->data + 6, arg->data + arg->len, '=');

    if (eq == NULL || eq == arg->data + 6) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid label \"%V\" of node \"%V\", it "
                           "must be label=KEY=VALUE", arg, &node->name);
        return NGX_ERROR;
    }

    if (node->labels == NULL) {
        node->labels = ngx_array_create(cf->pool, 4,
                                        sizeof(ngx_k8s_metrics_label_t));
        if (node->labels == NULL) {
            return NGX_ERROR;
        }
    }

    label = ngx_array_push(node->labels);
    if (label == NULL) {
        return NGX_ERROR;
    }

    label->key.data = arg->data + 6;
    label->key.len = eq - label->key.data;
    label->value.data = eq + 1;
    label->value.len = arg->data + arg->len - label->value.data;

    return NGX_OK;
}


/* k8s_metrics_apiserver https://HOST[:PORT] | in_cluster */

static char *
ngx_k8s_metrics_apiserver(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    u_char     *p;
    char       *host, *port;
    ngx_str_t  *value;

    if (kmcf->apiserver_url.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "in_cluster") != 0) {
        if (value[1].len <= sizeof("https://") - 1
            || ngx_strncasecmp(value[1].data, (u_char *) "https://",
                               sizeof("https://") - 1) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid apiserver \"%V\": it must be an "
                               "https:// URL or \"in_cluster\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        /* credentials in the URL would be in every log line naming it */

        host = (char *) value[1].data + sizeof("https://") - 1;
        p = (u_char *) strpbrk(host, "/?#");

        if (ngx_strlchr((u_char *) host,
                        p ? p : value[1].data + value[1].len, '@'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid apiserver: credentials in the URL "
                               "(USER:PASSWORD@) are not supported, use "
                               "\"k8s_metrics_apiserver_token_file\" or a "
                               "client certificate");
            return NGX_CONF_ERROR;
        }

        kmcf->apiserver_url = value[1];

        while (kmcf->apiserver_url.len
               && kmcf->apiserver_url.data[kmcf->apiserver_url.len - 1] == '/')
        {
            kmcf->apiserver_url.len--;
        }

        return NGX_CONF_OK;
    }

    /* as client-go's rest.InClusterConfig() */

    host = getenv("KUBERNETES_SERVICE_HOST");
    port = getenv("KUBERNETES_SERVICE_PORT");

    if (host == NULL || port == NULL || *host == '\0' || *port == '\0') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_apiserver in_cluster\": "
                           "KUBERNETES_SERVICE_HOST and "
                           "KUBERNETES_SERVICE_PORT are not set: not running "
                           "in a pod?");
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, sizeof("https://[]:") + ngx_strlen(host)
                              + ngx_strlen(port));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    kmcf->apiserver_url.data = p;
    kmcf->apiserver_url.len = ngx_sprintf(p, ngx_strchr(host, ':')
                                             ? "https://[%s]:%s"
                                             : "https://%s:%s", host, port)
                              - p;

    /* the service account's CA and token, unless set: see init_main_conf */
    kmcf->apiserver_in_cluster = 1;

    return NGX_CONF_OK;
}


/* a label selector over nodes, checked now, sent as a query parameter */

static char *
ngx_k8s_metrics_node_selector(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    u_char       *p;
    uintptr_t     n;
    ngx_str_t    *value, error;
    ngx_array_t  *requirements;

    if (kmcf->node_selector.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_k8s_metrics_label_selector_parse(cf->pool, &value[1],
                                             &requirements, &error)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid node selector \"%V\": %V",
                           &value[1], &error);
        return NGX_CONF_ERROR;
    }

    n = ngx_escape_uri(NULL, value[1].data, value[1].len, NGX_ESCAPE_ARGS);

    p = ngx_pnalloc(cf->pool, sizeof("labelSelector=") + value[1].len + 2 * n);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    kmcf->node_selector.data = p;
    p = ngx_cpymem(p, "labelSelector=", sizeof("labelSelector=") - 1);
    p = (u_char *) ngx_escape_uri(p, value[1].data, value[1].len,
                                  NGX_ESCAPE_ARGS);

    kmcf->node_selector.len = p - kmcf->node_selector.data;

    return NGX_CONF_OK;
}


static char *
ngx_k8s_metrics_address_types(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    ngx_str_t   *value, *type;
    ngx_uint_t   i, k;

    static ngx_str_t  types[] = {
        ngx_string("Hostname"), ngx_string("InternalIP"),
        ngx_string("InternalDNS"), ngx_string("ExternalIP"),
        ngx_string("ExternalDNS"), ngx_null_string
    };

    if (kmcf->kubelet_address_types) {
        return "is duplicate";
    }

    kmcf->kubelet_address_types = ngx_array_create(cf->pool,
                                                   cf->args->nelts - 1,
                                                   sizeof(ngx_str_t));
    if (kmcf->kubelet_address_types == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        for (k = 0; types[k].len; k++) {
            if (types[k].len == value[i].len
                && ngx_strncmp(types[k].data, value[i].data, value[i].len)
                   == 0)
            {
                break;
            }
        }

        if (types[k].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown node address type \"%V\", it must "
                               "be Hostname, InternalIP, InternalDNS, "
                               "ExternalIP or ExternalDNS", &value[i]);
            return NGX_CONF_ERROR;
        }

        type = ngx_array_push(kmcf->kubelet_address_types);
        if (type == NULL) {
            return NGX_CONF_ERROR;
        }

        *type = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * With an apiserver: its CA is required (and is the kubelets' CA unless
 * set), its credentials readable; kubelets get its token unless they have
 * credentials of their own.
 */

static char *
ngx_k8s_metrics_check_apiserver_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_str_t             *type;
    ngx_k8s_metrics_ca_t  *ca;

    if (kmcf->kubelet_address_types == NULL) {
        kmcf->kubelet_address_types = ngx_array_create(cf->pool, 3,
                                                       sizeof(ngx_str_t));
        if (kmcf->kubelet_address_types == NULL) {
            return NGX_CONF_ERROR;
        }

        type = ngx_array_push_n(kmcf->kubelet_address_types, 3);
        if (type == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_str_set(&type[0], "InternalIP");
        ngx_str_set(&type[1], "ExternalIP");
        ngx_str_set(&type[2], "Hostname");
    }

    if (kmcf->apiserver_in_cluster) {
        if (kmcf->apiserver_ca.len == 0) {
            ngx_str_set(&kmcf->apiserver_ca, NGX_K8S_METRICS_SA_DIR "/ca.crt");
        }

        if (kmcf->apiserver_token_file.len == 0
            && kmcf->apiserver_certificate.len == 0)
        {
            ngx_str_set(&kmcf->apiserver_token_file,
                        NGX_K8S_METRICS_SA_DIR "/token");
        }
    }

    if (kmcf->apiserver_url.len == 0) {
        if (kmcf->node_selector.len) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"k8s_metrics_node_selector\" selects among the "
                          "nodes of \"k8s_metrics_apiserver\", which is "
                          "not set");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (kmcf->nodes) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_node\" conflicts with "
                      "\"k8s_metrics_apiserver\": nodes are static or "
                      "listed by the apiserver, not both");
        return NGX_CONF_ERROR;
    }

    if (kmcf->apiserver_ca.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_apiserver\" needs "
                      "\"k8s_metrics_apiserver_ca\" to verify the "
                      "apiserver");
        return NGX_CONF_ERROR;
    }

    ca = ngx_k8s_metrics_load_ca(cf, &kmcf->apiserver_ca,
                                 "k8s_metrics_apiserver_ca");
    if (ca == NULL) {
        return NGX_CONF_ERROR;
    }

    kmcf->apiserver_ca = ca->file;

    if ((kmcf->apiserver_certificate.len == 0)
        != (kmcf->apiserver_certificate_key.len == 0))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_apiserver_client_certificate\" and "
                      "\"k8s_metrics_apiserver_client_certificate_key\" go "
                      "together: one is missing");
        return NGX_CONF_ERROR;
    }

    if (kmcf->apiserver_token_file.len == 0
        && kmcf->apiserver_certificate.len == 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_apiserver\" needs credentials: "
                      "\"k8s_metrics_apiserver_token_file\" or "
                      "\"k8s_metrics_apiserver_client_certificate\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_check_file(cf, &kmcf->apiserver_token_file,
                                   "k8s_metrics_apiserver_token_file")
        != NGX_OK
        || ngx_k8s_metrics_check_file(cf, &kmcf->apiserver_certificate,
                                   "k8s_metrics_apiserver_client_certificate")
           != NGX_OK
        || ngx_k8s_metrics_check_file(cf, &kmcf->apiserver_certificate_key,
                               "k8s_metrics_apiserver_client_certificate_key")
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (kmcf->kubelet_ca.len == 0 && !kmcf->kubelet_insecure_tls) {
        kmcf->kubelet_ca = kmcf->apiserver_ca;
    }

    if (kmcf->kubelet_certificate.len == 0
        && kmcf->kubelet_token_file.len == 0)
    {
        kmcf->kubelet_token_file = kmcf->apiserver_token_file;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_k8s_metrics_init_module(ngx_cycle_t *cycle)
{
    ngx_k8s_metrics_main_conf_t  *kmcf;

    static ngx_uint_t  initialized;

    /* each configuration loaded is a generation: see the shutdown check */

    kmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_k8s_metrics_module);

    if (kmcf && kmcf->sh) {
        kmcf->generation = ++kmcf->sh->generation;
    }

    if (initialized++ == 0
        && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "curl_global_init() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the scraper runs in worker 0, or in the single process; never elsewhere */

static ngx_int_t
ngx_k8s_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_k8s_metrics_main_conf_t  *kmcf;

    if (ngx_process != NGX_PROCESS_SINGLE && ngx_process != NGX_PROCESS_WORKER)
    {
        return NGX_OK;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_k8s_metrics_module);

    if (kmcf == NULL || kmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    /* every worker asks its own reviews */

    if (kmcf->apiserver_url.len
        && ngx_k8s_metrics_review_init(cycle, kmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_process == NGX_PROCESS_WORKER && ngx_worker != 0) {
        return NGX_OK;
    }

    return ngx_k8s_metrics_scraper_init(cycle, kmcf);
}


static void
ngx_k8s_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_k8s_metrics_review_exit();
    ngx_k8s_metrics_scraper_exit(cycle);
}


static void *
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


static char *
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
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_api\" requires \"k8s_metrics_zone\" "
                      "in the http block");
        return NGX_CONF_ERROR;
    }

    if (klcf->authorization == NGX_K8S_METRICS_AUTHZ_WEBHOOK
        && kmcf->apiserver_url.len == 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_authorization webhook\" (the default) "
                      "needs \"k8s_metrics_apiserver\" for "
                      "SubjectAccessReviews: set one, or "
                      "\"k8s_metrics_authorization always_allow\"");
        return NGX_CONF_ERROR;
    }

    if (klcf->authentication_configmap) {
        if (kmcf->apiserver_url.len == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"k8s_metrics_authentication_configmap on\" "
                          "needs \"k8s_metrics_apiserver\" to read "
                          "kube-system/extension-apiserver-authentication");
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
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_api\" needs \"ssl_verify_client "
                      "optional_no_ca\" (or none) in its server: the module "
                      "verifies client chains itself, against its own CA "
                      "stores, never against a merged bundle");
        return NGX_CONF_ERROR;

    } else if (klcf->client_ca || klcf->requestheader_ca) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"k8s_metrics_client_ca\" and "
                      "\"k8s_metrics_requestheader_client_ca\" need a TLS "
                      "server with \"ssl_verify_client optional_no_ca\", "
                      "so that clients can present certificates");
        return NGX_CONF_ERROR;
    }

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    if (klcf->requestheader_ca && cscf->ignore_invalid_headers) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"k8s_metrics_requestheader_client_ca\" is set in a "
                      "server with \"ignore_invalid_headers on\": "
                      "X-Remote-Extra-* headers whose keys hold '.', '/' or "
                      "'%%' (as \"authentication.kubernetes.io/pod-name\") "
                      "are dropped before the module sees them");
    }

    if (klcf->client_ca == NULL && klcf->requestheader_ca == NULL
        && !klcf->anonymous)
    {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"k8s_metrics_api\" has no client CA, no "
                      "requestheader CA and \"k8s_metrics_anonymous off\": "
                      "every request will be refused");
    }

    if (klcf->client_ca && klcf->requestheader_ca
        && klcf->allowed_names == NULL
        && klcf->client_ca->file.len == klcf->requestheader_ca->file.len
        && ngx_strncmp(klcf->client_ca->file.data,
                       klcf->requestheader_ca->file.data,
                       klcf->client_ca->file.len) == 0)
    {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "\"k8s_metrics_requestheader_client_ca\" is the same "
                      "file as \"k8s_metrics_client_ca\" and no "
                      "\"k8s_metrics_requestheader_allowed_names\" are set: "
                      "every client certificate can assert any identity "
                      "in X-Remote-* headers");
    }

    return NGX_CONF_OK;
}


static char *
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


static char *
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

    *field = ngx_k8s_metrics_load_ca(cf, &value[1], (char *) cmd->name.data);
    if (*field == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
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

static char *
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


static char *
ngx_k8s_metrics_resolution_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *resolution = data;

    if (*resolution < 1000) {
        return "must be at least 1s";
    }

    return NGX_CONF_OK;
}


static char *
ngx_k8s_metrics_max_pods_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *max = data;

    if (*max == 0) {
        return "must be at least 1";
    }

    return NGX_CONF_OK;
}


static ngx_k8s_metrics_ctx_t *
ngx_k8s_metrics_identified(ngx_http_request_t *r)
{
    ngx_k8s_metrics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_k8s_metrics_module);

    if (ctx == NULL || !ctx->authenticated) {
        return NULL;
    }

    return ctx;
}


static void
ngx_k8s_metrics_set_variable(ngx_http_variable_value_t *v, ngx_str_t *s)
{
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;
}


static ngx_int_t
ngx_k8s_metrics_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_k8s_metrics_ctx_t  *ctx;

    ctx = ngx_k8s_metrics_identified(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_k8s_metrics_set_variable(v, &ctx->identity.user);

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_groups_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                 *p;
    size_t                  len;
    ngx_str_t               joined, *group;
    ngx_uint_t              i;
    ngx_k8s_metrics_ctx_t  *ctx;

    ctx = ngx_k8s_metrics_identified(r);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    group = ctx->identity.groups.elts;
    len = 0;

    for (i = 0; i < ctx->identity.groups.nelts; i++) {
        len += group[i].len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    joined.data = p;

    for (i = 0; i < ctx->identity.groups.nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, group[i].data, group[i].len);
    }

    joined.len = p - joined.data;

    ngx_k8s_metrics_set_variable(v, &joined);

    return NGX_OK;
}


static ngx_int_t
ngx_k8s_metrics_authenticator_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_k8s_metrics_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_k8s_metrics_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_k8s_metrics_set_variable(v,
        &ngx_k8s_metrics_authenticator_names[ctx->identity.authenticator]);

    return NGX_OK;
}
