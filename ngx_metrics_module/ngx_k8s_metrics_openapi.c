
/*
 * ngx_metrics_module: the OpenAPI documents metrics-server publishes:
 * /openapi/v2 (swagger 2.0), /openapi/v3 and
 * /openapi/v3/apis/metrics.k8s.io/v1beta1, with the API's paths (GET
 * operations carrying x-kubernetes-group-version-kind: kube-apiserver's
 * aggregator ignores a v2 spec without paths, and kubectl explain finds a
 * kind through them) and the four kinds with the apimachinery types they
 * use (written from k8s.io/metrics' types and metrics-server's generated
 * OpenAPI definitions).  Built once per process; ETag and 304 as
 * kube-openapi's handlers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_k8s_metrics.h"
#include "ngx_k8s_metrics_send.h"


#define NGX_K8S_METRICS_OPENAPI_V2      0
#define NGX_K8S_METRICS_OPENAPI_V3      1
#define NGX_K8S_METRICS_OPENAPI_V3_GV   2

#define NGX_K8S_METRICS_OPENAPI_GV_PATH                                      \
    "/openapi/v3/apis/" NGX_K8S_METRICS_GROUP_VERSION

#define NGX_K8S_METRICS_OPENAPI_INFO                                         \
    "\"info\":{\"title\":\"Kubernetes metrics-server\","                    \
    "\"version\":\"unversioned\"}"


/* the query parameters of a list operation, as kube-openapi writes them */

#define NGX_K8S_METRICS_OPENAPI_V2_LIST_HEAD                                 \
    "{\"uniqueItems\":true,\"type\":\"boolean\",\"description\":\"allowWa"   \
    "tchBookmarks requests watch events with type \\\"BOOKMARK\\\". Serve"   \
    "rs that do not implement bookmarks may ignore this flag and bookmark"   \
    "s are sent at the server's discretion.\",\"name\":\"allowWatchBookma"   \
    "rks\",\"in\":\"query\"},{\"uniqueItems\":true,\"type\":\"string\",\""   \
    "description\":\"The continue option should be set when retrieving mo"   \
    "re results from the server.\",\"name\":\"continue\",\"in\":\"query\""   \
    "},{\"uniqueItems\":true,\"type\":\"string\",\"description\":\"A sele"   \
    "ctor to restrict the list of returned objects by their fields. Defau"   \
    "lts to everything.\",\"name\":\"fieldSelector\",\"in\":\"query\"},{"    \
    "\"uniqueItems\":true,\"type\":\"string\",\"description\":\"A selecto"   \
    "r to restrict the list of returned objects by their labels. Defaults"   \
    " to everything.\",\"name\":\"labelSelector\",\"in\":\"query\"},{\"un"   \
    "iqueItems\":true,\"type\":\"integer\",\"description\":\"limit is a m"   \
    "aximum number of responses to return for a list call.\",\"name\":\"l"   \
    "imit\",\"in\":\"query\""

#define NGX_K8S_METRICS_OPENAPI_V2_LIST_TAIL                                 \
    "},{\"uniqueItems\":true,\"type\":\"string\",\"description\":\"If 'tr"   \
    "ue', then the output is pretty printed. Defaults to 'false' unless t"   \
    "he user-agent indicates a browser or command-line HTTP tool (curl an"   \
    "d wget).\",\"name\":\"pretty\",\"in\":\"query\"},{\"uniqueItems\":tr"   \
    "ue,\"type\":\"string\",\"description\":\"resourceVersion sets a cons"   \
    "traint on what resource versions a request may be served from. Defau"   \
    "lts to unset\",\"name\":\"resourceVersion\",\"in\":\"query\"},{\"uni"   \
    "queItems\":true,\"type\":\"string\",\"description\":\"resourceVersio"   \
    "nMatch determines how resourceVersion is applied to list calls. Defa"   \
    "ults to unset\",\"name\":\"resourceVersionMatch\",\"in\":\"query\"},"   \
    "{\"uniqueItems\":true,\"type\":\"boolean\",\"description\":\"`sendIn"   \
    "itialEvents=true` may be set together with `watch=true`.\",\"name\":"   \
    "\"sendInitialEvents\",\"in\":\"query\"},{\"uniqueItems\":true,\"type"   \
    "\":\"integer\",\"description\":\"Timeout for the list/watch call. Th"   \
    "is limits the duration of the call, regardless of any activity or in"   \
    "activity.\",\"name\":\"timeoutSeconds\",\"in\":\"query\"},{\"uniqueI"   \
    "tems\":true,\"type\":\"boolean\",\"description\":\"Watch for changes"   \
    " to the described resources and return them as a stream of add, upda"   \
    "te, and remove notifications.\",\"name\":\"watch\",\"in\":\"query\"}"

#define NGX_K8S_METRICS_OPENAPI_V3_LIST_PARAMS                               \
    "{\"name\":\"allowWatchBookmarks\",\"in\":\"query\",\"description\":"    \
    "\"allowWatchBookmarks requests watch events with type \\\"BOOKMARK\\"   \
    "\". Servers that do not implement bookmarks may ignore this flag and"   \
    " bookmarks are sent at the server's discretion.\",\"schema\":{\"type"   \
    "\":\"boolean\",\"uniqueItems\":true}},{\"name\":\"continue\",\"in\":"   \
    "\"query\",\"description\":\"The continue option should be set when r"   \
    "etrieving more results from the server.\",\"schema\":{\"type\":\"str"   \
    "ing\",\"uniqueItems\":true}},{\"name\":\"fieldSelector\",\"in\":\"qu"   \
    "ery\",\"description\":\"A selector to restrict the list of returned "   \
    "objects by their fields. Defaults to everything.\",\"schema\":{\"typ"   \
    "e\":\"string\",\"uniqueItems\":true}},{\"name\":\"labelSelector\",\""   \
    "in\":\"query\",\"description\":\"A selector to restrict the list of "   \
    "returned objects by their labels. Defaults to everything.\",\"schema"   \
    "\":{\"type\":\"string\",\"uniqueItems\":true}},{\"name\":\"limit\","    \
    "\"in\":\"query\",\"description\":\"limit is a maximum number of resp"   \
    "onses to return for a list call.\",\"schema\":{\"type\":\"integer\","   \
    "\"uniqueItems\":true}},{\"name\":\"resourceVersion\",\"in\":\"query"    \
    "\",\"description\":\"resourceVersion sets a constraint on what resou"   \
    "rce versions a request may be served from. Defaults to unset\",\"sch"   \
    "ema\":{\"type\":\"string\",\"uniqueItems\":true}},{\"name\":\"resour"   \
    "ceVersionMatch\",\"in\":\"query\",\"description\":\"resourceVersionM"   \
    "atch determines how resourceVersion is applied to list calls. Defaul"   \
    "ts to unset\",\"schema\":{\"type\":\"string\",\"uniqueItems\":true}}"   \
    ",{\"name\":\"sendInitialEvents\",\"in\":\"query\",\"description\":\""   \
    "`sendInitialEvents=true` may be set together with `watch=true`.\",\""   \
    "schema\":{\"type\":\"boolean\",\"uniqueItems\":true}},{\"name\":\"ti"   \
    "meoutSeconds\",\"in\":\"query\",\"description\":\"Timeout for the li"   \
    "st/watch call. This limits the duration of the call, regardless of a"   \
    "ny activity or inactivity.\",\"schema\":{\"type\":\"integer\",\"uniq"   \
    "ueItems\":true}},{\"name\":\"watch\",\"in\":\"query\",\"description"    \
    "\":\"Watch for changes to the described resources and return them as"   \
    " a stream of add, update, and remove notifications.\",\"schema\":{\""   \
    "type\":\"boolean\",\"uniqueItems\":true}"


