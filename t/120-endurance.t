# Endurance (issue 6, item 5): scrape cycles with pods churning, created
# and deleted every cycle, both in the fake apiserver (list + watch, pod
# labels) and in the kubelets (the simulator's add_pod / drop_pod), and
# the memory it leaves behind: the shared zone (k8s_metrics_zone_used_bytes,
# k8s_metrics_snapshot_bytes) and the scraping worker's VmRSS are measured
# after a warm-up and at the end, and must be flat: the end at most 10%
# plus a small constant above the warm-up.  The data stays right the whole
# time: every node, the pods that live on, the churned pods once they have
# a rate, all at the simulator's rates.
#
# ENDURANCE_CYCLES (default 60: about a minute at the minimum resolution,
# 1s) sets the number of cycles; the issue's 1000 take about 17 minutes:
#
#     ENDURANCE_CYCLES=1000 prove t/120-endurance.t
#
# Every cycle, on every node: one pod created (apiserver first, then the
# kubelet), and the one created three cycles earlier deleted (kubelet
# first, then apiserver), so each churned pod is scraped two or three
# times, has a rate and is served, then goes.  The warm-up is the first
# fifth of the cycles (at least 10).

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;

use Time::HiRes qw(sleep time);

no_root_location();
no_shuffle();

our $Cycles = $ENV{ENDURANCE_CYCLES} || 60;
die "ENDURANCE_CYCLES must be at least 20\n" if $Cycles < 20;
our $Warmup = int($Cycles / 5) > 10 ? int($Cycles / 5) : 10;

our $Pods = 4;       # the simulator's pods per node, besides the churned ones
our $Live = 3;       # churned pods alive at once on each node
our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => $Pods, containers => 2);
our $Api = K8sMetricsTest::fake_apiserver(per_block => 0);

