# Reviews against the fake kube-apiserver (t/apiserver), defects found from
# outside: TokenReview and SubjectAccessReview answers cached whole (a user
# with hundreds of groups), within the cache's share of the zone; no
# credential in any log line (a TokenReview answer echoes the token, a
# kubelet or an apiserver may echo the Authorization header); identities
# that are not UTF-8 reach the SubjectAccessReview as Go writes them (each
# bad byte U+FFFD), and NUL bytes in keys and names do not break reviews.

use lib 't/lib';
use K8sMetricsTest;
use File::Path qw(make_path);

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);
our $Api = K8sMetricsTest::fake_apiserver();
our $Peer = $ENV{TEST_NGINX_PEER_PORT};

our $Nodes = '/apis/metrics.k8s.io/v1beta1/nodes';
our $Ready = "GET /wait?path=/admin$Nodes&match=node-00003&timeout=15000";

# the credentials of this suite's own peers, in token files
our $Tokens = K8sMetricsTest::peer_dir('tokens');
make_path($Tokens);
for my $t ('kubelet-echo-token', 'apiserver-echo-token') {
    open my $fh, '>', "$Tokens/$t" or die "$Tokens/$t: $!\n";
    print $fh "$t\n";
    close $fh;
}

push @K8sMetricsTest::Secrets, 'kubelet-echo-token', 'apiserver-echo-token',
     'big-groups-token', 'cut-token', 'nul-key-token';

sub http_config {
    my (%o) = @_;
    my $conf = K8sMetricsTest::api_server(
        zone => 'k8s_metrics_zone metrics:' . ($o{zone} // '4m') . ';',
        http => $o{kubelets} // (q{
    k8s_metrics_kubelet_port $TEST_NGINX_SIM_PORT;
    k8s_metrics_resolution 1s;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
} . K8sMetricsTest::waiter_http()),
        directives => $o{directives}
                      // 'k8s_metrics_authentication_configmap on;');

    # a user name with a NUL byte cannot be a response header
    $conf =~ s/^\s*add_header X-K8s-(?:User|Groups) .*\n//mg
        if $o{no_user_header};

    # the module's own access log, with the identity it mapped
    $conf =~ s/^(\s*server_name localhost;\n)/$1        access_log logs\/module-access.log k8s;\n/m;

    return q{
    log_format k8s '$remote_addr "$request" $status user="$k8s_metrics_user" '
                   'groups="$k8s_metrics_groups" by $k8s_metrics_authenticator';
} . $conf;

}

# /tok/TOKEN/PATH: PATH with "Authorization: Bearer TOKEN" (the answer's
# headers name every group: room for them)
our $TokenLocation = q{
        location ~ ^/tok/([^/]+)(/.*)$ {
            proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT$2;
            proxy_set_header Authorization "Bearer $1";
            proxy_buffer_size 64k;
            proxy_buffers 4 64k;
        }
};

# /NAME/PATH: the front proxy, with these X-Remote-* headers
sub front_proxy_as {
    my ($name, @headers) = @_;
    my $set = '';

    while (my ($h, $v) = splice @headers, 0, 2) {
        $set .= qq{            proxy_set_header $h "$v";\n};
    }

    return qq{
        location /$name/ {
            proxy_pass https://127.0.0.1:\$TEST_NGINX_TLS_PORT/;
            proxy_ssl_certificate \$TEST_NGINX_PKI/front-proxy-client.crt;
            proxy_ssl_certificate_key \$TEST_NGINX_PKI/front-proxy-client.key;
            proxy_ssl_session_reuse off;
$set        }
};
}

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location()
              . K8sMetricsTest::apiserver_control_location() . $TokenLocation
              . q{
        location = /module-access.log {
            alias logs/module-access.log;
            default_type text/plain;
        }
};

# a token's user with N groups of 40 bytes
sub token_with_groups {
    my ($token, $n, $user) = @_;
    return "POST /apictl/token\n" . JSON::PP::encode_json({
        token => $token, username => $user // "user-of-$token",
        groups => [map { sprintf 'group-%04d-of-a-large-organization-xx', $_ } 1 .. $n]});
}

