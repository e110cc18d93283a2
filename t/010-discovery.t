# The extension-apiserver surface: discovery, health, the resource paths
# on an empty store, and every error as a Kubernetes Status, compared
# field for field with what kube-apiserver and metrics-server send.

use lib 't/lib';
use K8sMetricsTest;

no_root_location();
no_shuffle();

our $HttpConfig = K8sMetricsTest::api_server(directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_requestheader_allowed_names front-proxy-client;
            k8s_metrics_authorization always_allow;
});

our $Config = K8sMetricsTest::personas();

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

run_tests();

__DATA__

=== TEST 1: /apis: the legacy APIGroupList of the generic apiserver
--- request
GET /alice/apis
--- more_headers
Accept: application/json, */*
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
qq{{"kind":"APIGroupList","groups":[{"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"},"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":":$ENV{TEST_NGINX_TLS_PORT}"}]}]}\n}



=== TEST 2: /apis: aggregated discovery when the Accept header asks for it
--- request
GET /alice/apis
--- more_headers
Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json
--- error_code: 200
--- response_headers
Content-Type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList
Vary: Accept
Cache-Control: public
--- response_headers_like
ETag: "[0-9A-F]{128}"
--- response_body
{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{},"items":[{"metadata":{"name":"metrics.k8s.io","creationTimestamp":null},"versions":[{"version":"v1beta1","resources":[{"resource":"nodes","responseKind":{"group":"","version":"","kind":"NodeMetrics"},"scope":"Cluster","singularResource":"","verbs":["get","list"]},{"resource":"pods","responseKind":{"group":"","version":"","kind":"PodMetrics"},"scope":"Namespaced","singularResource":"","verbs":["get","list"]}],"freshness":"Current"}]}]}



=== TEST 3: aggregated discovery: If-None-Match with the ETag gets 304
--- request
GET /alice/apis
--- more_headers eval
use Digest::SHA qw(sha512_hex);
my $doc = '{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{},"items":[{"metadata":{"name":"metrics.k8s.io","creationTimestamp":null},"versions":[{"version":"v1beta1","resources":[{"resource":"nodes","responseKind":{"group":"","version":"","kind":"NodeMetrics"},"scope":"Cluster","singularResource":"","verbs":["get","list"]},{"resource":"pods","responseKind":{"group":"","version":"","kind":"PodMetrics"},"scope":"Namespaced","singularResource":"","verbs":["get","list"]}],"freshness":"Current"}]}]}';
"Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList\nIf-None-Match: \"" . uc(sha512_hex($doc)) . "\""
--- error_code: 304
--- response_body



=== TEST 4: /apis/metrics.k8s.io: APIGroup
--- request
GET /alice/apis/metrics.k8s.io
--- error_code: 200
--- response_body
{"kind":"APIGroup","apiVersion":"v1","name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}



=== TEST 5: /apis/metrics.k8s.io/v1beta1: APIResourceList
--- request
GET /alice/apis/metrics.k8s.io/v1beta1
--- error_code: 200
--- response_body
{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"metrics.k8s.io/v1beta1","resources":[{"name":"nodes","singularName":"","namespaced":false,"kind":"NodeMetrics","verbs":["get","list"]},{"name":"pods","singularName":"","namespaced":true,"kind":"PodMetrics","verbs":["get","list"]}]}



=== TEST 6: a trailing slash names the same document
--- request
GET /alice/apis/metrics.k8s.io/v1beta1/
--- error_code: 200
--- response_body_like: ^\{"kind":"APIResourceList"



=== TEST 7: people get indented JSON (curl's User-Agent), as from kube-apiserver
--- request
GET /alice/apis/metrics.k8s.io
--- more_headers
User-Agent: curl/7.88.1
--- error_code: 200
--- response_body eval
qq{{
  "kind": "APIGroup",
  "apiVersion": "v1",
  "name": "metrics.k8s.io",
  "versions": [
    {
      "groupVersion": "metrics.k8s.io/v1beta1",
      "version": "v1beta1"
    }
  ],
  "preferredVersion": {
    "groupVersion": "metrics.k8s.io/v1beta1",
    "version": "v1beta1"
  }
}}



=== TEST 8: ?pretty=false keeps compact JSON for curl
--- request
GET /alice/apis/metrics.k8s.io?pretty=false
--- more_headers
User-Agent: curl/7.88.1
--- response_body_like: ^\{"kind":"APIGroup","apiVersion":"v1",.*\}\n$



=== TEST 9: the five resource paths on an empty store: empty lists
--- request eval
["GET /alice/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/pods",
 "GET /alice/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[qq{{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n},
 qq{{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n},
 qq{{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n}]



=== TEST 10: a node without metrics: NotFound Status
--- request
GET /alice/apis/metrics.k8s.io/v1beta1/nodes/node-1
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body
{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodemetrics.metrics.k8s.io \"node-1\" not found","reason":"NotFound","details":{"name":"node-1","group":"metrics.k8s.io","kind":"nodemetrics"},"code":404}



=== TEST 11: a pod without metrics: NotFound Status named ns/name
--- request
GET /alice/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/coredns-1
--- error_code: 404
--- response_body
{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"podmetrics.metrics.k8s.io \"kube-system/coredns-1\" not found","reason":"NotFound","details":{"name":"kube-system/coredns-1","group":"metrics.k8s.io","kind":"podmetrics"},"code":404}



=== TEST 12: unknown paths: the generic NotFound Status
--- request eval
["GET /alice/apis/metrics.k8s.io/v1beta1/services",
 "GET /alice/apis/metrics.k8s.io/v1",
 "GET /alice/apis/apps",
 "GET /alice/api/v1/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/namespaces/default",
 "GET /alice/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/nodes/a/b"]
--- error_code eval
[404, 404, 404, 404, 404, 404, 404]
--- response_body eval
[(qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}\n}) x 7]



=== TEST 13: /openapi/v2 and /openapi/v3 are served (t/078); another OpenAPI path is a 404
--- request eval
["GET /alice/openapi/v2", "GET /alice/openapi/v3", "GET /alice/openapi/v3/apis/metrics.k8s.io/v1beta1",
 "GET /alice/openapi/v3/apis/metrics.k8s.io/v1", "GET /alice/openapi/v1"]
--- error_code eval
[200, 200, 200, 404, 404]
--- response_body_like eval
[qr/^\{"swagger":"2.0"/, qr/^\{"paths":\{"apis\/metrics.k8s.io\/v1beta1"/, qr/^\{"openapi":"3.0.0"/,
 qr/"reason":"NotFound"/, qr/"reason":"NotFound"/]



=== TEST 14: methods other than GET and HEAD: 405 MethodNotAllowed
--- request eval
["POST /alice/apis/metrics.k8s.io/v1beta1/nodes\nx",
 "DELETE /alice/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/p",
 "PUT /alice/apis\n{}",
 "PATCH /alice/apis/metrics.k8s.io/v1beta1/nodes/n\n{}"]
--- error_code eval
[405, 405, 405, 405]
--- response_body eval
[(qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed","details":{},"code":405}\n}) x 4]



=== TEST 15: watch is not supported
--- request
GET /alice/apis/metrics.k8s.io/v1beta1/pods?watch=true
--- error_code: 405
--- response_body
{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"watch is not supported on resources of kind \"pods.metrics.k8s.io\"","reason":"MethodNotAllowed","details":{"group":"metrics.k8s.io","kind":"pods"},"code":405}



=== TEST 16: HEAD answers the headers of GET, without a body
--- request
HEAD /alice/apis/metrics.k8s.io/v1beta1/nodes
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body



=== TEST 17: kubectl asks for protobuf with */*: protobuf (t/072-protobuf.t decodes it)
--- request
GET /alice/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/vnd.kubernetes.protobuf, */*
--- error_code: 200
--- response_headers
Content-Type: application/vnd.kubernetes.protobuf



=== TEST 18: /healthz, /livez: ok for anonymous probes
--- request eval
["GET /anon/healthz", "GET /anon/livez"]
--- error_code eval
[200, 200]
--- response_body eval
["ok", "ok"]
--- response_headers eval
[("Content-Type: text/plain; charset=utf-8\nX-Content-Type-Options: nosniff\n") x 2]



=== TEST 19: /livez?verbose lists each check
--- request
GET /anon/livez?verbose
--- error_code: 200
--- response_body
[+]ping ok
[+]metric-collection-timely ok
livez check passed



=== TEST 20: /readyz fails while the store is empty, with the list of checks
--- request
GET /anon/readyz
--- error_code: 500
--- response_body
[+]ping ok
[+]metadata-informer-sync ok
[-]metric-storage-ready failed: reason withheld
[+]metric-snapshot-fresh ok
[+]shutdown ok
readyz check failed
--- error_log
readyz check "metric-storage-ready" failed: no metrics to serve



=== TEST 21: one check by its path
--- request eval
["GET /alice/readyz/ping", "GET /alice/readyz/metric-storage-ready", "GET /alice/livez/ping", "GET /alice/readyz/nope"]
--- error_code eval
[200, 500, 200, 404]
--- response_body eval
["ok", "internal server error: no metrics to serve\n", "ok",
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}\n}]



=== TEST 22: anonymous: health paths only, 403 elsewhere with Kubernetes' message
--- request eval
["GET /anon/apis",
 "GET /anon/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /anon/apis/metrics.k8s.io/v1beta1/nodes/n1",
 "GET /anon/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods",
 "GET /anon/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods/p1",
 "GET /anon/metrics"]
--- error_code eval
[403, 403, 403, 403, 403, 403]
--- response_body eval
[qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \\"system:anonymous\\" cannot get path \\"/apis\\"","reason":"Forbidden","details":{},"code":403}\n},
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes.metrics.k8s.io is forbidden: User \\"system:anonymous\\" cannot list resource \\"nodes\\" in API group \\"metrics.k8s.io\\" at the cluster scope","reason":"Forbidden","details":{"group":"metrics.k8s.io","kind":"nodes"},"code":403}\n},
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes.metrics.k8s.io \\"n1\\" is forbidden: User \\"system:anonymous\\" cannot get resource \\"nodes\\" in API group \\"metrics.k8s.io\\" at the cluster scope","reason":"Forbidden","details":{"name":"n1","group":"metrics.k8s.io","kind":"nodes"},"code":403}\n},
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods.metrics.k8s.io is forbidden: User \\"system:anonymous\\" cannot list resource \\"pods\\" in API group \\"metrics.k8s.io\\" in the namespace \\"ns\\"","reason":"Forbidden","details":{"group":"metrics.k8s.io","kind":"pods"},"code":403}\n},
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods.metrics.k8s.io \\"p1\\" is forbidden: User \\"system:anonymous\\" cannot get resource \\"pods\\" in API group \\"metrics.k8s.io\\" in the namespace \\"ns\\"","reason":"Forbidden","details":{"name":"p1","group":"metrics.k8s.io","kind":"pods"},"code":403}\n},
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \\"system:anonymous\\" cannot get path \\"/metrics\\"","reason":"Forbidden","details":{},"code":403}\n}]



=== TEST 23: HTTP/1.1 without SNI and over HTTP/2 both answer
--- config eval
$::Config . q{
        location = /h1 {
            proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT/apis/metrics.k8s.io;
            proxy_ssl_certificate $TEST_NGINX_PKI/client-alice.crt;
            proxy_ssl_certificate_key $TEST_NGINX_PKI/client-alice.key;
            proxy_ssl_server_name off;
        }
}
--- request
GET /h1
--- error_code: 200
--- response_body_like: "kind":"APIGroup"
