# Fault injection (issue 6, item 3): kubelets that refuse connections,
# answer 500, trickle one byte per second, close in the middle of the body
# or answer a gzip bomb; the apiserver down at start and in the middle of a run.
# Each case checks that the other nodes and the data served are untouched
# (every healthy node and pod, rates within 1%), and that the failure is
# visible: the log line with its reason, /metrics
# (k8s_metrics_last_scrape_success{reason}, the failure counter), and
# /readyz?verbose, which passes as long as other nodes serve.
# (Wrong CA, wrong SAN, expired certificates, 401/403/503, hangs, garbage,
# empty bodies, plain oversized bodies and redirects are t/050's; a failing or
# slow SubjectAccessReview, cut watch streams and a broken CA in the
# ConfigMap are t/090's.)

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;

use File::Temp qw(tempdir);
use IO::Compress::Gzip;
use IO::Socket::INET;

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);
our $Api = K8sMetricsTest::fake_apiserver(per_block => 0);
our $Peer = $ENV{TEST_NGINX_PEER_PORT};

# a port where nothing listens: a kubelet refusing connections
our $Refused = $Peer + 6;
if (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $Refused,
                          Proto => 'tcp', Timeout => 1)) {
    die "something listens on 127.0.0.1:$Refused; this test needs it closed\n";
}

# The gzip bomb: 780 KB that inflate to 256 MiB of comment lines after a
# valid node sample, served by the test's own nginx with Content-Encoding:
# gzip (the simulator does not do bombs).
our $BombDir = tempdir(CLEANUP => 1);
chmod 0755, $BombDir;
{
    my $z = IO::Compress::Gzip->new("$BombDir/metrics.gz", -Level => 9,
                                    Minimal => 1)
        or die "gzip: $IO::Compress::Gzip::GzipError\n";
    $z->print("node_cpu_usage_seconds_total 1 1\n"
              . "node_memory_working_set_bytes 1 1\n");
    my $chunk = ('# ' . ('x' x 61) . "\n") x 16384;
    $z->print($chunk) for 1 .. 256;
    $z->close;
}

our $Bomb = qq{
    server {
        listen 127.0.0.1:$Peer ssl;
        ssl_certificate \$TEST_NGINX_PKI/server.crt;
        ssl_certificate_key \$TEST_NGINX_PKI/server.key;
        location / {
            root $BombDir;
            default_type text/plain;
            add_header Content-Encoding gzip;
            try_files /metrics.gz =404;
        }
    }
    k8s_metrics_node node-bomb 127.0.0.1:$Peer;
};

our $Kubelets = K8sMetricsTest::kubelet_tls()
                . "    include \$TEST_NGINX_SIM_NODES;\n";

sub http_config {
    my ($extra) = @_;

    return K8sMetricsTest::api_server(
        zone => 'k8s_metrics_zone metrics:2m;',
        http => "    k8s_metrics_resolution 1s;\n" . $extra
                . K8sMetricsTest::waiter_http(),
        directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});
}

# nodes and pods from the fake apiserver, scraped at the simulator's port
our $ApiHttpConfig = http_config(q{
    k8s_metrics_kubelet_port $TEST_NGINX_SIM_PORT;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
});

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location()
              . K8sMetricsTest::apiserver_control_location();
our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';

our $ReadyzPassed = "[+]ping ok\n[+]metadata-informer-sync ok\n"
                    . "[+]metric-storage-ready ok\n[+]metric-snapshot-fresh ok\n"
                    . "[+]shutdown ok\nreadyz check passed\n";

sub q_ { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s }

# waits until /metrics counts N failures (or successes) of a node
sub wait_scrapes {
    my ($node, $result, $n, $timeout) = @_;
    my $line = qq{k8s_metrics_scrapes_total{node="$node",result="$result"} $n\n};
    return "GET /wait?path=/admin/metrics&match=" . q_($line)
           . ($timeout ? "&timeout=$timeout" : '');
}

sub healthy_nodes {
    return "NodeMetricsList\n" . join '', map {
        "node-0000$_ cpu=ok memory=ok window=ok\n"
    } @_;
}

sub healthy_pods {
    my %on = map { $_ => 1 } @_;
    return "PodMetricsList\n" . K8sMetricsCheck::pod_lines(sub { $on{$_[1]} });
}

