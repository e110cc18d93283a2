# The parts of a shared cycle in the zone (issue 15): each worker copies
# its share into k8s_metrics_zone, and nothing it copied outlives the
# cycle.  A worker killed between its copy and its part's registration,
# and a reload into a configuration that no longer shares, leave no part
# behind; a share that does not fit in the zone fails its nodes with that
# reason.  The parts are made large (250 pods a node: many pages of the
# zone) so that one left behind shows in k8s_metrics_zone_used_bytes.
# Sharing needs workers: this file always runs with a master and 2.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsShare;
use Time::HiRes ();

no_root_location();
no_shuffle();
master_on();
workers(2);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 4, pods => 250,
                                       containers => 1);

# a 2 s resolution, as t/048-share.t
sub http_config {
    my ($zone, $threshold) = @_;

    return K8sMetricsTest::open_api_server(
        zone => "k8s_metrics_zone metrics:$zone;",
        http => K8sMetricsTest::sim_kubelets('2s')
                . "    k8s_metrics_scrape_share_threshold $threshold;\n");
}

K8sMetricsTest::block_defaults(http_config => http_config('4m', 2),
                               config => K8sMetricsTest::personas()
                                         . K8sMetricsTest::waiter_location(),
                               timeout => 90,
                               request => "GET /admin/metrics\n");

our $Full = "not published in this cycle: its worker's share does not fit "
            . "in k8s_metrics_zone";

# what the block's init found
our $Found = '';

# the shared cycle's helpers (t/lib/K8sMetricsShare.pm), as this file names them
*metric = \&K8sMetricsShare::metric;
*zone_at_rest = \&K8sMetricsShare::zone_at_rest;
*left_behind = \&K8sMetricsShare::left_behind;
*kill_after_staging = \&K8sMetricsShare::kill_after_staging;

sub killed_after_staging {
    my @before = zone_at_rest();
    kill_after_staging((K8sMetricsTest::running_workers())[0]);
    K8sMetricsTest::wait_cycles(metric('k8s_metrics_scrape_cycles_total')
                                + 1, 30);
    $Found = left_behind(@before, zone_at_rest());
}

# the worker asking node 2 (127.1.0.2): worker 1, by its connection
sub asking_node_2 {
    my $want = sprintf '0200017F:%04X', $ENV{TEST_NGINX_SIM_PORT};
    my %inodes;

    for my $line (split /\n/, K8sMetricsTest::slurp('/proc/net/tcp')) {
        my @f = split ' ', $line;
        $inodes{ $f[9] } = 1 if @f > 9 && $f[2] eq $want && $f[3] eq '01';
    }

    my @pids = grep {
        my $pid = $_;
        grep { $inodes{$_} } K8sMetricsTest::socket_inodes($pid);
    } K8sMetricsTest::running_workers();

    return $pids[0];
}

# waits until node N is asked again (a cycle has begun)
sub asked_again {
    my $n = shift;
    my $log = K8sMetricsTest::peer_dir('sim') . '/state/requests.log';
    my $size = -s $log;

    K8sMetricsTest::wait_until(sub {
        substr(K8sMetricsTest::slurp($log), $size) =~ /^\d+\t$n\t/m;
    }, 10, 0.02) or die "node $n was not asked\n";
}

# Reloads into a configuration that does not share (a threshold above the
# 4 nodes) in the middle of a cycle: worker 0's part is staged (the zone
# grows by it), then worker 1, waiting for node 2 (it hangs), is stopped
# so that its share is not in before the reload, however slow the reload,
# and let go once the new generation runs: it exits without staging.  No
# request goes to nginx while it is stopped (it might be the one to accept
# it).  Node 2 answers again then, so the single scraper's snapshot is the
# shared one's.
sub reloaded_unshared {
    my ($used, $snapshot) = zone_at_rest();
    my $conf = K8sMetricsTest::servroot() . '/conf/nginx.conf';
    my @old = K8sMetricsTest::running_workers();
    my %old = map { $_ => 1 } @old;
    my $w1 = asking_node_2() // die "no worker asks node 2\n";

    $Sim->mode('node-00002', 'hang', 30);
    asked_again(2);

    K8sMetricsTest::wait_until(sub {
        metric('k8s_metrics_zone_used_bytes') >= $used + 16384;
    }, 10, 0.02) or die "worker 0 staged no part: the zone holds "
                        . metric('k8s_metrics_zone_used_bytes')
                        . " bytes, $used at rest\n";

    kill 'STOP', $w1;

    my $text = K8sMetricsTest::slurp($conf);
    $text =~ s/share_threshold 2;/share_threshold 100;/
        or die "no threshold in $conf\n";
    open my $fh, '>', $conf or die "$conf: $!\n";
    print $fh $text;
    close $fh;

    kill 'HUP', K8sMetricsTest::master_pid();

    my $new = K8sMetricsTest::wait_until(sub {
        2 == grep { !$old{$_} } K8sMetricsTest::running_workers();
    }, 10, 0.02);

    kill 'CONT', $w1;
    $new or die "no new generation\n";

    K8sMetricsTest::wait_until(sub { !kill 0, $w1 }, 10, 0.02)
        or die "worker $w1 of the old generation did not exit\n";

    $Sim->mode('node-00002', 'normal');
    $Found = left_behind($used, $snapshot, zone_at_rest())
             . (defined K8sMetricsTest::scraping_worker()
                ? "one worker scrapes\n" : "not one worker scrapes\n");
}

# /metrics: the nodes whose share did not fit
sub full_nodes {
    my $body = shift;
    return $body unless $body =~ /^# HELP/;

    my @nodes = $body =~ /^k8s_metrics_last_scrape_success\{node="(node-\d+)",reason="\Q$Full\E"\} 0$/mg;
    return CORE::join '', map { "$_\n" } sort @nodes;
}

run_tests();

__DATA__

=== TEST 1: a worker killed after it staged its part, before the part was in: the part is freed with the cycle
--- init
::killed_after_staging();
--- response_body_filters eval
[sub { $::Found }]
--- response_body
nothing left in the zone
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/,
 qr/worker \d \(pid \d+\) is gone before its share of scrape cycle \d+ was in/]



=== TEST 2: a reload into a configuration that does not share, in the middle of a shared cycle: the parts staged for it are freed
--- init
::reloaded_unshared();
--- response_body_filters eval
[sub { $::Found }]
--- response_body
nothing left in the zone
one worker scrapes
--- no_error_log
is gone before



=== TEST 3: a share that does not fit in the zone: its nodes fail the cycle with that reason, not as of a worker gone
--- timeout: 40
--- http_config eval: ::http_config('64k', 2)
--- request eval
["GET /wait?path=/admin/metrics&match=" . PeerDaemon::uri_escape(
     'k8s_metrics_last_scrape_success{node="node-00003",reason="' . $::Full)
 . "&timeout=15000",
 "GET /admin/metrics"]
--- response_body_filters eval
[\&::full_nodes]
--- response_body eval
["ready\n", "node-00001\nnode-00002\nnode-00003\nnode-00004\n"]
--- error_log eval
[qr/k8s_metrics_zone "metrics" is full: worker 0 cannot stage its share/,
 qr/k8s_metrics_zone "metrics" is full: worker 1 cannot stage its share/]
--- no_error_log
is gone before
ngx_slab_alloc() failed
