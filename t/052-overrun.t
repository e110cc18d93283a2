# The kubelet timeout and the resolution: a timeout not set is the smaller
# of 10s and 0.9 x the resolution (a longer one fails nginx -t: t/030); a
# cycle can still outlast the resolution when more kubelets hang than are
# scraped at once (256): the next tick is then skipped, reported, not
# doubled.  With more kubelets than transfers in flight, the easy handles
# (one per transfer in flight, pooled) go from kubelet to kubelet while
# each kubelet keeps its kept-alive connection in its own share.

use lib 't/lib';
use K8sMetricsTest;
use JSON::PP ();

no_root_location();
no_shuffle();
worker_connections(1024);

# one more node than the scraper keeps in flight
our $Sim = K8sMetricsTest::kubelet_sim(nodes => 257, pods => 1, containers => 1);

# the simulator's kubelets scraped every RESOLUTION
sub http_config {
    return K8sMetricsTest::open_api_server(zone => 'k8s_metrics_zone metrics:4m;',
                                           http => K8sMetricsTest::sim_kubelets(shift));
}

K8sMetricsTest::block_defaults(config => K8sMetricsTest::personas()
                                         . K8sMetricsTest::waiter_location());

# the simulator's counters: every kubelet asked at least CYCLES times, each
# on the one connection it was first asked on
sub one_connection_each {
    my ($json, $cycles) = @_;
    my $nodes = JSON::PP::decode_json($json)->{nodes};
    my @n = values %$nodes;
    return sprintf "%d kubelets, %d requests each at least: %s, "
                   . "one connection each: %s\n",
        scalar @n, $cycles,
        (grep { $_->{requests} < $cycles } @n) ? 'no' : 'yes',
        join(' ', map { "$_:$nodes->{$_}{connections}" }
                  grep { $nodes->{$_}{connections} != 1 } sort keys %$nodes)
        || 'yes';
}

run_tests();

__DATA__

=== TEST 1: no k8s_metrics_kubelet_timeout: 0.9 x a 2s resolution
--- timeout: 20
--- http_config eval
::http_config('2s')
--- sim_modes
node-00001 hang 30
--- request eval
["GET /wait?path=/admin/metrics&match=k8s_metrics_scrapes_total%7Bnode%3D%22node-00001%22%2Cresult%3D%22failure%22%7D%201&timeout=15000"]
--- response_body
ready
--- error_log eval
qr/scraping node "node-00001" .* failed: no complete answer within k8s_metrics_kubelet_timeout \(1800 ms\)/



=== TEST 2: 257 kubelets, 256 transfers at once: each kubelet keeps its one connection from cycle to cycle, whichever easy handle scrapes it
The scraper has an easy handle per transfer in flight, not per kubelet:
the 257th kubelet of each cycle gets a handle that scraped another one, and
the pool hands them out last in, first out, so the kubelets change handles
from cycle to cycle.  The handle is attached to the kubelet's share, where
libcurl finds its kept-alive connection: three cycles, no new connection
(no TLS handshake) after the first.  A 6 s resolution: the first cycle's
257 handshakes need more than 2.7 s under ASan on a loaded machine.  Before
TEST 3, whose hanging kubelets hold the simulator's connections for 30 s.
--- timeout: 80
--- http_config eval
::http_config('6s')
--- request eval
["GET /wait?path=/admin/metrics&match=k8s_metrics_scrape_cycles_total%203%0A&timeout=60000",
 "GET /sim/stats"]
--- response_body_filters eval
[sub { $_[0] =~ /^\{/ ? ::one_connection_each($_[0], 3) : $_[0] }]
--- response_body eval
["ready\n",
 "257 kubelets, 3 requests each at least: yes, one connection each: yes\n"]
--- no_error_log
scraping node



=== TEST 3: a cycle still running when the next is due: reported, not doubled (the first kubelet asked once at most)
--- timeout: 20
--- http_config eval
::http_config('1s')
--- sim_modes
all hang 30
--- request eval
["GET /wait?path=/admin/metrics&match=k8s_metrics_scrape_cycle_overruns_total%201&timeout=15000",
 "GET /sim/stats?node=node-00001"]
--- response_body_like eval
["ready", qr/"node-00001":\{.*"requests":[01],/]
--- error_log eval
qr/\[warn\].*k8s metrics: the scrape cycle started \d+ ms ago is still running: this one is skipped \(\d+ of 257 kubelets answered/