typedef struct {
    ngx_str_t                   body;
    ngx_str_t                   hash;       /* SHA-512, upper-case hex */
} ngx_k8s_metrics_openapi_doc_t;


static ngx_int_t ngx_k8s_metrics_openapi_build(ngx_log_t *log);
static u_char *ngx_k8s_metrics_openapi_write_schemas(u_char *p,
    ngx_uint_t v3);
static ngx_int_t ngx_k8s_metrics_openapi_hash(
    ngx_k8s_metrics_openapi_doc_t *doc, ngx_log_t *log);


static ngx_k8s_metrics_openapi_doc_t  ngx_k8s_metrics_openapi_docs[3];

static ngx_str_t  ngx_k8s_metrics_openapi_type =
    ngx_string("application/json");


static const char  ngx_k8s_metrics_openapi_v2_paths[] =
    "{\"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods\":{\"get\""
    ":{\"description\":\"list objects of kind PodMetrics\",\"consumes\":[\""
    "*/*\"],\"produces\":[\"application/json\",\"application/yaml\",\"appli"
    "cation/vnd.kubernetes.protobuf\"],\"schemes\":[\"https\"],\"tags\":[\""
    "metrics_v1beta1\"],\"operationId\":\"listMetricsV1beta1NamespacedPodMe"
    "trics\",\"responses\":{\"200\":{\"description\":\"OK\",\"schema\":{\"$"
    "ref\":\"#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetri"
    "csList\"}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernetes-"
    "action\":\"list\",\"x-kubernetes-group-version-kind\":{\"group\":\"met"
    "rics.k8s.io\",\"kind\":\"PodMetrics\",\"version\":\"v1beta1\"}},\"para"
    "meters\":["
    NGX_K8S_METRICS_OPENAPI_V2_LIST_HEAD
    "},{\"uniqueItems\":true,\"type\":\"string\",\"description\":\"object n"
    "ame and auth scope, such as for teams and projects\",\"name\":\"namesp"
    "ace\",\"in\":\"path\",\"required\":true"
    NGX_K8S_METRICS_OPENAPI_V2_LIST_TAIL
    "]},\"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}\""
    ":{\"get\":{\"description\":\"read the specified PodMetrics\",\"consume"
    "s\":[\"*/*\"],\"produces\":[\"application/json\",\"application/yaml\","
    "\"application/vnd.kubernetes.protobuf\"],\"schemes\":[\"https\"],\"tag"
    "s\":[\"metrics_v1beta1\"],\"operationId\":\"readMetricsV1beta1Namespac"
    "edPodMetrics\",\"responses\":{\"200\":{\"description\":\"OK\",\"schema"
    "\":{\"$ref\":\"#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.P"
    "odMetrics\"}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernet"
    "es-action\":\"get\",\"x-kubernetes-group-version-kind\":{\"group\":\"m"
    "etrics.k8s.io\",\"kind\":\"PodMetrics\",\"version\":\"v1beta1\"}},\"pa"
    "rameters\":[{\"uniqueItems\":true,\"type\":\"string\",\"description\":"
    "\"name of the PodMetrics\",\"name\":\"name\",\"in\":\"path\",\"require"
    "d\":true},{\"uniqueItems\":true,\"type\":\"string\",\"description\":\""
    "object name and auth scope, such as for teams and projects\",\"name\":"
    "\"namespace\",\"in\":\"path\",\"required\":true},{\"uniqueItems\":true"
    ",\"type\":\"string\",\"description\":\"If 'true', then the output is p"
    "retty printed. Defaults to 'false' unless the user-agent indicates a b"
    "rowser or command-line HTTP tool (curl and wget).\",\"name\":\"pretty"
    "\",\"in\":\"query\"}]},\"/apis/metrics.k8s.io/v1beta1/nodes\":{\"get\""
    ":{\"description\":\"list objects of kind NodeMetrics\",\"consumes\":["
    "\"*/*\"],\"produces\":[\"application/json\",\"application/yaml\",\"app"
    "lication/vnd.kubernetes.protobuf\"],\"schemes\":[\"https\"],\"tags\":["
    "\"metrics_v1beta1\"],\"operationId\":\"listMetricsV1beta1NodeMetrics\""
    ",\"responses\":{\"200\":{\"description\":\"OK\",\"schema\":{\"$ref\":"
    "\"#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsLis"
    "t\"}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernetes-actio"
    "n\":\"list\",\"x-kubernetes-group-version-kind\":{\"group\":\"metrics."
    "k8s.io\",\"kind\":\"NodeMetrics\",\"version\":\"v1beta1\"}},\"paramete"
    "rs\":["
    NGX_K8S_METRICS_OPENAPI_V2_LIST_HEAD
    NGX_K8S_METRICS_OPENAPI_V2_LIST_TAIL
    "]},\"/apis/metrics.k8s.io/v1beta1/nodes/{name}\":{\"get\":{\"descripti"
    "on\":\"read the specified NodeMetrics\",\"consumes\":[\"*/*\"],\"produ"
    "ces\":[\"application/json\",\"application/yaml\",\"application/vnd.kub"
    "ernetes.protobuf\"],\"schemes\":[\"https\"],\"tags\":[\"metrics_v1beta"
    "1\"],\"operationId\":\"readMetricsV1beta1NodeMetrics\",\"responses\":{"
    "\"200\":{\"description\":\"OK\",\"schema\":{\"$ref\":\"#/definitions/i"
    "o.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics\"}},\"401\":{\"desc"
    "ription\":\"Unauthorized\"}},\"x-kubernetes-action\":\"get\",\"x-kuber"
    "netes-group-version-kind\":{\"group\":\"metrics.k8s.io\",\"kind\":\"No"
    "deMetrics\",\"version\":\"v1beta1\"}},\"parameters\":[{\"uniqueItems\""
    ":true,\"type\":\"string\",\"description\":\"name of the NodeMetrics\","
    "\"name\":\"name\",\"in\":\"path\",\"required\":true},{\"uniqueItems\":"
    "true,\"type\":\"string\",\"description\":\"If 'true', then the output "
    "is pretty printed. Defaults to 'false' unless the user-agent indicates"
    " a browser or command-line HTTP tool (curl and wget).\",\"name\":\"pre"
    "tty\",\"in\":\"query\"}]},\"/apis/metrics.k8s.io/v1beta1/pods\":{\"get"
    "\":{\"description\":\"list objects of kind PodMetrics\",\"consumes\":["
    "\"*/*\"],\"produces\":[\"application/json\",\"application/yaml\",\"app"
    "lication/vnd.kubernetes.protobuf\"],\"schemes\":[\"https\"],\"tags\":["
    "\"metrics_v1beta1\"],\"operationId\":\"listMetricsV1beta1PodMetricsFor"
    "AllNamespaces\",\"responses\":{\"200\":{\"description\":\"OK\",\"schem"
    "a\":{\"$ref\":\"#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1."
    "PodMetricsList\"}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kub"
    "ernetes-action\":\"list\",\"x-kubernetes-group-version-kind\":{\"group"
    "\":\"metrics.k8s.io\",\"kind\":\"PodMetrics\",\"version\":\"v1beta1\"}"
    "},\"parameters\":["
    NGX_K8S_METRICS_OPENAPI_V2_LIST_HEAD
    NGX_K8S_METRICS_OPENAPI_V2_LIST_TAIL
    "]}}";


