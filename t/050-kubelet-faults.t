# A bad kubelet affects only its own node, and says why: in the error log,
# in /metrics, and by its absence from the lists.  TLS failures name the
# certificate the kubelet presented; 401/403 say what to fix.  Restarts,
# counter resets and pods that come and go, as metrics-server handles them.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);
our $Peer = $ENV{TEST_NGINX_PEER_PORT};

# kubelets of the test's own nginx, each with a certificate gone wrong
our $BadPeers = join '', map {
    my ($port, $cert) = ($Peer + $_->[0], $_->[1]);
    qq{
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate \$TEST_NGINX_PKI/$cert.crt;
        ssl_certificate_key \$TEST_NGINX_PKI/$cert.key;
        location / { return 200 "node_cpu_usage_seconds_total 1 1\\nnode_memory_working_set_bytes 1 1\\n"; }
    }
    k8s_metrics_node node-$cert 127.0.0.1:$port;
}} ([0, 'kubelet-unknown-ca'], [1, 'kubelet-wrong-san'], [2, 'kubelet-expired-serving']);

sub http_config {
    my ($kubelet) = @_;

    return K8sMetricsTest::api_server(
        zone => 'k8s_metrics_zone metrics:2m;',
        http => K8sMetricsTest::sim_kubelets('1s') . ($kubelet // q{    k8s_metrics_kubelet_timeout 900ms;
}) . $BadPeers . K8sMetricsTest::waiter_http(),
        directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});
}

our $HttpConfig = http_config();
our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();
our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';

# waits until /metrics counts N failures (or successes) of a node
sub wait_scrapes {
    my ($node, $result, $n) = @_;
    my $line = qq{k8s_metrics_scrapes_total{node="$node",result="$result"} $n\n};
    $line =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return "GET /wait?path=/admin/metrics&match=$line";
}

sub healthy_nodes {
    return "NodeMetricsList\n" . join '', map {
        "node-0000$_ cpu=ok memory=ok window=ok labels=\n"
    } @_;
}

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

run_tests();

__DATA__

=== TEST 1: a kubelet certificate from an unknown CA: the node fails, naming the certificate
--- request eval
[::wait_scrapes('node-kubelet-unknown-ca', 'failure', 2), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(1, 2, 3)]
--- error_log eval
qr/\[error\].*scraping node "node-kubelet-unknown-ca" \(https:\/\/127.0.0.1:\d+\/metrics\/resource\) failed: TLS verification failed: SSL certificate problem: unable to get local issuer certificate; the kubelet presented "[^"]*CN=[^"]*" with SANs.* IP:127.0.0.1/



=== TEST 2: a kubelet certificate without the address in its SANs
--- request eval
[::wait_scrapes('node-kubelet-wrong-san', 'failure', 2), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(1, 2, 3)]
--- error_log eval
qr/scraping node "node-kubelet-wrong-san" .* failed: TLS verification failed: .*127\.0\.0\.1.*; the kubelet presented "[^"]*" with SANs DNS:wrong.example IP:127.9.9.9/



=== TEST 3: an expired kubelet certificate
--- request eval
[::wait_scrapes('node-kubelet-expired-serving', 'failure', 2), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(1, 2, 3)]
--- error_log eval
qr/scraping node "node-kubelet-expired-serving" .* failed: TLS verification failed: SSL certificate problem: certificate has expired/



=== TEST 4: a kubelet that answers 401: the hint names the credentials
--- sim_modes
node-00002 status 401
--- request eval
[::wait_scrapes('node-00002', 'failure', 2), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(1, 3)]
--- error_log
the kubelet answered 401 Unauthorized: it does not accept the module's credentials



=== TEST 5: a kubelet that answers 403: the hint names the RBAC rule
--- sim_modes
node-00001 status 403
--- request eval
[::wait_scrapes('node-00001', 'failure', 2), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(2, 3)]
--- error_log
the module's user needs RBAC "get" on resource "nodes/metrics"



=== TEST 6: a kubelet that never answers: the timeout, and only that node
--- http_config eval
::http_config("    k8s_metrics_kubelet_timeout 1500ms;\n") =~ s/k8s_metrics_resolution 1s;/k8s_metrics_resolution 2s;/r
--- sim_modes
node-00003 hang 30
--- request eval
[::wait_scrapes('node-00003', 'failure', 1), "GET /wait?path=$::Nodes&match=node-00002", "GET $::Nodes"]
--- timeout: 25
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", "ready\n", ::healthy_nodes(1, 2)]
--- error_log eval
qr/scraping node "node-00003" .* failed: no complete answer within k8s_metrics_kubelet_timeout \(1500 ms\)/



