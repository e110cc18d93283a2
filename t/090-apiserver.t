# Kubernetes integration against a fake kube-apiserver (t/apiserver, nginx +
# njs, real wire formats) that lists the simulator's nodes and pods: nodes
# discovered by list + watch and scraped at their preferred address, nodes
# and pods coming and going, labels for the selectors, 410 Gone and cut
# streams, SubjectAccessReview (allow, deny, cached, failing: fail closed),
# TokenReview, and the authentication ConfigMap followed without a restart.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);
our $Api = K8sMetricsTest::fake_apiserver();

sub http_config {
    my (%o) = @_;
    my $directives = $o{directives} // q{
            k8s_metrics_authentication_configmap on;
};
    return K8sMetricsTest::api_server(
        zone => 'k8s_metrics_zone metrics:4m;',
        http => ($o{port} ? "    k8s_metrics_kubelet_port $o{port};\n"
                          : "    k8s_metrics_kubelet_port \$TEST_NGINX_SIM_PORT;\n") . q{
    k8s_metrics_resolution 1s;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
} . ($o{http} // '') . K8sMetricsTest::waiter_http(),
        directives => $directives);
}

our $HttpConfig = http_config();
our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location()
              . K8sMetricsTest::apiserver_control_location();

our $Nodes = '/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/apis/metrics.k8s.io/v1beta1/pods';

# the front proxy asking as a user: the requestheader CA comes from the ConfigMap
sub as_admin { "$_[0]\nX-Remote-User: admin\nX-Remote-Group: system:masters" }

sub node_names {
    my $body = shift;
    return $body unless $body =~ /^\{"kind":"NodeMetricsList"/;
    my @names = $body =~ /"metadata":\{"name":"([^"]+)"/g;
    return join(' ', @names) . "\n";
}

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

add_block_preprocessor(sub {
    my $block = shift;

    # "--- as_admin": the front proxy names admin, of system:masters
    if (defined $block->as_admin) {
        $block->set_value('more_headers',
                          "X-Remote-User: admin\nX-Remote-Group: system:masters");
    }
});

our $Ready = "GET /wait?path=/admin$Nodes&match=node-00003&timeout=15000";

# ---- one connection of the front proxy, held open (the aggregator keeps
# ---- its connections): the module's verdict on its chain must follow the
# ---- CA and the clock, not the connection

sub wait_ready {
    my $r = K8sMetricsTest::get("/wait?path=/admin$Nodes&match=node-00003&timeout=15000");
    die "the module did not serve the nodes\n" unless $r->{status} == 200;
}

sub front_proxy_connection {
    my ($crt, $key) = @_;
    return K8sMetricsTest::TLSConnection->connect($ENV{TEST_NGINX_TLS_PORT}, $crt, $key);
}

sub statuses {
    my ($c, $n) = @_;
    return join ' ', map {
        my $r = $c->request($Nodes, 'X-Remote-User' => 'admin',
                            'X-Remote-Group' => 'system:masters');
        $r->{status} || "($r->{error})";
    } 1 .. $n;
}

