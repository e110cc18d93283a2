# Collection end to end: real nginx scraping simulated kubelets (t/sim,
# nginx + njs) over TLS verified against the cluster CA, with a client
# certificate; rates and windows compared with the simulator's known
# rates; lists, gets and selectors; one kubelet's failure touching only its
# own node, with the reason in the log and in /metrics.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use JSON::PP ();

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);

# the simulator's nodes, with labels for the selectors (tier, zone)
sub http_config { return K8sMetricsTest::collection_http_config(@_) }

our $HttpConfig = http_config();
our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();


K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

our $Ready = "GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/pods&match=pod-00003-003";

# A list's creationTimestamps: all the same, and the second the test got
# the answer in (or the one before): "stamps now".  A list sent again from
# a worker's rendering without its stamps rewritten shows the older time.
sub stamps_now {
    my $body = shift;
    return $body if $body !~ /^\{/;

    my $doc = JSON::PP::decode_json($body);
    my @items = @{ $doc->{items} };
    my %stamps = map { $_->{metadata}{creationTimestamp} => 1 } @items;
    my @now = K8sMetricsCheck::now_stamps();
    my $ok = keys %stamps == 1 && grep { $stamps{$_} } @now;

    return sprintf "%s %d items, stamps %s\n", $doc->{kind}, scalar @items,
                   $ok ? 'now' : join(' ', sort keys %stamps) . " (now: $now[0])";
}

# /metrics: how many answers were sent again from a kept rendering since
# the previous /metrics of the block ("reused +N"; a block starts with the
# readiness wait); other bodies unchanged
our $ReusedBefore;
sub reused_since {
    my $body = shift;
    undef $ReusedBefore if $body =~ /^ready/;
    my ($n) = $body =~ /^k8s_metrics_responses_reused_total (\d+)$/m
        or return $body;
    my $since = defined $ReusedBefore ? "+" . ($n - $ReusedBefore) : "from $n";
    $ReusedBefore = $n;
    return "reused $since\n";
}

run_tests();

__DATA__

=== TEST 1: the node list: every node, its CPU rate within 1% of the kubelet's, its memory, window and labels
--- request eval
[$::Ready, "GET /admin/apis/metrics.k8s.io/v1beta1/nodes"]
--- response_body_filters eval
[sub { $_[0] =~ /^ready/ ? $_[0] : K8sMetricsCheck::summary($_[0]) }]
--- response_body eval
["ready\n", "NodeMetricsList
node-00001 cpu=ok memory=ok window=ok labels=tier=cpu,zone=z1
node-00002 cpu=ok memory=ok window=ok labels=tier=gpu,zone=z2
node-00003 cpu=ok memory=ok window=ok labels=tier=cpu,zone=z3
"]
--- no_error_log
scraping node



=== TEST 2: the exact shape of a NodeMetrics, as metrics-server sends it
--- request eval
[$::Ready, "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00002"]
--- response_body_like eval
["ready", qr/^\{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io\/v1beta1","metadata":\{"name":"node-00002","creationTimestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","labels":\{"tier":"gpu","zone":"z2"\}\},"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","window":"\d+(\.\d+)?m?s","usage":\{"cpu":"\d+[num]?","memory":"\d+(Ki|Mi)?"\}\}\n$/]



=== TEST 3: every pod of every namespace, sorted by namespace then name, each container's rate
--- request eval
[$::Ready, "GET /admin/apis/metrics.k8s.io/v1beta1/pods"]
--- response_body_filters eval
[sub { $_[0] =~ /^ready/ ? $_[0] : K8sMetricsCheck::summary($_[0]) }]
--- response_body eval
["ready\n", "PodMetricsList\n" . K8sMetricsCheck::pod_lines()]



=== TEST 4: one namespace's pods, and one pod
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods/pod-00002-002"]
--- response_body_filters eval
[sub { $_[0] =~ /^ready/ ? $_[0] : K8sMetricsCheck::summary($_[0]) }]
--- response_body eval
["ready\n",
 "PodMetricsList\n" . K8sMetricsCheck::pod_lines(sub { $_[0] eq 'kube-system' }),
 "PodMetrics\nteam-a/pod-00002-002 window=ok app:cpu=ok,memory=ok sidecar:cpu=ok,memory=ok\n"]



=== TEST 5: a pod in the wrong namespace, an unknown node: NotFound
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00002-002",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00009"]
--- error_code eval
[200, 404, 404]
--- response_body_like eval
["ready",
 qr/"message":"podmetrics.metrics.k8s.io \\"default\/pod-00002-002\\" not found"/,
 qr/"message":"nodemetrics.metrics.k8s.io \\"node-00009\\" not found"/]



=== TEST 6: labelSelector and fieldSelector on nodes and pods
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=tier%3Dgpu",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=tier!%3Dgpu,zone%20in%20(z1,z2)",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dnode-00003",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dteam-a,metadata.name!%3Dpod-00001-002",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=nothere"]
--- response_body_filters eval
[sub { $_[0] =~ /^ready/ ? $_[0] : K8sMetricsCheck::summary($_[0]) }]
--- response_body eval
["ready\n",
 "NodeMetricsList\nnode-00002 cpu=ok memory=ok window=ok labels=tier=gpu,zone=z2\n",
 "NodeMetricsList\nnode-00001 cpu=ok memory=ok window=ok labels=tier=cpu,zone=z1\n",
 "NodeMetricsList\nnode-00003 cpu=ok memory=ok window=ok labels=tier=cpu,zone=z3\n",
 "PodMetricsList\n" . K8sMetricsCheck::pod_lines(sub { $_[0] eq 'team-a' && !($_[1] == 1 && $_[2] == 2) }),
 "NodeMetricsList\n"]



=== TEST 7: bad selectors: 400 BadRequest with Kubernetes' message
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%20b",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=spec.nodeName%3Dn1"]
--- error_code eval
[400, 400]
--- response_body eval
[qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt","reason":"BadRequest","code":400}\n},
 qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\\"spec.nodeName\\" is not a known field selector: only \\"metadata.name\\", \\"metadata.namespace\\"","reason":"BadRequest","code":400}\n}]



=== TEST 8: Table output for kubectl; a Table of no rows has null columns and rows, as metrics-server's
--- request eval
[$::Ready, "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=tier%3Dgpu",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=tier%3Dnone",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/no-such-namespace/pods"]
--- more_headers
Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json
--- response_body_like eval
["ready", qr/^\{"kind":"Table","apiVersion":"meta.k8s.io\/v1","metadata":\{\},"columnDefinitions":\[\{"name":"Name","type":"string","format":"name","description":"Name of the resource","priority":0\},\{"name":"cpu",.*\],"rows":\[\{"cells":\["node-00002","\d+[num]?","\d+(Ki|Mi)?","[\d.]+m?s"\],"object":\{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io\/v1","metadata":\{"name":"node-00002",.*\}\}\]\}\n$/,
 qr/^\{"kind":"Table","apiVersion":"meta.k8s.io\/v1","metadata":\{\},"columnDefinitions":null,"rows":null\}\n$/,
 qr/^\{"kind":"Table","apiVersion":"meta.k8s.io\/v1","metadata":\{\},"columnDefinitions":null,"rows":null\}\n$/]



=== TEST 9: readyz turns ready once a node has two points; livez stays up
--- request eval
[$::Ready, "GET /anon/readyz?verbose", "GET /anon/livez"]
--- response_body eval
["ready\n", "[+]ping ok\n[+]metadata-informer-sync ok\n[+]metric-storage-ready ok\n[+]metric-snapshot-fresh ok\n[+]shutdown ok\nreadyz check passed\n", "ok"]



=== TEST 10: a kubelet answering 500 fails only its own node, with the reason in the log and /metrics
--- sim_modes
node-00002 status 500
--- request eval
[$::Ready . "&timeout=20000",
 "GET /wait?path=/admin/metrics&match=" . "k8s_metrics_scrapes_total%7Bnode%3D%22node-00002%22%2Cresult%3D%22failure%22%7D%202",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^(ready|# HELP)/ ? $_[0] : K8sMetricsCheck::summary($_[0]) }]
--- response_body_like eval
["ready", "ready",
 qr/^NodeMetricsList\nnode-00001 cpu=ok.*\nnode-00003 cpu=ok.*\n$/,
 qr/k8s_metrics_last_scrape_success\{node="node-00002",reason="the kubelet answered HTTP 500: .*"\} 0\n.*k8s_metrics_last_scrape_success\{node="node-00003",reason=""\} 1/s]
--- error_log eval
qr/\[error\].*scraping node "node-00002" \(https:\/\/[\d.]+:\d+\/metrics\/resource\) failed: the kubelet answered HTTP 500/



=== TEST 11: keep-alive: one connection per kubelet across cycles, with the client certificate, gzip accepted
--- timeout: 10
--- request eval
["GET /wait?path=/admin/metrics&match=k8s_metrics_scrape_cycles_total%204", "GET /sim/stats?node=node-00001"]
--- response_body_like eval
["ready", qr/^(?=.*"connections":1,)(?=.*"with_client_cert":[4-9])(?=.*"last_client_subject":"CN=system:metrics-server")(?=.*"last_accept_encoding":"[^"]*gzip)(?=.*"last_user_agent":"ngx_metrics_module")/]



=== TEST 12: a list asked again from the same snapshot is sent again, its creationTimestamps those of the new answer
--- timeout: 40
--- http_config eval
::http_config() =~ s/k8s_metrics_resolution 1s;/k8s_metrics_resolution 10s;/r
--- request eval
[$::Ready . "&timeout=30000",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /wait?path=/admin/metrics&match=never&timeout=2500",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods?pretty=true",
 "GET /wait?path=/admin/metrics&match=never&timeout=2500",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods?pretty=true",
 "GET /admin/metrics"]
--- error_code eval
[200, 200, 200, 504, 200, 200, 504, 200, 200]
--- response_body_filters eval
[\&::stamps_now]
--- response_body_like eval
["ready", "^PodMetricsList 12 items, stamps now\n\$", "^PodMetricsList 12 items, stamps now\n\$", ".",
 "^PodMetricsList 12 items, stamps now\n\$", "^PodMetricsList 12 items, stamps now\n\$", ".",
 "^PodMetricsList 12 items, stamps now\n\$", qr/\nk8s_metrics_responses_reused_total [1-9]/]



=== TEST 13: k8s_metrics_response_cache_size: an answer larger than it is built each time, a smaller one is kept
--- timeout: 40
--- http_config eval
::http_config() =~ s/k8s_metrics_resolution 1s;/k8s_metrics_resolution 10s;\n    k8s_metrics_response_cache_size 2k;/r
--- request eval
[$::Ready . "&timeout=30000",
 "GET /admin/metrics",
 ("GET /admin/apis/metrics.k8s.io/v1beta1/pods") x 3,
 "GET /admin/metrics",
 ("GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00002") x 5,
 "GET /admin/metrics"]
--- response_body_filters eval
[\&::reused_since]
--- response_body_like eval
["ready", "^reused from", ("PodMetricsList") x 3, "^reused \\+0\n\$",
 ("NodeMetrics") x 5, "^reused \\+[1-9]\n\$"]



=== TEST 14: k8s_metrics_response_cache_size 0 keeps no answer
--- timeout: 40
--- http_config eval
::http_config() =~ s/k8s_metrics_resolution 1s;/k8s_metrics_resolution 10s;\n    k8s_metrics_response_cache_size 0;/r
--- request eval
[$::Ready . "&timeout=30000",
 "GET /admin/metrics",
 ("GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00002") x 3,
 ("GET /admin/apis/metrics.k8s.io/v1beta1/pods") x 3,
 "GET /admin/metrics"]
--- response_body_filters eval
[\&::reused_since]
--- response_body_like eval
["ready", "^reused from", ("NodeMetrics") x 3, ("PodMetricsList") x 3, "^reused \\+0\n\$"]
