# Lifecycle: the store lives in the shared zone, so "nginx -s reload" keeps
# the data (served at once, no second scrape needed), every worker serves
# the same snapshot, and a scraping worker killed with SIGKILL is replaced
# by one that goes on scraping.  Blocks run in one nginx, reloaded between
# them (HUP mode); this file always runs with a master and 2 workers.

BEGIN { $ENV{TEST_NGINX_USE_HUP} = 1 }

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;

no_root_location();
no_shuffle();
master_on();
workers(2);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);

sub http_config {
    my ($extra) = @_;
    return K8sMetricsTest::api_server(
        zone => 'k8s_metrics_zone metrics:2m;',
        listen => 'ssl http2 reuseport',
        http => "    k8s_metrics_resolution 1s;\n" . K8sMetricsTest::kubelet_tls()
                . "    include \$TEST_NGINX_SIM_NODES;\n" . ($extra // '') . K8sMetricsTest::waiter_http(),
        directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});
}

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();
our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Healthy = "NodeMetricsList\n" . join '', map {
    "node-0000$_ cpu=ok memory=ok window=ok labels=\n"
} 1 .. 3;

# the scraping worker: the first worker of the running generation
sub scraping_worker { (K8sMetricsTest::running_workers())[0] }

# the node list's timestamp: recorded on the first call, compared after
our $FirstStamp;

sub scrape_advances {
    my $body = shift;
    return $body unless $body =~ /"timestamp":"([^"]+)"/;
    my $stamp = $1;
    if (!defined $FirstStamp) {
        $FirstStamp = $stamp;
        return "first at " . ($stamp =~ tr/0-9//dcr);
    }
    return $stamp gt $FirstStamp ? "newer than the first" : "not newer: $stamp";
}

K8sMetricsTest::block_defaults(config => $Config);

# Kills the scraping worker of the running generation with SIGKILL and
# waits for the master to replace it (it logs the exit first): for a
# block's "--- init", which runs once the block's configuration is loaded,
# so that what the master logs is in the block's log.
sub kill_scraper {
    my $pid = scraping_worker() or die "no scraping worker found\n";
    kill 'KILL', $pid;

    for (1 .. 500) {
        my @workers = K8sMetricsTest::running_workers();
        return if @workers == 2 && !grep { $_ == $pid } @workers;
        select(undef, undef, undef, 0.02);
    }

    die "the master did not replace the killed worker $pid
";
}

run_tests();

__DATA__

=== TEST 1: the first nginx scrapes and serves
--- http_config eval: ::http_config()
--- request eval
["GET /wait?path=$::Nodes&match=node-00003", "GET $::Nodes"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["ready\n", $::Healthy]



=== TEST 2: after a reload the data is there at once, and readyz says so
--- http_config eval: ::http_config("    # reloaded\n")
--- request eval
["GET $::Nodes", "GET /anon/readyz"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
[$::Healthy, "ok"]



=== TEST 3: every worker serves the same snapshot
--- http_config eval: ::http_config("    # reloaded again\n")
--- request eval
[("GET $::Nodes") x 12]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
[($::Healthy) x 12]



=== TEST 4: the scraping worker killed: its replacement goes on scraping, data kept
--- http_config eval: ::http_config("    # after a crash\n")
--- init
::kill_scraper();
--- request eval
["GET $::Nodes", "GET /wait?path=/nowhere&timeout=2500", "GET $::Nodes"]
--- timeout: 10
--- error_code eval
[200, 504, 200]
--- response_body_filters eval
[\&::scrape_advances]
--- response_body_like eval
["^first at \\d+\$", "not ready", "^newer than the first\$"]
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/]
