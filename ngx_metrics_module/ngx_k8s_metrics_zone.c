
/*
 * ngx_metrics_module: the shared zone (k8s_metrics_zone), whose head
 * (ngx_k8s_metrics_shctx_t) every process maps; its tenants, the store
 * and the review cache, are initialised from here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_store.h"
#include "ngx_k8s_metrics_auth.h"


#define NGX_K8S_METRICS_ZONE_MIN      (64 * 1024)


static ngx_int_t ngx_k8s_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


char *
ngx_k8s_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_k8s_metrics_main_conf_t *kmcf = conf;

    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value, name, s;

    if (kmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", it must be NAME:SIZE",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < NGX_K8S_METRICS_ZONE_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small: %z bytes, at least "
                           "%uz are needed", &value[1], size,
                           (size_t) NGX_K8S_METRICS_ZONE_MIN);
        return NGX_CONF_ERROR;
    }

    kmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_k8s_metrics_module);
    if (kmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (kmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    kmcf->shm_zone->init = ngx_k8s_metrics_init_zone;
    kmcf->shm_zone->data = kmcf;

    return NGX_CONF_OK;
}


/* the zone survives "nginx -s reload": the old store is kept as it is */

static ngx_int_t
ngx_k8s_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_k8s_metrics_main_conf_t *okmcf = data;

    size_t                        len;
    ngx_slab_pool_t              *shpool;
    ngx_k8s_metrics_main_conf_t  *kmcf;

    kmcf = shm_zone->data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    kmcf->shpool = shpool;

    if (okmcf) {
        kmcf->sh = okmcf->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        kmcf->sh = shpool->data;
        return NGX_OK;
    }

    kmcf->sh = ngx_slab_calloc(shpool, sizeof(ngx_k8s_metrics_shctx_t));
    if (kmcf->sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = kmcf->sh;

    /* its tenants */

    ngx_k8s_metrics_store_init_zone(kmcf->sh);
    ngx_k8s_metrics_review_init_zone(kmcf->sh);

    len = sizeof(" in k8s_metrics_zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in k8s_metrics_zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}
