# Nodes from the apiserver, from k8s_metrics_scrape_share_threshold on:
# every worker runs the informers and scrapes its share of the nodes,
# owned by a hash of the node's name (node-00001..3 are worker 1's,
# node-00004..6 worker 0's: crc32 % 2), each node once per cycle, one
# snapshot.  A worker killed in the middle of its share: its nodes fail
# that cycle, from the next they are scraped again.  A reload in the
# middle of a cycle: no node asked twice in a cycle, the store kept.
# No worker begins or joins a cycle before its informers listed the nodes
# and pods: a reload while the apiserver lists neither keeps the snapshot;
# a worker respawned meanwhile has its nodes fail, as not joined.
# Below the threshold, worker 0 scrapes every node as a single scraper.
# Sharing needs workers: this file always runs with a master and 2.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use K8sMetricsShare;
use Compress::Zlib ();
use JSON::PP ();

no_root_location();
no_shuffle();
master_on();
workers(2);

# 100 pods a node: a part left in the zone shows (K8sMetricsShare::left_behind)
our $Sim = K8sMetricsTest::kubelet_sim(nodes => 6, pods => 100, containers => 1);
our $Api = K8sMetricsTest::fake_apiserver();
our $Nodes = $K8sMetricsShare::List;
$K8sMetricsShare::Nodes = 6;
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';

# the nodes of the worker that scrapes node-00002 (as the module hashes)
our @Mates = grep { Compress::Zlib::crc32(sprintf 'node-%05d', $_) % 2
                    == Compress::Zlib::crc32('node-00002') % 2 } 1 .. 6;
die "node-00002's share is not node-00001..3\n" unless "@Mates" eq '1 2 3';

# A 2 s resolution and a 1 s kubelet timeout, as in t/048-share.t
sub http_config {
    my ($threshold, $directives) = @_;

    return K8sMetricsTest::open_api_server(
        directives => $directives,
        zone => 'k8s_metrics_zone metrics:4m;',
        http => K8sMetricsTest::kubelet_client('2s')
                . "    k8s_metrics_kubelet_port \$TEST_NGINX_SIM_PORT;\n"
                . "    k8s_metrics_apiserver_timeout 2s;\n"
                . "    include \$TEST_NGINX_APISERVER_CONF;\n"
                . "    k8s_metrics_kubelet_timeout 1s;\n"
                . "    k8s_metrics_scrape_share_threshold $threshold;\n");
}

K8sMetricsTest::block_defaults(http_config => http_config(4),
                               config => K8sMetricsTest::personas()
                                         . K8sMetricsTest::waiter_location()
                                         . K8sMetricsTest::apiserver_control_location());

# the simulator's pods and nodes, as summarized (node labels left out:
# the apiserver's)
sub pod_lines { K8sMetricsShare::pod_lines(100) }
*healthy = \&K8sMetricsShare::healthy;
$K8sMetricsShare::NodeLabels = '';

sub nodes_summary {
    my $s = K8sMetricsCheck::summary($_[0]);
    $s =~ s/ labels=.*$//mg;
    return $s;
}

# which worker holds each node's connection: the nodes of the same hash
# with one worker, the other three with the other, no node with two
sub placement {
    my %by;
    my @lines;

    for my $n (1 .. 6) {
        my @w = K8sMetricsShare::workers_of($n);
        push @lines, "node $n: workers=" . scalar(@w) . "\n" if @w != 1;
        push @{ $by{ $w[0] } }, $n if @w == 1;
    }

    return join('', @lines) . join('', map { "worker: @{ $by{$_} }\n" }
                                   sort { $by{$a}[0] <=> $by{$b}[0] } keys %by);
}

