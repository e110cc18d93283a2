# Trust taken from what an attacker controls (issue 10: items 7, 11, 12).
#
# - The lists of the authentication ConfigMap: a value that does not parse
#   keeps every list taken before (kube-apiserver's requestheader controller
#   keeps its previous lists), with nothing before the requestheader
#   authentication is not used; [""] allows only a certificate without a
#   CN.  Rejections are logged and counted once per change.
# - A subject naming two CNs: the last, as Go's pkix.Name reads it, for the
#   x509 user and for the front proxy's allowed names alike.
# - The raw path: a dot segment, an empty one or an encoded "/", "." or NUL
#   would be routed by nginx to what the aggregator never authorized; it is
#   answered 404 as kube-apiserver's router answers a path it has no route
#   for, whatever the authorization mode.
#
# The certificates with two CNs or none are issued at run time (t/pki/gen.sh).

use lib 't/lib';
use K8sMetricsTest;
use File::Copy qw(copy);
use File::Path qw(make_path);
use HTTP::Tiny;
use JSON::PP ();

no_root_location();
no_shuffle();

our $Api = K8sMetricsTest::fake_apiserver(per_block => 0);

# ---- the certificates of this file, beside the test PKI

our $Trust = K8sMetricsTest::peer_dir('trust-pki');

sub issue_certificates {
    my $pki = $ENV{TEST_NGINX_PKI};

    return if -e "$Trust/.done";

    make_path($Trust);
    for my $ca (qw(ca front-proxy-ca)) {
        copy("$pki/$ca.$_", "$Trust/$ca.$_") or die "copy $ca.$_: $!\n"
            for qw(crt key);
    }

    system('bash', '-c', '. "$1" && OUT=$2 '
           . '&& issue_client x509-two-cn ca "/CN=system:admin-victim/CN=alice/O=dev" '
           . '&& issue_client fp-cn-last front-proxy-ca "/CN=not-allowed-proxy/CN=front-proxy-client" '
           . '&& issue_client fp-cn-first front-proxy-ca "/CN=front-proxy-client/CN=not-allowed-proxy" '
           . '&& issue_client fp-no-cn front-proxy-ca "/O=front-proxy"',
           'issue', "$K8sMetricsTest::Root/t/pki/gen.sh", $Trust) == 0
        or die "cannot issue the certificates of t/022-trust.t\n";

    open my $done, '>', "$Trust/.done" or die "$Trust/.done: $!\n";
    close $done;
}

issue_certificates();

# the personas, with one for each certificate of this file
sub personas {
    local %K8sMetricsTest::Personas = (%K8sMetricsTest::Personas, map {
        $_ => ["$Trust/$_.crt", "$Trust/$_.key"]
    } qw(x509-two-cn fp-cn-last fp-cn-first fp-no-cn));

    return K8sMetricsTest::personas();
}

# The front proxy as the aggregator forwards: the path as the client wrote
# it (proxy_pass without a URI passes the raw request URI on).
our $RawFrontProxy = <<'CONF';
        location / {
            proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT;
            proxy_ssl_certificate $TEST_NGINX_PKI/front-proxy-client.crt;
            proxy_ssl_certificate_key $TEST_NGINX_PKI/front-proxy-client.key;
            proxy_ssl_trusted_certificate $TEST_NGINX_PKI/ca.crt;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse off;
        }
CONF

# ---- the configurations

# CAs and lists from the ConfigMap of the fake apiserver; SubjectAccessReview
our $ConfigMapHttp = K8sMetricsTest::api_server(
    zone => 'k8s_metrics_zone metrics:4m;',
    http => "    k8s_metrics_apiserver_timeout 2s;\n"
            . "    include \$TEST_NGINX_APISERVER_CONF;\n"
            . K8sMetricsTest::waiter_http(),
    directives => 'k8s_metrics_authentication_configmap on;');

our $ConfigMapConfig = personas() . <<'CONF'
        location = /wait {
            js_content waiter.wait;
        }
CONF
    . K8sMetricsTest::apiserver_control_location();

