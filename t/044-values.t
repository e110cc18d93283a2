# What a kubelet's values become (issue 10, items 3 and 5), end to end:
# real nginx scraping kubelets that the test's own nginx plays over
# verified TLS, each answering a fixed body stamped with the time of the
# request (so two scrapes make a window; the CPU counters stand still).
#
# - A value the store cannot keep (negative, NaN, an infinity, beyond 2^64
#   nanoseconds or bytes, a start time beyond 2^63 ms) fails its node, with
#   the metric named in the log and in /metrics, and counts as malformed;
#   it never reaches a conversion.  Fractions of a byte are dropped, as
#   metrics-server's uint64() drops them.  A CPU rate beyond 2^64
#   nanocores is the largest rate.
# - metrics-server v0.9's decoder (pkg/scraper/client/resource/decode.go):
#   a node whose cumulative CPU or memory is 0 is not served, its pods are;
#   a pod one of whose containers has CPU or memory at 0, or lacks either,
#   is dropped whole (checkContainerMetrics()).
# - metrics-server v0.9's readiness (pkg/storage/storage.go): Ready() is
#   NodeReady() && PodReady(), each true when the store kept a previous
#   point of a node, of a container: no pod at all is not ready; a pod that
#   cannot be served (one container without two points) still makes
#   PodReady() true.

use lib 't/lib';
use K8sMetricsTest;
use JSON::PP ();

no_root_location();
no_shuffle();

# A block's requests wait for what its --- error_log names, which may have
# been logged before the first of them: the real runner is told to check
# the block's whole log after each request, as the bundled one does.
check_accum_error_log() if defined &check_accum_error_log;

our $Peer = $ENV{TEST_NGINX_PEER_PORT};

# A kubelet: NAME, its port (peer port + N) and its samples, one a line;
# every sample but a start time, and one that names its own variables,
# gets the time of the request in ms.
sub kubelet {
    my ($name, $n, @samples) = @_;
    my $port = $Peer + $n;
    my $body = join '', map {
        my $line = /^container_start_time_seconds|\$/ ? $_ : "$_ \$k8s_now_ms";
        $line =~ s/"/\\"/g;
        "$line\\n";
    } @samples;

    return qq{
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate \$TEST_NGINX_PKI/server.crt;
        ssl_certificate_key \$TEST_NGINX_PKI/server.key;
        location / { return 200 "$body"; }
    }
    k8s_metrics_node $name 127.0.0.1:$port;
};
}

sub node { ("node_cpu_usage_seconds_total $_[0]", "node_memory_working_set_bytes $_[1]") }

# a container of pod NS/POD: CPU seconds, memory bytes, start time (undef:
# that sample is absent)
sub container {
    my ($pod, $c, $cpu, $mem, $start) = @_;
    my ($ns, $name) = split m{/}, $pod;
    my $l = qq{{container="$c",namespace="$ns",pod="$name"}};
    return ((defined $cpu ? ("container_cpu_usage_seconds_total$l $cpu") : ()),
            (defined $mem ? ("container_memory_working_set_bytes$l $mem") : ()),
            (defined $start ? ("container_start_time_seconds$l $start") : ()));
}

# a pod of two healthy containers, started long ago
sub pod {
    my $pod = shift;
    return (container($pod, 'app', 12.5, 1048576, 1600000000),
            container($pod, 'sidecar', 3, 2097152, 1600000000));
}

sub http_config {
    return K8sMetricsTest::api_server(
        zone => 'k8s_metrics_zone metrics:2m;',
        http => q{
    k8s_metrics_resolution 1s;
} . K8sMetricsTest::kubelet_tls() . q{
    k8s_metrics_kubelet_timeout 900ms;

    map $msec $k8s_now_ms {
        "~^(?<k8s_s>\d+)\.(?<k8s_ms>\d+)$"  "$k8s_s$k8s_ms";
    }
} . join('', @_) . K8sMetricsTest::waiter_http(),
        directives => q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
});
}

our $Config = K8sMetricsTest::personas() . q{
        location = /wait {
            js_content waiter.wait;
        }
};

our $Nodes = '/admin/apis/metrics.k8s.io/v1beta1/nodes';
our $Pods = '/admin/apis/metrics.k8s.io/v1beta1/pods';
our $Ready = '/alice/readyz/metric-storage-ready';

sub q_ { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge; $s }