static const char  ngx_k8s_metrics_openapi_v3_paths[] =
    "{\"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods\":{\"get\""
    ":{\"description\":\"list objects of kind PodMetrics\",\"operationId\":"
    "\"listMetricsV1beta1NamespacedPodMetrics\",\"tags\":[\"metrics_v1beta1"
    "\"],\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{\"appl"
    "ication/json\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.met"
    "rics.pkg.apis.metrics.v1beta1.PodMetricsList\"}},\"application/yaml\":"
    "{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.m"
    "etrics.v1beta1.PodMetricsList\"}},\"application/vnd.kubernetes.protobu"
    "f\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.ap"
    "is.metrics.v1beta1.PodMetricsList\"}}}},\"401\":{\"description\":\"Una"
    "uthorized\"}},\"x-kubernetes-action\":\"list\",\"x-kubernetes-group-ve"
    "rsion-kind\":{\"group\":\"metrics.k8s.io\",\"kind\":\"PodMetrics\",\"v"
    "ersion\":\"v1beta1\"},\"parameters\":["
    NGX_K8S_METRICS_OPENAPI_V3_LIST_PARAMS
    "}]},\"parameters\":[{\"name\":\"namespace\",\"in\":\"path\",\"descript"
    "ion\":\"object name and auth scope, such as for teams and projects\","
    "\"required\":true,\"schema\":{\"type\":\"string\",\"uniqueItems\":true"
    "}},{\"name\":\"pretty\",\"in\":\"query\",\"description\":\"If 'true', "
    "then the output is pretty printed. Defaults to 'false' unless the user"
    "-agent indicates a browser or command-line HTTP tool (curl and wget)."
    "\",\"schema\":{\"type\":\"string\",\"uniqueItems\":true}}]},\"/apis/me"
    "trics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}\":{\"get\":{\""
    "description\":\"read the specified PodMetrics\",\"operationId\":\"read"
    "MetricsV1beta1NamespacedPodMetrics\",\"tags\":[\"metrics_v1beta1\"],\""
    "responses\":{\"200\":{\"description\":\"OK\",\"content\":{\"applicatio"
    "n/json\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.p"
    "kg.apis.metrics.v1beta1.PodMetrics\"}},\"application/yaml\":{\"schema"
    "\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1"
    "beta1.PodMetrics\"}},\"application/vnd.kubernetes.protobuf\":{\"schema"
    "\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1"
    "beta1.PodMetrics\"}}}},\"401\":{\"description\":\"Unauthorized\"}},\"x"
    "-kubernetes-action\":\"get\",\"x-kubernetes-group-version-kind\":{\"gr"
    "oup\":\"metrics.k8s.io\",\"kind\":\"PodMetrics\",\"version\":\"v1beta1"
    "\"}},\"parameters\":[{\"name\":\"name\",\"in\":\"path\",\"description"
    "\":\"name of the PodMetrics\",\"required\":true,\"schema\":{\"type\":"
    "\"string\",\"uniqueItems\":true}},{\"name\":\"namespace\",\"in\":\"pat"
    "h\",\"description\":\"object name and auth scope, such as for teams an"
    "d projects\",\"required\":true,\"schema\":{\"type\":\"string\",\"uniqu"
    "eItems\":true}},{\"name\":\"pretty\",\"in\":\"query\",\"description\":"
    "\"If 'true', then the output is pretty printed. Defaults to 'false' un"
    "less the user-agent indicates a browser or command-line HTTP tool (cur"
    "l and wget).\",\"schema\":{\"type\":\"string\",\"uniqueItems\":true}}]"
    "},\"/apis/metrics.k8s.io/v1beta1/nodes\":{\"get\":{\"description\":\"l"
    "ist objects of kind NodeMetrics\",\"operationId\":\"listMetricsV1beta1"
    "NodeMetrics\",\"tags\":[\"metrics_v1beta1\"],\"responses\":{\"200\":{"
    "\"description\":\"OK\",\"content\":{\"application/json\":{\"schema\":{"
    "\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1beta"
    "1.NodeMetricsList\"}},\"application/yaml\":{\"schema\":{\"$ref\":\"#/c"
    "omponents/schemas/io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsL"
    "ist\"}},\"application/vnd.kubernetes.protobuf\":{\"schema\":{\"$ref\":"
    "\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMet"
    "ricsList\"}}}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kuberne"
    "tes-action\":\"list\",\"x-kubernetes-group-version-kind\":{\"group\":"
    "\"metrics.k8s.io\",\"kind\":\"NodeMetrics\",\"version\":\"v1beta1\"},"
    "\"parameters\":["
    NGX_K8S_METRICS_OPENAPI_V3_LIST_PARAMS
    "}]},\"parameters\":[{\"name\":\"pretty\",\"in\":\"query\",\"descriptio"
    "n\":\"If 'true', then the output is pretty printed. Defaults to 'false"
    "' unless the user-agent indicates a browser or command-line HTTP tool "
    "(curl and wget).\",\"schema\":{\"type\":\"string\",\"uniqueItems\":tru"
    "e}}]},\"/apis/metrics.k8s.io/v1beta1/nodes/{name}\":{\"get\":{\"descri"
    "ption\":\"read the specified NodeMetrics\",\"operationId\":\"readMetri"
    "csV1beta1NodeMetrics\",\"tags\":[\"metrics_v1beta1\"],\"responses\":{"
    "\"200\":{\"description\":\"OK\",\"content\":{\"application/json\":{\"s"
    "chema\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.metri"
    "cs.v1beta1.NodeMetrics\"}},\"application/yaml\":{\"schema\":{\"$ref\":"
    "\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMet"
    "rics\"}},\"application/vnd.kubernetes.protobuf\":{\"schema\":{\"$ref\""
    ":\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMe"
    "trics\"}}}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernetes"
    "-action\":\"get\",\"x-kubernetes-group-version-kind\":{\"group\":\"met"
    "rics.k8s.io\",\"kind\":\"NodeMetrics\",\"version\":\"v1beta1\"}},\"par"
    "ameters\":[{\"name\":\"name\",\"in\":\"path\",\"description\":\"name o"
    "f the NodeMetrics\",\"required\":true,\"schema\":{\"type\":\"string\","
    "\"uniqueItems\":true}},{\"name\":\"pretty\",\"in\":\"query\",\"descrip"
    "tion\":\"If 'true', then the output is pretty printed. Defaults to 'fa"
    "lse' unless the user-agent indicates a browser or command-line HTTP to"
    "ol (curl and wget).\",\"schema\":{\"type\":\"string\",\"uniqueItems\":"
    "true}}]},\"/apis/metrics.k8s.io/v1beta1/pods\":{\"get\":{\"description"
    "\":\"list objects of kind PodMetrics\",\"operationId\":\"listMetricsV1"
    "beta1PodMetricsForAllNamespaces\",\"tags\":[\"metrics_v1beta1\"],\"res"
    "ponses\":{\"200\":{\"description\":\"OK\",\"content\":{\"application/j"
    "son\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg."
    "apis.metrics.v1beta1.PodMetricsList\"}},\"application/yaml\":{\"schema"
    "\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.metrics.v1"
    "beta1.PodMetricsList\"}},\"application/vnd.kubernetes.protobuf\":{\"sc"
    "hema\":{\"$ref\":\"#/components/schemas/io.k8s.metrics.pkg.apis.metric"
    "s.v1beta1.PodMetricsList\"}}}},\"401\":{\"description\":\"Unauthorized"
    "\"}},\"x-kubernetes-action\":\"list\",\"x-kubernetes-group-version-kin"
    "d\":{\"group\":\"metrics.k8s.io\",\"kind\":\"PodMetrics\",\"version\":"
    "\"v1beta1\"},\"parameters\":["
    NGX_K8S_METRICS_OPENAPI_V3_LIST_PARAMS
    "}]},\"parameters\":[{\"name\":\"pretty\",\"in\":\"query\",\"descriptio"
    "n\":\"If 'true', then the output is pretty printed. Defaults to 'false"
    "' unless the user-agent indicates a browser or command-line HTTP tool "
    "(curl and wget).\",\"schema\":{\"type\":\"string\",\"uniqueItems\":tru"
    "e}}]}}";