# CAs and allowed names from files; every authenticated user allowed
our $StaticHttp = K8sMetricsTest::api_server(directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_requestheader_allowed_names front-proxy-client;
            k8s_metrics_authorization always_allow;
});

our $StaticConfig = personas() . $RawFrontProxy;

our $Nodes = '/apis/metrics.k8s.io/v1beta1/nodes';
our $V1beta1 = '/apis/metrics.k8s.io/v1beta1';

our $NodeList = qq{{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n};
our $NotFound = qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}\n};

# the ConfigMap taken: the front proxy's chain verifies against its CA (a
# user of no group is then denied by the SubjectAccessReview)
our $ReadyPath = "/wait?path=/fp$Nodes&header=X-Remote-User:admin&status=403&timeout=15000";

# ---- the ConfigMap changed under the running module: the steps run in
# ---- "--- init" (the block's request then checks the outcome and the log,
# ---- which the real runner reads from the start of the first request)

our %AsAdmin = ('X-Remote-User' => 'admin', 'X-Remote-Group' => 'system:masters');

# [METHOD, PATH, BODY (a hash is sent as JSON), STATUS, BODY_REGEX]: one
# request to this server each, as the front proxy's admin, in order
sub steps {
    my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
    my $url = 'http://127.0.0.1:' . K8sMetricsTest::server_port();

    for my $step (@_) {
        my ($method, $path, $body, $status, $like) = @$step;
        my %o = (headers => {%AsAdmin});
        $o{content} = ref $body ? JSON::PP::encode_json($body) : $body
            if defined $body;

        my $r = $http->request($method, "$url$path", \%o);
        Test::More::is($r->{status}, $status, "$method $path: $status");
        Test::More::like($r->{content}, $like, "$method $path: answer")
            if defined $like;
    }
}

sub ready { [GET => $ReadyPath, undef, 200] }

sub set_configmap { [POST => '/apictl/configmap/set', shift, 200] }

# the module took the change: /metrics shows the counter at this value
sub wait_metric {
    my ($name, $value) = @_;
    return [GET => "/wait?path=/admin/metrics&match=k8s_metrics_"
                   . "authentication_configmap_${name}_total%20$value"
                   . "&timeout=10000", undef, 200];
}

# lines of this block's error log that match
sub log_count {
    my $re = shift;
    my $log = K8sMetricsTest::slurp(K8sMetricsTest::servroot() . '/logs/error.log');
    return scalar(() = $log =~ /$re/g);
}

# The paths nginx would route elsewhere than the aggregator authorized,
# namespaced and cluster-scoped; a NUL (%00) and a path above the root
# nginx refuses itself (the last block).
our @Escapes = (
    "$V1beta1/namespaces/ns-evil/../../pods",
    "$V1beta1/namespaces/ns-evil/%2e%2e/%2e%2e/pods",
    "$V1beta1/namespaces/ns-evil/%2E./%2E./pods",
    "$V1beta1/namespaces/ns-evil/.%2e/.%2E/pods",
    "$V1beta1/namespaces/ns-evil%2f..%2f..%2fpods",
    "$V1beta1/namespaces/ns-evil%2F..%2F..%2Fpods",
    "$V1beta1/namespaces/ns-evil/pods/..",
    "$V1beta1/namespaces/ns-evil/./pods",
    "$V1beta1/namespaces/ns-evil/../../pods?labelSelector=app%3Dweb",
    "$V1beta1/./pods",
    "$V1beta1/%2e/pods",
    "$V1beta1//pods",
    "$V1beta1/nodes/../pods",
    "$V1beta1/nodes/%2e%2e/pods",
    "$V1beta1/nodes%2fnode-1",
    "/readyz/../apis/metrics.k8s.io/v1beta1/pods",
);

K8sMetricsTest::block_defaults(http_config => $StaticHttp,
                               config => $StaticConfig);

