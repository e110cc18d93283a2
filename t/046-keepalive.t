# Kubelets that close idle keep-alive connections: every scrape finds its
# kept connection dead, libcurl retries it on a fresh one, and no cycle
# fails.  libcurl before 8.17 does not reset its retry count for a new
# request on the same easy handle (curl issue #18926): after five retries
# the next one is refused ("Connection died, tried 5 times before giving
# up"), which failed every 7th scrape of such a kubelet.

use lib 't/lib';
use K8sMetricsTest;
use JSON::PP ();

no_root_location();
no_shuffle();

# the simulator's nginx closes a connection idle for 1 s: longer than no
# scrape interval of these blocks waits
our $Sim = K8sMetricsTest::kubelet_sim(nodes => 2, pods => 2, containers => 1,
                                       keepalive_timeout => 1);

our $HttpConfig = K8sMetricsTest::api_server(
    zone => 'k8s_metrics_zone metrics:2m;',
    http => q{
    k8s_metrics_resolution 2s;
} . K8sMetricsTest::kubelet_tls() . q{
    k8s_metrics_kubelet_timeout 1500ms;
    include $TEST_NGINX_SIM_NODES;
} . K8sMetricsTest::waiter_http(),
    directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();

# TEST 2: the client certificate and key are files of the block (user_files)
# that the block replaces while every scrape is a new connection, hence a
# new TLS context
our $Html = K8sMetricsTest::servroot() . '/html';

our $RotateHttpConfig = K8sMetricsTest::api_server(
    zone => 'k8s_metrics_zone metrics:2m;',
    http => qq{
    k8s_metrics_resolution 2s;
    k8s_metrics_kubelet_ca \$TEST_NGINX_PKI/ca.crt;
    k8s_metrics_kubelet_client_certificate $Html/client.crt;
    k8s_metrics_kubelet_client_certificate_key $Html/client.key;
    k8s_metrics_kubelet_timeout 1500ms;
    include \$TEST_NGINX_SIM_NODES;
} . K8sMetricsTest::waiter_http(),
    directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

# the scrape counters of both nodes, and how the simulator saw them come
sub scrapes {
    my $m = K8sMetricsTest::prom(shift);
    return join '', map {
        my $node = "node-0000$_";
        sprintf "%s success>=30:%s failure:%d\n", $node,
            ($m->{qq{k8s_metrics_scrapes_total{node="$node",result="success"}}}
             // 0) >= 30 ? 'yes' : 'no',
            $m->{qq{k8s_metrics_scrapes_total{node="$node",result="failure"}}}
            // 0;
    } 1 .. 2;
}

# every request came on a new connection: the kept one was always dead
sub reconnected {
    my ($s) = values %{ JSON::PP::decode_json(shift)->{nodes} };
    return sprintf "requests>=30:%s every one on a new connection:%s\n",
        $s->{requests} >= 30 ? 'yes' : 'no',
        $s->{connections} == $s->{requests} ? 'yes' : 'no';
}

sub pki { K8sMetricsTest::slurp("$ENV{TEST_NGINX_PKI}/$_[0]") }

# a file replaced as a Secret's volume replaces it: a new file renamed over
sub replace {
    my ($file, $data) = @_;
    open my $fh, '>', "$file.new" or die "$file.new: $!\n";
    print $fh $data;
    close $fh or die "$file.new: $!\n";
    rename "$file.new", $file or die "$file: $!\n";
}

run_tests();

__DATA__

=== TEST 1: 30 cycles at 2 s against kubelets that close connections idle for 1 s: no failure
--- timeout: 120
--- request eval
["GET /wait?path=/admin/metrics&match=k8s_metrics_scrape_cycles_total%2031%0A&timeout=100000",
 "GET /admin/metrics",
 "GET /sim/stats?node=node-00001",
 "GET /sim/stats?node=node-00002"]
--- response_body_filters eval
[sub { $_[0] =~ /^# HELP/ ? ::scrapes($_[0])
       : $_[0] =~ /^\{/ ? ::reconnected($_[0]) : $_[0] }]
--- response_body eval
["ready\n",
 "node-00001 success>=30:yes failure:0\nnode-00002 success>=30:yes failure:0\n",
 "requests>=30:yes every one on a new connection:yes\n",
 "requests>=30:yes every one on a new connection:yes\n"]
--- no_error_log
scraping node
Connection died



=== TEST 2: a client certificate rotated on disk to one that cannot be read: the last good pair is kept, no node fails
libcurl read the files at every new connection, so a broken file failed
every node at its next handshake; the module reads the pair once, again
when a file changes, and keeps the last good pair.  The certificate is
broken once the first cycle is done; three more cycles, each on new
connections, succeed.
--- timeout: 60
--- http_config eval: $::RotateHttpConfig
--- config eval: $::Config
--- user_files eval
">>> client.crt\n" . ::pki('kubelet-client.crt') . ">>> client.key\n" . ::pki('kubelet-client.key')
--- init
K8sMetricsTest::wait_cycles(1, 20) or die "no scrape cycle\n";
::replace("$::Html/client.crt",
          "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
--- request
GET /wait?path=/admin/metrics&match=k8s_metrics_scrape_cycles_total%205%0A&timeout=30000&body=1
--- response_body_like eval
qr/\nk8s_metrics_last_scrape_success\{node="node-00001",reason=""\} 1
k8s_metrics_last_scrape_success\{node="node-00002",reason=""\} 1\n.*
k8s_metrics_scrape_cycles_total 5\n/s
--- error_log eval
qr/cannot load k8s_metrics_kubelet_client_certificate "[^"]+client.crt" with its key "[^"]+client.key", the previous one is kept \(SSL: /
