# Isolation between nodes (issue 10, items 1 and 2).  A kubelet with too
# many pods fails its own node (k8s_metrics_kubelet_max_pods); a cycle
# that does not fit the zone leaves out the pods of its largest nodes,
# names them, and publishes the others; a snapshot that could not be
# replaced for a few cycles fails /readyz (metric-snapshot-fresh) and shows
# its age in /metrics.  A kubelet cannot publish another node's pod: with
# the apiserver, a pod is taken only from the node its spec.nodeName names;
# with static nodes, a pod two kubelets report is served once, from the
# first node by name.  Never two entries for one pod.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;

use IO::Socket::INET;
use JSON::PP ();

no_root_location();
no_shuffle();
worker_connections(1024);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);
our $Api = K8sMetricsTest::fake_apiserver(per_block => 0);

# a port where nothing listens: the kubelets of the nodes that only take
# room in the zone
our $Closed = $ENV{TEST_NGINX_PEER_PORT} + 7;
if (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $Closed,
                          Proto => 'tcp', Timeout => 1)) {
    die "something listens on 127.0.0.1:$Closed; this test needs it closed\n";
}

our $StaticKubelets = K8sMetricsTest::kubelet_tls()
                      . "    include \$TEST_NGINX_SIM_NODES;\n";

# nodes and pods from the fake apiserver; each node's kubelet at the port
# of its status (the simulator's for its nodes)
our $ApiKubelets = q{
    k8s_metrics_kubelet_use_node_status_port on;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
};

