package K8sMetricsShare;

# What the suites of a scrape cycle shared among the workers (t/048 with
# static nodes, t/051 with nodes from the apiserver) look at from the
# outside: which worker holds a kubelet's connection, when the simulator
# was asked for each node, and the kill or reload in the middle of a
# cycle.  $Nodes: the simulator's node count; $List: the node list path.

use strict;
use warnings;

use Time::HiRes ();

our $Nodes = 5;
our $List = '/admin/apis/metrics.k8s.io/v1beta1/nodes';

# what a node line of K8sMetricsCheck::summary ends with (static nodes:
# no labels)
our $NodeLabels = ' labels=';

# the simulator's pods, PER_NODE a node, as K8sMetricsCheck::summary
# lists them
sub pod_lines {
    my $per_node = shift;
    my @pods = map {
        my $n = $_;
        map { [KubeletSim::pod_namespace($_), KubeletSim::pod_name($n, $_)] }
            0 .. $per_node - 1
    } 1 .. $Nodes;

    return "PodMetricsList\n" . join '', map {
        "$_->[0]/$_->[1] window=ok app:cpu=ok,memory=ok\n"
    } sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @pods;
}

# the node lines of these nodes, healthy
sub healthy {
    return "NodeMetricsList\n" . join '', map {
        "node-0000$_ cpu=ok memory=ok window=ok$NodeLabels\n"
    } @_;
}

# when reload_mid_cycle() sent the HUP, in ms
our $Reloaded;

our $Lost = 'not scraped in this cycle: the worker whose share it was is gone';