static const char  ngx_k8s_metrics_openapi_schemas[] =
    "{\"io.k8s.apimachinery.pkg.api.resource.Quantity\":{\"description\":\"Qu"
    "antity is a fixed-point representation of a number. It provides convenie"
    "nt marshaling/unmarshaling in JSON and YAML, in addition to String() and"
    " AsInt64() accessors.\\n\\nThe serialization format is:\\n\\n``` <quanti"
    "ty>        ::= <signedNumber><suffix>\\n\\n\\t(Note that <suffix> may be"
    " empty, from the \\\"\\\" case in <decimalSI>.)\\n\\n<digit>           :"
    ":= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <numb"
    "er>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <s"
    "ign>            ::= \\\"+\\\" | \\\"-\\\" <signedNumber>    ::= <number>"
    " | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> |"
    " <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\\n\\n\\t("
    "International System of units; See: http://physics.nist.gov/cuu/Units/bi"
    "nary.html)\\n\\n<decimalSI>       ::= m | \\\"\\\" | k | M | G | T | P |"
    " E\\n\\n\\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capi"
    "talization.)\\n\\n<decimalExponent> ::= \\\"e\\\" <signedNumber> | \\\"E"
    "\\\" <signedNumber> ```\",@Q@},\"io.k8s.apimachinery.pkg.apis.meta.v1.Du"
    "ration\":{\"description\":\"Duration is a wrapper around time.Duration w"
    "hich supports correct marshaling to YAML and JSON. In particular, it mar"
    "shals into strings, which can be used as map keys in json.\",\"type\":\""
    "string\"},\"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1\":{\"descripti"
    "on\":\"FieldsV1 stores a set of fields in a data structure like a Trie, "
    "in JSON format.\",\"type\":\"object\"},\"io.k8s.apimachinery.pkg.apis.me"
    "ta.v1.ListMeta\":{\"description\":\"ListMeta describes metadata that syn"
    "thetic resources must have, including lists and various status objects. "
    "A resource may have only one of {ObjectMeta, ListMeta}.\",\"type\":\"obj"
    "ect\",\"properties\":{\"continue\":{\"description\":\"continue may be se"
    "t if the user set a limit on the number of items returned, and indicates"
    " that the server has more data available.\",\"type\":\"string\"},\"remai"
    "ningItemCount\":{\"description\":\"remainingItemCount is the number of s"
    "ubsequent items in the list which are not included in this list response"
    ".\",\"type\":\"integer\",\"format\":\"int64\"},\"resourceVersion\":{\"de"
    "scription\":\"String that identifies the server's internal version of th"
    "is object that can be used by clients to determine when objects have cha"
    "nged.\",\"type\":\"string\"},\"selfLink\":{\"description\":\"Deprecated:"
    " selfLink is a legacy read-only field that is no longer populated by the"
    " system.\",\"type\":\"string\"}}},\"io.k8s.apimachinery.pkg.apis.meta.v1"
    ".ManagedFieldsEntry\":{\"description\":\"ManagedFieldsEntry is a workflo"
    "w-id, a FieldSet and the group version of the resource that the fieldset"
    " applies to.\",\"type\":\"object\",\"properties\":{\"apiVersion\":{\"des"
    "cription\":\"APIVersion defines the version of this resource that this f"
    "ield set applies to.\",\"type\":\"string\"},\"fieldsType\":{\"descriptio"
    "n\":\"FieldsType is the discriminator for the different fields format an"
    "d version. There is currently only one possible value: \\\"FieldsV1\\\""
    "\",\"type\":\"string\"},\"fieldsV1\":{\"description\":\"FieldsV1 holds t"
    "he first JSON version format as described in the \\\"FieldsV1\\\" type."
    "\",\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta.v1.Fields"
    "V1\"}]},\"manager\":{\"description\":\"Manager is an identifier of the w"
    "orkflow managing these fields.\",\"type\":\"string\"},\"operation\":{\"d"
    "escription\":\"Operation is the type of operation which lead to this Man"
    "agedFieldsEntry being created. The only valid values for this field are "
    "'Apply' and 'Update'.\",\"type\":\"string\"},\"subresource\":{\"descript"
    "ion\":\"Subresource is the name of the subresource used to update that o"
    "bject, or empty string if the object was updated through the main resour"
    "ce.\",\"type\":\"string\"},\"time\":{\"description\":\"Time is the times"
    "tamp of when the ManagedFields entry was added.\",\"allOf\":[{\"$ref\":"
    "\"@R@io.k8s.apimachinery.pkg.apis.meta.v1.Time\"}]}}},\"io.k8s.apimachin"
    "ery.pkg.apis.meta.v1.ObjectMeta\":{\"description\":\"ObjectMeta is metad"
    "ata that all persisted resources must have, which includes all objects u"
    "sers must create.\",\"type\":\"object\",\"properties\":{\"annotations\":"
    "{\"description\":\"Annotations is an unstructured key value map stored w"
    "ith a resource that may be set by external tools to store and retrieve a"
    "rbitrary metadata. More info: https://kubernetes.io/docs/concepts/overvi"
    "ew/working-with-objects/annotations\",\"type\":\"object\",\"additionalPr"
    "operties\":{\"type\":\"string\",\"default\":\"\"}},\"creationTimestamp\""
    ":{\"description\":\"CreationTimestamp is a timestamp representing the se"
    "rver time when this object was created.\",\"allOf\":[{\"$ref\":\"@R@io.k"
    "8s.apimachinery.pkg.apis.meta.v1.Time\"}]},\"deletionGracePeriodSeconds"
    "\":{\"description\":\"Number of seconds allowed for this object to grace"
    "fully terminate before it will be removed from the system.\",\"type\":\""
    "integer\",\"format\":\"int64\"},\"deletionTimestamp\":{\"description\":"
    "\"DeletionTimestamp is RFC 3339 date and time at which this resource wil"
    "l be deleted.\",\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.m"
    "eta.v1.Time\"}]},\"finalizers\":{\"description\":\"Must be empty before "
    "the object is deleted from the registry.\",\"type\":\"array\",\"items\":"
    "{\"type\":\"string\",\"default\":\"\"},\"x-kubernetes-list-type\":\"set"
    "\",\"x-kubernetes-patch-strategy\":\"merge\"},\"generateName\":{\"descri"
    "ption\":\"GenerateName is an optional prefix, used by the server, to gen"
    "erate a unique name ONLY IF the Name field has not been provided.\",\"ty"
    "pe\":\"string\"},\"generation\":{\"description\":\"A sequence number rep"
    "resenting a specific generation of the desired state.\",\"type\":\"integ"
    "er\",\"format\":\"int64\"},\"labels\":{\"description\":\"Map of string k"
    "eys and values that can be used to organize and categorize (scope and se"
    "lect) objects. More info: https://kubernetes.io/docs/concepts/overview/w"
    "orking-with-objects/labels\",\"type\":\"object\",\"additionalProperties"
    "\":{\"type\":\"string\",\"default\":\"\"}},\"managedFields\":{\"descript"
    "ion\":\"ManagedFields maps workflow-id and version to the set of fields "
    "that are managed by that workflow.\",\"type\":\"array\",\"items\":{\"def"
    "ault\":{},\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta.v1"
    ".ManagedFieldsEntry\"}]},\"x-kubernetes-list-type\":\"atomic\"},\"name\""
    ":{\"description\":\"Name must be unique within a namespace. More info: h"
    "ttps://kubernetes.io/docs/concepts/overview/working-with-objects/names#n"
    "ames\",\"type\":\"string\"},\"namespace\":{\"description\":\"Namespace d"
    "efines the space within which each name must be unique. More info: https"
    "://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces"
    "\",\"type\":\"string\"},\"ownerReferences\":{\"description\":\"List of o"
    "bjects depended by this object.\",\"type\":\"array\",\"items\":{\"defaul"
    "t\":{},\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta.v1.Ow"
    "nerReference\"}]},\"x-kubernetes-list-map-keys\":[\"uid\"],\"x-kubernete"
    "s-list-type\":\"map\",\"x-kubernetes-patch-merge-key\":\"uid\",\"x-kuber"
    "netes-patch-strategy\":\"merge\"},\"resourceVersion\":{\"description\":"
    "\"An opaque value that represents the internal version of this object th"
    "at can be used by clients to determine when objects have changed.\",\"ty"
    "pe\":\"string\"},\"selfLink\":{\"description\":\"Deprecated: selfLink is"
    " a legacy read-only field that is no longer populated by the system.\","
    "\"type\":\"string\"},\"uid\":{\"description\":\"UID is the unique in tim"
    "e and space value for this object. More info: https://kubernetes.io/docs"
    "/concepts/overview/working-with-objects/names#uids\",\"type\":\"string\""
    "}}},\"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference\":{\"descripti"
    "on\":\"OwnerReference contains enough information to let you identify an"
    " owning object. An owning object must be in the same namespace as the de"
    "pendent, or be cluster-scoped, so there is no namespace field.\",\"type"
    "\":\"object\",\"required\":[\"apiVersion\",\"kind\",\"name\",\"uid\"],\""
    "properties\":{\"apiVersion\":{\"description\":\"API version of the refer"
    "ent.\",\"type\":\"string\",\"default\":\"\"},\"blockOwnerDeletion\":{\"d"
    "escription\":\"If true, AND if the owner has the \\\"foregroundDeletion"
    "\\\" finalizer, then the owner cannot be deleted from the key-value stor"
    "e until this reference is removed.\",\"type\":\"boolean\"},\"controller"
    "\":{\"description\":\"If true, this reference points to the managing con"
    "troller.\",\"type\":\"boolean\"},\"kind\":{\"description\":\"Kind of the"
    " referent. More info: https://git.k8s.io/community/contributors/devel/si"
    "g-architecture/api-conventions.md#types-kinds\",\"type\":\"string\",\"de"
    "fault\":\"\"},\"name\":{\"description\":\"Name of the referent. More inf"
    "o: https://kubernetes.io/docs/concepts/overview/working-with-objects/nam"
    "es#names\",\"type\":\"string\",\"default\":\"\"},\"uid\":{\"description"
    "\":\"UID of the referent. More info: https://kubernetes.io/docs/concepts"
    "/overview/working-with-objects/names#uids\",\"type\":\"string\",\"defaul"
    "t\":\"\"}},\"x-kubernetes-map-type\":\"atomic\"},\"io.k8s.apimachinery.p"
    "kg.apis.meta.v1.Time\":{\"description\":\"Time is a wrapper around time."
    "Time which supports correct marshaling to YAML and JSON.  Wrappers are p"
    "rovided for many of the factory methods that the time package offers.\","
    "\"type\":\"string\",\"format\":\"date-time\"},\"io.k8s.metrics.pkg.apis."
    "metrics.v1beta1.ContainerMetrics\":{\"description\":\"ContainerMetrics s"
    "ets resource usage metrics of a container.\",\"type\":\"object\",\"requi"
    "red\":[\"name\",\"usage\"],\"properties\":{\"name\":{\"description\":\"C"
    "ontainer name corresponding to the one from pod.spec.containers.\",\"typ"
    "e\":\"string\",\"default\":\"\"},\"usage\":{\"description\":\"The memory"
    " usage is the memory working set.\",\"type\":\"object\",\"additionalProp"
    "erties\":{\"$ref\":\"@R@io.k8s.apimachinery.pkg.api.resource.Quantity\"}"
    "}}},\"io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics\":{\"descripti"
    "on\":\"NodeMetrics sets resource usage metrics of a node.\",\"type\":\"o"
    "bject\",\"required\":[\"timestamp\",\"window\",\"usage\"],\"properties\""
    ":{\"apiVersion\":{\"description\":\"APIVersion defines the versioned sch"
    "ema of this representation of an object. Servers should convert recogniz"
    "ed schemas to the latest internal value, and may reject unrecognized val"
    "ues. More info: https://git.k8s.io/community/contributors/devel/sig-arch"
    "itecture/api-conventions.md#resources\",\"type\":\"string\"},\"kind\":{"
    "\"description\":\"Kind is a string value representing the REST resource "
    "this object represents. Servers may infer this from the endpoint the cli"
    "ent submits requests to. Cannot be updated. In CamelCase. More info: htt"
    "ps://git.k8s.io/community/contributors/devel/sig-architecture/api-conven"
    "tions.md#types-kinds\",\"type\":\"string\"},\"metadata\":{\"description"
    "\":\"Standard object's metadata. More info: https://git.k8s.io/community"
    "/contributors/devel/sig-architecture/api-conventions.md#metadata\",\"def"
    "ault\":{},\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta.v1"
    ".ObjectMeta\"}]},\"timestamp\":{\"description\":\"The following fields d"
    "efine time interval from which metrics were collected from the interval "
    "[Timestamp-Window, Timestamp].\",\"allOf\":[{\"$ref\":\"@R@io.k8s.apimac"
    "hinery.pkg.apis.meta.v1.Time\"}]},\"usage\":{\"description\":\"The memor"
    "y usage is the memory working set.\",\"type\":\"object\",\"additionalPro"
    "perties\":{\"$ref\":\"@R@io.k8s.apimachinery.pkg.api.resource.Quantity\""
    "}},\"window\":{\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.me"
    "ta.v1.Duration\"}]}},\"x-kubernetes-group-version-kind\":[{\"group\":\"m"
    "etrics.k8s.io\",\"kind\":\"NodeMetrics\",\"version\":\"v1beta1\"}]},\"io"
    ".k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsList\":{\"description\""
    ":\"NodeMetricsList is a list of NodeMetrics.\",\"type\":\"object\",\"req"
    "uired\":[\"items\"],\"properties\":{\"apiVersion\":{\"description\":\"AP"
    "IVersion defines the versioned schema of this representation of an objec"
    "t. Servers should convert recognized schemas to the latest internal valu"
    "e, and may reject unrecognized values. More info: https://git.k8s.io/com"
    "munity/contributors/devel/sig-architecture/api-conventions.md#resources"
    "\",\"type\":\"string\"},\"items\":{\"description\":\"List of node metric"
    "s.\",\"type\":\"array\",\"items\":{\"default\":{},\"allOf\":[{\"$ref\":"
    "\"@R@io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics\"}]}},\"kind\":"
    "{\"description\":\"Kind is a string value representing the REST resource"
    " this object represents. Servers may infer this from the endpoint the cl"
    "ient submits requests to. Cannot be updated. In CamelCase. More info: ht"
    "tps://git.k8s.io/community/contributors/devel/sig-architecture/api-conve"
    "ntions.md#types-kinds\",\"type\":\"string\"},\"metadata\":{\"description"
    "\":\"Standard list metadata. More info: https://git.k8s.io/community/con"
    "tributors/devel/sig-architecture/api-conventions.md#types-kinds\",\"defa"
    "ult\":{},\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta.v1."
    "ListMeta\"}]}},\"x-kubernetes-group-version-kind\":[{\"group\":\"metrics"
    ".k8s.io\",\"kind\":\"NodeMetricsList\",\"version\":\"v1beta1\"}]},\"io.k"
    "8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics\":{\"description\":\"PodM"
    "etrics sets resource usage metrics of a pod.\",\"type\":\"object\",\"req"
    "uired\":[\"timestamp\",\"window\",\"containers\"],\"properties\":{\"apiV"
    "ersion\":{\"description\":\"APIVersion defines the versioned schema of t"
    "his representation of an object. Servers should convert recognized schem"
    "as to the latest internal value, and may reject unrecognized values. Mor"
    "e info: https://git.k8s.io/community/contributors/devel/sig-architecture"
    "/api-conventions.md#resources\",\"type\":\"string\"},\"containers\":{\"d"
    "escription\":\"Metrics for all containers are collected within the same "
    "time window.\",\"type\":\"array\",\"items\":{\"default\":{},\"allOf\":[{"
    "\"$ref\":\"@R@io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics\""
    "}]},\"x-kubernetes-list-type\":\"atomic\"},\"kind\":{\"description\":\"K"
    "ind is a string value representing the REST resource this object represe"
    "nts. Servers may infer this from the endpoint the client submits request"
    "s to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/com"
    "munity/contributors/devel/sig-architecture/api-conventions.md#types-kind"
    "s\",\"type\":\"string\"},\"metadata\":{\"description\":\"Standard object"
    "'s metadata. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#metadata\",\"default\":{},\"allOf\":"
    "[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta\"}]},\"t"
    "imestamp\":{\"description\":\"The following fields define time interval "
    "from which metrics were collected from the interval [Timestamp-Window, T"
    "imestamp].\",\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta"
    ".v1.Time\"}]},\"window\":{\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery."
    "pkg.apis.meta.v1.Duration\"}]}},\"x-kubernetes-group-version-kind\":[{\""
    "group\":\"metrics.k8s.io\",\"kind\":\"PodMetrics\",\"version\":\"v1beta1"
    "\"}]},\"io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList\":{\"desc"
    "ription\":\"PodMetricsList is a list of PodMetrics.\",\"type\":\"object"
    "\",\"required\":[\"items\"],\"properties\":{\"apiVersion\":{\"descriptio"
    "n\":\"APIVersion defines the versioned schema of this representation of "
    "an object. Servers should convert recognized schemas to the latest inter"
    "nal value, and may reject unrecognized values. More info: https://git.k8"
    "s.io/community/contributors/devel/sig-architecture/api-conventions.md#re"
    "sources\",\"type\":\"string\"},\"items\":{\"description\":\"List of pod "
    "metrics.\",\"type\":\"array\",\"items\":{\"default\":{},\"allOf\":[{\"$r"
    "ef\":\"@R@io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics\"}]}},\"kin"
    "d\":{\"description\":\"Kind is a string value representing the REST reso"
    "urce this object represents. Servers may infer this from the endpoint th"
    "e client submits requests to. Cannot be updated. In CamelCase. More info"
    ": https://git.k8s.io/community/contributors/devel/sig-architecture/api-c"
    "onventions.md#types-kinds\",\"type\":\"string\"},\"metadata\":{\"descrip"
    "tion\":\"Standard list metadata. More info: https://git.k8s.io/community"
    "/contributors/devel/sig-architecture/api-conventions.md#types-kinds\",\""
    "default\":{},\"allOf\":[{\"$ref\":\"@R@io.k8s.apimachinery.pkg.apis.meta"
    ".v1.ListMeta\"}]}},\"x-kubernetes-group-version-kind\":[{\"group\":\"met"
    "rics.k8s.io\",\"kind\":\"PodMetricsList\",\"version\":\"v1beta1\"}]}}";