our $HttpConfig = K8sMetricsTest::api_server(
    zone => 'k8s_metrics_zone metrics:2m;',
    http => q{
    k8s_metrics_resolution 1s;
    k8s_metrics_kubelet_port $TEST_NGINX_SIM_PORT;
    k8s_metrics_kubelet_client_certificate $TEST_NGINX_PKI/kubelet-client.crt;
    k8s_metrics_kubelet_client_certificate_key $TEST_NGINX_PKI/kubelet-client.key;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
} . K8sMetricsTest::waiter_http(),
    directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();
our $NodesPath = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $PodsPath = '/admin/apis/metrics.k8s.io/v1beta1/pods';

our (@Samples, %End);

our $Healthy = "NodeMetricsList\n"
               . join '', map { "node-0000$_ cpu=ok memory=ok window=ok\n" } 1 .. 3;

# the node list, summarized, without the labels (the apiserver's, t/090's)
sub nodes_view {
    my $s = K8sMetricsCheck::summary(shift);
    $s =~ s/ labels=.*$//mg;
    return $s;
}

sub sample {
    my ($cycle) = @_;
    my $m = K8sMetricsTest::metrics() or return undef;
    my $pid = K8sMetricsTest::scraping_worker();
    return {
        cycle => $cycle,
        zone => $m->{k8s_metrics_zone_used_bytes},
        snapshot => $m->{k8s_metrics_snapshot_bytes},
        pods => $m->{k8s_metrics_pods_stored},
        unlisted => $m->{'k8s_metrics_samples_dropped_total{reason="unlisted"}'},
        pid => $pid,
        rss => K8sMetricsTest::vm_kb($pid, 'VmRSS'),
    };
}

# the pods of node n created by the churn: numbers $Pods, $Pods + 1, ...
sub churned_pod {
    my ($n, $k) = @_;
    my $p = $Pods + $k;
    return { namespace => KubeletSim::pod_namespace($p),
             name => KubeletSim::pod_name($n, $p), node => KubeletSim::node_name($n),
             labels => { app => 'churn', 'sim.k8s.io/node' => KubeletSim::node_name($n) },
             containers => ['app', 'sidecar'] };
}

sub churn {
    my ($k) = @_;

    # created: the apiserver lists it before the kubelet reports it
    $Api->add_pods(map { churned_pod($_, $k) } 1 .. 3);
    $Sim->mode('all', 'add_pod', 1);

    # deleted: the kubelet stops reporting it before the apiserver drops it
    return if $k < $Live;
    my $old = $k - $Live;
    $Sim->mode('all', 'drop_pod', $Pods + $old);
    $Api->ctl('/pod/remove', { items => [map {
        my $p = churned_pod($_, $old);
        { namespace => $p->{namespace}, name => $p->{name} }
    } 1 .. 3] });
}

sub drive {
    K8sMetricsTest::wait_until(sub {
        K8sMetricsTest::get("$NodesPath")->{content} =~ /node-00003/
    }, 20) or die "the module does not serve the nodes\n";

    my $start = time;
    my $seen = K8sMetricsTest::metrics()->{k8s_metrics_scrape_cycles_total};
    my ($bad_lists, $unlisted0) = (0, undef);

    for my $k (0 .. $Cycles - 1) {
        $seen = K8sMetricsTest::wait_cycles($seen, 10)
            // die "no scrape cycle in 10s (cycle $k)\n";
        churn($k);

        # every tenth cycle, what is served: every node, rates right
        if ($k % 10 == 5) {
            my $s = nodes_view(K8sMetricsTest::get($NodesPath)->{content});
            if ($s ne $Healthy) {
                $bad_lists++;
                Test::More::diag("cycle $k: $s");
            }
        }

        if ($k == $Warmup || $k == $Cycles - 1 || $k % 50 == 0) {
            push @Samples, sample($k);
        }

        $unlisted0 = $Samples[-1]{unlisted} if $k == $Warmup;
    }

    $End{duration} = time - $start;
    $End{bad_lists} = $bad_lists;
    $End{unlisted0} = $unlisted0;
    check();
}

sub flat {
    my ($what, $warm, $end, $constant, $unit) = @_;
    my $limit = $warm * 1.10 + $constant;
    Test::More::ok(defined $end && defined $warm && $end <= $limit,
        sprintf '%s flat: %s %s after the warm-up, %s at the end (limit %.0f)',
                $what, $warm // 'none', $unit, $end // 'none', $limit);
}

sub check {
    my ($warm) = grep { $_->{cycle} == $Warmup } @Samples;
    my $end = $Samples[-1];

    Test::More::note(sprintf "%d cycles in %.0fs; cycle, zone used, snapshot bytes, "
                     . "pods stored, scraper pid, VmRSS kB:\n%s", $Cycles, $End{duration},
                     join '', map { sprintf "    %5d %8s %7s %4s %7s %7s\n",
                         @$_{qw(cycle zone snapshot pods pid rss)} } @Samples);

    Test::More::is($End{bad_lists}, 0, 'every node served at the simulator\'s rates throughout');
    Test::More::is($end->{pid}, $warm->{pid}, 'the same scraping worker from warm-up to the end');

    flat('k8s_metrics_zone_used_bytes', $warm->{zone}, $end->{zone}, 8192, 'bytes');
    flat('k8s_metrics_snapshot_bytes', $warm->{snapshot}, $end->{snapshot}, 1024, 'bytes');
    flat('the scraping worker\'s VmRSS', $warm->{rss}, $end->{rss}, 1024, 'kB');

    Test::More::ok($end->{pods} >= 3 * $Pods && $end->{pods} <= 3 * ($Pods + $Live),
                   "the churned pods come and go ($end->{pods} pods stored)");
    Test::More::is(($end->{unlisted} // 0) - ($End{unlisted0} // 0), 0,
                   'no sample dropped as unlisted after the warm-up '
                   . '(the apiserver\'s pods are the kubelets\')');
}

# the pods list, summarized: the pods that live on, and how the churned
# ones are served (each with all its containers at the simulator's rates)
sub pods_view {
    my $s = K8sMetricsCheck::summary(shift);
    my ($stable, $churned, $bad) = ('', 0, '');
    $s =~ s/^(PodMetricsList\n)//;
    $stable = $1 // '';
    for my $line (split /^/m, $s) {
        next if $line =~ /^PodMetricsList/;
        my ($p) = $line =~ m{pod-\d+-(\d+) };
        if (!defined $p) { $bad .= $line; next; }
        if ($p < $Pods) { $stable .= $line; next; }
        $churned++;
        $bad .= $line if $line ne ($line =~ s/BAD\([^)]*\)//gr) || $line !~ /window=ok app:cpu=ok,memory=ok sidecar:cpu=ok,memory=ok/;
    }
    return $stable . ($churned ? "churned pods served: yes\n" : "churned pods served: none\n")
           . ($bad ne '' ? "BAD:\n$bad" : '');
}

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

run_tests();

__DATA__

=== TEST 1: scrape cycles with pods churning: the zone and the scraping worker's memory stay flat
--- init
::drive();
--- timeout: 20
--- request eval
["GET $::NodesPath", "GET $::PodsPath", "GET /anon/readyz"]
--- response_body_filters eval
[sub { $_[0] =~ /"kind":"PodMetricsList"/ ? ::pods_view($_[0])
        : $_[0] =~ /"kind":"NodeMetricsList"/ ? ::nodes_view($_[0]) : $_[0] }]
--- response_body eval
[$::Healthy,
 "PodMetricsList\n" . K8sMetricsCheck::pod_lines() . "churned pods served: yes\n",
 "ok"]
--- no_error_log
[error]
[crit]