sub ca_replaced_under_connection {
    wait_ready();
    my $pki = $ENV{TEST_NGINX_PKI};
    my $c = front_proxy_connection("$pki/front-proxy-client.crt", "$pki/front-proxy-client.key");
    my $before = statuses($c, 2);

    my $pem = K8sMetricsTest::slurp("$pki/unknown-ca.crt");
    my $port = K8sMetricsTest::server_port();
    my $set = HTTP::Tiny->new->post("http://127.0.0.1:$port/apictl/configmap/set",
        { content => JSON::PP::encode_json({'requestheader-client-ca-file' => $pem}) });
    my $taken = K8sMetricsTest::wait_until(sub {
        ((K8sMetricsTest::metrics() // {})->{k8s_metrics_authentication_configmap_updates_total} // 0) >= 2
    }, 10);

    my $after = statuses($c, 2);
    $c->disconnect;

    Test::More::is($set->{status}, 200, 'the ConfigMap set to the unknown CA');
    Test::More::ok($taken, 'the module took it');
    Test::More::is($before, '200 200', 'one connection of the front proxy: its requests 200');
    Test::More::is($after, '401 401', 'the same connection once the CA is replaced: 401');
}

sub certificate_expires_under_connection {
    wait_ready();
    my $pki = $ENV{TEST_NGINX_PKI};
    my $dir = tempdir(CLEANUP => 1);
    copy("$pki/front-proxy-ca.$_", "$dir/front-proxy-ca.$_") or die "copy: $!\n" for qw(crt key);

    my $stamp = sub { POSIX::strftime('%Y%m%d%H%M%SZ', gmtime shift) };
    my $end = int(time) + 6;
    system('bash', '-c', '. "$1" && OUT=$2 && issue_dated short front-proxy-ca '
           . '/CN=front-proxy-client "$3" "$4" "${CLIENT_EXT[@]}"', 'issue',
           "$K8sMetricsTest::Root/t/pki/gen.sh", $dir, $stamp->(time - 3600), $stamp->($end)) == 0
        or die "cannot issue a short-lived certificate\n";

    my $c = front_proxy_connection("$dir/short.crt", "$dir/short.key");
    my $before = statuses($c, 2);
    my $asked = time;
    sleep($end + 1.5 - time);
    my $after = statuses($c, 2);
    $c->disconnect;

    Test::More::ok($asked < $end, 'asked before the certificate expired');
    Test::More::is($before, '200 200', 'a connection with a certificate about to expire: 200');
    Test::More::is($after, '401 401', 'the same connection once it expired: 401');
}

# node-00002 loses its addresses: /metrics says why it is not served
sub no_address {
    wait_ready();
    $::Api->modify_node('node-00002', addresses => []);

    my $line = 'k8s_metrics_last_scrape_success{node="node-00002",reason="no address '
               . 'of the types in k8s_metrics_kubelet_address_types"} 0';
    K8sMetricsTest::wait_until(sub {
        index(K8sMetricsTest::get('/admin/metrics')->{content} // '', $line) >= 0;
    }, 10, 0.05) or die "no reason in /metrics for node-00002\n";
}

run_tests();

__DATA__

=== TEST 1: nodes listed by the apiserver are scraped; their labels are the apiserver's
--- timeout: 20
--- as_admin
--- request eval
[$::Ready, "GET /fp$::Nodes", "GET /fp$::Nodes?labelSelector=sim.k8s.io%2Fparity%3Dodd"]
--- response_body_filters eval
[\&::node_names]
--- response_body eval
["ready\n", "node-00001 node-00002 node-00003\n", "node-00001 node-00003\n"]
--- no_error_log
failed



=== TEST 2: pods carry the apiserver's labels; labelSelector on pods
--- timeout: 20
--- as_admin
--- request eval
[$::Ready, "GET /fp$::Pods?labelSelector=sim.k8s.io%2Fnode%3Dnode-00001,sim.k8s.io%2Findex%3D1", "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/pod-00001-001"]
--- response_body_like eval
["ready", qr/^\{"kind":"PodMetricsList".*"name":"pod-00001-001","namespace":"kube-system",.*"labels":\{.*\}.*\]\}\n$/s,
 qr/^\{"kind":"PodMetrics",.*"name":"pod-00001-001","namespace":"kube-system","creationTimestamp":"[^"]+","labels":\{[^}]+\}\}/]



=== TEST 3: a node removed from the apiserver disappears; added again, it comes back
--- timeout: 30
--- as_admin
--- request eval
[$::Ready,
 "POST /apictl/node/remove\n{\"name\":\"node-00002\"}",
 "GET /wait?path=/admin$::Nodes&absent=node-00002&timeout=10000",
 "GET /fp$::Nodes",
 "POST /apictl/node/add\n{\"name\":\"node-00002\",\"address\":\"" . $::Sim->node_ip(2) . "\"}",
 "GET /wait?path=/admin$::Nodes&match=node-00002&timeout=10000",
 "GET /fp$::Nodes"]
--- response_body_filters eval
[\&::node_names]
--- response_body_like eval
["ready", ".", "ready", "^node-00001 node-00003\n\$", ".", "ready", "^node-00001 node-00002 node-00003\n\$"]



=== TEST 4: a node's label changed is seen by labelSelector
--- timeout: 20
--- as_admin
--- request eval
[$::Ready,
 "POST /apictl/node/modify\n{\"name\":\"node-00003\",\"set_labels\":{\"tier\":\"gold\"}}",
 "GET /wait?path=/admin$::Nodes%3FlabelSelector%3Dtier%253Dgold&match=node-00003&timeout=10000",
 "GET /fp$::Nodes?labelSelector=tier%3Dgold"]
--- response_body_filters eval
[\&::node_names]
--- response_body_like eval
["ready", ".", "ready", "^node-00003\n\$"]



=== TEST 5: a pod deleted from the apiserver is no longer served
--- timeout: 20
--- as_admin
--- request eval
[$::Ready,
 "POST /apictl/pod/remove\n{\"namespace\":\"default\",\"name\":\"pod-00001-000\"}",
 "GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods&absent=pod-00001-000&timeout=10000",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00001-000"]
--- error_code eval
[200, 200, 200, 404]



=== TEST 6: 410 Gone: the informer lists again; a cut stream is watched again
--- timeout: 30
--- as_admin
--- request eval
[$::Ready,
 "POST /apictl/gone\n{\"cut\":true}",
 "POST /apictl/node/remove\n{\"name\":\"node-00001\"}",
 "GET /wait?path=/admin$::Nodes&absent=node-00001&timeout=15000",
 "POST /apictl/cut\n{}",
 "POST /apictl/node/add\n{\"name\":\"node-00001\",\"address\":\"" . $::Sim->node_ip(1) . "\"}",
 "GET /wait?path=/admin$::Nodes&match=node-00001&timeout=15000"]
--- response_body_like eval
["ready", ".", ".", "ready", ".", ".", "ready"]
--- shutdown_error_log
listing again



=== TEST 7: SubjectAccessReview: allowed and denied by the apiserver, with its attributes
--- timeout: 20
--- http_config eval: ::http_config(directives => "k8s_metrics_authentication_configmap on;")
--- request eval
[$::Ready,
 "POST /apictl/sar\n{\"rules\":[{\"user\":\"alice\",\"verb\":\"list\",\"apiGroup\":\"metrics.k8s.io\",\"resource\":\"pods\",\"namespace\":\"team-a\"}]}",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
 "GET /apictl/calls?type=sar"]
--- more_headers
X-Remote-User: alice
X-Remote-Group: dev
X-Remote-Extra-Scopes: read
--- error_code eval
[200, 200, 200, 403, 200]
--- response_body_like eval
["ready", ".", qr/"kind":"PodMetricsList"/,
 qr/"message":"pods.metrics.k8s.io is forbidden: User \\"alice\\" cannot list resource \\"pods\\" in API group \\"metrics.k8s.io\\" in the namespace \\"default\\"/,
 qr/"user":"alice","groups":\["dev","system:authenticated"\],"extra":\{"scopes":\["read"\]\},"resourceAttributes":\{"verb":"list","group":"metrics.k8s.io","version":"v1beta1","resource":"pods","namespace":"team-a"\}/]



=== TEST 8: SubjectAccessReview answers are cached for every worker
--- timeout: 20
--- request eval
[$::Ready,
 "POST /apictl/sar\n{\"default\":\"allow\"}",
 "POST /apictl/calls/reset\n{}",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/team-b/pods",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/team-b/pods",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/team-b/pods",
 "GET /apictl/calls?type=sar",
 "GET /admin/metrics"]
--- more_headers
X-Remote-User: bob
--- response_body_like eval
["ready", ".", ".", "PodMetricsList", "PodMetricsList", "PodMetricsList", qr/"count":1,/,
 qr/k8s_metrics_sar_cache_hits_total [2-9]/]



=== TEST 9: a SubjectAccessReview that fails is a 500: fail closed
--- timeout: 20
--- request eval
[$::Ready,
 "POST /apictl/mode\n{\"sar_status\":500}",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/team-b/pods"]
--- more_headers
X-Remote-User: carol
--- error_code eval
[200, 200, 500]
--- response_body_like eval
["ready", ".", qr/^\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"Internal error occurred: the authorization check failed: .*","reason":"InternalError","details":\{"causes":\[\{"message":".*"\}\]\},"code":500\}\n$/]
--- shutdown_error_log
SubjectAccessReview (POST



=== TEST 10: a SubjectAccessReview that times out is a 500 too
--- timeout: 20
--- request eval
[$::Ready,
 "POST /apictl/mode\n{\"sar_delay\":5000}",
 "GET /fp/apis/metrics.k8s.io/v1beta1/namespaces/monitoring/pods"]
--- more_headers
X-Remote-User: dave
--- error_code eval
[200, 200, 500]
--- shutdown_error_log eval
qr/SubjectAccessReview \(POST .*\) failed: .*(timed out|Timeout)/i



=== TEST 11: bearer tokens: a TokenReview names the user; a bad token is 401
--- timeout: 20
--- http_config eval: ::http_config(directives => "k8s_metrics_authorization always_allow; k8s_metrics_authentication_configmap on;")
--- request eval
[$::Ready, "GET /tokenok$::Nodes", "GET /tokenbad$::Nodes", "GET /apictl/calls?type=tokenreview"]
--- config eval
$::Config . qq{
        location /tokenok/ {
            proxy_pass https://127.0.0.1:$ENV{TEST_NGINX_TLS_PORT}/;
            proxy_set_header Authorization "Bearer $::Api->{token}";
        }
        location /tokenbad/ {
            proxy_pass https://127.0.0.1:$ENV{TEST_NGINX_TLS_PORT}/;
            proxy_set_header Authorization "Bearer not-a-token";
        }
}
--- as_admin
--- error_code eval
[200, 200, 401, 200]
--- response_headers_like eval
["", "X-K8s-User: system:serviceaccount:kube-system:metrics-server", "", ""]
--- response_body_like eval
["ready", "NodeMetricsList", qr/"reason":"Unauthorized"/, qr/"type":"tokenreview"/]



=== TEST 12: the requestheader CA rotated in the ConfigMap takes effect without a restart
--- timeout: 30
--- as_admin
--- request eval
[$::Ready,
 "GET /fp$::Nodes",
 "POST /apictl/configmap/set\n" . JSON::PP::encode_json({'requestheader-client-ca-file' => do { local (@ARGV, $/) = "$ENV{TEST_NGINX_PKI}/unknown-ca.crt"; <> }}),
 "GET /wait?path=/unknown$::Nodes&header=X-Remote-User:admin&status=403&timeout=10000",
 "GET /fp$::Nodes",
 "GET /unknown$::Nodes"]
--- error_code eval
[200, 200, 200, 200, 401, 200]
--- response_body_like eval
["ready", "NodeMetricsList", ".", "ready", qr/"reason":"Unauthorized"/, "NodeMetricsList"]
--- no_error_log
[crit]
--- error_log
the authentication ConfigMap kube-system/extension-apiserver-authentication changed



=== TEST 13: a broken CA in the ConfigMap keeps the previous one, in every worker
The workers serve with the unknown CA (401 to the front proxy); then the
front-proxy CA and, at once, a broken bundle.  No worker loads the data in
between, so a worker deciding by what it loaded last would keep the unknown
CA; the scraping process keeps the front-proxy CA for all of them.
--- timeout: 40
--- as_admin
--- request eval
[$::Ready,
 "POST /apictl/configmap/set\n" . JSON::PP::encode_json({'requestheader-client-ca-file' => do { local (@ARGV, $/) = "$ENV{TEST_NGINX_PKI}/unknown-ca.crt"; <> }}),
 "GET /wait?path=/unknown$::Nodes&header=X-Remote-User:admin&status=403&timeout=10000",
 "GET /fp$::Nodes",
 "POST /apictl/configmap/set\n" . JSON::PP::encode_json({'requestheader-client-ca-file' => do { local (@ARGV, $/) = "$ENV{TEST_NGINX_PKI}/front-proxy-ca.crt"; <> }}),
 "POST /apictl/configmap/set\n{\"requestheader-client-ca-file\":\"-----BEGIN CERTIFICATE-----\\ngarbage\\n-----END CERTIFICATE-----\\n\"}",
 "GET /wait?path=/admin/metrics&match=k8s_metrics_authentication_configmap_rejected_total%201&timeout=10000",
 ("GET /fp$::Nodes") x 8,
 "GET /admin/metrics"]
--- error_code eval
[200, 200, 200, 401, 200, 200, 200, (200) x 8, 200]
--- response_body_like eval
["ready", ".", "ready", qr/"reason":"Unauthorized"/, ".", ".", "ready", ("NodeMetricsList") x 8,
 qr/\nk8s_metrics_authentication_configmap_updates_total 3\n/]
--- shutdown_error_log
holds no certificate: the previous CA is kept



=== TEST 14: k8s_metrics_node_selector: only the matching nodes are scraped
--- timeout: 20
--- http_config eval: ::http_config(http => "k8s_metrics_node_selector sim.k8s.io/parity=odd;\n")
--- as_admin
--- request eval
["GET /wait?path=/admin$::Nodes&match=node-00003&timeout=15000", "GET /fp$::Nodes", "GET /apictl/calls?type=list&res=nodes"]
--- response_body_filters eval
[\&::node_names]
--- response_body_like eval
["ready", "^node-00001 node-00003\n\$", qr/labelSelector=sim.k8s.io%2Fparity%3Dodd|labelSelector=sim.k8s.io\/parity%3Dodd|labelSelector=sim.k8s.io\/parity=odd/]



=== TEST 15: the preferred address type, and the port from the node's status
--- timeout: 30
--- http_config eval
::http_config(http => "k8s_metrics_kubelet_address_types ExternalIP InternalIP;\nk8s_metrics_kubelet_use_node_status_port on;\n", port => 9)
--- as_admin
--- request eval
[$::Ready,
 "POST /apictl/node/remove\n{\"name\":\"node-00002\"}",
 "POST /apictl/node/add\n" . JSON::PP::encode_json({name => 'node-00002', port => $ENV{TEST_NGINX_SIM_PORT} + 0,
     addresses => [{type => 'InternalIP', address => '127.255.255.254'},
                   {type => 'ExternalIP', address => $::Sim->node_ip(2)}]}),
 "GET /wait?path=/admin$::Nodes&match=node-00002&timeout=15000",
 "GET /fp$::Nodes"]
--- response_body_filters eval
[\&::node_names]
--- response_body_like eval
["ready", ".", ".", "ready", "^node-00001 node-00002 node-00003\n\$"]



=== TEST 16: a front-proxy connection verified once is verified again when the ConfigMap replaces the CA
--- timeout: 30
--- init
::ca_replaced_under_connection();
--- as_admin
--- request
GET /fp/apis/metrics.k8s.io/v1beta1/nodes
--- error_code: 401
--- error_log
does not verify against "configmap requestheader-client-ca-file"



=== TEST 17: a front-proxy connection whose certificate expires is refused from then on
--- timeout: 30
--- init
::certificate_expires_under_connection();
--- as_admin
--- request
GET /fp/apis/metrics.k8s.io/v1beta1/nodes
--- error_code: 200
--- error_log
certificate has expired



=== TEST 18: a node with no address of the preferred types fails every cycle, saying why in the log and /metrics (metrics-server's address resolver); given one, it is scraped again
--- timeout: 30
--- init
::no_address();
--- as_admin
--- request eval
["GET /fp$::Nodes",
 "POST /apictl/node/modify\n" . JSON::PP::encode_json({name => 'node-00002',
     addresses => [{type => 'InternalIP', address => $::Sim->node_ip(2)}]}),
 "GET /wait?path=/admin$::Nodes&match=node-00002&timeout=15000",
 "GET /fp$::Nodes"]
--- response_body_filters eval
[\&::node_names]
--- response_body_like eval
["^node-00001 node-00003\n\$", ".", "ready", "^node-00001 node-00002 node-00003\n\$"]
--- error_log eval
[qr/node "node-00002" has no address of the types in k8s_metrics_kubelet_address_types: it fails every scrape until it has one/,
 qr/\[error\].*node-00002.*no address of the types in k8s_metrics_kubelet_address_types/]
