# The security matrix: every way of getting a forged identity through.
# A header is believed only after the presenting chain verified against
# the requestheader CA with the clientAuth purpose and an allowed CN; a
# certificate that no CA store vouches for is a 401, never anonymous.
# Each case asserts the status, the Status body and the identity mapped
# (echoed by the server in X-K8s-* headers).

use lib 't/lib';
use K8sMetricsTest;

no_root_location();
no_shuffle();

our $Directives = q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_requestheader_allowed_names front-proxy-client;
            k8s_metrics_authorization always_allow;
};

our $HttpConfig = K8sMetricsTest::api_server(directives => $Directives);
our $Config = K8sMetricsTest::personas();

our $Unauthorized = qq{{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n};
our $NodeList = qq{{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[]}\n};
our $Nodes = '/apis/metrics.k8s.io/v1beta1/nodes';

sub with_directives {
    return K8sMetricsTest::api_server(directives => shift);
}

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

add_block_preprocessor(sub {
    my $block = shift;

    # "--- who: NAME" requests the node list as persona NAME
    if (defined $block->who) {
        (my $who = $block->who) =~ s/\s+$//;
        $block->set_value('request', "GET /$who$Nodes");
    }

    if (defined $block->denied) {
        $block->set_value('error_code', 401);
        $block->set_value('response_body', $Unauthorized);
        $block->set_value('response_headers',
                          "!X-K8s-User\n!X-K8s-Groups\n!X-K8s-Authenticator");
    }
});

run_tests();

__DATA__

=== TEST 1: no certificate, forged X-Remote-* headers: anonymous, headers ignored
--- who: anon
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- error_code: 403
--- response_body_like: User \\"system:anonymous\\" cannot list resource \\"nodes\\"
--- response_headers
X-K8s-User: system:anonymous
X-K8s-Groups: system:unauthenticated
X-K8s-Authenticator: anonymous



=== TEST 2: client-CA certificate with forged X-Remote-* headers: the CN, headers ignored
--- who: alice
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- error_code: 200
--- response_body eval: $::NodeList
--- response_headers
X-K8s-User: alice
X-K8s-Groups: dev,qa,system:authenticated
X-K8s-Authenticator: x509



=== TEST 3: the front proxy with its headers: the user it names
--- who: fp
--- more_headers
X-Remote-User: bob
X-Remote-Group: g1
--- error_code: 200
--- response_body eval: $::NodeList
--- response_headers
X-K8s-User: bob
X-K8s-Groups: g1,system:authenticated
X-K8s-Authenticator: requestheader



=== TEST 4: front-proxy CA certificate whose CN is not allowed: 401
--- who: fp-other
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- denied
--- error_log
front-proxy certificate "CN=not-allowed-proxy" is not in k8s_metrics_requestheader_allowed_names



=== TEST 5: expired front-proxy certificate: 401 in JSON, not nginx's 400 page
--- who: fp-expired
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- denied
--- error_log
certificate has expired
--- no_error_log
client SSL certificate verify error



=== TEST 6: front-proxy certificate not valid yet: 401
--- who: fp-notyet
--- more_headers
X-Remote-User: admin
--- denied
--- error_log
certificate is not yet valid



=== TEST 7: front-proxy certificate without the clientAuth usage: 401
--- who: fp-serverauth
--- more_headers
X-Remote-User: admin
--- denied
--- error_log
unsuitable certificate purpose



=== TEST 8: self-signed certificate with the allowed CN: 401
--- who: fp-selfsigned
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- denied



=== TEST 9: certificate from an unknown CA (O=system:masters): 401
--- who: unknown
--- more_headers
X-Remote-User: admin
--- denied



=== TEST 10: cluster-CA certificate with the front proxy's CN: an x509 user, headers ignored
--- who: as-fp
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- error_code: 200
--- response_headers
X-K8s-User: front-proxy-client
X-K8s-Groups: system:authenticated
X-K8s-Authenticator: x509



=== TEST 11: front proxy presenting a chain through an intermediate CA
--- who: fp-chained
--- more_headers
X-Remote-User: carol
--- error_code: 200
--- response_headers
X-K8s-User: carol
X-K8s-Groups: system:authenticated
X-K8s-Authenticator: requestheader



=== TEST 12: verified front proxy naming no user: next authenticator, which refuses it
--- who: fp
--- more_headers
X-Remote-Group: system:masters
--- denied
--- error_log
verified front-proxy certificate but no username header



=== TEST 13: an empty username header names no user
--- who: fp
--- more_headers
X-Remote-User: 
X-Remote-Group: system:masters
--- denied



=== TEST 14: header names are case-insensitive
--- who: fp
--- more_headers
x-remote-user: dave
X-REMOTE-GROUP: g2
--- error_code: 200
--- response_headers
X-K8s-User: dave
X-K8s-Groups: g2,system:authenticated



=== TEST 15: several group headers: every value, in order; empty values skipped
--- who: fp
--- more_headers
X-Remote-User: erin
X-Remote-Group: a
X-Remote-Group: 
X-Remote-Group: b
--- error_code: 200
--- response_headers
X-K8s-Groups: a,b,system:authenticated



=== TEST 16: several username headers: the first one wins
--- who: fp
--- more_headers
X-Remote-User: eve
X-Remote-User: mallory
--- error_code: 200
--- response_headers
X-K8s-User: eve



=== TEST 17: extra headers: key lower-cased then percent-decoded; bad escapes kept
--- who: fp
--- log_level: debug
--- more_headers
X-Remote-User: frank
X-Remote-Extra-Scopes: read
X-Remote-Extra-Scopes: write
X-Remote-Extra-Example.Com%2FTeam: blue
X-Remote-Extra-Bad%zzKey: v
--- error_code: 200
--- error_log
k8s metrics: user "frank" uid "" groups: "system:authenticated" extra: "scopes"=["read","write"] "example.com/team"=["blue"] "bad%zzkey"=["v"]



=== TEST 18: extra headers of a request not authenticated by requestheader are ignored
--- who: alice
--- log_level: debug
--- more_headers
X-Remote-Extra-Scopes: admin
--- error_code: 200
--- error_log
k8s metrics: user "alice" uid "" groups: "dev","qa","system:authenticated" extra:
--- no_error_log
"scopes"



=== TEST 19: expired client-CA certificate: 401 even with anonymous on
--- who: alice-expired
--- denied
--- error_log
certificate has expired



=== TEST 20: client-CA certificate without clientAuth: 401
--- who: alice-serverauth
--- denied



=== TEST 21: client certificate without O: only system:authenticated
--- who: bob
--- error_code: 200
--- response_headers
X-K8s-User: bob
X-K8s-Groups: system:authenticated



=== TEST 22: a failing certificate is not anonymous even on an always-allowed path
--- request
GET /unknown/readyz
--- denied



=== TEST 23: k8s_metrics_anonymous off: no credentials is 401, a client cert still works
--- http_config eval
::with_directives($::Directives . "k8s_metrics_anonymous off;")
--- request eval
["GET /anon$::Nodes", "GET /anon/healthz", "GET /alice$::Nodes"]
--- error_code eval
[401, 401, 200]
--- response_body eval
[$::Unauthorized, $::Unauthorized, $::NodeList]



=== TEST 24: custom header names: only those are read
--- http_config eval
::with_directives($::Directives . q{
            k8s_metrics_requestheader_username_headers X-Custom-User X-Other-User;
            k8s_metrics_requestheader_group_headers X-Custom-Group;
            k8s_metrics_requestheader_extra_headers_prefix X-Custom-Extra-;
            k8s_metrics_requestheader_uid_headers X-Custom-Uid;
})
--- who: fp
--- log_level: debug
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
X-Remote-Extra-Scopes: all
X-Other-User: grace
X-Custom-Group: team
X-Custom-Extra-Level: 3
X-Custom-Uid: 1234-abcd
--- error_code: 200
--- response_headers
X-K8s-User: grace
X-K8s-Groups: team,system:authenticated
--- error_log
k8s metrics: user "grace" uid "1234-abcd" groups: "team","system:authenticated" extra: "level"=["3"]



=== TEST 25: custom header names: the default X-Remote-User names no one
--- http_config eval
::with_directives($::Directives . q{
            k8s_metrics_requestheader_username_headers X-Custom-User;
})
--- who: fp
--- more_headers
X-Remote-User: admin
--- denied



=== TEST 26: allowed names match exactly, not as a prefix
--- http_config eval
::with_directives(q{
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_requestheader_allowed_names front-proxy front-proxy-client-x;
            k8s_metrics_authorization always_allow;
})
--- who: fp
--- more_headers
X-Remote-User: admin
--- denied



=== TEST 27: several allowed names: any of them
--- http_config eval
::with_directives(q{
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_requestheader_allowed_names aggregator front-proxy-client;
            k8s_metrics_authorization always_allow;
})
--- who: fp
--- more_headers
X-Remote-User: heidi
--- error_code: 200
--- response_headers
X-K8s-User: heidi



=== TEST 28: no allowed names: any CN the requestheader CA signed
--- http_config eval
::with_directives(q{
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_authorization always_allow;
})
--- who: fp-other
--- more_headers
X-Remote-User: ivan
--- error_code: 200
--- response_headers
X-K8s-User: ivan
X-K8s-Authenticator: requestheader



=== TEST 29: requestheader CA only: a client-CA certificate is 401
--- http_config eval
::with_directives(q{
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_authorization always_allow;
})
--- who: alice
--- more_headers
X-Remote-User: admin
--- denied



=== TEST 30: no CA at all: a presented certificate is 401, no certificate is anonymous
--- http_config eval
::with_directives(q{
            k8s_metrics_authorization always_allow;
})
--- request eval
["GET /alice/healthz", "GET /anon/healthz"]
--- error_code eval
[401, 200]
--- response_body eval
[$::Unauthorized, "ok"]



=== TEST 31: the two stores are never merged: a front-proxy certificate is no x509 user
--- http_config eval
::with_directives(q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_requestheader_allowed_names someone-else;
            k8s_metrics_authorization always_allow;
})
--- who: fp
--- denied