add_block_preprocessor(sub {
    my $block = shift;

    # "--- configmap: JSON": a fresh fake apiserver whose ConfigMap has
    # these data changed before nginx starts
    if (defined $block->configmap) {
        K8sMetricsTest::restart_apiserver();
        my $data = JSON::PP::decode_json($block->configmap);
        $K8sMetricsTest::Api->configmap_set($data) if %$data;

        $block->set_value('http_config', $ConfigMapHttp)
            unless defined $block->http_config;
        $block->set_value('config', $ConfigMapConfig)
            unless defined $block->config;
    }

    # "--- denied_as: PERSONA": its node list asked as the front proxy's
    # admin is a 401
    if (defined $block->denied_as) {
        (my $who = $block->denied_as) =~ s/\s+$//;
        $block->set_value('as_admin', 1);
        $block->set_value('request', "GET /$who$Nodes");
        $block->set_value('error_code', 401);
        $block->set_value('response_body_like', '"reason":"Unauthorized"');
    }

    # "--- as_admin": the front proxy names admin, of system:masters
    if (defined $block->as_admin) {
        $block->set_value('more_headers',
                          "X-Remote-User: admin\nX-Remote-Group: system:masters");
    }
});

# ---- nginx's own refusals, straight to the module's server (no proxy in
# ---- between: its nginx would refuse them first)

sub refused_by_nginx {
    my $pki = $ENV{TEST_NGINX_PKI};
    my @got;

    for my $path ("$V1beta1/namespaces/ns-evil%00/pods", "/apis/../../pods") {
        my $c = K8sMetricsTest::TLSConnection->connect($ENV{TEST_NGINX_TLS_PORT},
                    "$pki/front-proxy-client.crt", "$pki/front-proxy-client.key");
        my $r = $c->request($path, 'X-Remote-User' => 'admin',
                            'X-Remote-Group' => 'system:masters');
        $c->disconnect;
        push @got, $r->{status} || "($r->{error})";
    }

    Test::More::is("@got", '400 400', 'a NUL, a path above the root: nginx\'s 400');
}

# the same refusals over HTTP/2 (curl, the path as written), straight to
# the module's server
sub refused_over_http2 {
    my $pki = $ENV{TEST_NGINX_PKI};
    my @got;

    for my $path ("$V1beta1/namespaces/ns-evil/../../pods",
                  "$V1beta1/namespaces/ns-evil/%2e%2e/%2e%2e/pods",
                  "$V1beta1/namespaces/ns-evil/pods")
    {
        push @got, scalar qx{curl -s --http2 --path-as-is -o /dev/null \\
            -w '%{http_version}:%{http_code}' --cacert '$pki/ca.crt' \\
            --cert '$pki/front-proxy-client.crt' \\
            --key '$pki/front-proxy-client.key' -H 'X-Remote-User: alice' \\
            'https://localhost:$ENV{TEST_NGINX_TLS_PORT}$path'};
    }

    Test::More::is("@got", '2:404 2:404 2:200', 'over HTTP/2: 404, 404, 200');
}

run_tests();

__DATA__

=== TEST 1: allowed names that are not a JSON array keep the previous list
The value kube-apiserver cannot parse either: its controller keeps what
it had.  Before the fix the CN check went away: any front-proxy-CA
certificate spoke for admin of system:masters.
--- timeout: 60
--- configmap: {}
--- init
::steps(::ready(),
        [GET => "/fp-other$::Nodes", undef, 401],
        ::set_configmap({'requestheader-allowed-names' => 'front-proxy-client'}),
        ::wait_metric('rejected', 1),
        [GET => "/fp$::Nodes", undef, 200, qr/NodeMetricsList/]);
--- denied_as: fp-other
--- error_log
"requestheader-allowed-names" is not a JSON array of strings: the previous requestheader settings are kept
front-proxy certificate "CN=not-allowed-proxy" is not in k8s_metrics_requestheader_allowed_names



=== TEST 2: allowed names that are not valid JSON keep the previous list
--- timeout: 60
--- configmap: {}
--- init
::steps(::ready(),
        ::set_configmap({'requestheader-allowed-names' => '["front-proxy-client",]'}),
        ::wait_metric('rejected', 1),
        [GET => "/fp$::Nodes", undef, 200, qr/NodeMetricsList/],
        [GET => "/admin/metrics", undef, 200,
         qr/\nk8s_metrics_authentication_configmap_updates_total 1\n/]);
