
/*
 * ngx_metrics_module: authorization, as k8s.io/apiserver's delegated
 * authorizer: always-allow paths, then group system:masters, then the
 * configured mode.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_auth.h"


static ngx_flag_t ngx_k8s_metrics_always_allowed_path(ngx_array_t *paths,
    ngx_str_t *path);


/*
 * NGX_OK: allowed; NGX_DECLINED: denied (reason set); NGX_AGAIN: a
 * SubjectAccessReview was asked; NGX_ERROR: it failed (reason set).
 */

ngx_int_t
ngx_k8s_metrics_authorize(ngx_http_request_t *r,
    ngx_k8s_metrics_loc_conf_t *klcf, ngx_k8s_metrics_ctx_t *ctx,
    ngx_str_t *reason)
{
    ngx_k8s_metrics_identity_t  *id;

    id = &ctx->identity;

    if (!ctx->info.resource_request
        && ngx_k8s_metrics_always_allowed_path(klcf->always_allow_paths,
                                               &ctx->info.path))
    {
        return NGX_OK;
    }

    if (ngx_k8s_metrics_in_group(id, "system:masters")) {
        return NGX_OK;
    }

    switch (klcf->authorization) {

    case NGX_K8S_METRICS_AUTHZ_ALWAYS_ALLOW:
        if (id->authenticator != NGX_K8S_METRICS_AUTHN_ANONYMOUS) {
            return NGX_OK;
        }

        ngx_str_null(reason);
        return NGX_DECLINED;

    default: /* NGX_K8S_METRICS_AUTHZ_WEBHOOK */
        return ngx_k8s_metrics_review_access(r, ctx, reason);
    }
}


/* exact paths, or prefixes ending in "*", as the path authorizer */

static ngx_flag_t
ngx_k8s_metrics_always_allowed_path(ngx_array_t *paths, ngx_str_t *path)
{
    ngx_str_t   *p;
    ngx_uint_t   i;

    if (paths == NULL) {
        return 0;
    }

    p = paths->elts;

    for (i = 0; i < paths->nelts; i++) {

        if (p[i].data[p[i].len - 1] == '*') {
            if (path->len >= p[i].len - 1
                && ngx_strncmp(path->data, p[i].data, p[i].len - 1) == 0)
            {
                return 1;
            }

            continue;
        }

        if (path->len == p[i].len
            && ngx_strncmp(path->data, p[i].data, p[i].len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
