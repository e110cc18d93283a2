# A cycle's snapshot is built in slices (store_build.c); what happens when
# its publisher is held between two slices, through gdb, and then killed,
# told to exit (a reload) or let go after a tick came: the previous
# snapshot is served meanwhile and after, whatever was half built is freed
# (k8s_metrics_zone_used_bytes at rest), and a tick that came during the
# publication waits for it: no cycle skipped, no two publications
# interleaved.  A master and 2 workers, one scraper (8 nodes, under the
# share threshold): the other worker answers while the publisher is held.
# The snapshot is made large (4 800 pods) so that a block left behind shows
# in the zone, and takes more than one slice in each phase.

use lib 't/lib';
use K8sMetricsTest;
use Time::HiRes ();

no_root_location();
no_shuffle();
master_on();
workers(2);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 8, pods => 600,
                                       containers => 1);

K8sMetricsTest::block_defaults(
    http_config => K8sMetricsTest::open_api_server(
        zone => 'k8s_metrics_zone metrics:64m;',
        http => K8sMetricsTest::sim_kubelets('2s')),
    config => K8sMetricsTest::personas() . K8sMetricsTest::waiter_location(),
    timeout => 120,
    log_level => 'debug',
    request => "GET /admin/metrics\n");

our @Nodes = map { sprintf 'node-%05d', $_ } 1 .. 8;

# what the block's init found
our $Found = '';

# what TEST 1 and 2 must find
our $Gone = "held: 8 nodes, 4800 pods\nthe same snapshot once it is gone\n"
            . "nothing left in the zone\n";

sub metric { (K8sMetricsTest::metrics() // {})->{$_[0]} // 0 }

# The zone's bytes in use at rest: the least seen over two cycles (a
# snapshot being built or replaced is in the zone for a moment only)
sub zone_at_rest {
    K8sMetricsTest::wait_cycles(metric('k8s_metrics_scrape_cycles_total')
                                + 1, 30)
        or die "no scrape cycle\n";

    my $end = Time::HiRes::time() + 4.5;
    my $used;

    while (Time::HiRes::time() < $end) {
        my $u = metric('k8s_metrics_zone_used_bytes');
        $used = $u if $u && (!defined $used || $u < $used);
        Time::HiRes::sleep(0.05);
    }

    return $used;
}

# what the zone holds at rest beyond what it held before: a half-built
# snapshot of 4 800 pods is hundreds of kilobytes
sub left_behind {
    my ($before, $after) = @_;
    my $more = $after - $before;

    return $more < 16384 ? "nothing left in the zone\n"
                         : "$more bytes more in the zone at rest\n";
}

# The snapshot served: its nodes and their timestamps, and how many pods
sub served {
    my $r = K8sMetricsTest::get('/admin/apis/metrics.k8s.io/v1beta1/nodes');
    my @stamps = $r->{content} =~ /"name":"(node-\d+)".*?"timestamp":"([^"]+)"/g;

    $r = K8sMetricsTest::get('/admin/apis/metrics.k8s.io/v1beta1/pods');
    my $pods = () = $r->{content} =~ /"namespace":/g;

    return join(' ', @stamps) . " / $pods pods";
}

# a snapshot of every node and pod
sub whole { $_[0] =~ /^(node-\d+ \S+ ){7}node-\d+ \S+ \/ 4800 pods$/ }