--- denied_as: fp-other
--- error_log
"requestheader-allowed-names" is not a JSON array of strings: the previous requestheader settings are kept



=== TEST 3: [""] allows only a certificate without a CN, as kube-apiserver compares names
--- timeout: 60
--- configmap: {}
--- init
::steps(::ready(),
        ::set_configmap({'requestheader-allowed-names' => '[""]'}),
        ::wait_metric('updates', 2),
        [GET => "/fp-other$::Nodes", undef, 401],
        [GET => "/fp-no-cn$::Nodes", undef, 200, qr/NodeMetricsList/],
        [GET => "/admin/metrics", undef, 200,
         qr/\nk8s_metrics_authentication_configmap_rejected_total 0\n/]);
--- denied_as: fp
--- error_log
front-proxy certificate "CN=front-proxy-client" is not in k8s_metrics_requestheader_allowed_names



=== TEST 4: a header list that does not parse keeps every list, the allowed names changed with it too
kube-apiserver keeps its lists together: the allowed names emptied (any CN)
in the same change are not taken either.
--- timeout: 60
--- configmap: {}
--- init
::steps(::ready(),
        ::set_configmap({'requestheader-allowed-names' => '[]',
                         'requestheader-username-headers' => 'X-Remote-User'}),
        ::wait_metric('rejected', 1),
        [GET => "/fp$::Nodes", undef, 200, qr/NodeMetricsList/]);
--- denied_as: fp-other
--- error_log
"requestheader-username-headers" is not a JSON array of strings: the previous requestheader settings are kept



=== TEST 5: a list that does not parse with no settings before: no requestheader authentication
kube-apiserver does not start on such a ConfigMap; the module leaves the
front proxy out (its certificates verify against no store: 401) and keeps
the client CA.
--- timeout: 60
--- configmap: {"requestheader-allowed-names": "front-proxy-client"}
--- init
::steps([GET => "/wait?path=/admin$::Nodes&timeout=15000", undef, 200],
        [GET => "/fp-other$::Nodes", undef, 401],
        [GET => "/admin/metrics", undef, 200,
         qr/\nk8s_metrics_authentication_configmap_rejected_total 1\n/]);
--- denied_as: fp
--- error_log
"requestheader-allowed-names" is not a JSON array of strings: the requestheader authentication is not used



=== TEST 6: a rejection is logged and counted once per change, not again when the ConfigMap is listed again
--- timeout: 60
--- configmap: {}
--- init
::steps(::ready(),
        ::set_configmap({'requestheader-group-headers' => '{"X-Remote-Group":1}'}),
        ::wait_metric('rejected', 1),
        [POST => '/apictl/calls/reset', {}, 200],
        [POST => '/apictl/gone', {cut => JSON::PP::true}, 200],
        [GET => '/wait?path=/apictl/calls%3Ftype%3Dlist%26res%3Dconfigmaps'
                . '&match=%22count%22%3A1&timeout=10000', undef, 200],
        [GET => "/fp-other$::Nodes", undef, 401],
        [GET => "/fp$::Nodes", undef, 200]);
Test::More::is(::log_count(qr/"requestheader-group-headers" is not a JSON array/), 1,
               'the rejection logged once');
--- as_admin
--- request
GET /admin/metrics
--- response_body_like eval
qr/\nk8s_metrics_authentication_configmap_rejected_total 1\n/
--- error_log
listing again



=== TEST 7: a client certificate naming two CNs is the last one's user, as kube-apiserver reads it
--- request
GET /x509-two-cn/apis/metrics.k8s.io/v1beta1/nodes
--- error_code: 200
--- response_body eval: $::NodeList
--- response_headers
X-K8s-User: alice
X-K8s-Groups: dev,system:authenticated
X-K8s-Authenticator: x509



=== TEST 8: a front-proxy certificate naming an allowed CN last: allowed, as kube-apiserver compares the last
--- request
GET /fp-cn-last/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
X-Remote-User: carol
--- error_code: 200
--- response_headers
X-K8s-User: carol
X-K8s-Authenticator: requestheader



