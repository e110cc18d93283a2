
/*
 * ngx_metrics_module: directives, configuration and variables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_client.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_trust.h"
#include "ngx_k8s_metrics_conf.h"
#include "ngx_k8s_metrics_audit.h"

#include <ngx_http_ssl_module.h>


static ngx_int_t ngx_k8s_metrics_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_k8s_metrics_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_k8s_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_k8s_metrics_exit_process(ngx_cycle_t *cycle);

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
    ngx_k8s_metrics_kubelet_max_pods_check
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
      ngx_k8s_metrics_kubelet_node,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_kubelet_port"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.port),
      &ngx_k8s_metrics_port_bounds },

    { ngx_string("k8s_metrics_kubelet_ca"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.ca),
      NULL },

    { ngx_string("k8s_metrics_kubelet_insecure_tls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.insecure_tls),
      NULL },

    { ngx_string("k8s_metrics_kubelet_client_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.certificate),
      NULL },

    { ngx_string("k8s_metrics_kubelet_client_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.certificate_key),
      NULL },

    { ngx_string("k8s_metrics_kubelet_token_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.token_file),
      NULL },

    { ngx_string("k8s_metrics_kubelet_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.timeout),
      NULL },

    { ngx_string("k8s_metrics_kubelet_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.max_body),
      NULL },

    { ngx_string("k8s_metrics_kubelet_max_pods"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.max_pods),
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
      ngx_k8s_metrics_apiserver_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_apiserver_ca"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver.ca),
      NULL },

    { ngx_string("k8s_metrics_apiserver_token_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver.token_file),
      NULL },

    { ngx_string("k8s_metrics_apiserver_client_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver.certificate),
      NULL },

    { ngx_string("k8s_metrics_apiserver_client_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver.certificate_key),
      NULL },

    { ngx_string("k8s_metrics_apiserver_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, apiserver.timeout),
      NULL },

    { ngx_string("k8s_metrics_node_selector"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_k8s_metrics_apiserver_node_selector,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("k8s_metrics_kubelet_use_node_status_port"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, kubelet.use_node_status_port),
      NULL },

    { ngx_string("k8s_metrics_kubelet_address_types"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_k8s_metrics_kubelet_address_types,
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
     */

    kmcf->resolution = NGX_CONF_UNSET_MSEC;
    kmcf->swap = NGX_CONF_UNSET;
    kmcf->response_cache_size = NGX_CONF_UNSET_SIZE;

    ngx_k8s_metrics_kubelet_create_conf(&kmcf->kubelet);
    ngx_k8s_metrics_apiserver_create_conf(&kmcf->apiserver);

    return kmcf;
}


static char *
ngx_k8s_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    ngx_conf_init_msec_value(kmcf->resolution, 15000);
    ngx_conf_init_value(kmcf->swap, 0);
    ngx_conf_init_size_value(kmcf->response_cache_size, 128 * 1024 * 1024);

    /* the apiserver's defaults are the kubelets' (their CA, their token) */

    if (ngx_k8s_metrics_kubelet_init_conf(cf, &kmcf->kubelet) != NGX_OK
        || ngx_k8s_metrics_apiserver_init_conf(cf, kmcf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_k8s_metrics_kubelet_check_conf(cf, kmcf);
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

    if (kmcf->apiserver.url.len
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

    *field = ngx_k8s_metrics_ca_load(cf, &value[1], (char *) cmd->name.data);
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
