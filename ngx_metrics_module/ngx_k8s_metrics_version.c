
/*
 * ngx_metrics_module: /version, k8s.io/apimachinery's version.Info as
 * metrics-server serves its own (pkg/version): the module's version, the
 * commit and tree state the build was configured from, the time of that
 * configuration (SOURCE_DATE_EPOCH when set), and in place of Go's
 * runtime.Version() and runtime.Compiler the C compiler that built it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_send.h"


#define NGX_K8S_METRICS_MAJOR         "0"
#define NGX_K8S_METRICS_MINOR         "1"
#define NGX_K8S_METRICS_PATCH         "0"
#define NGX_K8S_METRICS_MODULE_VERSION                                       \
    NGX_K8S_METRICS_MAJOR "." NGX_K8S_METRICS_MINOR "." NGX_K8S_METRICS_PATCH

/* written by ./config into ngx_auto_config.h; a build outside git: "" */

#ifndef NGX_K8S_METRICS_GIT_COMMIT
#define NGX_K8S_METRICS_GIT_COMMIT    ""
#endif

#ifndef NGX_K8S_METRICS_GIT_TREE_STATE
#define NGX_K8S_METRICS_GIT_TREE_STATE  ""
#endif

#ifndef NGX_K8S_METRICS_BUILD_DATE
#define NGX_K8S_METRICS_BUILD_DATE    "1970-01-01T00:00:00Z"
#endif

#if defined(__clang__)
#define NGX_K8S_METRICS_COMPILER      "clang"
#define NGX_K8S_METRICS_CC_VERSION    "clang " __clang_version__
#elif defined(__GNUC__)
#define NGX_K8S_METRICS_COMPILER      "gcc"
#define NGX_K8S_METRICS_CC_VERSION    "gcc " __VERSION__
#else
#define NGX_K8S_METRICS_COMPILER      "cc"
#define NGX_K8S_METRICS_CC_VERSION    "cc"
#endif

/* GOOS/GOARCH names */

#if defined(__linux__)
#define NGX_K8S_METRICS_OS            "linux"
#elif defined(__FreeBSD__)
#define NGX_K8S_METRICS_OS            "freebsd"
#elif defined(__APPLE__)
#define NGX_K8S_METRICS_OS            "darwin"
#else
#define NGX_K8S_METRICS_OS            "unknown"
#endif

#if defined(__x86_64__)
#define NGX_K8S_METRICS_ARCH          "amd64"
#elif defined(__aarch64__)
#define NGX_K8S_METRICS_ARCH          "arm64"
#elif defined(__i386__)
#define NGX_K8S_METRICS_ARCH          "386"
#elif defined(__arm__)
#define NGX_K8S_METRICS_ARCH          "arm"
#elif defined(__s390x__)
#define NGX_K8S_METRICS_ARCH          "s390x"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define NGX_K8S_METRICS_ARCH          "ppc64le"
#else
#define NGX_K8S_METRICS_ARCH          "unknown"
#endif


/* JSON only, as kube-apiserver's /version; in Go's field order */

ngx_int_t
ngx_k8s_metrics_serve_version(ngx_http_request_t *r)
{
    return ngx_k8s_metrics_send_json(r, NGX_HTTP_OK,
               json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                         "major", NGX_K8S_METRICS_MAJOR,
                         "minor", NGX_K8S_METRICS_MINOR,
                         "gitVersion", "v" NGX_K8S_METRICS_MODULE_VERSION,
                         "gitCommit", NGX_K8S_METRICS_GIT_COMMIT,
                         "gitTreeState", NGX_K8S_METRICS_GIT_TREE_STATE,
                         "buildDate", NGX_K8S_METRICS_BUILD_DATE,
                         "goVersion", NGX_K8S_METRICS_CC_VERSION,
                         "compiler", NGX_K8S_METRICS_COMPILER,
                         "platform",
                         NGX_K8S_METRICS_OS "/" NGX_K8S_METRICS_ARCH));
}
