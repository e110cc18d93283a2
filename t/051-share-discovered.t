# Nodes from the apiserver, from k8s_metrics_scrape_share_threshold on:
# every worker runs the informers and scrapes its share of the nodes,
# owned by a hash of the node's name (node-00001..3 are worker 1's,
# node-00004..6 worker 0's: crc32 % 2), each node once per cycle, one
# snapshot.  A worker killed in the middle of its share: its nodes fail
# that cycle, from the next they are scraped again.  A reload in the
# middle of a cycle: no node asked twice in a cycle, the store kept.
# Below the threshold, worker 0 scrapes every node as a single scraper.
# Sharing needs workers: this file always runs with a master and 2.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use Compress::Zlib ();
use JSON::PP ();
use Time::HiRes ();

no_root_location();
no_shuffle();
master_on();
workers(2);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 6, pods => 2, containers => 1);
our $Api = K8sMetricsTest::fake_apiserver();
our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';

# the nodes of the worker that scrapes node-00002 (as the module hashes)
our @Mates = grep { Compress::Zlib::crc32(sprintf 'node-%05d', $_) % 2
                    == Compress::Zlib::crc32('node-00002') % 2 } 1 .. 6;
die "node-00002's share is not node-00001..3\n" unless "@Mates" eq '1 2 3';

# A 2 s resolution and a 1 s kubelet timeout, as in t/048-share.t
sub http_config {
    my ($threshold) = @_;

    return K8sMetricsTest::open_api_server(
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

# the simulator's pods, as K8sMetricsCheck::summary lists them
sub pod_lines {
    my @nodes = @_ ? @_ : 1 .. 6;
    my @pods = map {
        my $n = $_;
        map { [KubeletSim::pod_namespace($_), KubeletSim::pod_name($n, $_)] } 0 .. 1
    } @nodes;

    return "PodMetricsList\n" . join '', map {
        "$_->[0]/$_->[1] window=ok app:cpu=ok,memory=ok\n"
    } sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @pods;
}

# node lines, their labels left out (the apiserver's)
sub healthy {
    return "NodeMetricsList\n" . join '', map {
        "node-0000$_ cpu=ok memory=ok window=ok\n"
    } @_;
}

sub nodes_summary {
    my $s = K8sMetricsCheck::summary($_[0]);
    $s =~ s/ labels=.*$//mg;
    return $s;
}

sub wait_for {
    my ($path, $text, $timeout) = @_;
    my $q = sub { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s };
    return "GET /wait?path=" . $q->($path) . "&match=" . $q->($text)
           . "&timeout=" . ($timeout // 15000);
}

sub reason_of {
    my ($node, $reason) = @_;
    return 'k8s_metrics_last_scrape_success{node="' . $node . '",reason="'
           . $reason;
}

our $Reloaded;

our $Lost = 'not scraped in this cycle: the worker whose share it was is gone';

# the running workers holding connections to the simulator's kubelets
sub scrapers {
    my $conns = K8sMetricsTest::tcp_inodes_to($ENV{TEST_NGINX_SIM_PORT});
    my @found = grep {
        my $pid = $_;
        grep { $conns->{$_} } K8sMetricsTest::socket_inodes($pid);
    } K8sMetricsTest::running_workers();
    return scalar @found;
}

# the running workers holding a connection to node N's address (127.1.0.N)
sub workers_of {
    my $n = shift;
    my $want = sprintf '%02X%02X%02X%02X:%04X', $n, 0, 1, 127,
                       $ENV{TEST_NGINX_SIM_PORT};
    my %inodes;

    for my $line (split /\n/, K8sMetricsTest::slurp('/proc/net/tcp')) {
        my @f = split ' ', $line;
        $inodes{ $f[9] } = 1 if @f > 9 && $f[2] eq $want && $f[3] eq '01';
    }

    return grep { my $pid = $_; grep { $inodes{$_} } K8sMetricsTest::socket_inodes($pid) }
           K8sMetricsTest::running_workers();
}

sub worker_of { (workers_of($_[0]))[0] }

# which worker holds each node's connection: the nodes of the same hash
# with one worker, the other three with the other, no node with two
sub placement {
    my %by;
    my @lines;

    for my $n (1 .. 6) {
        my @w = workers_of($n);
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
         : $body =~ /^# HELP/ ? "scraping workers: " . scrapers() . "\n"
         : $body;
}

sub after_reload {
    my $summary = shift;
    $summary =~ s/window=BAD\(([34](?:\.\d+)?)s\)/$1 <= 4.5 ? 'window=ok' : "window=BAD($1s)"/ge;
    return $summary;
}

sub requests_log { K8sMetricsTest::peer_dir('sim') . '/state/requests.log' }

sub requests {
    my $since = (Time::HiRes::stat(K8sMetricsTest::servroot()
                                   . '/logs/nginx.pid'))[9] * 1000;
    return grep { $_->[0] >= $since }
           map { [ (split /\t/)[0, 1] ] }
           split /\n/, K8sMetricsTest::slurp(requests_log());
}

# Each node asked once per cycle: never twice within half the resolution
# (MIN ms, 1000 unless told), and as many times as cycles were published
# (one more while a cycle runs)
sub once_per_cycle {
    my ($gaps_only, $min) = @_;
    my $m = K8sMetricsTest::metrics();
    my $before = $m->{k8s_metrics_scrape_cycles_total};
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
            : ' count=cycles:' . (@t >= $before - 1 && @t <= $after + 1 ? 'yes'
                : "no(" . scalar(@t) . " of $before..$after)");
    } 1 .. 6;
}

# the node lists the apiserver answered: one per worker's informer
sub node_lists {
    my $calls = JSON::PP::decode_json($_[0])->{calls};
    my $lists = grep { $_->{type} eq 'list' } @$calls;
    return "node lists: " . ($lists >= 2 ? '2 or more' : $lists) . "\n";
}

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

sub served_again {
    K8sMetricsTest::wait_until(sub {
        my $r = K8sMetricsTest::get($Nodes);
        $r->{content} =~ /node-00006/ && $r->{content} =~ /node-00001/;
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

run_tests();

__DATA__

=== TEST 1: the threshold reached with nodes from the apiserver: both workers scrape, each its nodes by name, every node served with its rates
--- timeout: 40
--- request eval
[::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 4' . "\n", 30000),
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
[::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 5' . "\n", 30000),
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
::kill_mid_cycle();
--- request eval
[::wait_for('/admin/metrics', ::reason_of('node-00003', $::Lost)),
 ::wait_for('/admin/metrics', ::reason_of('node-00002', 'no complete answer within k8s_metrics_kubelet_timeout (1000 ms)')),
 ::wait_for($::Nodes, 'node-00003', 20000),
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
::reload_mid_cycle();
--- request eval
["GET $::Nodes",
 "GET /wait?path=/nowhere&timeout=5000",
 "GET $::Nodes",
 "GET /admin/metrics"]
--- error_code eval
[200, 504, 200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^\{/ ? ::after_reload(::nodes_summary($_[0]))
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
[::wait_for('/admin/metrics', 'k8s_metrics_scrape_cycles_total 4' . "\n", 30000),
 "GET $::Nodes",
 "GET /admin/metrics",
 "GET /apictl/calls?type=list&res=nodes"]
--- response_body_filters eval
[sub { $_[0] =~ /^\{"next"/ ? ::node_lists($_[0]) : ::summarize($_[0]) }]
--- response_body eval
["ready\n", ::healthy(1 .. 6), "scraping workers: 1\n", "node lists: 2 or more\n"]
--- no_error_log
is gone before