ngx_int_t
ngx_k8s_metrics_serve_openapi(ngx_http_request_t *r,
    ngx_k8s_metrics_request_info_t *info)
{
    ngx_str_t                       etag, hash, location;
    ngx_uint_t                      n;
    ngx_table_elt_t                *inm;
    ngx_k8s_metrics_openapi_doc_t  *doc;

    if (r->uri.len == sizeof("/openapi/v2") - 1
        && ngx_strncmp(r->uri.data, "/openapi/v2", r->uri.len) == 0)
    {
        n = NGX_K8S_METRICS_OPENAPI_V2;

    } else if (r->uri.len == sizeof("/openapi/v3") - 1
               && ngx_strncmp(r->uri.data, "/openapi/v3", r->uri.len) == 0)
    {
        n = NGX_K8S_METRICS_OPENAPI_V3;

    } else if (r->uri.len == sizeof(NGX_K8S_METRICS_OPENAPI_GV_PATH) - 1
               && ngx_strncmp(r->uri.data, NGX_K8S_METRICS_OPENAPI_GV_PATH,
                              r->uri.len) == 0)
    {
        n = NGX_K8S_METRICS_OPENAPI_V3_GV;

    } else {
        return ngx_k8s_metrics_send_not_found(r, info);
    }

    if (ngx_k8s_metrics_openapi_docs[0].body.data == NULL
        && ngx_k8s_metrics_openapi_build(r->connection->log) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    doc = &ngx_k8s_metrics_openapi_docs[n];

    /*
     * As kube-openapi's v3 handler: a hash that is not the document's is
     * sent to the current one; the current one may be cached for good.
     */

    if (n == NGX_K8S_METRICS_OPENAPI_V3_GV
        && ngx_http_arg(r, (u_char *) "hash", 4, &hash) == NGX_OK)
    {
        if (hash.len != doc->hash.len
            || ngx_strncmp(hash.data, doc->hash.data, hash.len) != 0)
        {
            location.len = sizeof(NGX_K8S_METRICS_OPENAPI_GV_PATH "?hash=")
                           - 1 + doc->hash.len;
            location.data = ngx_pnalloc(r->pool, location.len);
            if (location.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_sprintf(location.data, "%s?hash=%V",
                        NGX_K8S_METRICS_OPENAPI_GV_PATH, &doc->hash);

            if (ngx_k8s_metrics_add_header(r, "Location", &location)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_k8s_metrics_send_text(r, NGX_HTTP_MOVED_PERMANENTLY,
                                             &ngx_k8s_metrics_openapi_type,
                                             &location);
        }

        ngx_str_set(&etag, "public, immutable");

        if (ngx_k8s_metrics_add_header(r, "Cache-Control", &etag)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    etag.len = doc->hash.len + 2;
    etag.data = ngx_pnalloc(r->pool, etag.len);
    if (etag.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_sprintf(etag.data, "\"%V\"", &doc->hash);

    if (ngx_k8s_metrics_add_header(r, "ETag", &etag) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    inm = r->headers_in.if_none_match;

    if (inm && inm->value.len == etag.len
        && ngx_strncmp(inm->value.data, etag.data, etag.len) == 0)
    {
        r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
        r->headers_out.content_length_n = -1;
        r->header_only = 1;

        return ngx_http_send_header(r);
    }

    return ngx_k8s_metrics_send_text(r, NGX_HTTP_OK,
                                     &ngx_k8s_metrics_openapi_type,
                                     &doc->body);
}


/* the three documents, from the paths and schemas above */

static ngx_int_t
ngx_k8s_metrics_openapi_build(ngx_log_t *log)
{
    u_char                         *p;
    size_t                          size;
    ngx_k8s_metrics_openapi_doc_t  *docs;

    docs = ngx_k8s_metrics_openapi_docs;

    size = sizeof(ngx_k8s_metrics_openapi_schemas)
           + sizeof(ngx_k8s_metrics_openapi_v2_paths)
           + sizeof(ngx_k8s_metrics_openapi_v3_paths) + 256;

    /* "@R@" and "@Q@" grow to 21 and 44 bytes at most */
    size += sizeof(ngx_k8s_metrics_openapi_schemas) / 2;

    p = ngx_alloc(size, log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    docs[NGX_K8S_METRICS_OPENAPI_V3_GV].body.data = p;

    p = ngx_sprintf(p, "{\"openapi\":\"3.0.0\","
                    NGX_K8S_METRICS_OPENAPI_INFO ",\"paths\":%s,"
                    "\"components\":{\"schemas\":",
                    ngx_k8s_metrics_openapi_v3_paths);
    p = ngx_k8s_metrics_openapi_write_schemas(p, 1);
    p = ngx_cpymem(p, "}}", 2);

    docs[NGX_K8S_METRICS_OPENAPI_V3_GV].body.len =
                            p - docs[NGX_K8S_METRICS_OPENAPI_V3_GV].body.data;

    p = ngx_alloc(size, log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    docs[NGX_K8S_METRICS_OPENAPI_V2].body.data = p;

    p = ngx_sprintf(p, "{\"swagger\":\"2.0\"," NGX_K8S_METRICS_OPENAPI_INFO
                    ",\"paths\":%s,\"definitions\":",
                    ngx_k8s_metrics_openapi_v2_paths);
    p = ngx_k8s_metrics_openapi_write_schemas(p, 0);
    *p++ = '}';

    docs[NGX_K8S_METRICS_OPENAPI_V2].body.len =
                               p - docs[NGX_K8S_METRICS_OPENAPI_V2].body.data;

    if (ngx_k8s_metrics_openapi_hash(&docs[NGX_K8S_METRICS_OPENAPI_V2], log)
        != NGX_OK
        || ngx_k8s_metrics_openapi_hash(&docs[NGX_K8S_METRICS_OPENAPI_V3_GV],
                                        log)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the root lists the group version's document by its hash */

    p = ngx_alloc(512, log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    docs[NGX_K8S_METRICS_OPENAPI_V3].body.data = p;

    p = ngx_sprintf(p, "{\"paths\":{\"apis/" NGX_K8S_METRICS_GROUP_VERSION
                    "\":{\"serverRelativeURL\":\""
                    NGX_K8S_METRICS_OPENAPI_GV_PATH "?hash=%V\"}}}",
                    &docs[NGX_K8S_METRICS_OPENAPI_V3_GV].hash);

    docs[NGX_K8S_METRICS_OPENAPI_V3].body.len =
                               p - docs[NGX_K8S_METRICS_OPENAPI_V3].body.data;

    return ngx_k8s_metrics_openapi_hash(&docs[NGX_K8S_METRICS_OPENAPI_V3],
                                        log);
}


/*
 * The schemas as the document's version writes them: "@R@" is the prefix
 * of a reference, "@Q@" the type of a Quantity (kube-openapi: a string in
 * v2, a string or a number in v3, which kubectl explain shows as Quantity).
 */

static u_char *
ngx_k8s_metrics_openapi_write_schemas(u_char *p, ngx_uint_t v3)
{
    const char  *s, *at;

    for (s = ngx_k8s_metrics_openapi_schemas; /* void */; s = at + 3) {
        at = ngx_strchr(s, '@');

        if (at == NULL) {
            return ngx_cpymem(p, s, ngx_strlen(s));
        }

        p = ngx_cpymem(p, s, at - s);

        if (at[1] == 'R') {
            p = v3 ? ngx_cpymem(p, "#/components/schemas/",
                                sizeof("#/components/schemas/") - 1)
                   : ngx_cpymem(p, "#/definitions/",
                                sizeof("#/definitions/") - 1);

        } else {
            p = v3 ? ngx_cpymem(p, "\"oneOf\":[{\"type\":\"string\"},"
                                "{\"type\":\"number\"}]",
                                sizeof("\"oneOf\":[{\"type\":\"string\"},"
                                       "{\"type\":\"number\"}]") - 1)
                   : ngx_cpymem(p, "\"type\":\"string\"",
                                sizeof("\"type\":\"string\"") - 1);
        }
    }
}


static ngx_int_t
ngx_k8s_metrics_openapi_hash(ngx_k8s_metrics_openapi_doc_t *doc,
    ngx_log_t *log)
{
    u_char  *p, md[SHA512_DIGEST_LENGTH];

    if (SHA512(doc->body.data, doc->body.len, md) == NULL) {
        return NGX_ERROR;
    }

    doc->hash.data = ngx_alloc(2 * SHA512_DIGEST_LENGTH, log);
    if (doc->hash.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_hex_dump(doc->hash.data, md, SHA512_DIGEST_LENGTH);
    doc->hash.len = p - doc->hash.data;

    for (p = doc->hash.data; p < doc->hash.data + doc->hash.len; p++) {
        *p = ngx_toupper(*p);
    }

    return NGX_OK;
}

