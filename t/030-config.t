# Every configuration mistake fails "nginx -t" with a message that names
# the directive, the reason, and where (file:line, as ngx_conf_log_error()
# writes it: the directive's line, or the end of the block checked).

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
K8sMetricsTest::block_defaults(config => '    location = /t { return 200 "up\n"; }');

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
qr/\[emerg\].*"k8s_metrics_client_ca": cannot read CA file ".*no-such-ca.crt".* in \S+nginx\.conf:\d+/



=== TEST 3: unreadable CA file (a directory)
--- http_config eval
::api(directives => q{
    k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_requestheader_client_ca": CA file ".*-pki" is not a regular file.* in \S+nginx\.conf:\d+/



=== TEST 4: a CA file with no certificate
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/empty.crt;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_client_ca": CA file ".*empty.crt" holds no certificate.* in \S+nginx\.conf:\d+/



=== TEST 5: a CA file with a broken certificate
--- http_config eval
::api(directives => q{
    k8s_metrics_requestheader_client_ca $TEST_NGINX_PKI/garbage.crt;
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_requestheader_client_ca": CA file ".*garbage.crt" is not valid PEM.* in \S+nginx\.conf:\d+/



=== TEST 6: webhook authorization (the default) without an apiserver
--- http_config eval
::api(directives => q{
    k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_authorization webhook" \(the default\) needs "k8s_metrics_apiserver".* in \S+nginx\.conf:\d+/



=== TEST 7: an unknown authorization mode
--- http_config eval
::api(directives => q{
    k8s_metrics_authorization allow_all;
})
--- must_die
--- error_log eval
qr/\[emerg\].*invalid value "allow_all", it must be "webhook" or "always_allow".* in \S+nginx\.conf:\d+/



=== TEST 8: k8s_metrics_api without a zone
--- http_config eval
::api(zone => '', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_api" requires "k8s_metrics_zone".* in \S+nginx\.conf:\d+/



=== TEST 9: a zone too small
--- http_config eval
::api(zone => 'k8s_metrics_zone metrics:8k;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*zone "metrics:8k" is too small.* in \S+nginx\.conf:\d+/



=== TEST 10: a zone without a size
--- http_config eval
::api(zone => 'k8s_metrics_zone metrics;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*invalid zone "metrics", it must be NAME:SIZE.* in \S+nginx\.conf:\d+/



=== TEST 11: two zones
--- http_config eval
::api(zone => 'k8s_metrics_zone a:1m; k8s_metrics_zone b:1m;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_zone" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 12: a zone inside a server: wrong context
--- http_config eval
::api(zone => '', directives => q{
    k8s_metrics_authorization always_allow;
}) . q{ server { listen 127.0.0.1:$TEST_NGINX_TLS_PORT2; k8s_metrics_zone x:1m; } }
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_zone" directive is not allowed here.* in \S+nginx\.conf:\d+/



=== TEST 13: k8s_metrics_api at server level: wrong context
--- http_config
    k8s_metrics_zone metrics:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2;
        k8s_metrics_api;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_api" directive is not allowed here.* in \S+nginx\.conf:\d+/



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
qr/\[emerg\].*"k8s_metrics_client_ca" and "k8s_metrics_requestheader_client_ca" need a TLS server with "ssl_verify_client optional_no_ca".* in \S+nginx\.conf:\d+/



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
qr/\[emerg\].*"k8s_metrics_api" needs "ssl_verify_client optional_no_ca".*never against a merged bundle.* in \S+nginx\.conf:\d+/



=== TEST 16: a resolution under one second
--- http_config eval
::api(http => 'k8s_metrics_resolution 500ms;', directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_resolution" directive must be at least 1s.* in \S+nginx\.conf:\d+/



=== TEST 17: duplicate directives
--- http_config eval
::api(directives => q{
    k8s_metrics_authorization always_allow;
    k8s_metrics_authorization webhook;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_authorization" directive is duplicate.* in \S+nginx\.conf:\d+/



=== TEST 18: an empty header name
--- http_config eval
::api(directives => q{
    k8s_metrics_authorization always_allow;
    k8s_metrics_requestheader_username_headers "";
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_requestheader_username_headers" takes no empty value.* in \S+nginx\.conf:\d+/



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
--- error_log eval
qr/\[warn\].*every client certificate can assert any identity in X-Remote-\* headers in \S+nginx\.conf:\d+/



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
--- error_log eval
qr/\[warn\].*are dropped before the module sees them in \S+nginx\.conf:\d+/



=== TEST 21: k8s_metrics_kubelet_insecure_tls with a kubelet CA
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node node-a 127.0.0.1:10250;
    k8s_metrics_kubelet_insecure_tls on;
    k8s_metrics_kubelet_ca $TEST_NGINX_PKI/ca.crt;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_kubelet_insecure_tls on" conflicts with "k8s_metrics_kubelet_ca".* in \S+nginx\.conf:\d+/



=== TEST 22: kubelets without a CA
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node node-a 127.0.0.1:10250;
--- must_die
--- error_log eval
qr/\[emerg\].*kubelets need "k8s_metrics_kubelet_ca" to verify their serving certificates.* in \S+nginx\.conf:\d+/



=== TEST 23: a node defined twice
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node node-a 127.0.0.1:10250;
    k8s_metrics_node node-a 127.0.0.2:10250;
    k8s_metrics_kubelet_insecure_tls on;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_node" "node-a" is defined twice.* in \S+nginx\.conf:\d+/



=== TEST 24: a node without a zone
--- http_config
    k8s_metrics_node node-a 127.0.0.1:10250;
    k8s_metrics_kubelet_insecure_tls on;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_node" requires "k8s_metrics_zone".* in \S+nginx\.conf:\d+/



=== TEST 25: a kubelet client certificate without its key
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node node-a 127.0.0.1:10250;
    k8s_metrics_kubelet_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_kubelet_client_certificate $TEST_NGINX_PKI/client-alice.crt;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_kubelet_client_certificate" and "k8s_metrics_kubelet_client_certificate_key" go together.* in \S+nginx\.conf:\d+/



=== TEST 26: a kubelet token file that cannot be read
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node node-a 127.0.0.1:10250;
    k8s_metrics_kubelet_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_kubelet_token_file $TEST_NGINX_PKI/no-such-token;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_kubelet_token_file": cannot read ".*no-such-token".* in \S+nginx\.conf:\d+/



=== TEST 27: an apiserver without a CA
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_apiserver https://127.0.0.1:6443;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_apiserver" needs "k8s_metrics_apiserver_ca" to verify the apiserver.* in \S+nginx\.conf:\d+/



=== TEST 28: an apiserver without credentials
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_apiserver https://127.0.0.1:6443;
    k8s_metrics_apiserver_ca $TEST_NGINX_PKI/ca.crt;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_apiserver" needs credentials.* in \S+nginx\.conf:\d+/



=== TEST 29: an apiserver CA file with no certificate
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_apiserver https://127.0.0.1:6443;
    k8s_metrics_apiserver_ca $TEST_NGINX_PKI/empty.crt;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_apiserver_ca": CA file ".*empty.crt" holds no certificate.* in \S+nginx\.conf:\d+/



=== TEST 30: a node selector without an apiserver
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node_selector role=worker;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_node_selector" selects among the nodes of "k8s_metrics_apiserver", which is not set.* in \S+nginx\.conf:\d+/



=== TEST 31: static nodes and an apiserver
--- http_config
    k8s_metrics_zone metrics:1m;
    k8s_metrics_node node-a 127.0.0.1:10250;
    k8s_metrics_apiserver https://127.0.0.1:6443;
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_node" conflicts with "k8s_metrics_apiserver".* in \S+nginx\.conf:\d+/



=== TEST 32: a kubelet timeout above 0.9 x the resolution: scrape cycles would overlap
--- http_config eval
::api(http => "k8s_metrics_resolution 10s;\n    k8s_metrics_kubelet_timeout 9001ms;",
      directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_kubelet_timeout" 9001 ms is more than 0.9 x "k8s_metrics_resolution" 10000 ms: scrape cycles would overlap.* in \S+nginx\.conf:\d+/



=== TEST 33: a kubelet timeout of exactly 0.9 x the resolution starts
--- http_config eval
::api(http => "k8s_metrics_resolution 10s;\n    k8s_metrics_kubelet_timeout 9s;",
      directives => q{
    k8s_metrics_authorization always_allow;
})
--- request
GET /t
--- response_body
up



=== TEST 34: a share threshold below 2
--- http_config eval
::api(http => "k8s_metrics_scrape_share_threshold 1;",
      directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_scrape_share_threshold" directive must be at least 2: one node is not shared in \S+nginx\.conf:\d+/



=== TEST 35: a share threshold above 10000000
--- http_config eval
::api(http => "k8s_metrics_scrape_share_threshold 10000001;",
      directives => q{
    k8s_metrics_authorization always_allow;
})
--- must_die
--- error_log eval
qr/\[emerg\].*"k8s_metrics_scrape_share_threshold" directive must be at most 10000000 in \S+nginx\.conf:\d+/