# what the block found, with the snapshot held said as whole or not
sub found {
    my ($held) = $Found =~ /^held: (.*)$/m;

    return whole($held // '')
           ? $Found =~ s/^held: .*$/held: 8 nodes, 4800 pods/mr : $Found;
}

# Holds worker PID at the start of a slice that builds the snapshot's
# nodes (phase 1: its block allocated, half built), or at $break (TEST 5:
# the first slice of the dedup before the publication)
sub hold {
    my ($pid, $then, $break) = @_;

    $break //= 'ngx_k8s_metrics_publish_slice if'
               . ' ((struct ngx_k8s_metrics_publication_s *) ev->data)->phase'
               . ' == 1';

    return K8sMetricsTest::gdb_hold($pid, $break, $then);
}

sub scraper {
    K8sMetricsTest::wait_until(sub { whole(served()) }, 60)
        or die "not every node and pod served: " . served() . "\n";

    return K8sMetricsTest::wait_scraping_worker(30)
           // die "no scraping worker\n";
}

# The publisher held, then made to go by $away->($pid, $go) ($go lets
# gdb do $then), every kubelet hanging meanwhile so that no new snapshot
# comes: the snapshot served while it is held and once it is gone, and
# what is left in the zone
sub gone {
    my ($then, $away, $w, $break) = @_;
    $w //= scraper();
    my $used = zone_at_rest();
    my $go = hold($w, $then, $break);
    my $held = served();

    $Sim->mode($_, 'hang', 8) for @Nodes;
    $away->($w, $go);

    my $after = served();

    $Sim->mode($_, 'normal') for @Nodes;

    $Found = "held: $held\n"
             . ($after eq $held ? "the same snapshot once it is gone\n"
                                : "once it is gone: $after\n")
             . left_behind($used, zone_at_rest());
}

# killed mid-publication: the master's new worker serves the previous
# snapshot too until it publishes; held $delay seconds first (TEST 5: past
# the other worker's tick)
sub killed {
    my ($pid, $break, $delay) = @_;

    gone('kill', sub {
        my ($w, $go) = @_;

        Time::HiRes::sleep($delay) if $delay;
        $go->();

        K8sMetricsTest::wait_until(sub {
            my @w = K8sMetricsTest::running_workers();
            @w == 2 && !grep { $_ == $w } @w;
        }, 10, 0.02) or die "the master did not replace worker $w\n";
    }, $pid, $break);

    $Found .= begun_while_held($pid) if $delay;
}

# The cycles another worker began while worker PID was held publishing a
# shared cycle (from its "publishes shared cycle" line until it was
# killed): none, its parts are still the zone's
sub begun_while_held {
    my ($pid) = @_;
    my $log = K8sMetricsTest::servroot() . '/logs/error.log';
    my ($held, $n) = (0, 0);

    for (split /\n/, K8sMetricsTest::slurp($log)) {
        if (/\[debug\] $pid#.*k8s metrics: worker \d+ publishes shared cycle/) {
            ($held, $n) = (1, 0);

        } elsif (/\[debug\] $pid#.*k8s metrics: (snapshot \S+ published|publication given up)/) {
            $held = 0;

        } elsif (/worker process $pid exited on signal 9/) {
            last;

        } elsif ($held && /\[debug\] (\d+)#.*k8s metrics: scrape cycle of \d+ kubelets begins/
                 && $1 != $pid)
        {
            $n++;
        }
    }

    return "cycles the other worker began while it was held: $n\n";
}

# the same in a shared cycle (TEST 4): the worker that completes a cycle
# publishes it, with the other's part; worker 0 is held when it does
sub killed_sharing {
    my ($break, $delay) = @_;

    scraper_sharing();
    killed((K8sMetricsTest::running_workers())[0], $break, $delay);
}

sub scraper_sharing {
    K8sMetricsTest::wait_until(sub { whole(served()) }, 60)
        or die "not every node and pod served: " . served() . "\n";
}

# a reload while it is held: it finds that it is to exit at its next
# slice, and gives the publication up; the new generation serves the
# previous snapshot
sub reloaded {
    gone('detach', sub {
        my ($w, $go) = @_;
        my %old = map { $_ => 1 } K8sMetricsTest::running_workers();

        kill 'HUP', K8sMetricsTest::master_pid();

        # the master back in sigsuspend() with a new generation running has
        # told the old one to exit: the message is in the held worker's
        # channel before it goes on (rt_sigsuspend: 130 on x86_64)
        K8sMetricsTest::wait_until(sub {
            2 == grep { !$old{$_} } K8sMetricsTest::running_workers()
            and K8sMetricsTest::slurp('/proc/' . K8sMetricsTest::master_pid()
                                      . '/syscall') =~ /^130 /
        }, 10, 0.02) or die "no new generation\n";

        $go->();

        K8sMetricsTest::wait_until(sub { !kill 0, $w }, 10, 0.02)
            or die "worker $w of the old generation did not exit\n";
    });
}

# held for longer than a resolution: the tick that came meanwhile waits
# for the publication, then begins the next cycle (not an overrun)
sub ticked {
    my $w = scraper();
    my $overruns = metric('k8s_metrics_scrape_cycle_overruns_total');
    my $go = hold($w, 'detach');

    Time::HiRes::sleep(2.5);
    $go->();

    my $cycles = metric('k8s_metrics_scrape_cycles_total');
    K8sMetricsTest::wait_cycles($cycles + 1, 30) or die "no new cycle\n";

    $Found = 'overruns: '
             . (metric('k8s_metrics_scrape_cycle_overruns_total') - $overruns)
             . "\n" . order($w);
}

# The scraper's debug lines in order: no cycle begins while a snapshot is
# being built (its pods deduplicated, then the snapshot), every publication
# ends before the next begins, and a tick that found one being built is
# followed by the next cycle
sub order {
    my ($pid) = @_;
    my $log = K8sMetricsTest::servroot() . '/logs/error.log';
    my ($building, $waited, $bad, $publications, $after_wait) = (0, 0, '');

    for (split /\n/, K8sMetricsTest::slurp($log)) {
        next unless /\[debug\] $pid#/;

        if (/k8s metrics: dedup slice, /) {
            $bad ||= "a dedup during a publication\n" if $building == 1;
            $building = 2;

        } elsif (/k8s metrics: publication slice 1: /) {
            $bad ||= "a publication began in another\n" if $building == 1;
            $building = 1;

        } elsif (/k8s metrics: snapshot \S+ published in /
                 || /k8s metrics: publication given up/)
        {
            $building = 0;
            $publications++;

        } elsif (/k8s metrics: scrape cycle of \d+ kubelets begins/) {
            $bad ||= "a cycle began during a publication\n" if $building;
            $after_wait++ if $waited;
            $waited = 0;

        } elsif (/k8s metrics: a tick waits for the publication/) {
            $bad ||= "a tick waited with no publication\n" unless $building;
            $waited = 1;
        }
    }

    return $bad || ("ticks that waited, then began a cycle: "
                    . ($after_wait ? 'some' : 'none') . "\n");
}

run_tests();

__DATA__

=== TEST 1: the publisher killed between two slices: the previous snapshot served, the half-built one freed
--- init
::killed();
--- response_body_filters eval
[\&::found]
--- response_body eval: $::Gone
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/,
 qr/process \d+ is gone before it published its scrape cycle: its snapshot is freed/]