# metrics.k8s.io lists summarized; /metrics: how many workers scrape
sub summarize {
    my $body = shift;
    return $body =~ /^\{"kind":"NodeMetricsList"/ ? nodes_summary($body)
         : $body =~ /^\{/ ? K8sMetricsCheck::summary($body)
         : $body =~ /^# HELP/ ? "scraping workers: "
                                . K8sMetricsShare::scrapers() . "\n"
         : $body;
}

# Each node asked once per cycle (t/lib/K8sMetricsShare.pm); the first
# cycle, before the informers listed the nodes, asked none
sub once_per_cycle { K8sMetricsShare::once_per_cycle($_[0], undef, 1) }

# the node lists the apiserver answered: one per worker's informer
sub node_lists {
    my $calls = JSON::PP::decode_json($_[0])->{calls};
    my $lists = grep { $_->{type} eq 'list' } @$calls;
    return "node lists: " . ($lists >= 2 ? '2 or more' : $lists) . "\n";
}

# the lists of each resource the apiserver answered
sub lists_by_resource {
    my %n;
    $n{ $_->{res} }++ for grep { $_->{type} eq 'list' }
                          @{ JSON::PP::decode_json($_[0])->{calls} };
    return join '', map { "$_: " . ($n{$_} >= 2 ? '2 or more' : $n{$_}) . "\n" }
                    sort keys %n;
}

# after a reload: the nodes, 9 s more, the nodes again, /metrics.  The
# new workers join no cycle before their informers listed the nodes and
# pods, which takes over a resolution on a loaded machine (CI's two
# lanes); a late joiner's nodes then need two scrapes to be served.
sub after_reload_requests {
    return ["GET $Nodes", "GET /wait?path=/nowhere&timeout=9000",
            "GET $Nodes", "GET /admin/metrics"];
}

# what the block's init found
our $Found = '';

# the nodes /metrics says failed with REASON
sub failed_with {
    my $reason = shift;
    my $body = K8sMetricsTest::get('/admin/metrics')->{content} // '';
    return join ' ', map { $_ + 0 } $body =~ /^k8s_metrics_last_scrape_success\{node="node-(\d+)",reason="\Q$reason\E"\} 0$/mg;
}

# Kills a worker where its part is staged, not yet in: that cycle is
# published without its part, its nodes failing, and nothing of the part
# stays in the zone
sub killed_after_staging {
    my @before = K8sMetricsShare::zone_at_rest();
    my $pid = (K8sMetricsTest::running_workers())[0];
    my $mine = join ' ', grep { grep { $_ == $pid } K8sMetricsShare::workers_of($_) } 1 .. 6;
    my $lost = '';

    K8sMetricsShare::kill_after_staging($pid);
    K8sMetricsTest::wait_until(sub {
        $lost = failed_with($K8sMetricsShare::Lost);
    }, 10, 0.05);

    $Found = ($lost ne '' && $lost eq $mine
              ? "its nodes failed that cycle\n"
              : "failed: '$lost', its nodes: '$mine'\n")
             . K8sMetricsShare::left_behind(@before,
                                            K8sMetricsShare::zone_at_rest());
}

# Reloads nginx while the apiserver answers no list of RES (nodes, pods):
# three resolutions later, what was served before the reload still is (the
# new workers begin no cycle before their informers listed both); then the
# lists are answered again
sub reload_unlisted {
    my $res = shift;

    K8sMetricsShare::served_again();
    $::Api->mode("list_status:$res" => 503);
    K8sMetricsShare::reload_mid_cycle();
    sleep 6;

    $Found = "while the $res are not listed:\n"
             . summarize(K8sMetricsTest::get($res eq 'nodes' ? $Nodes : $Pods)->{content});
    $::Api->mode("list_status:$res" => 0);

    K8sMetricsTest::wait_cycles(K8sMetricsShare::metric('k8s_metrics_scrape_cycles_total')
                                + 2, 40)
        or die "no scrape cycle once the $res were listed\n";
}

# Kills the worker scraping node 2 while the apiserver answers no node
# list: its respawned worker joins no cycle until it lists them, and its
# nodes fail each cycle meanwhile, saying why; the other worker's nodes
# are served.  Then the nodes are listed again.
our $Absent = 'not scraped in this cycle: the worker whose share it is did '
              . 'not join it (its informers not synced yet, or it started late)';

sub killed_unlisted {
    K8sMetricsShare::served_again();
    $::Api->mode('list_status:nodes' => 503);
    K8sMetricsShare::kill_mid_cycle();

    my $absent = '';
    K8sMetricsTest::wait_until(sub {
        $absent = failed_with($Absent);
        $absent eq '1 2 3';
    }, 15, 0.05);

    # what the nodes failed with instead, for whoever reads a failure
    my $other = $absent eq '1 2 3' ? ''
        : join '', map { "$_\n" }
                   (K8sMetricsTest::get('/admin/metrics')->{content} // '')
                   =~ /^(k8s_metrics_last_scrape_success\{node="node-0000[123]".*)$/mg;

    # a cycle waits a resolution for the worker that does not join: a
    # window spans up to two
    $Found = "nodes failing as not joined: $absent\n" . $other
             . "while the nodes are not listed:\n"
             . K8sMetricsShare::after_reload(
                   nodes_summary(K8sMetricsTest::get($Nodes)->{content}));
    $::Api->mode('list_status:nodes' => 0);

    # the respawned worker lists them at its next try (a backoff of up to
    # 8 s by now), then its nodes need two scrapes
    K8sMetricsTest::wait_until(sub {
        (K8sMetricsTest::get($Nodes)->{content} // '') =~ /node-00001.*node-00002.*node-00003/s;
    }, 40, 0.1) or die "node-00001..3 not served once the nodes were listed\n";
    # and the first window of a late joiner's nodes may span two cycles
    K8sMetricsTest::wait_cycles(K8sMetricsShare::metric('k8s_metrics_scrape_cycles_total')
                                + 1, 20);
}

run_tests();

__DATA__

=== TEST 1: the threshold reached with nodes from the apiserver: both workers scrape, each its nodes by name, every node served with its rates
--- timeout: 40
--- request eval
[K8sMetricsShare::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 4' . "\n", 30000),
 "GET $::Nodes",
 "GET $::Pods",
 "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::summarize($_[0]) . ::placement() : ::summarize($_[0]) }]
--- response_body eval
["ready\n",
 ::healthy(1 .. 6),
 ::pod_lines(),
 "scraping workers: 2\nworker: 1 2 3\nworker: 4 5 6\n"]
--- no_error_log
scraping node
is gone before



=== TEST 2: each node asked once per cycle, by one worker, across cycles
--- timeout: 40
--- request eval
[K8sMetricsShare::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 5' . "\n", 30000),
 "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::once_per_cycle() . ::summarize($_[0]) : $_[0] }]
--- response_body eval
["ready\n", CORE::join('', map { "node $_: gaps>=1000ms:yes count=cycles:yes\n" } 1 .. 6)
            . "scraping workers: 2\n"]
--- no_error_log
is gone before



=== TEST 3: a worker killed in the middle of its share: its other nodes fail that cycle, the respawned worker scrapes them from the next on
--- timeout: 50
--- sim_modes
node-00002 hang 30
--- init
K8sMetricsShare::kill_mid_cycle();
--- request eval
[K8sMetricsShare::wait_for('/admin/metrics', K8sMetricsShare::reason_of('node-00003', $K8sMetricsShare::Lost)),
 K8sMetricsShare::wait_for('/admin/metrics', K8sMetricsShare::reason_of('node-00002', 'no complete answer within k8s_metrics_kubelet_timeout (1000 ms)')),
 K8sMetricsShare::wait_for($::Nodes, 'node-00003', 20000),
 "GET $::Nodes",
 "GET /admin/metrics"]
--- response_body_filters eval
[\&::summarize]
--- response_body eval
["ready\n", "ready\n", "ready\n", ::healthy(1, 3, 4, 5, 6),
 "scraping workers: 2\n"]
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/]



=== TEST 4: nginx -s reload in the middle of a cycle: no node asked twice in a cycle, the store kept, both new workers scrape
--- timeout: 50
--- sim_modes
node-00002 hang 30
--- init
K8sMetricsShare::reload_mid_cycle();
--- request eval
::after_reload_requests()
--- error_code eval
[200, 504, 200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^\{/ ? K8sMetricsShare::after_reload(::nodes_summary($_[0]))
       : $_[0] =~ /^# HELP/ ? ::once_per_cycle(1) . ::summarize($_[0]) : $_[0] }]
--- response_body_like eval
['^' . quotemeta(::healthy(1, 3, 4, 5, 6)) . '$', "not ready",
 '^' . quotemeta(::healthy(1, 3, 4, 5, 6)) . '$',
 '^' . quotemeta(CORE::join('', map { "node $_: gaps>=1000ms:yes\n" } 1 .. 6)
                 . "scraping workers: 2\n") . '$']
--- no_error_log
is gone before



=== TEST 5: below the threshold, one worker scrapes every node, while both keep the node list
--- timeout: 40
--- http_config eval: ::http_config(7)
--- request eval
[K8sMetricsShare::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 4' . "\n", 30000),
 "GET $::Nodes",
 "GET /admin/metrics",
 "GET /apictl/calls?type=list&res=nodes"]
--- response_body_filters eval
[sub { $_[0] =~ /^\{"next"/ ? ::node_lists($_[0]) : ::summarize($_[0]) }]
--- response_body eval
["ready\n", ::healthy(1 .. 6), "scraping workers: 1\n", "node lists: 2 or more\n"]
--- no_error_log
is gone before



=== TEST 6: shared, a kubelet still cannot publish a pod the apiserver places on another worker's node
--- timeout: 40
--- sim_modes
node-00004 claim_pod default/pod-00001-000
--- request eval
[K8sMetricsShare::wait_for('/admin/metrics', 'k8s_metrics_pods_rejected_total{node="node-00004",reason="misplaced"} 2' . "\n", 30000),
 "GET $::Pods",
 "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/
       ? ::summarize($_[0]) . ($_[0] =~ /^k8s_metrics_pods_rejected_total\{node="node-00004",reason="misplaced"\} [2-9]/m
                               ? "node-00004's claim rejected\n" : "node-00004's claim taken\n")
       : ::summarize($_[0]) }]
--- response_body eval
["ready\n", ::pod_lines(), "scraping workers: 2\nnode-00004's claim rejected\n"]
--- error_log eval
qr/node "node-00004" reported 1 pods that the apiserver places on other nodes, e.g. "default\/pod-00001-000" on node "node-00001": they are not taken from it/



=== TEST 7: a worker killed after it staged its part, before the part was in: its nodes fail that cycle, the part is freed with the cycle
--- timeout: 90
--- init
::killed_after_staging();
--- request eval
["GET /admin/metrics"]
--- response_body_filters eval
[sub { $::Found . ::summarize($_[0]) }]
--- response_body
its nodes failed that cycle
nothing left in the zone
scraping workers: 2
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/,
 qr/worker \d \(pid \d+\) is gone before its share of scrape cycle \d+ was in/]



=== TEST 8: shared, the nodes and pods are listed by every worker, the authentication ConfigMap by worker 0 alone (one writer of what the workers read of it)
--- timeout: 40
--- http_config eval: ::http_config(4, "            k8s_metrics_authentication_configmap on;\n")
--- request eval
[K8sMetricsShare::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 3' . "\n", 30000),
 "GET /admin/metrics",
 "GET /apictl/calls?type=list"]
--- response_body_filters eval
[sub { $_[0] =~ /^\{"next"/ ? ::lists_by_resource($_[0])
       : $_[0] =~ /^# HELP/ ? ::summarize($_[0])
                              . ($_[0] =~ /^k8s_metrics_authentication_configmap_updates_total 1$/m
                                 ? "configmap taken once\n" : "configmap not taken once\n")
       : $_[0] }]
--- response_body eval
["ready\n", "scraping workers: 2\nconfigmap taken once\n",
 "configmaps: 1\nnodes: 2 or more\npods: 2 or more\n"]



=== TEST 9: nginx -s reload while the apiserver lists no nodes: the new workers scrape nothing until they list them, the nodes stay served
--- timeout: 30
--- init
::reload_unlisted('nodes');
--- request eval
["GET $::Nodes", "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::summarize($_[0]) : $::Found . "then:\n" . ::summarize($_[0]) }]
--- response_body eval
["while the nodes are not listed:\n" . ::healthy(1 .. 6) . "then:\n" . ::healthy(1 .. 6),
 "scraping workers: 2\n"]
--- no_error_log
is gone before



=== TEST 10: below the threshold, nginx -s reload while the apiserver lists no pods: no cycle publishes the nodes without their pods
--- timeout: 30
--- http_config eval: ::http_config(7)
--- init
::reload_unlisted('pods');
--- request eval
["GET $::Pods", "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::summarize($_[0]) : $::Found . "then:\n" . ::summarize($_[0]) }]
--- response_body eval
["while the pods are not listed:\n" . ::pod_lines() . "then:\n" . ::pod_lines(),
 "scraping workers: 1\n"]
--- no_error_log
is gone before



=== TEST 11: a worker respawned while the apiserver lists no nodes: its nodes fail each cycle as not joined, the other worker's are served; once listed, it scrapes its share
--- timeout: 30
--- init
::killed_unlisted();
--- request eval
["GET $::Nodes", "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::summarize($_[0]) : $::Found . "then:\n" . ::nodes_summary($_[0]) }]
--- response_body eval
["nodes failing as not joined: 1 2 3\nwhile the nodes are not listed:\n" . ::healthy(4, 5, 6)
 . "then:\n" . ::healthy(1 .. 6),
 "scraping workers: 2\n"]
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/,
 qr/worker \d did not join scrape cycle \d+ within k8s_metrics_resolution \(2000 ms\): its nodes fail that cycle/]
