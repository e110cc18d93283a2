
/*
 * ngx_metrics_module: the kubelets' configuration (k8s_metrics_node,
 * k8s_metrics_kubelet_*): its directives, defaults and checks.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_trust.h"
#include "ngx_k8s_metrics_conf.h"


static char *ngx_k8s_metrics_kubelet_check_timeout(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static char *ngx_k8s_metrics_kubelet_check_files(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static char *ngx_k8s_metrics_node_urls(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
static ngx_int_t ngx_k8s_metrics_node_label(ngx_conf_t *cf,
    ngx_k8s_metrics_node_conf_t *node, ngx_str_t *arg);


void
ngx_k8s_metrics_kubelet_create_conf(ngx_k8s_metrics_kubelet_conf_t *kc)
{
    /*
     * set by ngx_pcalloc():
     *
     *     kc->nodes = NULL;
     *     kc->ca = { 0, NULL };
     *     kc->certificate = { 0, NULL };
     *     kc->certificate_key = { 0, NULL };
     *     kc->token_file = { 0, NULL };
     *     kc->address_types = NULL;
     */

    kc->port = NGX_CONF_UNSET_UINT;
    kc->insecure_tls = NGX_CONF_UNSET;
    kc->timeout = NGX_CONF_UNSET_MSEC;
    kc->max_body = NGX_CONF_UNSET_SIZE;
    kc->max_pods = NGX_CONF_UNSET_UINT;
    kc->use_node_status_port = NGX_CONF_UNSET;
}


/*
 * The defaults; nothing is checked yet: the apiserver's may fill some.
 * The timeout's depends on the resolution (see check_timeout).
 */

ngx_int_t
ngx_k8s_metrics_kubelet_init_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_kubelet_conf_t *kc)
{
    ngx_str_t  *type;

    ngx_conf_init_uint_value(kc->port, 10250);
    ngx_conf_init_value(kc->insecure_tls, 0);
    ngx_conf_init_size_value(kc->max_body, 16 * 1024 * 1024);
    ngx_conf_init_uint_value(kc->max_pods, 1000);
    ngx_conf_init_value(kc->use_node_status_port, 0);

    if (kc->address_types) {
        return NGX_OK;
    }

    kc->address_types = ngx_array_create(cf->pool, 3, sizeof(ngx_str_t));
    if (kc->address_types == NULL) {
        return NGX_ERROR;
    }

    type = ngx_array_push_n(kc->address_types, 3);
    if (type == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&type[0], "InternalIP");
    ngx_str_set(&type[1], "ExternalIP");
    ngx_str_set(&type[2], "Hostname");

    return NGX_OK;
}


/* once the apiserver's defaults are in */

char *
ngx_k8s_metrics_kubelet_check_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    if (kmcf->kubelet.nodes && kmcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_node\" requires "
                           "\"k8s_metrics_zone\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_k8s_metrics_kubelet_check_timeout(cf, kmcf) != NGX_CONF_OK
        || ngx_k8s_metrics_kubelet_check_files(cf, kmcf) != NGX_CONF_OK)
    {
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
ngx_k8s_metrics_kubelet_check_timeout(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    ngx_msec_t  limit;

    limit = kmcf->resolution / 10 * 9 + kmcf->resolution % 10 * 9 / 10;

    if (kmcf->kubelet.timeout == NGX_CONF_UNSET_MSEC) {
        kmcf->kubelet.timeout = ngx_min(10000, limit);
        return NGX_CONF_OK;
    }

    if (kmcf->kubelet.timeout > limit) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_kubelet_timeout\" %M ms is more "
                           "than 0.9 x \"k8s_metrics_resolution\" %M ms: "
                           "scrape cycles would overlap",
                           kmcf->kubelet.timeout, kmcf->resolution);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_k8s_metrics_kubelet_check_files(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf)
{
    if (kmcf->kubelet.insecure_tls && kmcf->kubelet.ca.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"k8s_metrics_kubelet_insecure_tls on\" conflicts "
                           "with \"k8s_metrics_kubelet_ca\": verify kubelets "
                           "or don't, not both");
        return NGX_CONF_ERROR;
    }

    if ((kmcf->kubelet.nodes || kmcf->apiserver.url.len)
        && !kmcf->kubelet.insecure_tls && kmcf->kubelet.ca.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kubelets need \"k8s_metrics_kubelet_ca\" "
                           "to verify their serving certificates (or "
                           "\"k8s_metrics_kubelet_insecure_tls on\", not for "
                           "production)");
        return NGX_CONF_ERROR;
    }

    if (kmcf->kubelet.ca.len) {
        if (ngx_k8s_metrics_ca_check(cf, &kmcf->kubelet.ca,
                                     "k8s_metrics_kubelet_ca")
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_k8s_metrics_credentials_check(cf, "kubelet",
                                          &kmcf->kubelet.certificate,
                                          &kmcf->kubelet.certificate_key,
                                          &kmcf->kubelet.token_file)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
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

    if (kmcf->kubelet.nodes == NULL) {
        return NGX_CONF_OK;
    }

    node = kmcf->kubelet.nodes->elts;

    ngx_qsort(node, kmcf->kubelet.nodes->nelts,
              sizeof(ngx_k8s_metrics_node_conf_t), ngx_k8s_metrics_cmp_nodes);

    for (i = 0; i < kmcf->kubelet.nodes->nelts; i++) {

        if (i && ngx_k8s_metrics_cmp_nodes(&node[i - 1], &node[i]) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
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
                                              kmcf->kubelet.port)
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


/* k8s_metrics_node NAME ADDRESS[:PORT] [label=KEY=VALUE ...] */

char *
ngx_k8s_metrics_kubelet_node(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    ngx_url_t                     u;
    ngx_str_t                    *value;
    ngx_uint_t                    i;
    ngx_k8s_metrics_node_conf_t  *node;

    value = cf->args->elts;

    if (kmcf->kubelet.nodes == NULL) {
        kmcf->kubelet.nodes = ngx_array_create(cf->pool, 16,
                                       sizeof(ngx_k8s_metrics_node_conf_t));
        if (kmcf->kubelet.nodes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    node = ngx_array_push(kmcf->kubelet.nodes);
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


char *
ngx_k8s_metrics_kubelet_address_types(ngx_conf_t *cf, ngx_command_t *cmd,
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

    if (kmcf->kubelet.address_types) {
        return "is duplicate";
    }

    kmcf->kubelet.address_types = ngx_array_create(cf->pool,
                                                   cf->args->nelts - 1,
                                                   sizeof(ngx_str_t));
    if (kmcf->kubelet.address_types == NULL) {
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

        type = ngx_array_push(kmcf->kubelet.address_types);
        if (type == NULL) {
            return NGX_CONF_ERROR;
        }

        *type = value[i];
    }

    return NGX_CONF_OK;
}


char *
ngx_k8s_metrics_kubelet_max_pods_check(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *max = data;

    if (*max == 0) {
        return "must be at least 1";
    }

    return NGX_CONF_OK;
}


/* nodes by name, the store's order (static and listed nodes alike) */

int ngx_libc_cdecl
ngx_k8s_metrics_cmp_nodes(const void *one, const void *two)
{
    ngx_k8s_metrics_node_conf_t  *a, *b;

    a = (ngx_k8s_metrics_node_conf_t *) one;
    b = (ngx_k8s_metrics_node_conf_t *) two;

    return (int) ngx_memn2cmp(a->name.data, b->name.data, a->name.len,
                              b->name.len);
}
