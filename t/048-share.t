# From k8s_metrics_scrape_share_threshold nodes on, the workers share the
# kubelets (node i is worker i % 2's): both scrape, each node once per
# cycle, one snapshot with the rates of a single scraper.  A worker killed
# in the middle of its share: the cycle is published without that share
# (its nodes fail that cycle, as on a failed scrape) and the respawned
# worker scrapes the share from the next cycle on.  A reload in the middle
# of a cycle: no node is scraped twice in a cycle and the store is kept.  A
# worker that joins a cycle late asks its nodes again no sooner than half
# the resolution after.
# Sharing needs workers: this file always runs with a master and 2.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use K8sMetricsShare;
use Time::HiRes ();

no_root_location();
no_shuffle();
master_on();
workers(2);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 5, pods => 2, containers => 1);
our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';

# A 2 s resolution: a worker's tick has a second to join the cycle.  The
# hung node's share ends 1 s into its cycle, not at the default 1.8 s: the
# next tick comes at 1.9-2.1 s (jitter), and a share that ends later on a
# loaded machine skips a cycle (an overrun), which the windows would show.
sub http_config {
    return K8sMetricsTest::open_api_server(
        zone => 'k8s_metrics_zone metrics:4m;',
        http => K8sMetricsTest::sim_kubelets('2s')
                . "    k8s_metrics_kubelet_timeout 1s;\n"
                . "    k8s_metrics_scrape_share_threshold 2;\n"
                . ($_[0] // ''));
}

K8sMetricsTest::block_defaults(http_config => http_config(),
                               config => K8sMetricsTest::personas()
                                         . K8sMetricsTest::waiter_location());

# the shared cycle's helpers (t/lib/K8sMetricsShare.pm), as this file names them
sub pod_lines { K8sMetricsShare::pod_lines(2) }
*healthy = \&K8sMetricsShare::healthy;
*wait_for = \&K8sMetricsShare::wait_for;
*reason_of = \&K8sMetricsShare::reason_of;
*scrapers = \&K8sMetricsShare::scrapers;
*after_reload = \&K8sMetricsShare::after_reload;
*requests_log = \&K8sMetricsShare::requests_log;
*once_per_cycle = \&K8sMetricsShare::once_per_cycle;
*mid_cycle = \&K8sMetricsShare::mid_cycle;
*served_again = \&K8sMetricsShare::served_again;
*kill_mid_cycle = \&K8sMetricsShare::kill_mid_cycle;
*reload_mid_cycle = \&K8sMetricsShare::reload_mid_cycle;
our $Lost = $K8sMetricsShare::Lost;

# metrics.k8s.io lists summarized; /metrics: how many workers scrape
sub summarize {
    my $body = shift;
    return $body =~ /^\{/ ? K8sMetricsCheck::summary($body)
         : $body =~ /^# HELP/ ? "scraping workers: " . scrapers() . "\n"
         : $body;
}

# Stops the worker of node 1 between two cycles and lets it go on 1.3 s
# into a cycle the other worker began without it: it joins that one late
sub late_join {
    served_again();
    my $pid = mid_cycle(1);
    Time::HiRes::sleep(0.3);
    kill 'STOP', $pid;

    my $size = -s requests_log();
    K8sMetricsTest::wait_until(sub {
        substr(K8sMetricsTest::slurp(requests_log()), $size) =~ /^\d+\t2\t/m;
    }, 5, 0.02) or do { kill 'CONT', $pid; die "node 2 was not asked\n" };

    Time::HiRes::sleep(1.3);
    kill 'CONT', $pid;
}

run_tests();

__DATA__

=== TEST 1: the threshold reached: both workers scrape, every node served with its rates
--- timeout: 40
--- request eval
[::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 4' . "\n", 30000),
 "GET $::Nodes",
 "GET $::Pods",
 "GET /admin/metrics"]
--- response_body_filters eval
[\&::summarize]
--- response_body eval
["ready\n",
 ::healthy(1 .. 5),
 ::pod_lines(),
 "scraping workers: 2\n"]
--- no_error_log
scraping node
is gone before



=== TEST 2: each node asked once per cycle, by one worker
--- timeout: 40
--- request eval
[::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 5' . "\n", 30000),
 "GET /admin/metrics"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::once_per_cycle() : $_[0] }]
--- response_body eval
["ready\n", CORE::join '', map { "node $_: gaps>=1000ms:yes count=cycles:yes\n" } 1 .. 5]
--- no_error_log
is gone before



=== TEST 3: a worker killed in the middle of its share: the cycle is published without it, the respawned worker scrapes the share from the next cycle on
--- timeout: 40
--- sim_modes
node-00002 hang 30
--- init
::kill_mid_cycle();
--- request eval
[::wait_for('/admin/metrics', ::reason_of('node-00004', $::Lost)),
 ::wait_for('/admin/metrics', ::reason_of('node-00002', 'no complete answer within k8s_metrics_kubelet_timeout (1000 ms)')),
 ::wait_for($::Nodes, 'node-00004'),
 "GET $::Nodes",
 "GET /admin/metrics"]
--- response_body_filters eval
[\&::summarize]
--- response_body eval
["ready\n", "ready\n", "ready\n", ::healthy(1, 3, 4, 5),
 "scraping workers: 2\n"]
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/]



=== TEST 4: nginx -s reload in the middle of a cycle: no node asked twice in a cycle, the store kept
--- timeout: 40
--- sim_modes
node-00002 hang 30
--- init
::reload_mid_cycle();
--- request eval
["GET $::Nodes",
 "GET /wait?path=/nowhere&timeout=5000",
 "GET $::Nodes",
 "GET /admin/metrics"]
--- error_code eval
[200, 504, 200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^\{/ ? ::after_reload(K8sMetricsCheck::summary($_[0]))
       : $_[0] =~ /^# HELP/ ? ::once_per_cycle(1) : $_[0] }]
--- response_body_like eval
['^' . quotemeta(::healthy(1, 3, 4, 5)) . '$', "not ready",
 '^' . quotemeta(::healthy(1, 3, 4, 5)) . '$',
 '^' . quotemeta(CORE::join('', map { "node $_: gaps>=1000ms:yes\n" } 1 .. 5)) . '$']
--- no_error_log
is gone before



=== TEST 5: a worker that joined a cycle late asks its nodes again no sooner than half the resolution after
--- timeout: 40
--- init
::late_join();
--- request eval
["GET /wait?path=/nowhere&timeout=5000",
 "GET /admin/metrics"]
--- error_code eval
[504, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::once_per_cycle(1, 950) : $_[0] }]
--- response_body_like eval
["not ready",
 '^' . quotemeta(CORE::join('', map { "node $_: gaps>=950ms:yes\n" } 1 .. 5)) . '$']