# waits until /metrics counts N failures (or successes) of a node
sub wait_scrapes {
    my ($node, $result, $n) = @_;
    return "GET /wait?path=/admin/metrics&match="
           . q_(qq{k8s_metrics_scrapes_total{node="$node",result="$result"} $n\n});
}

# metrics.k8s.io answers as lines: "NAME cpu memory" for a node,
# "NS/NAME CONTAINER:cpu/memory ..." for a pod, the message of a Status
sub view {
    my $body = shift;

    return metrics($body) if $body =~ /^# HELP/;
    return $body if $body !~ /^\{"kind"/;

    my $doc = JSON::PP::decode_json($body);
    my @items = $doc->{items} ? @{ $doc->{items} } : ($doc);
    my $out = "$doc->{kind}\n";

    return "$out$doc->{message}\n" if $doc->{kind} eq 'Status';

    for my $item (@items) {
        my $m = $item->{metadata};

        if ($item->{usage}) {
            $out .= "$m->{name} $item->{usage}{cpu} $item->{usage}{memory}\n";
            next;
        }

        $out .= join(' ', "$m->{namespace}/$m->{name}",
                     map { "$_->{name}:$_->{usage}{cpu}/$_->{usage}{memory}" }
                         @{ $item->{containers} }) . "\n";
    }

    return $out;
}

# /metrics as the lines of its families that the blocks look at
sub metrics {
    my $body = shift;
    return join '', grep {
        /^k8s_metrics_(?:last_scrape_success|scrape_malformed_lines_total|samples_dropped_total)\{/
    } split /^/, $body;
}

# a response_body_like for /metrics: each line (a regex) is there
sub has {
    my $re = join '', map { "(?=.*^$_\$)" } @_;
    return qr/\A$re/ms;
}

# The blocks where node-good (a node and pod default/web) is served beside
# broken nodes: waiting for its third scrape, the node and pod lists, then
# /metrics, with the given lines (regexes) in it.
sub beside_good {
    return [wait_scrapes('node-good', 'success', 3), "GET $Nodes", "GET $Pods",
            "GET /admin/metrics"];
}

sub good_alone {
    return ["ready", qr/^NodeMetricsList\nnode-good 0 1Gi\n\z/,
            qr/^PodMetricsList\ndefault\/web app:0\/1Mi sidecar:0\/2Mi\n\z/,
            has(@_)];
}

K8sMetricsTest::block_defaults(config => $Config,
                               response_body_filters => [\&view],
                               timeout => 15);

run_tests();

__DATA__

=== TEST 1: a negative memory fails its node: the metric in the log and in /metrics, the line counted as malformed; the other node is untouched
--- http_config eval
::http_config(
    ::kubelet('node-good', 0, ::node(100, 1073741824), ::pod('default/web')),
    ::kubelet('node-negative', 1, ::node(100, '-3.0e+10'), ::pod('default/db')))
--- request eval
::beside_good()
--- response_body_like eval
::good_alone(q~k8s_metrics_last_scrape_success\{node="node-good",reason=""\} 1~,
             q~k8s_metrics_scrape_malformed_lines_total\{node="node-good"\} 0~,
             q~k8s_metrics_last_scrape_success\{node="node-negative",reason="invalid value: node_memory_working_set_bytes -3\.0e\+10 is negative \(1 in the response\)"\} 0~,
             q~k8s_metrics_scrape_malformed_lines_total\{node="node-negative"\} [1-9]\d*~,
             q~k8s_metrics_samples_dropped_total\{reason="malformed"\} [1-9]\d*~)
--- error_log eval
qr/\[error\].*scraping node "node-negative" \(https:\/\/127\.0\.0\.1:\d+\/metrics\/resource\) failed: invalid value: node_memory_working_set_bytes -3\.0e\+10 is negative \(1 in the response\)/



=== TEST 2: NaN and the infinities, as Prometheus writes them, fail their nodes with the sample named; malformed lines are counted
--- http_config eval
::http_config(
    ::kubelet('node-good', 0, ::node(100, 1073741824), ::pod('default/web')),
    ::kubelet('node-nan', 1, ::node(100, 1073741824), ::pod('default/db'),
              ::container('team-a/job', 'app', 'NaN', 1048576)),
    ::kubelet('node-inf', 2, ::node('+Inf', 1073741824), ::pod('default/api')),
    ::kubelet('node-minus-inf', 3, ::node(100, 1073741824),
              ::container('default/cache', 'redis', 1, '-Inf', 1600000000),
              ::container('default/cache', 'redis', 2, '-Inf', 1600000000)))
--- request eval
::beside_good()
--- response_body_like eval
::good_alone(q~k8s_metrics_last_scrape_success\{node="node-good",reason=""\} 1~,
             q~k8s_metrics_last_scrape_success\{node="node-inf",reason="invalid value: node_cpu_usage_seconds_total \+Inf is out of range: CPU seconds x 1e9 must be below 2\^64 \(1 in the response\)"\} 0~,
             q~k8s_metrics_last_scrape_success\{node="node-minus-inf",reason="invalid value: container_memory_working_set_bytes\{namespace=\\\\"default\\\\",pod=\\\\"cache\\\\",container=\\\\"redis\\\\"\} -Inf is negative \(2 in the response\)"\} 0~,
             q~k8s_metrics_last_scrape_success\{node="node-nan",reason="invalid value: container_cpu_usage_seconds_total\{namespace=\\\\"team-a\\\\",pod=\\\\"job\\\\",container=\\\\"app\\\\"\} NaN is not a number \(1 in the response\)"\} 0~,
             q~k8s_metrics_scrape_malformed_lines_total\{node="node-good"\} 0~,
             q~k8s_metrics_scrape_malformed_lines_total\{node="node-inf"\} [1-9]\d*~,
             q~k8s_metrics_scrape_malformed_lines_total\{node="node-minus-inf"\} (?:[2-9]|[1-9]\d+)~,
             q~k8s_metrics_scrape_malformed_lines_total\{node="node-nan"\} [1-9]\d*~,
             q~k8s_metrics_samples_dropped_total\{reason="malformed"\} (?:[4-9]|[1-9]\d+)~)
--- error_log eval
[qr/scraping node "node-nan" .* failed: invalid value: container_cpu_usage_seconds_total\{namespace="team-a",pod="job",container="app"\} NaN is not a number/,
 qr/scraping node "node-inf" .* failed: invalid value: node_cpu_usage_seconds_total \+Inf is out of range/,
 qr/scraping node "node-minus-inf" .* failed: invalid value: container_memory_working_set_bytes\{namespace="default",pod="cache",container="redis"\} -Inf is negative \(2 in the response\)/]



=== TEST 3: values beyond what the store keeps: 2^64 ns of CPU, 2^64 bytes, a start time beyond 2^63 ms, a number beyond a double
--- http_config eval
::http_config(
    ::kubelet('node-good', 0, ::node(100, 1073741824), ::pod('default/web')),
    ::kubelet('node-cpu', 1, ::node('1e30', 1073741824), ::pod('default/db')),
    ::kubelet('node-memory', 2, ::node(100, 1073741824),
              ::container('default/api', 'app', 1, '18446744073709551616', 1600000000)),
    ::kubelet('node-start', 3, ::node(100, 1073741824),
              ::container('default/job', 'app', 1, 1048576, '1e300')),
    ::kubelet('node-double', 4, ::node(100, '1e400')))
--- request eval
::beside_good()
--- response_body_like eval
::good_alone(q~k8s_metrics_last_scrape_success\{node="node-cpu",reason="invalid value: node_cpu_usage_seconds_total 1e30 is out of range: CPU seconds x 1e9 must be below 2\^64 \(1 in the response\)"\} 0~,
             q~k8s_metrics_last_scrape_success\{node="node-double",reason="invalid value: node_memory_working_set_bytes 1e400 is out of range: bytes must be below 2\^64 \(1 in the response\)"\} 0~,
             q~k8s_metrics_last_scrape_success\{node="node-good",reason=""\} 1~,
             q~k8s_metrics_last_scrape_success\{node="node-memory",reason="invalid value: container_memory_working_set_bytes\{namespace=\\\\"default\\\\",pod=\\\\"api\\\\",container=\\\\"app\\\\"\} 18446744073709551616 is out of range: bytes must be below 2\^64 \(1 in the response\)"\} 0~,
             q~k8s_metrics_last_scrape_success\{node="node-start",reason="invalid value: container_start_time_seconds\{namespace=\\\\"default\\\\",pod=\\\\"job\\\\",container=\\\\"app\\\\"\} 1e300 is out of range: seconds x 1000 must be below 2\^63 \(1 in the response\)"\} 0~)
--- error_log eval
[qr/scraping node "node-cpu" .* failed: invalid value: node_cpu_usage_seconds_total 1e30 is out of range/,
 qr/scraping node "node-start" .* failed: invalid value: container_start_time_seconds\{namespace="default",pod="job",container="app"\} 1e300 is out of range/]



=== TEST 4: fractions of a byte are dropped, as metrics-server's uint64(); the largest values that fit are served
--- http_config eval
::http_config(
    ::kubelet('node-fraction', 0, ::node('18446744073.70955', '1073741824.75'),
              ::container('default/web', 'app', 1, '1048576.5', 1600000000)))
--- request eval
[::wait_scrapes('node-fraction', 'success', 3), "GET $::Nodes", "GET $::Pods"]
--- response_body eval
["ready\n", "NodeMetricsList\nnode-fraction 0 1Gi\n", "PodMetricsList\ndefault/web app:0/1Mi\n"]
--- no_error_log
failed:



=== TEST 5: a rate beyond 2^64 nanocores (a counter jumping by 584 years within a millisecond) is the largest rate, never an undefined conversion
In odd seconds the kubelet says 18446744073 s at 1 ms past the previous
even second, in even seconds 1 s at that second: an even scrape followed
by an odd one makes a window of 1 ms.
--- http_config eval
::http_config(q{
    map $msec $burst_cpu {
        "~[13579]\.\d+$"  18446744073;
        default           1;
    }

    map $msec $burst_ms {
        "~^(?<b_p>\d*)1\.\d+$"  "${b_p}0001";
        "~^(?<b_p>\d*)3\.\d+$"  "${b_p}2001";
        "~^(?<b_p>\d*)5\.\d+$"  "${b_p}4001";
        "~^(?<b_p>\d*)7\.\d+$"  "${b_p}6001";
        "~^(?<b_p>\d*)9\.\d+$"  "${b_p}8001";
        "~^(?<b_s>\d+)\.\d+$"   "${b_s}000";
    }
}, ::kubelet('node-burst', 0, 'node_cpu_usage_seconds_total $burst_cpu $burst_ms',
             'node_memory_working_set_bytes 1073741824 $burst_ms'))
--- request eval
"GET /wait?path=$::Nodes&match=" . ::q_('"cpu":"18446744073709551610n"') . "&timeout=12000"
--- response_body
ready



=== TEST 6: a node whose CPU or memory is 0 is not served, as metrics-server drops it; its pods are
--- http_config eval
::http_config(
    ::kubelet('node-good', 0, ::node(100, 1073741824), ::pod('default/web')),
    ::kubelet('node-zero-cpu', 1, ::node(0, 1073741824), ::pod('default/db')),
    ::kubelet('node-zero-memory', 2, ::node(100, 0), ::pod('kube-system/dns')))
--- request eval
[::wait_scrapes('node-zero-memory', 'success', 3), "GET $::Nodes", "GET $::Nodes/node-zero-cpu",
 "GET $::Pods", "GET /admin/metrics"]
--- error_code eval
[200, 200, 404, 200, 200]
--- response_body_like eval
["ready",
 qr/^NodeMetricsList\nnode-good 0 1Gi\n\z/,
 qr/^Status\nnodemetrics.metrics.k8s.io "node-zero-cpu" not found\n\z/,
 qr/^PodMetricsList\ndefault\/db app:0\/1Mi sidecar:0\/2Mi\ndefault\/web app:0\/1Mi sidecar:0\/2Mi\nkube-system\/dns app:0\/1Mi sidecar:0\/2Mi\n\z/,
 ::has(q~k8s_metrics_samples_dropped_total\{reason="zero"\} (?:[4-9]|[1-9]\d+)~,
             q~k8s_metrics_last_scrape_success\{node="node-zero-cpu",reason=""\} 1~,
             q~k8s_metrics_last_scrape_success\{node="node-zero-memory",reason=""\} 1~)]
--- no_error_log
failed:



=== TEST 7: a pod with one container at 0 CPU or 0 memory, or without either, is dropped whole, as metrics-server's checkContainerMetrics()
--- http_config eval
::http_config(
    ::kubelet('node-1', 0, ::node(100, 1073741824),
              ::pod('default/api'),
              ::container('default/web', 'app', 12.5, 1048576, 1600000000),
              ::container('default/web', 'sidecar', 0, 2097152, 1600000000),
              ::container('default/db', 'app', 12.5, 1048576, 1600000000),
              ::container('default/db', 'sidecar', 3, 0, 1600000000),
              ::container('default/job', 'app', 12.5, 1048576, 1600000000),
              ::container('default/job', 'init', undef, undef, 1600000000),
              ::container('default/log', 'app', 12.5, 1048576, 1600000000),
              ::container('default/log', 'shipper', 7, undef, 1600000000)))
--- request eval
[::wait_scrapes('node-1', 'success', 3), "GET $::Pods", "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web",
 "GET /admin/metrics"]
--- error_code eval
[200, 200, 404, 200]
--- response_body_like eval
["ready",
 qr/^PodMetricsList\ndefault\/api app:0\/1Mi sidecar:0\/2Mi\n\z/,
 qr/^Status\npodmetrics.metrics.k8s.io "default\/web" not found\n\z/,
 ::has(q~k8s_metrics_samples_dropped_total\{reason="incomplete"\} (?:[89]|[1-9]\d+)~,
             q~k8s_metrics_samples_dropped_total\{reason="zero"\} (?:[89]|[1-9]\d+)~)]



=== TEST 8: readiness: nodes served but no pod at all is not ready (metrics-server's PodReady() is false)
--- http_config eval
::http_config(
    ::kubelet('node-1', 0, ::node(100, 1073741824)),
    ::kubelet('node-2', 1, ::node(200, 2147483648)))
--- request eval
[::wait_scrapes('node-2', 'success', 3), "GET $::Nodes", "GET $::Ready", "GET /anon/readyz"]
--- error_code eval
[200, 200, 500, 500]
--- response_body eval
["ready\n", "NodeMetricsList\nnode-1 0 1Gi\nnode-2 0 2Gi\n",
 "internal server error: no metrics to serve\n",
 "[+]ping ok\n[+]metadata-informer-sync ok\n[-]metric-storage-ready failed: reason withheld\n[+]metric-snapshot-fresh ok\n[+]shutdown ok\nreadyz check failed\n"]



=== TEST 9: readiness: pods served but no node (every node's CPU at 0) is not ready (NodeReady() is false)
--- http_config eval
::http_config(
    ::kubelet('node-1', 0, ::node(0, 1073741824), ::pod('default/web')),
    ::kubelet('node-2', 1, ::node(0, 1073741824), ::pod('default/db')))
--- request eval
[::wait_scrapes('node-2', 'success', 3), "GET $::Pods", "GET $::Nodes", "GET $::Ready"]
--- error_code eval
[200, 200, 200, 500]
--- response_body eval
["ready\n", "PodMetricsList\ndefault/db app:0/1Mi sidecar:0/2Mi\ndefault/web app:0/1Mi sidecar:0/2Mi\n",
 "NodeMetricsList\n", "internal server error: no metrics to serve\n"]



=== TEST 10: readiness counts the whole store: node metrics from one node, pod metrics from another, is ready; the change is logged
--- http_config eval
::http_config(
    ::kubelet('node-1', 0, ::node(100, 1073741824)),
    ::kubelet('node-2', 1, ::node(0, 1073741824), ::pod('default/web')))
--- request eval
["GET /wait?path=$::Ready", "GET $::Nodes", "GET $::Pods", "GET /anon/readyz"]
--- response_body eval
["ready\n", "NodeMetricsList\nnode-1 0 1Gi\n", "PodMetricsList\ndefault/web app:0/1Mi sidecar:0/2Mi\n", "ok"]
--- error_log
k8s metrics: the store is ready: node and pod metrics can be served



=== TEST 11: readiness: a container with two points makes PodReady() true even when its pod cannot be served (a sibling started after the last scrape)
--- http_config eval
::http_config(
    ::kubelet('node-1', 0, ::node(100, 1073741824),
              ::container('default/web', 'app', 12.5, 1048576, 1600000000),
              ::container('default/web', 'sidecar', 3, 2097152, 4000000000)))
--- request eval
[::wait_scrapes('node-1', 'success', 3), "GET $::Ready", "GET $::Nodes", "GET $::Pods"]
--- response_body eval
["ready\n", "ok", "NodeMetricsList\nnode-1 0 1Gi\n", "PodMetricsList\n"]