# metrics.k8s.io answers summarized (rates checked, labels left out: those
# of the apiserver's nodes are t/090's), control answers as "ctl"
sub view {
    my $body = shift;

    if ($body =~ /^\{"kind":"(?:NodeMetrics|PodMetrics|Status)/) {
        my $s = K8sMetricsCheck::summary($body);
        $s =~ s/ labels=.*$//mg;
        return $s;
    }

    return "ctl\n" if $body =~ /^\{/;

    return $body;
}

# /metrics: the scrape status lines of every node, and the failures of one
sub scrape_status {
    my $body = shift;
    return join '', sort grep { /^k8s_metrics_last_scrape_success\{/ }
                    split /^/m, $body;
}

# the bomb's /metrics view, with the scraping process's peak memory: the
# body is inflated as it streams, not buffered (the bomb inflates to
# 256 MiB: a module that buffered it would need twice the bound)
sub bomb_view {
    my $body = shift;
    my $pid = K8sMetricsTest::scraping_worker();
    my $hwm = K8sMetricsTest::vm_kb($pid, 'VmHWM');
    return scrape_status($body) . "scraper peak RSS: "
           . (!defined $hwm ? "unknown (scraper not found)"
              : $hwm < 128 * 1024 ? "under 128 MiB" : "$hwm kB") . "\n";
}

K8sMetricsTest::block_defaults(config => $Config);

add_block_preprocessor(sub {
    my $block = shift;

    # "--- apiserver": a fresh fake apiserver, with these modes (JSON) set
    # before nginx starts
    if (defined $block->apiserver) {
        my $modes = $block->apiserver =~ /\S/
                    ? JSON::PP::decode_json($block->apiserver) : {};
        K8sMetricsTest::restart_apiserver(%$modes);
        $block->set_value('http_config', $ApiHttpConfig)
            unless defined $block->http_config;
    }
});

run_tests();

__DATA__

=== TEST 1: a kubelet refusing connections fails its node only, with curl's reason and the system's
--- http_config eval
::http_config($::Kubelets . "    k8s_metrics_node node-refused 127.0.0.1:$::Refused;\n")
--- request eval
[::wait_scrapes('node-refused', 'failure', 2), "GET $::Nodes", "GET $::Pods",
 "GET /anon/readyz?verbose", "GET /admin/metrics"]
--- response_body_filters eval
[\&::view]
--- response_body_like eval
["ready", "^\Q${\ ::healthy_nodes(1, 2, 3)}\E\$", "^\Q${\ ::healthy_pods(1, 2, 3)}\E\$",
 "^\Q$::ReadyzPassed\E\$",
 qr/^k8s_metrics_scrapes_total\{node="node-refused",result="success"\}\ 0\n.*
    ^k8s_metrics_last_scrape_success\{node="node-00001",reason=""\}\ 1\n.*
    ^k8s_metrics_last_scrape_success\{node="node-refused",reason="Failed\ to\ connect\ to\ 127\.0\.0\.1\ port\ $::Refused\ after\ \d+\ ms:\ (?:Couldn't\ connect\ to\ server\ \(Connection\ refused\)|Connection\ refused)"\}\ 0\n/smx]
--- error_log eval
qr/\[error\].*scraping node "node-refused" \(https:\/\/127\.0\.0\.1:$::Refused\/metrics\/resource\) failed: Failed to connect to 127\.0\.0\.1 port $::Refused after \d+ ms: (?:Couldn't connect to server \(Connection refused\)|Connection refused)/



=== TEST 2: a kubelet answering 500: the reason quotes the start of its body
--- http_config eval
::http_config($::Kubelets)
--- sim_modes
node-00001 status 500
--- request eval
[::wait_scrapes('node-00001', 'failure', 2), "GET $::Nodes", "GET $::Pods",
 "GET /anon/readyz?verbose", "GET /admin/metrics"]
--- response_body_filters eval
[\&::view, sub { $_[0] =~ /^k8s_metrics_/m ? ::scrape_status($_[0]) : $_[0] }]
--- response_body eval
["ready\n", ::healthy_nodes(2, 3), ::healthy_pods(2, 3), $::ReadyzPassed,
 qq{k8s_metrics_last_scrape_success{node="node-00001",reason="the kubelet answered HTTP 500: \\"Internal Error: failed to get summary stats \\""} 0
k8s_metrics_last_scrape_success{node="node-00002",reason=""} 1
k8s_metrics_last_scrape_success{node="node-00003",reason=""} 1
}]
--- error_log eval
qr/\[error\].*scraping node "node-00001" .* failed: the kubelet answered HTTP 500: "Internal Error: failed to get summary stats "/



=== TEST 3: a kubelet answering one byte per second: its timeout, after the bytes it sent
--- timeout: 20
--- http_config eval
::http_config($::Kubelets . "    k8s_metrics_kubelet_timeout 1500ms;\n") =~ s/k8s_metrics_resolution 1s;/k8s_metrics_resolution 2s;/r
--- sim_modes
node-00002 slow 1
--- request eval
[::wait_scrapes('node-00002', 'failure', 2, 15000), "GET $::Nodes", "GET $::Pods",
 "GET /anon/readyz?verbose", "GET /admin/metrics"]
--- response_body_filters eval
[\&::view, sub { $_[0] =~ /^k8s_metrics_/m ? ::scrape_status($_[0]) : $_[0] }]
--- response_body_like eval
["ready", "^\Q${\ ::healthy_nodes(1, 3)}\E\$", "^\Q${\ ::healthy_pods(1, 3)}\E\$",
 "^\Q$::ReadyzPassed\E\$",
 qr/^k8s_metrics_last_scrape_success\{node="node-00001",reason=""\}\ 1\n
     k8s_metrics_last_scrape_success\{node="node-00002",reason="no\ complete\ answer\ within\ k8s_metrics_kubelet_timeout\ \(1500\ ms\):\ Operation\ timed\ out\ after\ \d+\ milliseconds\ with\ [1-9]\d*\ out\ of\ \d+\ bytes\ received"\}\ 0\n
     k8s_metrics_last_scrape_success\{node="node-00003",reason=""\}\ 1\n$/x]
--- error_log eval
qr/\[error\].*scraping node "node-00002" .* failed: no complete answer within k8s_metrics_kubelet_timeout \(1500 ms\): Operation timed out after \d+ milliseconds with [1-9]\d* out of \d+ bytes received/



=== TEST 4: a kubelet closing mid-body: nothing of the half body is served, the others go on
--- timeout: 20
--- http_config eval
::http_config($::Kubelets)
--- request eval
["GET /wait?path=$::Nodes&match=node-00003",
 "GET /sim/mode?node=node-00003&mode=close_mid_body",
 ::wait_scrapes('node-00003', 'failure', 2, 10000),
 "GET $::Nodes", "GET $::Pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00003-000",
 "GET /anon/readyz?verbose", "GET /admin/metrics",
 "GET /sim/mode?node=node-00003&mode=normal",
 "GET /wait?path=$::Nodes&match=node-00003", "GET $::Nodes"]
--- response_body_filters eval
[\&::view, sub { $_[0] =~ /^k8s_metrics_/m ? ::scrape_status($_[0]) : $_[0] }]
--- error_code eval
[200, 200, 200, 200, 200, 404, 200, 200, 200, 200, 200]
--- response_body_like eval
["ready", "ctl", "ready", "^\Q${\ ::healthy_nodes(1, 2)}\E\$", "^\Q${\ ::healthy_pods(1, 2)}\E\$",
 "^\QStatus\npodmetrics.metrics.k8s.io \"default/pod-00003-000\" not found\n\E\$",
 "^\Q$::ReadyzPassed\E\$",
 qr/^k8s_metrics_last_scrape_success\{node="node-00001",reason=""\}\ 1\n
     k8s_metrics_last_scrape_success\{node="node-00002",reason=""\}\ 1\n
     k8s_metrics_last_scrape_success\{node="node-00003",reason="transfer\ closed\ with\ \d+\ bytes\ remaining\ to\ read"\}\ 0\n$/x,
 "ctl", "ready", "^\Q${\ ::healthy_nodes(1, 2, 3)}\E\$"]
--- shutdown_error_log eval
[qr/\[error\].*scraping node "node-00003" .* failed: transfer closed with \d+ bytes remaining to read/,
 qr/\[notice\].*node "node-00003" is scraped again/]



=== TEST 5: a gzip bomb stops at k8s_metrics_kubelet_max_body of inflated bytes, in bounded memory
--- timeout: 20
--- http_config eval
::http_config($::Kubelets . $::Bomb . "    k8s_metrics_kubelet_max_body 1m;\n")
--- request eval
[::wait_scrapes('node-bomb', 'failure', 2, 10000), "GET $::Nodes", "GET $::Pods",
 "GET /anon/readyz?verbose", "GET /admin/metrics"]
--- response_body_filters eval
[\&::view, sub { $_[0] =~ /^k8s_metrics_/m ? ::bomb_view($_[0]) : $_[0] }]
--- response_body eval
["ready\n", ::healthy_nodes(1, 2, 3), ::healthy_pods(1, 2, 3), $::ReadyzPassed,
 qq{k8s_metrics_last_scrape_success{node="node-00001",reason=""} 1
k8s_metrics_last_scrape_success{node="node-00002",reason=""} 1
k8s_metrics_last_scrape_success{node="node-00003",reason=""} 1
k8s_metrics_last_scrape_success{node="node-bomb",reason="the response is larger than k8s_metrics_kubelet_max_body (1048576 bytes)"} 0
scraper peak RSS: under 128 MiB
}]
--- error_log eval
qr/\[error\].*scraping node "node-bomb" \(https:\/\/127\.0\.0\.1:\d+\/metrics\/resource\) failed: the response is larger than k8s_metrics_kubelet_max_body \(1048576 bytes\)/



=== TEST 6: the apiserver down at start: readyz says the informers are not synced; it comes back, all is served
--- timeout: 30
--- apiserver
{"list_status": 503, "watch_status": 503}
--- request eval
["GET /wait?path=/apictl/calls%3Ftype%3Dlist&match=%22status%22%3A503",
 "GET /anon/readyz?verbose", "GET $::Nodes",
 "POST /apictl/mode\n{\"list_status\":0,\"watch_status\":0}",
 "GET /wait?path=/anon/readyz%3Fverbose&match=readyz%20check%20passed&timeout=20000",
 "GET /wait?path=$::Pods&match=pod-00003-003&timeout=5000",
 "GET $::Nodes", "GET $::Pods", "GET /anon/readyz?verbose"]
--- error_code eval
[200, 500, 200, 200, 200, 200, 200, 200, 200]
--- response_body_filters eval
[\&::view]
--- response_body eval
["ready\n",
 "[+]ping ok\n[-]metadata-informer-sync failed: reason withheld\n"
 . "[-]metric-storage-ready failed: reason withheld\n[+]metric-snapshot-fresh ok\n[+]shutdown ok\nreadyz check failed\n",
 "NodeMetricsList\n",
 "ctl\n", "ready\n", "ready\n", ::healthy_nodes(1, 2, 3), ::healthy_pods(1, 2, 3), $::ReadyzPassed]
--- shutdown_error_log eval
[qr/\[error\].*k8s metrics: listing nodes \(GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/nodes\?limit=500[^)]*\) failed: HTTP 503: /,
 qr/\[error\].*k8s metrics: listing pods \(GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/pods\?limit=500[^)]*\) failed: HTTP 503: /,
 qr/readyz check "metadata-informer-sync" failed: the nodes and pods are not listed yet/]



=== TEST 7: the apiserver down mid-run: the last known nodes are scraped on; back, its changes are taken
--- timeout: 40
--- apiserver
--- request eval
["GET /wait?path=$::Pods&match=pod-00003-003&timeout=15000",
 "POST /apictl/mode\n{\"list_status\":503,\"watch_status\":503}",
 "POST /apictl/gone\n{\"cut\":true}",
 "POST /apictl/node/remove\n{\"name\":\"node-00003\"}",
 "GET /wait?path=/apictl/calls%3Ftype%3Dwatch&match=%22status%22%3A503",
 "GET /sim/mode?node=node-00002&mode=drop_pod&arg=pod-00002-000",
 "GET /wait?path=$::Pods&absent=pod-00002-000&timeout=5000",
 "GET $::Nodes", "GET $::Pods", "GET /anon/readyz?verbose",
 "POST /apictl/mode\n{\"list_status\":0,\"watch_status\":0}",
 "GET /wait?path=$::Nodes&absent=node-00003&timeout=25000",
 "GET $::Nodes", "GET /anon/readyz?verbose"]
--- response_body_filters eval
[\&::view]
--- response_body eval
["ready\n", "ctl\n", "ctl\n", "ctl\n", "ready\n", "ctl\n", "ready\n",
 ::healthy_nodes(1, 2, 3),
 "PodMetricsList\n" . K8sMetricsCheck::pod_lines(sub { !($_[1] == 2 && $_[2] == 0) }),
 $::ReadyzPassed, "ctl\n", "ready\n", ::healthy_nodes(1, 2), $::ReadyzPassed]
--- shutdown_error_log eval
[qr/\[error\].*k8s metrics: watching (nodes|pods) \(GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/(nodes|pods)\?watch=1[^)]*\) failed: HTTP 503: /,
 qr/k8s metrics: watching nodes: too old resource version: .*: listing again/]