# /wait for TEXT in PATH
sub wait_for {
    my ($path, $text, $timeout) = @_;
    my $q = sub { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s };
    return "GET /wait?path=" . $q->($path) . "&match=" . $q->($text)
           . "&timeout=" . ($timeout // 15000);
}

# the start of a node's last_scrape_success line, up to its reason
sub reason_of {
    my ($node, $reason) = @_;
    return 'k8s_metrics_last_scrape_success{node="' . $node . '",reason="'
           . $reason;
}

# the running workers holding connections to the simulator's kubelets
sub scrapers {
    my $conns = K8sMetricsTest::tcp_inodes_to($ENV{TEST_NGINX_SIM_PORT});
    my @found = grep {
        my $pid = $_;
        grep { $conns->{$_} } K8sMetricsTest::socket_inodes($pid);
    } K8sMetricsTest::running_workers();
    return scalar @found;
}

# the running workers with a connection to node N's address (127.1.0.N)
sub workers_of {
    my $n = shift;
    my $want = sprintf '%02X%02X%02X%02X:%04X', $n, 0, 1, 127,
                       $ENV{TEST_NGINX_SIM_PORT};
    my %inodes;

    for my $line (split /\n/, K8sMetricsTest::slurp('/proc/net/tcp')) {
        my @f = split ' ', $line;
        $inodes{ $f[9] } = 1 if @f > 9 && $f[2] eq $want && $f[3] eq '01';
    }

    return grep {
        my $pid = $_;
        grep { $inodes{$_} } K8sMetricsTest::socket_inodes($pid);
    } K8sMetricsTest::running_workers();
}

sub worker_of { (workers_of($_[0]))[0] }

# The cycle the old workers were in is not published (as by a single
# scraper on its way out): the first window after a reload spans two
# resolutions, within 4.5 s
sub after_reload {
    my $summary = shift;
    $summary =~ s/window=BAD\(([34](?:\.\d+)?)s\)/$1 <= 4.5 ? 'window=ok' : "window=BAD($1s)"/ge;
    return $summary;
}

sub requests_log { K8sMetricsTest::peer_dir('sim') . '/state/requests.log' }

# the kubelet requests since this block's nginx started: [ms, node]
sub requests {
    my $since = (Time::HiRes::stat(K8sMetricsTest::servroot()
                                   . '/logs/nginx.pid'))[9] * 1000;
    return grep { $_->[0] >= $since }
           map { [ (split /\t/)[0, 1] ] }
           split /\n/, K8sMetricsTest::slurp(requests_log());
}

# Each node asked once per cycle: never twice within half the resolution
# (MIN ms, 1000 unless told), and as many times as cycles were published
# (one more while a cycle runs; SLACK fewer, 0 unless told)
sub once_per_cycle {
    my ($gaps_only, $min, $slack) = @_;
    my $m = K8sMetricsTest::metrics();
    my $before = $m->{k8s_metrics_scrape_cycles_total} - ($slack // 0);
    my %times;

    $min //= 1000;
    push @{ $times{ $_->[1] } }, $_->[0] for requests();

    my $after = K8sMetricsTest::metrics()->{k8s_metrics_scrape_cycles_total};

    return join '', map {
        my @t = sort { $a <=> $b } @{ $times{$_} // [] };
        my $gap = 1e9;
        $gap = $t[$_] - $t[$_ - 1] < $gap ? $t[$_] - $t[$_ - 1] : $gap
            for 1 .. $#t;
        Test::More::diag("node $_ asked at (ms since start): "
                         . join(' ', map { $_ - $t[0] } @t)
                         . ($Reloaded ? ", reloaded at " . ($Reloaded - $t[0])
                                      : ''))
            if $gap < $min;
        sprintf "node %d: gaps>=%dms:%s%s\n", $_, $min,
            $gap >= $min ? 'yes' : "no($gap)",
            $gaps_only ? ''
            : ' count=cycles:' . (@t >= $before && @t <= $after + 1 ? 'yes'
                : "no(" . scalar(@t) . " of $before..$after)");
    } 1 .. $Nodes;
}

# waits until node N is asked again (a cycle is in its middle), returns
# the worker that asks it
sub mid_cycle {
    my $n = shift;
    my $size = -s requests_log();

    for (1 .. 400) {
        my $new = substr K8sMetricsTest::slurp(requests_log()), $size;
        if ($new =~ /^\d+\t$n\t/m) {
            my $pid = K8sMetricsTest::wait_until(sub { worker_of($n) }, 3, 0.02);
            return $pid if $pid;
        }
        Time::HiRes::sleep(0.02);
    }

    die "node $n was not asked\n";
}

# the last node is served
sub served_again {
    my $last = sprintf 'node-%05d', $Nodes;

    K8sMetricsTest::wait_until(sub {
        my $r = K8sMetricsTest::get($List);
        $r->{content} =~ /$last/;
    }, 20) or die "no node list\n";
}

# kills the worker scraping node 2 while it waits for it; returns once the
# master replaced it
sub kill_mid_cycle {
    served_again();
    my $pid = mid_cycle(2);
    kill 'KILL', $pid;

    K8sMetricsTest::wait_until(sub {
        my @w = K8sMetricsTest::running_workers();
        @w == 2 && !grep { $_ == $pid } @w;
    }, 10, 0.02) or die "the master did not replace worker $pid\n";
}

# reloads nginx while a worker waits for node 2; returns once the new
# generation runs
sub reload_mid_cycle {
    served_again();
    my @old = K8sMetricsTest::running_workers();
    mid_cycle(2);
    $Reloaded = int(Time::HiRes::time() * 1000);
    kill 'HUP', K8sMetricsTest::master_pid();

    K8sMetricsTest::wait_until(sub {
        my @w = K8sMetricsTest::running_workers();
        my %old = map { $_ => 1 } @old;
        @w == 2 && !grep { $old{$_} } @w;
    }, 10, 0.02) or die "no new generation\n";
}

sub metric { (K8sMetricsTest::metrics() // {})->{$_[0]} // 0 }

# The zone's bytes in use at rest, once both workers scrape: the least
# seen over two cycles (a cycle's parts and a snapshot being replaced
# are in the zone for a moment only), with the snapshot's size then
sub zone_at_rest {
    K8sMetricsTest::wait_cycles(metric('k8s_metrics_scrape_cycles_total')
                                + 2, 30)
        or die "no scrape cycle\n";

    my $end = Time::HiRes::time() + 4.5;
    my ($used, $snapshot);

    while (Time::HiRes::time() < $end) {
        my $m = K8sMetricsTest::metrics() // next;
        my $u = $m->{k8s_metrics_zone_used_bytes};
        ($used, $snapshot) = ($u, $m->{k8s_metrics_snapshot_bytes})
            if !defined $used || $u < $used;
        Time::HiRes::sleep(0.05);
    }

    return ($used, $snapshot);
}

# what the zone holds at rest now beyond what it held before: a part left
# behind takes many pages (the suites give their nodes 100 pods or more)
sub left_behind {
    my ($before, $snap_before, $after, $snap_after) = @_;
    my $more = $after - $before;

    return $more < 16384 && $snap_after == $snap_before
           ? "nothing left in the zone\n"
           : "$more bytes more in the zone at rest (snapshot "
             . "$snap_before -> $snap_after bytes)\n";
}

# SIGKILLs worker PID where its part is staged and not yet registered
# (the start of ngx_k8s_metrics_share_finish()), through gdb
sub kill_after_staging {
    my $pid = shift;
    my $out = K8sMetricsTest::servroot() . '/logs/gdb.out';

    system("timeout 30 gdb -nx -batch -p $pid"
           . " -ex 'break ngx_k8s_metrics_share_finish' -ex continue"
           . " -ex kill >$out 2>&1");

    K8sMetricsTest::slurp($out) =~ /Breakpoint 1, .*ngx_k8s_metrics_share_finish/
        or die "worker $pid never reached share_finish: "
               . K8sMetricsTest::slurp($out);

    K8sMetricsTest::wait_until(sub {
        my @w = K8sMetricsTest::running_workers();
        @w == 2 && !grep { $_ == $pid } @w;
    }, 10, 0.02) or die "the master did not replace worker $pid\n";
}

1;