sub http_config {
    my (%o) = @_;

    return K8sMetricsTest::api_server(
        zone => "k8s_metrics_zone metrics:" . ($o{zone} // '2m') . ';',
        http => "    k8s_metrics_resolution 1s;\n"
                . ($o{api} ? $ApiKubelets : $StaticKubelets)
                . ($o{http} // '') . K8sMetricsTest::waiter_http(),
        directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});
}

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location()
              . K8sMetricsTest::apiserver_control_location();
our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';
our $Pod = '/admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods';

sub q_ { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s }

# waits until /metrics holds that text
sub wait_metrics {
    my ($text, $timeout) = @_;
    return "GET /wait?path=/admin/metrics&match=" . q_($text)
           . '&timeout=' . ($timeout // 20000);
}

# GET PATH once at least one more scrape cycle is over, so that the real
# Test::Nginx, whose error_log checks see only what each request of a block
# logged, sees that cycle's lines for this request too
sub later {
    my ($path, $status) = @_;
    return "GET /wait?path=" . q_($path) . "&after=1500&body=1"
           . ($status ? "&status=$status" : '');
}

# waits until /metrics counts N failures (or successes) of a node
sub wait_scrapes {
    my ($node, $result, $n) = @_;
    return wait_metrics(qq{k8s_metrics_scrapes_total{node="$node",result="$result"} $n\n});
}

sub healthy_nodes {
    return "NodeMetricsList\n" . join '', map {
        "node-0000$_ cpu=ok memory=ok window=ok\n"
    } @_;
}

# a metrics.k8s.io answer as K8sMetricsCheck sums it up (no labels), the
# waiter's and the controls' answers in a word, /metrics as its lines
# about isolation
sub view {
    my $body = shift;

    return K8sMetricsCheck::summary($body) =~ s/ labels=.*$//mgr
        if $body =~ /^\{"kind":"(?:NodeMetrics|PodMetrics|Status)/;
    return "ctl\n" if $body =~ /^\{/;
    return $body unless $body =~ /^# HELP/;
    return CORE::join '', grep {
        /^k8s_metrics_(?:scrapes_total|last_scrape_success|pods_rejected_total|samples_dropped_total\{reason="(?:misplaced|duplicate|unlisted)")/
    } split /^/, $body;
}

# a pods list as one line per node: how many pods, how many not as the
# simulator serves them for that node
sub pods_per_node {
    my $s = K8sMetricsCheck::summary(shift);
    return $s unless $s =~ /^PodMetricsList\n/;

    my (%count, %bad);

    for my $line (split /\n/, $s) {
        next unless $line =~ m{^\S+/pod-(\d+)-\d+ };
        $count{$1 + 0}++;
        $bad{$1 + 0}++ if $line =~ /BAD/;
    }

    return join '', map {
        "node $_: $count{$_} pods" . ($bad{$_} ? ", $bad{$_} not its own" : '') . "\n"
    } sort { $a <=> $b } keys %count;
}

# view(), with pods lists as pods_per_node() sums them up
sub view_counting {
    return $_[0] =~ /^\{"kind":"PodMetricsList"/ ? pods_per_node($_[0]) : view($_[0]);
}

# view(), with before it, for a pod answer, the source() of that pod
sub view_source {
    my ($name, $claimer) = @_;
    return sub {
        my $v = view($_[0]);
        return $_[0] =~ /^\{"kind":"PodMetrics/ ? source($_[0], $name, $claimer) . "\n" . $v : $v;
    };
}

# which kubelet the values of a pod come from: its own (node N, pod P), or
# node C's claim of it (claimed pod 0: the simulator's pod 100000 of C)
sub source {
    my ($body, $name, $claimer) = @_;
    my $doc = eval { JSON::PP::decode_json($body) } or return "not JSON: $body";
    my @items = $doc->{kind} eq 'PodMetricsList' ? @{ $doc->{items} } : ($doc);
    my @found = grep { $_->{metadata}{name} eq $name } @items;
    my ($n, $p) = $name =~ /pod-(\d+)-(\d+)/;

    return "$doc->{kind}: " . scalar(@found) . " x $name" . join '', map {
        my ($app) = grep { $_->{name} eq 'app' } @{ $_->{containers} };
        my $bytes = K8sMetricsCheck::bytes($app->{usage}{memory});
        $bytes == KubeletSim::container_memory_bytes($n + 0, $p + 0, 0)
            ? ", from its own node"
            : $bytes == KubeletSim::container_memory_bytes($claimer, 100000, 0)
            ? ", from node-0000$claimer"
            : ", from nowhere ($app->{usage}{memory})";
    } @found;
}

our $ReadyzStale = "[+]ping ok\n[+]metadata-informer-sync ok\n"
                   . "[+]metric-storage-ready ok\n"
                   . "[-]metric-snapshot-fresh failed: reason withheld\n"
                   . "[+]shutdown ok\nreadyz check failed\n";

# 100 nodes that take 250 KB of the zone with their labels alone
our @Big = map { sprintf 'big-%03d', $_ } 1 .. 100;
our $BigNodes = JSON::PP::encode_json({ items => [ map {
    my $name = $_;
    { name => $name, address => '127.0.0.1', port => $Closed + 0,
      labels => { map { (sprintf("big.example.com/label-%02d", $_), 'v' x 60) } 1 .. 20 } }
} @Big ] });
our $BigGone = JSON::PP::encode_json({ items => [ map { { name => $_ } } @Big ] });

K8sMetricsTest::block_defaults(config => $Config);

# "--- apiserver": a fresh fake apiserver, listing the simulator's nodes and
# pods
add_block_preprocessor(sub {
    K8sMetricsTest::restart_apiserver() if defined $_[0]->apiserver;
});

run_tests();

__DATA__

=== TEST 1: a kubelet reporting more pods than k8s_metrics_kubelet_max_pods fails its own node, with the reason
--- http_config eval
::http_config(http => "    k8s_metrics_kubelet_max_pods 10;\n")
--- sim_modes
node-00002 add_pod 20
--- request eval
[::wait_scrapes('node-00002', 'failure', 2), ::later($::Nodes), ::later($::Pods),
 ::later('/admin/metrics')]
--- timeout: 20
--- response_body_filters eval
\&::view_counting
--- response_body_like eval
["ready", "^\Q${\ ::healthy_nodes(1, 3)}\E\$", "^node 1: 4 pods\nnode 3: 4 pods\n\$",
 qr/^k8s_metrics_last_scrape_success\{node="node-00001",reason=""\}\ 1\n
    .*^k8s_metrics_last_scrape_success\{node="node-00002",reason="the\ kubelet\ reports\ 24\ pods,\ more\ than\ k8s_metrics_kubelet_max_pods\ \(10\)"\}\ 0\n
    .*^k8s_metrics_last_scrape_success\{node="node-00003",reason=""\}\ 1\n/smx]
--- error_log eval
qr/scraping node "node-00002" \(https:\/\/[\d.]+:\d+\/metrics\/resource\) failed: the kubelet reports 24 pods, more than k8s_metrics_kubelet_max_pods \(10\)/



=== TEST 2: k8s_metrics_kubelet_max_pods: a number, at least 1
--- http_config eval
::http_config(http => "    k8s_metrics_kubelet_max_pods 0;\n")
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_kubelet_max_pods" directive must be at least 1/



=== TEST 3: a cycle too large for the zone leaves out the largest node, names it, and publishes the others
--- http_config eval
::http_config(zone => '160k')
--- sim_modes
node-00002 add_pod 950
node-00003 add_pod 200
--- request eval
[::wait_scrapes('node-00002', 'failure', 3), ::later($::Nodes), ::later($::Pods),
 ::later('/admin/metrics')]
--- timeout: 30
--- response_body_filters eval
\&::view_counting
--- response_body_like eval
["ready", "^\Q${\ ::healthy_nodes(1, 3)}\E\$", "^node 1: 4 pods\nnode 3: 204 pods\n\$",
 qr/^k8s_metrics_last_scrape_success\{node="node-00001",reason=""\}\ 1\n
    .*^k8s_metrics_last_scrape_success\{node="node-00002",reason="its\ 954\ pods\ \(\d+\ bytes\)\ do\ not\ fit\ in\ k8s_metrics_zone\ \\"metrics\\"\ \(163840\ bytes\)\ beside\ the\ other\ nodes:\ the\ largest\ nodes\ are\ left\ out\ first"\}\ 0\n
    .*^k8s_metrics_last_scrape_success\{node="node-00003",reason=""\}\ 1\n/smx]
--- error_log eval
qr/node "node-00002" is left out of the snapshot: its 954 pods \(\d+ bytes\) do not fit in k8s_metrics_zone "metrics" \(163840 bytes\) beside the other nodes/



=== TEST 4: a node that would fit only every other cycle stays out (no flapping: its series would start over each time)
--- http_config eval
::http_config(zone => '320k')
--- sim_modes
node-00002 add_pod 950
node-00003 add_pod 200
--- request eval
[::wait_scrapes('node-00002', 'failure', 4), ::later('/admin/metrics'), ::later($::Nodes)]
--- timeout: 30
--- response_body_filters eval
\&::view_counting
--- response_body_like eval
["ready",
 qr/^k8s_metrics_scrapes_total\{node="node-00002",result="success"\}\ 0\n
    .*^k8s_metrics_last_scrape_success\{node="node-00002",reason="its\ 954\ pods\ \(\d+\ bytes\)\ do\ not\ fit\ in\ k8s_metrics_zone\ \\"metrics\\"\ \(327680\ bytes\)/smx,
 "^\Q${\ ::healthy_nodes(1, 3)}\E\$"]
--- error_log eval
qr/node "node-00002" is left out of the snapshot: its 954 pods \(\d+ bytes\) do not fit in k8s_metrics_zone "metrics" \(327680 bytes\)/



=== TEST 5: a node left out comes back once it fits: its series start over, with windows of one cycle
--- http_config eval
::http_config(zone => '160k')
--- sim_modes
node-00002 add_pod 950
--- request eval
[::wait_scrapes('node-00002', 'failure', 5), "GET /sim/mode?node=node-00002&mode=reset",
 "GET /wait?path=$::Nodes&match=node-00002", "GET $::Nodes", "GET $::Pods"]
--- timeout: 40
--- response_body_filters eval
\&::view_counting
--- response_body eval
["ready\n", "ctl\n", "ready\n", ::healthy_nodes(1, 2, 3),
 "node 1: 4 pods\nnode 2: 4 pods\nnode 3: 4 pods\n"]



=== TEST 6: a snapshot that cannot be replaced for 3 cycles fails /readyz, and /metrics shows its age; it recovers
--- apiserver
--- http_config eval
::http_config(api => 1, zone => '128k', http => "    k8s_metrics_kubelet_timeout 900ms;\n")
--- request eval
["GET /wait?path=/anon/readyz",
 "POST /apictl/node/add\n$::BigNodes",
 "GET /wait?path=/anon/readyz&status=500",
 "GET /anon/readyz?verbose", "GET /admin/metrics", "GET $::Nodes",
 "POST /apictl/node/remove\n$::BigGone",
 "GET /wait?path=/anon/readyz"]
--- timeout: 40
--- error_code eval
[200, 200, 200, 500, 200, 200, 200, 200]
--- response_body_filters eval
sub {
    return ::view($_[0]) unless $_[0] =~ /^# HELP/;
    my ($age) = $_[0] =~ /^k8s_metrics_snapshot_age_seconds ([\d.]+)$/m;
    my ($full) = $_[0] =~ /^k8s_metrics_zone_full_total (\d+)$/m;
    return (defined $age && $age > 3 ? "age over 3 s\n" : "age: " . ($age // 'none') . "\n")
           . ($full > 0 ? "zone full\n" : "zone not full\n");
}
--- response_body eval
["ready\n", "ctl\n", "ready\n", $::ReadyzStale, "age over 3 s\nzone full\n",
 ::healthy_nodes(1, 2, 3), "ctl\n", "ready\n"]



=== TEST 7: static nodes: a pod two kubelets report is served once, from the first node by name (node-00002 claims node-00001's)
--- http_config eval
::http_config()
--- sim_modes
node-00002 claim_pod default/pod-00001-000
--- request eval
[::wait_metrics(qq{k8s_metrics_pods_rejected_total{node="node-00002",reason="duplicate"} 2\n}),
 ::later($::Pods), ::later("$::Pod/pod-00001-000"), ::later('/admin/metrics')]
--- timeout: 20
--- response_body_filters eval
::view_source('pod-00001-000', 2)
--- response_body_like eval
["ready", "^\Q${\ (qq{PodMetricsList: 1 x pod-00001-000, from its own node\nPodMetricsList\n} . K8sMetricsCheck::pod_lines())}\E\$",
 "^PodMetrics: 1 x pod-00001-000, from its own node\nPodMetrics\n",
 qr/^k8s_metrics_pods_rejected_total\{node="node-00001",reason="duplicate"\}\ 0\n
    .*^k8s_metrics_pods_rejected_total\{node="node-00002",reason="duplicate"\}\ (?:[2-9]|[1-9]\d+)\n
    .*^k8s_metrics_samples_dropped_total\{reason="duplicate"\}\ (?:[4-9]|[1-9]\d+)\n/smx]
--- error_log eval
qr/node "node-00002" reported 1 pods that a node before it by name reports too, e.g. "default\/pod-00001-000" on node "node-00001": they are served from that node only/



=== TEST 8: static nodes: the first node by name wins whichever claims (node-00001 claims node-00002's pod)
--- http_config eval
::http_config()
--- sim_modes
node-00001 claim_pod default/pod-00002-000
--- request eval
[::wait_metrics(qq{k8s_metrics_pods_rejected_total{node="node-00002",reason="duplicate"} 2\n}),
 ::later($::Pods), ::later("$::Pod/pod-00002-000")]
--- response_body_filters eval
::view_source('pod-00002-000', 1)
--- response_body_like eval
["ready", "^PodMetricsList: 1 x pod-00002-000, from node-00001\n",
 "^PodMetrics: 1 x pod-00002-000, from node-00001\n"]
--- error_log eval
qr/node "node-00002" reported 1 pods that a node before it by name reports too, e.g. "default\/pod-00002-000" on node "node-00001"/



=== TEST 9: with the apiserver, a kubelet cannot publish a pod the apiserver places on another node, nor one it does not know
--- apiserver
--- http_config eval
::http_config(api => 1)
--- sim_modes
node-00002 claim_pod default/pod-00001-000,default/ghost-0001
--- request eval
[::wait_metrics(qq{k8s_metrics_pods_rejected_total{node="node-00002",reason="misplaced"} 2\n}),
 ::later($::Pods), ::later("$::Pod/pod-00001-000"), ::later("$::Pod/ghost-0001", 404),
 ::later('/admin/metrics'), ::later('/apictl/calls?type=list,watch&res=pods')]
--- timeout: 30
--- response_body_filters eval
sub {
    return ::view_source('pod-00001-000', 2)->($_[0]) unless $_[0] =~ /"calls":\[/;
    my %a = map { $_->{accept} => 1 } @{ JSON::PP::decode_json($_[0])->{calls} };
    return "pods listed and watched with Accept: " . CORE::join(' | ', sort keys %a) . "\n";
}
--- error_code eval
[200, 200, 200, 404, 200, 200]
--- response_body_like eval
["ready", "^\Q${\ (qq{PodMetricsList: 1 x pod-00001-000, from its own node\nPodMetricsList\n} . K8sMetricsCheck::pod_lines())}\E\$",
 "^PodMetrics: 1 x pod-00001-000, from its own node\nPodMetrics\n",
 "^Status\npodmetrics.metrics.k8s.io \"default/ghost-0001\" not found\n\$",
 qr/^k8s_metrics_pods_rejected_total\{node="node-00001",reason="misplaced"\}\ 0\n
    .*^k8s_metrics_pods_rejected_total\{node="node-00002",reason="misplaced"\}\ (?:[2-9]|[1-9]\d+)\n
    .*^k8s_metrics_samples_dropped_total\{reason="unlisted"\}\ (?:[4-9]|[1-9]\d+)\n
    ^k8s_metrics_samples_dropped_total\{reason="misplaced"\}\ (?:[4-9]|[1-9]\d+)\n/smx,
 "^pods listed and watched with Accept: application/json\n\$"]
--- error_log eval
qr/node "node-00002" reported 1 pods that the apiserver places on other nodes, e.g. "default\/pod-00001-000" on node "node-00001": they are not taken from it/



=== TEST 10: with the apiserver, the node it names wins even over a node before it by name
--- apiserver
--- http_config eval
::http_config(api => 1)
--- sim_modes
node-00001 claim_pod default/pod-00002-000
--- request eval
[::wait_metrics(qq{k8s_metrics_pods_rejected_total{node="node-00001",reason="misplaced"} 2\n}),
 ::later($::Pods), ::later("$::Pod/pod-00002-000")]
--- response_body_filters eval
::view_source('pod-00002-000', 1)
--- response_body_like eval
["ready", "^PodMetricsList: 1 x pod-00002-000, from its own node\n",
 "^PodMetrics: 1 x pod-00002-000, from its own node\n"]
--- error_log eval
qr/node "node-00001" reported 1 pods that the apiserver places on other nodes, e.g. "default\/pod-00002-000" on node "node-00002"/