=== TEST 32: a bundle of both CAs as client CA lets a front-proxy cert in only as its CN
--- http_config eval
::with_directives(q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca-bundle-both.crt;
            k8s_metrics_authorization always_allow;
})
--- who: fp
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- error_code: 200
--- response_headers
X-K8s-User: front-proxy-client
X-K8s-Authenticator: x509



=== TEST 33: headers with underscores are not headers
--- who: fp
--- raw_request eval
"GET /fp$::Nodes HTTP/1.1\r\nHost: localhost\r\nX_Remote_User: admin\r\nConnection: close\r\n\r\n"
--- denied



=== TEST 34: the identity over HTTP/1.1 without SNI is the same
--- config eval
$::Config . q{
        location = /nosni {
            proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT/apis/metrics.k8s.io/v1beta1/nodes;
            proxy_ssl_certificate $TEST_NGINX_PKI/front-proxy-client.crt;
            proxy_ssl_certificate_key $TEST_NGINX_PKI/front-proxy-client.key;
            proxy_ssl_server_name off;
        }
}
--- request
GET /nosni
--- more_headers
X-Remote-User: judy
--- error_code: 200
--- response_headers
X-K8s-User: judy



=== TEST 35: a chain through an intermediate, on a client that resumes TLS sessions
--- config eval
$::Config . q{
        location /resume/ {
            proxy_pass https://127.0.0.1:$TEST_NGINX_TLS_PORT/;
            proxy_ssl_certificate $TEST_NGINX_PKI/front-proxy-chained-bundle.crt;
            proxy_ssl_certificate_key $TEST_NGINX_PKI/front-proxy-chained.key;
            proxy_ssl_session_reuse on;
        }
}
--- request eval
["GET /resume$::Nodes", "GET /resume$::Nodes", "GET /resume$::Nodes"]
--- more_headers
X-Remote-User: carol
--- error_code eval
[200, 200, 200]
--- response_headers eval
[("X-K8s-User: carol\nX-K8s-Authenticator: requestheader\n") x 3]
