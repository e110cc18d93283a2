
/*
 * The configuration, each part in its file: the kubelets
 * (ngx_k8s_metrics_kubelet_conf.c), the kube-apiserver
 * (ngx_k8s_metrics_apiserver_conf.c), the API location
 * (ngx_k8s_metrics_api_conf.c).
 */


#ifndef _NGX_K8S_METRICS_CONF_H_INCLUDED_
#define _NGX_K8S_METRICS_CONF_H_INCLUDED_


#include "ngx_k8s_metrics.h"


/* ngx_k8s_metrics_kubelet_conf.c */
char *ngx_k8s_metrics_kubelet_node(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_k8s_metrics_kubelet_address_types(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_k8s_metrics_kubelet_max_pods_check(ngx_conf_t *cf, void *post,
    void *data);
void ngx_k8s_metrics_kubelet_create_conf(ngx_k8s_metrics_kubelet_conf_t *kc);
ngx_int_t ngx_k8s_metrics_kubelet_init_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_kubelet_conf_t *kc);
char *ngx_k8s_metrics_kubelet_check_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);
int ngx_libc_cdecl ngx_k8s_metrics_cmp_nodes(const void *one,
    const void *two);


/* ngx_k8s_metrics_apiserver_conf.c */
char *ngx_k8s_metrics_apiserver_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_k8s_metrics_apiserver_node_selector(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
void ngx_k8s_metrics_apiserver_create_conf(
    ngx_k8s_metrics_apiserver_conf_t *ac);
char *ngx_k8s_metrics_apiserver_init_conf(ngx_conf_t *cf,
    ngx_k8s_metrics_main_conf_t *kmcf);


/* ngx_k8s_metrics_api_conf.c */
char *ngx_k8s_metrics_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void *ngx_k8s_metrics_create_loc_conf(ngx_conf_t *cf);
char *ngx_k8s_metrics_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
char *ngx_k8s_metrics_ca_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_k8s_metrics_authorization(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_k8s_metrics_names_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_K8S_METRICS_CONF_H_INCLUDED_ */
