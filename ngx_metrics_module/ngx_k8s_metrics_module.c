
/*
 * ngx_metrics_module: the nginx module: its command table (the handlers of
 * each part of the configuration are in that part's *_conf.c), the main
 * configuration's own settings, the processes' start and exit, and the
 * identity variables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_client.h"
#include "ngx_k8s_metrics_auth.h"
#include "ngx_k8s_metrics_conf.h"
#include "ngx_k8s_metrics_audit.h"
#include "ngx_k8s_metrics_share.h"


static ngx_int_t ngx_k8s_metrics_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_k8s_metrics_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_k8s_metrics_init_process(ngx_cycle_t *cycle);
static void ngx_k8s_metrics_exit_process(ngx_cycle_t *cycle);

static void *ngx_k8s_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_k8s_metrics_init_main_conf(ngx_conf_t *cf, void *conf);
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


static ngx_conf_post_t  ngx_k8s_metrics_share_post = {
    ngx_k8s_metrics_share_threshold_check
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

    { ngx_string("k8s_metrics_scrape_share_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_k8s_metrics_main_conf_t, share_threshold),
      &ngx_k8s_metrics_share_post },

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
    kmcf->share_threshold = NGX_CONF_UNSET_UINT;

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
    ngx_conf_init_uint_value(kmcf->share_threshold,
                             NGX_K8S_METRICS_SHARE_THRESHOLD);

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


/*
 * The scraper runs in worker 0, or in the single process; from
 * k8s_metrics_scrape_share_threshold static nodes on, and with nodes from
 * the apiserver, in every worker, each scraping its share (share.c).
 */

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

    if (ngx_process == NGX_PROCESS_WORKER && ngx_worker != 0
        && ngx_worker >= ngx_k8s_metrics_scraper_shares(cycle, kmcf))
    {
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