=== TEST 7: garbage, an empty 200 and a redirect (never followed) fail their nodes
--- sim_modes
node-00001 garbage
node-00002 empty
node-00003 redirect
--- request eval
[::wait_scrapes('node-00003', 'failure', 2), "GET $::Nodes"]
--- response_body eval
["ready\n", qq{{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n}]
--- error_log eval
[qr/scraping node "node-00001" .* failed: the response has no node CPU or memory sample \(\d+ lines, \d+ malformed\)/,
 qr/scraping node "node-00002" .* failed: the response has no node CPU or memory sample \(0 lines, 0 malformed\)/,
 qr/scraping node "node-00003" .* failed: the kubelet answered HTTP 302/]
--- no_error_log
/redirected



=== TEST 8: a body over k8s_metrics_kubelet_max_body fails its node, chunked or not
--- http_config eval
::http_config("    k8s_metrics_kubelet_max_body 256k;\n    k8s_metrics_kubelet_timeout 900ms;\n")
--- sim_modes
node-00001 oversize 1048576
node-00002 oversize_chunked 1048576
--- request eval
[::wait_scrapes('node-00002', 'failure', 2), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(3)]
--- error_log eval
[qr/scraping node "node-00001" .* failed: the response is larger than k8s_metrics_kubelet_max_body \(262144 bytes\)/,
 qr/scraping node "node-00002" .* failed: the response is larger than k8s_metrics_kubelet_max_body \(262144 bytes\)/]



=== TEST 9: malformed lines are skipped and counted; the node is still served
--- timeout: 10
--- sim_modes
node-00002 malformed_lines
--- request eval
[::wait_scrapes('node-00002', 'success', 3), "GET $::Nodes", "GET /admin/metrics"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body_like eval
["ready", qr/^\Q${\ ::healthy_nodes(1, 2, 3)}\E$/, qr/k8s_metrics_scrape_malformed_lines_total\{node="node-00002"\} [1-9]\d*\n/]



=== TEST 10: gzip-encoded answers are taken
--- timeout: 10
--- sim_modes
all gzip
--- request eval
[::wait_scrapes('node-00001', 'success', 3), "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(1, 2, 3)]



=== TEST 11: a node going away and coming back
--- timeout: 10
--- sim_modes
node-00002 status 503
--- request eval
[::wait_scrapes('node-00002', 'failure', 2),
 "GET $::Nodes",
 "GET /sim?node=node-00002&mode=normal",
 "GET /wait?path=$::Nodes&match=node-00002",
 "GET $::Nodes"]
--- config eval
$::Config . qq{
        location = /sim {
            proxy_pass http://127.0.0.1:$ENV{TEST_NGINX_SIM_CONTROL}/mode\$is_args\$args;
        }
}
--- response_body_filters eval
[sub { $_[0] =~ /^\{"node"|^\{"mode"|^\{/ && $_[0] !~ /"kind"/ ? "sim\n" : K8sMetricsCheck::summary($_[0]) }]
--- response_body eval
["ready\n", ::healthy_nodes(1, 3), "sim\n", "ready\n", ::healthy_nodes(1, 2, 3)]
--- shutdown_error_log
is scraped again



=== TEST 12: a restarted container: its series starts over, its pod comes back with true rates
--- timeout: 10
--- sim_modes
node-00001 restart pod-00001-001/app
--- request eval
[::wait_scrapes('node-00001', 'success', 4), "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/pod-00001-001"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", "PodMetrics\nkube-system/pod-00001-001 window=ok app:cpu=ok,memory=ok sidecar:cpu=ok,memory=ok\n"]



=== TEST 13: a counter reset: the series starts over, no negative or huge rate
--- timeout: 10
--- sim_modes
node-00003 counter_reset
--- request eval
[::wait_scrapes('node-00003', 'success', 4), "GET $::Nodes", "GET $::Pods?fieldSelector=metadata.namespace%3Ddefault"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", ::healthy_nodes(1, 2, 3), "PodMetricsList\n" . K8sMetricsCheck::pod_lines(sub { $_[0] eq 'default' })]



=== TEST 14: a pod removed from a successful scrape disappears
--- timeout: 10
--- sim_modes
node-00001 drop_pod pod-00001-000
--- request eval
[::wait_scrapes('node-00001', 'success', 3), "GET $::Pods?fieldSelector=metadata.namespace%3Ddefault",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00001-000"]
--- error_code eval
[200, 200, 404]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", "PodMetricsList\n" . K8sMetricsCheck::pod_lines(sub { $_[0] eq 'default' && $_[1] != 1 }),
 "Status\npodmetrics.metrics.k8s.io \"default/pod-00001-000\" not found\n"]
