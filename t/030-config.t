# Every configuration mistake fails "nginx -t" with a message that names
# the directive and the reason.

use lib 't/lib';
use K8sMetricsTest;

no_root_location();
no_shuffle();

sub api {
    return K8sMetricsTest::api_server(@_);
}

# Each block is a configuration of its own: without a "--- config" the
# runner would not start nginx for it (Test::Nginx sends such a block to
# the nginx of the block before).
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('config', '    location = /t { return 200 "up\n"; }')
        unless defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: a valid configuration starts
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
    k8s_metrics_authorization always_allow;
})
--- config
    location = /t { return 200 "up\n"; }
--- request
GET /t
--- response_body
up



=== TEST 2: missing CA file
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/no-such-ca.crt;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_client_ca": cannot read CA file ".*no-such-ca.crt"/



=== TEST 3: unreadable CA file (a directory)
--- http_config eval
::api(directives => q{
    k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_requestheader_client_ca": CA file ".*servroot-pki" is not a regular file/



=== TEST 4: a CA file with no certificate
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/empty.crt;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_client_ca": CA file ".*empty.crt" holds no certificate/



=== TEST 5: a CA file with a broken certificate
--- http_config eval
::api(directives => q{
    k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/garbage.crt;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_requestheader_client_ca": CA file ".*garbage.crt" is not valid PEM/



=== TEST 6: webhook authorization (the default) without an apiserver
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_authorization webhook" \(the default\) needs "k8s_metrics_apiserver"/



=== TEST 7: an unknown authorization mode
--- http_config eval
::api(directives => q{
    k8s_metrics_authorization allow_all;
})
--- must_die
--- error_log eval
qr/\[emerg\].*invalid value "allow_all", it must be "webhook" or "always_allow"/



=== TEST 8: k8s_metrics_api without a zone
--- http_config eval
::api(zone => '', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_api" requires "k8s_metrics_zone"/



=== TEST 9: a zone too small
--- http_config eval
::api(zone => 'k8s_metrics_zone metrics:8k;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*zone "metrics:8k" is too small/



=== TEST 10: a zone without a size
--- http_config eval
::api(zone => 'k8s_metrics_zone metrics;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*invalid zone "metrics", it must be NAME:SIZE/



=== TEST 11: two zones
--- http_config eval
::api(zone => 'k8s_metrics_zone a:1m; k8s_metrics_zone b:1m;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_zone" directive is duplicate/



=== TEST 12: a zone inside a server: wrong context
--- http_config eval
::api(zone => '', directives => q{
    k8s_metrics_authorization always_allow;
}) . q{ server { listen 127.0.0.1:$TEST_NGINX_TLS_PORT2; k8s_metrics_zone x:1m; } }
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_zone" directive is not allowed here/



=== TEST 13: k8s_metrics_api at server level: wrong context
--- http_config
    k8s_metrics_zone metrics:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2;
        k8s_metrics_api;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_api" directive is not allowed here/



=== TEST 14: client CAs need ssl_verify_client optional_no_ca
--- http_config
    k8s_metrics_zone metrics:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_PKI/server.crt;
        ssl_certificate_key $TEST_NGINX_PKI/server.key;
        location / {
            k8s_metrics_api;
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
        }
    }
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_client_ca" and "k8s_metrics_requestheader_client_ca" need a TLS server with "ssl_verify_client optional_no_ca"/



=== TEST 15: nginx's own client verification against a bundle is refused
--- http_config
    k8s_metrics_zone metrics:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_PKI/server.crt;
        ssl_certificate_key $TEST_NGINX_PKI/server.key;
        ssl_client_certificate $TEST_NGINX_PKI/ca-bundle-both.crt;
        ssl_verify_client optional;
        location / {
            k8s_metrics_api;
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_authorization always_allow;
        }
    }
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_api" needs "ssl_verify_client optional_no_ca".*never against a merged bundle/



=== TEST 16: a resolution under one second
--- http_config eval
::api(http => 'k8s_metrics_resolution 500ms;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_resolution" directive must be at least 1s/



=== TEST 17: duplicate directives
--- http_config eval
::api(directives => q{
    k8s_metrics_authorization always_allow;
    k8s_metrics_authorization webhook;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_authorization" directive is duplicate/



=== TEST 18: an empty header name
--- http_config eval
::api(directives => q{
    k8s_metrics_authorization always_allow;
    k8s_metrics_requestheader_username_headers "";
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_requestheader_username_headers" takes no empty value/



=== TEST 19: the same file for both CAs without allowed names: a warning
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_authorization always_allow;
})
--- config
    location = /t { return 200 "up\n"; }
--- request
GET /t
--- error_log
every client certificate can assert any identity in X-Remote-* headers



=== TEST 20: ignore_invalid_headers on with a requestheader CA: a warning
--- http_config
    k8s_metrics_zone metrics:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        ssl_certificate $TEST_NGINX_PKI/server.crt;
        ssl_certificate_key $TEST_NGINX_PKI/server.key;
        ssl_verify_client optional_no_ca;
        location / {
            k8s_metrics_api;
            k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/front-proxy-ca.crt;
            k8s_metrics_authorization always_allow;
        }
    }
--- config
    location = /t { return 200 "up\n"; }
--- request
GET /t
--- error_log
are dropped before the module sees them



=== TEST 21: a kubelet timeout above 0.9 x the resolution: scrape cycles would overlap
--- http_config eval
::api(http => "k8s_metrics_resolution 10s;\n    k8s_metrics_kubelet_timeout 9001ms;",
      directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_kubelet_timeout" 9001 ms is more than 0.9 x "k8s_metrics_resolution" 10000 ms: scrape cycles would overlap/



=== TEST 22: a kubelet timeout of exactly 0.9 x the resolution starts
--- http_config eval
::api(http => "k8s_metrics_resolution 10s;\n    k8s_metrics_kubelet_timeout 9s;",
      directives => q{
    k8s_metrics_authorization always_allow;
})
--- request
GET /t
--- response_body
up