=== TEST 2: a reload while the publisher is held between two slices: it gives the publication up, nothing is left
--- init
::reloaded();
--- response_body_filters eval
[\&::found]
--- response_body eval: $::Gone
--- error_log
k8s metrics: publication given up after



=== TEST 3: a tick during a publication waits for it, then begins the next cycle
--- init
::ticked();
--- response_body_filters eval
[sub { $::Found }]
--- response_body
overruns: 0
ticks that waited, then began a cycle: some



=== TEST 4: the publisher of a shared cycle killed between two slices: the other worker's part freed too
--- http_config eval
K8sMetricsTest::open_api_server(
    zone => 'k8s_metrics_zone metrics:64m;',
    http => K8sMetricsTest::sim_kubelets('2s')
            . "    k8s_metrics_scrape_share_threshold 2;\n")
--- init
::killed_sharing();
--- response_body_filters eval
[\&::found]
--- response_body eval: $::Gone
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/,
 qr/process \d+ is gone before it published its scrape cycle: its snapshot is freed/,
 qr/worker \(pid \d+\) is gone before it published its shared scrape cycle: its 2 parts are freed/]



=== TEST 5: the publisher of a shared cycle held in the dedup past the other worker's tick, then killed: no cycle began meanwhile, both parts freed
--- http_config eval
K8sMetricsTest::open_api_server(
    zone => 'k8s_metrics_zone metrics:64m;',
    http => K8sMetricsTest::sim_kubelets('2s')
            . "    k8s_metrics_scrape_share_threshold 2;\n")
--- init
::killed_sharing('ngx_k8s_metrics_batch_dedup_step', 2.5);
--- response_body_filters eval
[\&::found]
--- response_body eval
$::Gone . "cycles the other worker began while it was held: 0\n"
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/,
 qr/worker \(pid \d+\) is gone before it published its shared scrape cycle: its 2 parts are freed/]