=== TEST 9: a front-proxy certificate naming an allowed CN first, another last: 401
--- request
GET /fp-cn-first/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
X-Remote-User: carol
--- error_code: 401
--- response_headers
!X-K8s-User
--- error_log
front-proxy certificate "CN=not-allowed-proxy" is not in k8s_metrics_requestheader_allowed_names



=== TEST 10: a raw path with a dot segment, an empty one or an encoded "/" or ".": 404 under always_allow
nginx routes on r->uri (dot segments resolved, %2F decoded, slashes
merged); the aggregator authorized the path as written: namespace ns-evil,
resource "..".  Before the fix, alice read the cluster-wide lists.
--- request eval
[map { "GET $_" } @::Escapes]
--- more_headers
X-Remote-User: alice
--- error_code eval
[(404) x @::Escapes]
--- response_body eval
[($::NotFound) x @::Escapes]
--- error_log eval
qr/path refused: a "\." or "\.\." segment, an empty one, or an encoded "\/", "\." or NUL in "\/(apis|readyz)\//



=== TEST 11: the same for system:masters, which no authorization asks about
--- request eval
[map { "GET $_" } @::Escapes]
--- as_admin
--- error_code eval
[(404) x @::Escapes]
--- response_body eval
[($::NotFound) x @::Escapes]



=== TEST 12: with SubjectAccessReviews: refused before any review is asked
alice may read ns-evil only; no review is asked for a refused path (its
attributes would be another path's).
--- timeout: 40
--- configmap: {}
--- config eval: $::ConfigMapConfig . $::RawFrontProxy
--- request eval
["GET $::ReadyPath",
 "POST /apictl/sar\n{\"rules\":[{\"user\":\"alice\",\"namespace\":\"ns-evil\"}]}",
 "GET $::V1beta1/namespaces/ns-evil/pods",
 "POST /apictl/calls/reset\n{}",
 (map { "GET $_" } @::Escapes),
 "GET /apictl/calls?type=sar"]
--- more_headers
X-Remote-User: alice
--- error_code eval
[200, 200, 200, 200, (404) x @::Escapes, 200]
--- response_body_like eval
["ready", ".", "PodMetricsList", ".", (qr/"reason":"NotFound"/) x @::Escapes, qr/"count":0,/]



=== TEST 13: dots inside names, a trailing slash and %25 are not refused
--- request eval
["GET $::V1beta1/namespaces/default/pods/pod.name-1",
 "GET $::V1beta1/nodes/node.example.com",
 "GET $::V1beta1/nodes/...",
 "GET $::V1beta1/nodes/..a",
 "GET $::V1beta1/nodes/a%252eb",
 "GET $::V1beta1/nodes/",
 "GET $::V1beta1/pods?fieldSelector=metadata.name%3D..",
 "GET /apis/metrics.k8s.io"]
--- more_headers
X-Remote-User: alice
--- error_code eval
[404, 404, 404, 404, 404, 200, 200, 200]
--- response_body_like eval
[qr/"message":"podmetrics.metrics.k8s.io \\"default\/pod.name-1\\" not found"/,
 qr/"message":"nodemetrics.metrics.k8s.io \\"node.example.com\\" not found"/,
 qr/"message":"nodemetrics.metrics.k8s.io \\"...\\" not found"/,
 qr/"message":"nodemetrics.metrics.k8s.io \\"..a\\" not found"/,
 qr/"message":"nodemetrics.metrics.k8s.io \\"a%2eb\\" not found"/,
 qr/^\{"kind":"NodeMetricsList"/, qr/^\{"kind":"PodMetricsList"/, qr/^\{"kind":"APIGroup"/]
--- no_error_log
path refused



=== TEST 14: a NUL and a path above the root never reach the module: nginx refuses them
--- init
::refused_by_nginx();
--- request
GET /fp/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
X-Remote-User: carol
--- error_code: 200
--- no_error_log
path refused



=== TEST 15: over HTTP/2 too
--- init
::refused_over_http2();
--- request
GET /fp/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
X-Remote-User: carol
--- error_code: 200
--- error_log eval
qr/path refused: .* in "\/apis\/metrics.k8s.io\/v1beta1\/namespaces\/ns-evil\/\.\.\/\.\.\/pods"/