# three requests of a user with 300 groups, then the TokenReviews asked
sub big_groups_requests {
    return [$Ready, token_with_groups('big-groups-token', 300),
            ("GET /tok/big-groups-token$Nodes") x 3,
            "GET /apictl/calls?type=tokenreview"];
}

sub groups_header {
    my $n = shift;
    return join(',', map { sprintf 'group-%04d-of-a-large-organization-xx', $_ } 1 .. $n)
           . ',system:authenticated';
}

# "GET /apictl/calls?type=T" answers: the specs asked, one JSON per line
sub specs {
    my $body = shift;
    return $body unless $body =~ /^\{.*"calls":\[/s;
    my $calls = JSON::PP->new->utf8->decode($body)->{calls};
    return join '', map { JSON::PP->new->canonical->ascii->encode($_->{spec}) . "\n" } @$calls;
}

K8sMetricsTest::block_defaults(http_config => http_config(), config => $Config);

run_tests();

__DATA__

=== TEST 1: a TokenReview naming 300 groups (12 KB) is cached whole: three requests, one identity, one review
The answer was cut to 4 KiB in the cache: 200 401 401 within 10 s.
--- timeout: 30
--- http_config eval: ::http_config(directives => "k8s_metrics_authorization always_allow; k8s_metrics_authentication_configmap on;")
--- request eval
::big_groups_requests()
--- response_headers_like eval
["", "", ("X-K8s-Groups: " . ::groups_header(300) . "\$") x 3, ""]
--- response_body_like eval
["ready", ".", ("NodeMetricsList") x 3, qr/"count":1,/]
--- error_code eval
[(200) x 6]



=== TEST 2: an answer too large for the cache's share of the zone is not cached, never cut
A 256 KiB zone: the cache takes 32 KiB of it, an answer at most 4 KiB; this
one is 12 KiB: every request asks again, and gets the whole identity.
--- timeout: 30
--- http_config eval: ::http_config(zone => '256k', directives => "k8s_metrics_authorization always_allow; k8s_metrics_authentication_configmap on;")
--- request eval
::big_groups_requests()
--- response_headers_like eval
["", "", ("X-K8s-Groups: " . ::groups_header(300) . "\$") x 3, ""]
--- response_body_like eval
["ready", ".", ("NodeMetricsList") x 3, qr/"count":3,/]
--- error_code eval
[(200) x 6]



=== TEST 3: a full cache makes room by dropping its oldest answers, not all of them
Ten answers of 4 KiB in the slab (60 groups) into 32 KiB: the first ones
go, the last stay.  A cache that dropped everything when full, or had no
share, would answer the last again from the cache.
--- timeout: 40
--- http_config eval: ::http_config(zone => '256k', directives => "k8s_metrics_authorization always_allow; k8s_metrics_authentication_configmap on;")
--- request eval
[$::Ready,
 (map { ::token_with_groups(sprintf('cache-token-%02d', $_), 60) } 1 .. 10),
 (map { sprintf "GET /tok/cache-token-%02d$::Nodes", $_ } 1 .. 10),
 "GET /tok/cache-token-10$::Nodes",
 "GET /tok/cache-token-09$::Nodes",
 "GET /tok/cache-token-01$::Nodes",
 "GET /apictl/calls?type=tokenreview"]
--- error_code eval
[(200) x 25]
--- response_body_filters eval
[\&::specs]
--- response_body_like eval
["ready", (".") x 10, ("NodeMetricsList") x 13,
 '^' . CORE::join('', map { sprintf '\{"token":"cache-token-%02d"\}\n', $_ } 1 .. 10, 1) . '$']



=== TEST 4: a TokenReview answer that is not JSON: a 401, and the token it echoes is in no log
The answer is cut after 160 bytes, spec.token among them (every block of
every suite checks its error log for the suites' tokens).
--- timeout: 30
--- init
$::Api->mode(tokenreview_truncate => 160);
--- request eval
"GET /tok/cut-token$::Nodes"
--- error_code: 401
--- response_body_like: "reason":"Unauthorized"
--- error_log eval
qr/TokenReview \(POST https:\/\/127\.0\.0\.1:\d+\/apis\/authentication\.k8s\.io\/v1\/tokenreviews\) failed: HTTP 201: the answer \(16\d bytes\) is not JSON: line 1, column \d+, client: /



=== TEST 5: the same, twice: the apiserver was asked each time, and the module's access log has no token either
--- timeout: 30
--- request eval
["POST /apictl/mode\n{\"tokenreview_truncate\":160}",
 "GET /tok/cut-token$::Nodes", "GET /tok/alice-token$::Nodes",
 "GET /apictl/calls?type=tokenreview", "GET /module-access.log"]
--- error_code eval
[200, 401, 401, 200, 200]
--- response_body_like eval
[".", qr/"reason":"Unauthorized"/, qr/"reason":"Unauthorized"/,
 qr/"count":2,.*"token":"cut-token".*"token":"alice-token"/s,
 qr/^(?!.*(?:cut|alice)-token)(?:.*?"GET \/apis\/metrics\.k8s\.io\/v1beta1\/nodes HTTP\/1\.[01]" 401 ){2}/s]



=== TEST 6: a kubelet that echoes the Authorization header in its error: the token is in neither the log nor /metrics
--- timeout: 30
--- http_config eval
::http_config(zone => '1m',
    directives => "k8s_metrics_client_ca \$TEST_NGINX_PKI/ca.crt;\n"
                  . "            k8s_metrics_authorization always_allow;",
    kubelets => qq{
    k8s_metrics_resolution 1s;
    k8s_metrics_kubelet_ca \$TEST_NGINX_PKI/ca.crt;
    k8s_metrics_kubelet_token_file $::Tokens/kubelet-echo-token;
    k8s_metrics_node node-echo 127.0.0.1:$::Peer;
    server {
        listen 127.0.0.1:$::Peer ssl;
        ssl_certificate \$TEST_NGINX_PKI/server.crt;
        ssl_certificate_key \$TEST_NGINX_PKI/server.key;
        location / { return 500 "refused, you sent \$http_authorization, go away"; }
    }
} . K8sMetricsTest::waiter_http())
--- init
K8sMetricsTest::wait_until(sub {
    (K8sMetricsTest::metrics() // {})->{'k8s_metrics_scrapes_total{node="node-echo",result="failure"}'}
}, 15) or die "node-echo was not scraped\n";
--- request
GET /admin/metrics
--- response_body_like eval
qr/^(?!.*kubelet-echo-token).*reason="the kubelet answered HTTP 500: \\"refused, you sent Bearer \*{18}, go away\\""/s
--- error_log eval
qr/scraping node "node-echo" .* failed: the kubelet answered HTTP 500: "refused, you sent Bearer \*{18}, go away"/



=== TEST 7: an apiserver Status that echoes the Authorization header: its message is logged without the token
--- timeout: 30
--- http_config eval
::http_config(zone => '1m', kubelets => qq{
    k8s_metrics_apiserver https://127.0.0.1:$::Peer;
    k8s_metrics_apiserver_ca \$TEST_NGINX_PKI/ca.crt;
    k8s_metrics_apiserver_token_file $::Tokens/apiserver-echo-token;
    server {
        listen 127.0.0.1:$::Peer ssl;
        ssl_certificate \$TEST_NGINX_PKI/apiserver.crt;
        ssl_certificate_key \$TEST_NGINX_PKI/apiserver.key;
        location / {
            default_type application/json;
            return 403 '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes is forbidden for \$http_authorization\\\\n[crit] forged","reason":"Forbidden","code":403}';
        }
    }
} . K8sMetricsTest::waiter_http(), directives => "k8s_metrics_authorization always_allow;")
--- request
GET /wait?path=/anon/readyz&timeout=2500
--- error_code: 504
--- error_log eval
qr/listing nodes \(GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/nodes\?limit=500\) failed: HTTP 403: nodes is forbidden for Bearer \*{20} \[crit\] forged$/m
--- no_error_log eval
qr/^\[crit\] forged/



=== TEST 8: credentials in the apiserver URL are refused (they would be in every log line naming it)
--- http_config eval
::http_config(kubelets => q{
    k8s_metrics_apiserver https://user:secret-password@127.0.0.1:6443;
    k8s_metrics_apiserver_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_apiserver_token_file $TEST_NGINX_PKI/ca.crt;
}, directives => "k8s_metrics_authorization always_allow;")
--- must_die
--- error_log eval
qr/\[emerg\].*invalid apiserver: credentials in the URL \(USER:PASSWORD@\) are not supported/
--- no_error_log
secret-password



=== TEST 9: a group and an extra value that are not UTF-8 reach the SubjectAccessReview as U+FFFD, and an authorizer that denies by group sees them
Go's encoding/json writes each byte that is not UTF-8 as U+FFFD and keeps
the value; the review was sent without them (jansson refused the string),
and the default allowed.  Another identity that maps to the same text asks
the same review, and shares its answer.
--- timeout: 30
--- config eval
$::Config . ::front_proxy_as('fp-fe', 'X-Remote-User' => 'carol', 'X-Remote-Group' => "sys\xfetem:masters", 'X-Remote-Extra-Scopes' => "re\xfead")
--- more_headers eval
"X-Remote-User: carol\nX-Remote-Group: sys\xfftem:masters\nX-Remote-Extra-Scopes: re\xffad"
--- request eval
[$::Ready,
 "POST /apictl/sar\n" . '{"rules":[{"group":"sys\ufffdtem:masters","allowed":false,"denied":true,"reason":"no look-alike of system:masters"}],"default":"allow"}',
 "GET /fp$::Nodes", "GET /fp-fe$::Nodes", "GET /apictl/calls?type=sar"]
--- error_code eval
[200, 200, 403, 403, 200]
--- response_body_filters eval
[\&::specs]
--- response_body_like eval
["ready", ".", qr/no look-alike of system:masters/, qr/no look-alike of system:masters/,
 qr/^\{"extra":\{"scopes":\["re\\ufffdad"\]\},"groups":\["sys\\ufffdtem:masters","system:authenticated"\],"resourceAttributes":\{[^}]+\},"user":"carol"\}\n$/]



=== TEST 10: each byte that is not UTF-8 is one U+FFFD, as Go's utf8.DecodeRune() reads them
A truncated sequence, a surrogate, an overlong form, a code point over
U+10FFFF, a lone continuation byte; valid UTF-8 (and U+FFFD itself) kept.
--- timeout: 30
--- more_headers eval
CORE::join "\n", "X-Remote-User: carol\xc3", map { "X-Remote-Group: $_" }
    "a\xe2\x82", "b\xed\xa0\x80", "c\xc0\xaf", "d\xf4\x90\x80\x80", "e\x80", "caf\xc3\xa9",
    "ok\xef\xbf\xbd", "\xf0\x9f\x99\x82"
--- request eval
[$::Ready, "POST /apictl/sar\n{\"default\":\"allow\"}", "GET /fp$::Nodes", "GET /apictl/calls?type=sar"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_filters eval
[\&::specs]
--- response_body_like eval
["ready", ".", "NodeMetricsList",
 qr/^\{"groups":\["a\\ufffd\\ufffd","b\\ufffd\\ufffd\\ufffd","c\\ufffd\\ufffd","d\\ufffd\\ufffd\\ufffd\\ufffd","e\\ufffd","caf\\u00e9","ok\\ufffd","\\ud83d\\ude42","system:authenticated"\],"resourceAttributes":\{[^}]+\},"user":"carol\\ufffd"\}\n$/]



=== TEST 11: an extra key that decodes to NUL (X-Remote-Extra-%00): 200 or 403 as the authorizer says, and cached
The SubjectAccessReview echoes the key in its answer ("\u0000"): that
answer did not parse, every request was a 500, and none was cached.
--- timeout: 30
--- config eval
$::Config . ::front_proxy_as('fp-dave', 'X-Remote-User' => 'dave')
--- more_headers
X-Remote-User: carol
X-Remote-Extra-%00: nul
--- request eval
[$::Ready,
 "POST /apictl/sar\n" . '{"rules":[{"user":"dave","allowed":false,"denied":true,"reason":"not dave"}],"default":"allow"}',
 "GET /fp$::Nodes", "GET /fp$::Nodes", "GET /fp-dave$::Nodes", "GET /fp-dave$::Nodes",
 "GET /apictl/calls?type=sar"]
--- error_code eval
[200, 200, 200, 200, 403, 403, 200]
--- response_body_filters eval
[\&::specs]
--- response_body_like eval
["ready", ".", "NodeMetricsList", "NodeMetricsList", qr/not dave/, qr/not dave/,
 qr/^\{"extra":\{"\\u0000":\["nul"\]\},"groups":\["system:authenticated"\],"resourceAttributes":\{[^}]+\},"user":"carol"\}\n\{"extra":\{"\\u0000":\["nul"\]\},"groups":\["system:authenticated"\],"resourceAttributes":\{[^}]+\},"user":"dave"\}\n$/]
--- no_error_log
SubjectAccessReview (POST



=== TEST 12: a TokenReview naming a user with a NUL byte: the whole name, never cut at the NUL
The answer did not parse (a 401); cut at the NUL it would be another user.
--- timeout: 30
--- http_config eval: ::http_config(no_user_header => 1)
--- request eval
[$::Ready,
 "POST /apictl/token\n" . '{"token":"nul-user-token","username":"admin\u0000-not","groups":["dev\u0000ops"]}',
 "POST /apictl/sar\n" . '{"rules":[{"user":"admin","allowed":true}],"default":"deny"}',
 "GET /tok/nul-user-token$::Nodes", "GET /apictl/calls?type=sar"]
--- error_code eval
[200, 200, 200, 403, 200]
--- response_body_filters eval
[\&::specs]
--- response_body_like eval
["ready", ".", ".", qr/"reason":"Forbidden"/,
 qr/^\{"groups":\["dev\\u0000ops","system:authenticated"\],"resourceAttributes":\{[^}]+\},"user":"admin\\u0000-not"\}\n$/]



=== TEST 13: a TokenReview whose user has an extra key with a NUL byte: not authenticated, and the answer is not logged
jansson cannot hold such a key: the review fails closed.
--- timeout: 30
--- init
$::Api->set_token(token => 'nul-key-token', username => 'erin', extra => {"\0" => ['x']});
--- request eval
"GET /tok/nul-key-token$::Nodes"
--- error_code: 401
--- error_log eval
qr/TokenReview \(POST \S+\) failed: HTTP 201: the answer \(\d+ bytes\) has a key with a NUL byte, which jansson cannot hold: line 1, column \d+/



=== TEST 14: a bearer token that is not UTF-8 is not authenticated (a 401, not a 500), and not sent
--- timeout: 30
--- request eval
[$::Ready, "GET /tok/caf%E9-token$::Nodes", "GET /apictl/calls?type=tokenreview"]
--- error_code eval
[200, 401, 200]
--- response_body_like eval
["ready", qr/"reason":"Unauthorized"/, qr/"count":0,/]



=== TEST 15: an annotation with a NUL byte ("\u0000") does not stop the pod informer
An annotation is any string: the event did not parse, nor did the lists
that followed it, and the pods stayed as they were (a removed one served).
--- timeout: 40
--- request eval
[$::Ready,
 "POST /apictl/pod/modify\n" . '{"namespace":"default","name":"pod-00001-000","annotations":{"note":"a\u0000b"}}',
 "POST /apictl/pod/remove\n" . '{"namespace":"default","name":"pod-00002-000"}',
 "GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods&absent=pod-00002-000&timeout=10000",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
["ready", ".", ".", "ready", qr/"name":"pod-00001-000","namespace":"default"/]
--- no_error_log
is not a list
is not JSON
