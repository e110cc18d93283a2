# /metrics: metrics-server's own metrics beside the module's, with
# metrics-server v0.9's names, types, labels, help texts and buckets
# (pkg/scraper/scraper.go, pkg/server/server.go, pkg/storage/monitoring.go,
# pkg/api/monitoring.go, pkg/utils/monitoring.go), and the whole page valid
# text exposition format, read by python3-prometheus-client's parser
# (t/lib/prom_check.py): every family once, with HELP and TYPE, its samples
# together, histograms whole.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use File::Temp ();

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);

# the simulator's nodes, and one whose kubelet refuses connections
our $Nodes = join('', map {
    sprintf "k8s_metrics_node %s %s:%d;\n",
            KubeletSim::node_name($_), $Sim->node_ip($_), $Sim->{port}
} 1 .. 3) . "k8s_metrics_node node-down 127.0.0.1:1;\n";

# 3s: metrics-server's tick buckets gain le="3" (BucketsForScrapeDuration)
our $Kubelets = K8sMetricsTest::kubelet_client('3s')
               . "    k8s_metrics_kubelet_timeout 2s;\n";

our $HttpConfig = K8sMetricsTest::open_api_server(
    zone => 'k8s_metrics_zone metrics:2m;',
    http => $Kubelets . $Nodes);

K8sMetricsTest::block_defaults(
    http_config => $HttpConfig,
    config => K8sMetricsTest::personas() . K8sMetricsTest::waiter_location());

our $Ready = "GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/pods&match=pod-00003-003&timeout=30000";

our $Checker = "$K8sMetricsTest::Root/t/lib/prom_check.py";

# a /metrics page through the checker, with the families named
sub check {
    my @names = @_;
    return sub {
        my $body = shift;
        return $body if $body !~ /^# HELP/;
        my $tmp = File::Temp->new;
        print $tmp $body;
        close $tmp;
        my $out = `/usr/bin/python3 $Checker @names < $tmp 2>&1`;
        return $out;
    };
}

# one sample's value, by its whole name and labels
sub value {
    my ($body, $sample) = @_;
    return $body =~ /^\Q$sample\E (\S+)$/m ? $1 : undef;
}

# freshness observations since the previous /metrics of the block
our $FreshBefore;
sub fresh_since {
    my $body = shift;
    undef $FreshBefore if $body =~ /^ready/;
    my $n = value($body, 'metrics_server_api_metric_freshness_seconds_count');
    return $body unless defined $n;
    my $since = defined $FreshBefore ? "+" . ($n - $FreshBefore) : "from";
    $FreshBefore = $n;
    return "freshness $since\n";
}

our @Families = qw(
    metrics_server_api_metric_freshness_seconds
    metrics_server_kubelet_last_request_time_seconds
    metrics_server_kubelet_request_duration_seconds
    metrics_server_kubelet_request
    metrics_server_manager_tick_duration_seconds
    metrics_server_storage_points
);

our $Def = "0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10,+Inf";

run_tests();

__DATA__

=== TEST 1: the whole page is valid text format; metrics-server's families with its types, labels and buckets
--- timeout: 40
--- request eval
[$::Ready, "GET /admin/metrics"]
--- response_body_filters eval
[::check(@::Families)]
--- response_body eval
["ready\n", "valid
metrics_server_api_metric_freshness_seconds histogram labels=le le=1,1.364,1.8604960000000004,2.5377165440000007,3.4614453660160014,4.721411479245826,6.440005257691307,8.784167171490942,11.981604021913647,16.342907885890217,22.291726356354257,30.405914750067208,41.47366771909167,56.57008276884105,77.16159289669919,105.2484127110977,143.55883493793726,195.81425085534644,267.09063816669254,364.31163045936864,+Inf
metrics_server_kubelet_last_request_time_seconds gauge labels=node
metrics_server_kubelet_request_duration_seconds histogram labels=le,node le=$::Def
metrics_server_kubelet_request counter labels=success
metrics_server_manager_tick_duration_seconds histogram labels=le le=0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,3,5,10,+Inf
metrics_server_storage_points gauge labels=type
"]



=== TEST 2: the values: requests by outcome, last request times, points a rate is given for, cycles
--- timeout: 40
--- request eval
[$::Ready, "GET /admin/metrics"]
--- response_body_filters eval
[sub {
    my $b = shift;
    return $b if $b =~ /^ready/;
    my $now = time;
    my @out;
    push @out, "failed " . (::value($b, 'metrics_server_kubelet_request_total{success="false"}') >= 1 ? "counted" : "not counted");
    push @out, "succeeded " . (::value($b, 'metrics_server_kubelet_request_total{success="true"}') >= 6 ? "counted" : "not counted");
    for my $n (qw(node-00001 node-00002 node-00003 node-down)) {
        my $t = ::value($b, qq{metrics_server_kubelet_last_request_time_seconds{node="$n"}});
        push @out, "$n last request " . (defined $t && $t == int($t) && abs($now - $t) <= 10 ? "recent" : "$t");
        my $c = ::value($b, qq{metrics_server_kubelet_request_duration_seconds_count{node="$n"}});
        push @out, "$n durations " . ($c >= 1 ? "counted" : "none");
    }
    push @out, "points node=" . ::value($b, 'metrics_server_storage_points{type="node"}')
             . " container=" . ::value($b, 'metrics_server_storage_points{type="container"}');
    push @out, "ticks " . (::value($b, 'metrics_server_manager_tick_duration_seconds_count') >= 2 ? "counted" : "none");
    CORE::join('', map { "$_\n" } @out);
}]
--- response_body eval
["ready\n", "failed counted
succeeded counted
node-00001 last request recent
node-00001 durations counted
node-00002 last request recent
node-00002 durations counted
node-00003 last request recent
node-00003 durations counted
node-down last request recent
node-down durations counted
points node=3 container=24
ticks counted
"]



=== TEST 3: every NodeMetrics and PodMetrics answered is one freshness observation, a list sent again from a kept rendering too
--- timeout: 40
--- request eval
[$::Ready,
 "GET /admin/metrics",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/metrics",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/metrics",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nothere",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00002",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=nothere",
 "GET /admin/metrics"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 404, 200, 200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^(ready|# HELP)/ ? ::fresh_since($_[0]) : "answer\n" }]
--- response_body eval
["ready\n", "freshness from\n", "answer\n", "freshness +3\n", "answer\n", "answer\n",
 "freshness +24\n", "answer\n", "answer\n", "answer\n", "freshness +1\n"]
