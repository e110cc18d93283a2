
/*
 * ngx_metrics_module: the kube-apiserver's configuration
 * (k8s_metrics_apiserver*, k8s_metrics_node_selector): its directives,
 * defaults and checks.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_selector.h"
#include "ngx_k8s_metrics_trust.h"
#include "ngx_k8s_metrics_conf.h"


void
ngx_k8s_metrics_apiserver_create_conf(ngx_k8s_metrics_apiserver_conf_t *ac)
{
    /*
     * set by ngx_pcalloc():
     *
     *     ac->url = { 0, NULL };
     *     ac->ca = { 0, NULL };
     *     ac->token_file = { 0, NULL };
     *     ac->certificate = { 0, NULL };
     *     ac->certificate_key = { 0, NULL };
     *     ac->in_cluster = 0;
     *     ac->node_selector = { 0, NULL };
     */

    ac->timeout = NGX_CONF_UNSET_MSEC;
}


/*
 * With an apiserver: its CA is required (and is the kubelets' CA unless
 * set), its credentials readable; kubelets get its token unless they have
 * credentials of their own.
 */

char *
ngx_k8s_metrics_apiserver_init_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_conf_init_msec_value(kmcf->apiserver.timeout, 10000);

    if (kmcf->apiserver.in_cluster) {
        if (kmcf->apiserver.ca.len == 0) {
            ngx_str_set(&kmcf->apiserver.ca, NGX_K8S_METRICS_SA_DIR "/ca.crt");
        }

        if (kmcf->apiserver.token_file.len == 0
            && kmcf->apiserver.certificate.len == 0)
        {
            ngx_str_set(&kmcf->apiserver.token_file,
                        NGX_K8S_METRICS_SA_DIR "/token");
        }
    }

    if (kmcf->apiserver.url.len == 0) {
        if (kmcf->apiserver.node_selector.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"k8s_metrics_node_selector\" selects among "
                               "the nodes of \"k8s_metrics_apiserver\", which "
                               "is not set");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (kmcf->kubelet.nodes) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_node\" conflicts with "
                           "\"k8s_metrics_apiserver\": nodes are static or "
                           "listed by the apiserver, not both");
        return NGX_CONF_ERROR;
    }

    if (kmcf->apiserver.ca.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_apiserver\" needs "
                           "\"k8s_metrics_apiserver_ca\" to verify the "
                           "apiserver");
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_ca_check(cf, &kmcf->apiserver.ca,
                                 "k8s_metrics_apiserver_ca")
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_credentials_check(cf, "apiserver",
                                          &kmcf->apiserver.certificate,
                                          &kmcf->apiserver.certificate_key,
                                          &kmcf->apiserver.token_file)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (kmcf->apiserver.token_file.len == 0
        && kmcf->apiserver.certificate.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_apiserver\" needs credentials: "
                           "\"k8s_metrics_apiserver_token_file\" or "
                           "\"k8s_metrics_apiserver_client_certificate\"");
        return NGX_CONF_ERROR;
    }

    if (kmcf->kubelet.ca.len == 0 && !kmcf->kubelet.insecure_tls) {
        kmcf->kubelet.ca = kmcf->apiserver.ca;
    }

    if (kmcf->kubelet.certificate.len == 0
        && kmcf->kubelet.token_file.len == 0)
    {
        kmcf->kubelet.token_file = kmcf->apiserver.token_file;
    }

    return NGX_CONF_OK;
}


/* k8s_metrics_apiserver https://HOST[:PORT] | in_cluster */

char *
ngx_k8s_metrics_apiserver_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    u_char     *p;
    char       *host, *port;
    ngx_str_t  *value;

    if (kmcf->apiserver.url.len) {
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

        kmcf->apiserver.url = value[1];

        while (kmcf->apiserver.url.len
               && kmcf->apiserver.url.data[kmcf->apiserver.url.len - 1] == '/')
        {
            kmcf->apiserver.url.len--;
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

    kmcf->apiserver.url.data = p;
    kmcf->apiserver.url.len = ngx_sprintf(p, ngx_strchr(host, ':')
                                             ? "https://[%s]:%s"
                                             : "https://%s:%s", host, port)
                              - p;

    /* the service account's CA and token, unless set: see init_main_conf */
    kmcf->apiserver.in_cluster = 1;

    return NGX_CONF_OK;
}


/* a label selector over nodes, checked now, sent as a query parameter */

char *
ngx_k8s_metrics_apiserver_node_selector(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    u_char       *p;
    uintptr_t     n;
    ngx_str_t    *value, error;
    ngx_array_t  *requirements;

    if (kmcf->apiserver.node_selector.len) {
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

    kmcf->apiserver.node_selector.data = p;
    p = ngx_cpymem(p, "labelSelector=", sizeof("labelSelector=") - 1);
    p = (u_char *) ngx_escape_uri(p, value[1].data, value[1].len,
                                  NGX_ESCAPE_ARGS);

    kmcf->apiserver.node_selector.len = p - kmcf->apiserver.node_selector.data;

    return NGX_CONF_OK;
}
