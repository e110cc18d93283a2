# Content negotiation as kube-apiserver's, and the protobuf answers: each
# kind decoded by protoc against t/protobuf/metrics.proto (written from the
# reference .proto files) and by t/lib/K8sMetricsProtobuf.pm, whose values
# are checked against the kubelet simulator's as the JSON suites check
# theirs; the Accept rules (order, q, "*", parameters, as=Table; JSON when
# nothing in the header is served: SPEC's "JSON otherwise", not
# kube-apiserver's 406);
# Status in protobuf; the rendered-answer cache per media type; /version.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;
use K8sMetricsProtobuf;
use File::Temp ();

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);

# pods with labels come from the fake apiserver (TEST 21): started once
our $Apiserver = K8sMetricsTest::fake_apiserver(per_block => 0);

# the simulator's nodes, with labels for the selectors (tier, zone), as 040
sub http_config { return K8sMetricsTest::collection_http_config(@_) }

our $HttpConfig = http_config();
our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

our $Ready = "GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/pods&match=pod-00003-003";
our $Proto = "$K8sMetricsTest::Root/t/protobuf";

my ($protoc) = grep { -x } map { "$_/protoc" } split /:/, $ENV{PATH};

# protoc --decode of an answer: its prefix, then the runtime.Unknown with
# raw read as the kind the envelope names
sub protoc {
    my $body = shift;
    return $body if $body =~ /^ready/;
    return "protoc is not installed (make deps installs protobuf-compiler)\n"
        unless $protoc;
    return "no k8s\\0 prefix: $body" unless substr($body, 0, 4) eq "k8s\0";

    my $kind = K8sMetricsProtobuf::decode($body)->{kind} // 'none';
    my $tmp = File::Temp->new;
    binmode $tmp;
    print $tmp substr($body, 4);
    close $tmp;

    my $text = `$protoc --proto_path=$Proto --decode=k8s.metrics.test.${kind}Envelope metrics.proto < $tmp 2>&1`;
    return "prefix k8s\\0\n$text";
}

# the values, checked as the JSON suites check theirs
sub summary {
    my $body = shift;
    return $body if $body =~ /^ready/;
    return K8sMetricsCheck::summary(K8sMetricsProtobuf::to_json($body));
}

# a list's creationTimestamps: all the time of the answer (see 040)
sub stamps_now {
    my $body = shift;
    return $body if $body =~ /^ready/ || substr($body, 0, 4) ne "k8s\0";

    my $doc = K8sMetricsProtobuf::decode($body);
    my %stamps = map { $_->{metadata}{creationTimestamp} => 1 } @{ $doc->{items} };
    my @now = K8sMetricsCheck::now_stamps();
    my $ok = keys %stamps == 1 && grep { $stamps{$_} } @now;

    return sprintf "%s %d items, stamps %s\n", $doc->{kind},
                   scalar @{ $doc->{items} },
                   $ok ? 'now' : join(' ', sort keys %stamps) . " (now: $now[0])";
}

# the pods and their labels in a protobuf list, one line each
sub pod_labels {
    my $body = shift;
    return $body if $body =~ /^ready/;
    my $doc = eval { K8sMetricsProtobuf::decode($body) } or return "not protobuf: $@";
    return join '', map {
        my $l = $_->{metadata}{labels} // {};
        "$_->{metadata}{namespace}/$_->{metadata}{name} "
        . join(',', map { "$_=$l->{$_}" } sort keys %$l)
        . ' containers=' . join(',', map { $_->{name} } @{ $_->{containers} }) . "\n"
    } @{ $doc->{items} };
}

# the fake apiserver's pod labels (t/apiserver/README.md)
sub want_pod_labels {
    my @lines;
    for my $n (1 .. 3) {
        for my $p (0 .. 3) {
            my $ns = KubeletSim::pod_namespace($p);
            my $name = KubeletSim::pod_name($n, $p);
            push @lines, [$ns, $name, "$ns/$name app=" . (qw(web api db))[$p % 3]
                          . ",sim.k8s.io/index=$p,sim.k8s.io/node="
                          . KubeletSim::node_name($n) . " containers=app,sidecar\n"];
        }
    }
    return join '', map { $_->[2] } sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @lines;
}

run_tests();

__DATA__

=== TEST 1: kubectl's Accept: a NodeMetricsList in protobuf, as protoc decodes it
--- request eval
[$::Ready, "GET /admin/apis/metrics.k8s.io/v1beta1/nodes"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf, */*
--- response_body_filters eval
[\&::protoc]
--- response_body_like eval
["ready", qr/^prefix k8s\\0
typeMeta \{
  apiVersion: "metrics.k8s.io\/v1beta1"
  kind: "NodeMetricsList"
\}
raw \{
  metadata \{
    selfLink: ""
    resourceVersion: ""
    continue: ""
  \}
  items \{
    metadata \{
      name: "node-00001"
      generateName: ""
      namespace: ""
      selfLink: ""
      uid: ""
      resourceVersion: ""
      generation: 0
      creationTimestamp \{
        seconds: \d{10}
        nanos: 0
      \}
      labels \{
        key: "tier"
        value: "cpu"
      \}
      labels \{
        key: "zone"
        value: "z1"
      \}
    \}
    timestamp \{
      seconds: \d{10}
      nanos: 0
    \}
    window \{
      duration: \d+000000
    \}
    usage \{
      key: "cpu"
      value \{
        string: "\d+[num]?"
      \}
    \}
    usage \{
      key: "memory"
      value \{
        string: "\d+(Ki|Mi)?"
      \}
    \}
  \}
  items \{
.*  \}
  items \{
.*  \}
\}
contentEncoding: ""
contentType: ""
$/s]



=== TEST 2: the values of each kind in protobuf: the simulator's, as in JSON
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00002",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods/pod-00002-002"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf
--- response_body_filters eval
[\&::summary]
--- response_body eval
["ready\n", "NodeMetricsList
node-00001 cpu=ok memory=ok window=ok labels=tier=cpu,zone=z1
node-00002 cpu=ok memory=ok window=ok labels=tier=gpu,zone=z2
node-00003 cpu=ok memory=ok window=ok labels=tier=cpu,zone=z3
", "NodeMetrics
node-00002 cpu=ok memory=ok window=ok labels=tier=gpu,zone=z2
", "PodMetricsList\n" . K8sMetricsCheck::pod_lines(),
 "PodMetrics\nteam-a/pod-00002-002 window=ok app:cpu=ok,memory=ok sidecar:cpu=ok,memory=ok\n"]



=== TEST 3: a NodeMetrics, a PodMetricsList and a PodMetrics as protoc decodes them
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00003",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods/pod-00001-002"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf
--- response_body_filters eval
[\&::protoc]
--- response_body_like eval
["ready",
 qr/^prefix k8s\\0\ntypeMeta \{\n  apiVersion: "metrics.k8s.io\/v1beta1"\n  kind: "NodeMetrics"\n\}\nraw \{\n  metadata \{\n    name: "node-00003"\n.*\n  window \{\n    duration: \d+\n  \}\n  usage \{\n    key: "cpu"\n.*contentEncoding: ""\ncontentType: ""\n$/s,
 qr/^prefix k8s\\0\ntypeMeta \{\n  apiVersion: "metrics.k8s.io\/v1beta1"\n  kind: "PodMetricsList"\n\}\nraw \{\n  metadata \{\n    selfLink: ""\n    resourceVersion: ""\n    continue: ""\n  \}\n  items \{\n    metadata \{\n      name: "pod-00001-002"\n      generateName: ""\n      namespace: "team-a"\n.*    containers \{\n      name: "app"\n      usage \{\n        key: "cpu"\n.*contentType: ""\n$/s,
 qr/^prefix k8s\\0\ntypeMeta \{\n  apiVersion: "metrics.k8s.io\/v1beta1"\n  kind: "PodMetrics"\n\}\nraw \{\n  metadata \{\n    name: "pod-00001-002"\n    generateName: ""\n    namespace: "team-a"\n.*  containers \{\n    name: "app"\n.*  containers \{\n    name: "sidecar"\n    usage \{\n      key: "cpu"\n      value \{\n        string: "\d+[num]?"\n      \}\n    \}\n    usage \{\n      key: "memory"\n.*contentType: ""\n$/s]



=== TEST 4: a Status in protobuf when the client prefers it: NotFound, and Forbidden to an anonymous client
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00009",
 "GET /anon/apis/metrics.k8s.io/v1beta1/nodes"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf, */*
--- error_code eval
[200, 404, 403]
--- response_body_filters eval
[\&::protoc]
--- response_body eval
["ready\n", 'prefix k8s\0
typeMeta {
  apiVersion: "v1"
  kind: "Status"
}
raw {
  metadata {
    selfLink: ""
    resourceVersion: ""
    continue: ""
  }
  status: "Failure"
  message: "nodemetrics.metrics.k8s.io \"node-00009\" not found"
  reason: "NotFound"
  details {
    name: "node-00009"
    group: "metrics.k8s.io"
    kind: "nodemetrics"
    retryAfterSeconds: 0
    uid: ""
  }
  code: 404
}
contentEncoding: ""
contentType: ""
', 'prefix k8s\0
typeMeta {
  apiVersion: "v1"
  kind: "Status"
}
raw {
  metadata {
    selfLink: ""
    resourceVersion: ""
    continue: ""
  }
  status: "Failure"
  message: "nodes.metrics.k8s.io is forbidden: User \"system:anonymous\" cannot list resource \"nodes\" in API group \"metrics.k8s.io\" at the cluster scope"
  reason: "Forbidden"
  details {
    name: ""
    group: "metrics.k8s.io"
    kind: "nodes"
    retryAfterSeconds: 0
    uid: ""
  }
  code: 403
}
contentEncoding: ""
contentType: ""
']



=== TEST 5: q-values: the higher q wins, whatever the order
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/json;q=0.5, application/vnd.kubernetes.protobuf;q=0.9
--- response_headers
Content-Type: application/vnd.kubernetes.protobuf
--- response_body_like: ^k8s\x00



=== TEST 6: q-values: JSON preferred to protobuf
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/vnd.kubernetes.protobuf;q=0.5,application/json
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"kind":"NodeMetricsList"



=== TEST 7: equal q: the order of the header decides
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/json, application/vnd.kubernetes.protobuf
--- response_headers
Content-Type: application/json



=== TEST 8: */* and application/*: JSON, the first media type served
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/nodes"]
--- more_headers
Accept: */*
--- response_headers eval
[("Content-Type: application/json") x 2]



=== TEST 9: application/* is JSON too
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/*
--- response_headers
Content-Type: application/json



=== TEST 10: goautoneg's order puts a named type before */* whatever their q: protobuf at q=0.1 wins over */*
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: */*;q=1, application/vnd.kubernetes.protobuf;q=0.1
--- response_headers
Content-Type: application/vnd.kubernetes.protobuf



=== TEST 11: nothing served in the header: JSON (SPEC: "JSON otherwise"; kube-apiserver would answer 406), the list and a bad selector's Status alike
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=bad%20selector"]
--- more_headers
Accept: text/html, image/*;q=0.8
--- error_code eval
[200, 200, 400]
--- response_headers eval
["", ("Content-Type: application/json") x 2]
--- response_body_like eval
["ready", qr/^\{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io\/v1beta1","metadata":\{\},"items":\[\{"metadata":\{"name":"node-00001"/,
 qr/^\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"unable to parse requirement: [^"]*","reason":"BadRequest","code":400\}\n\z/]



=== TEST 12: as=Table is JSON only: a protobuf Table is not served; with no other clause, JSON without conversion (a list, not a Table), not a 406
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/pods"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io
--- error_code eval
[200, 200]
--- response_headers eval
[("Content-Type: application/json") x 2]
--- response_body_like eval
[qr/^\{"kind":"NodeMetricsList"/, qr/^\{"kind":"PodMetricsList"/]



=== TEST 13: a protobuf Table refused, then JSON without conversion: a list, not a Table
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"kind":"NodeMetricsList"



=== TEST 14: a Table needs its group and version (meta.k8s.io v1 or v1beta1)
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/nodes"]
--- more_headers
Accept: application/json;as=Table, application/json;as=Table;g=meta.k8s.io;v=v1beta1
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"kind":"Table","apiVersion":"meta.k8s.io\/v1"/, qr/^\{"kind":"Table"/]



=== TEST 15: parameters: stream=watch and sv=v1 are allowed, another stream or server version is not
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /alice/apis/metrics.k8s.io/v1beta1/nodes"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf;stream=other, application/vnd.kubernetes.protobuf;sv=v2, application/vnd.kubernetes.protobuf;stream=watch;sv=v1;x=y
--- response_headers eval
[("Content-Type: application/vnd.kubernetes.protobuf") x 2]



=== TEST 16: a q that does not parse is 0 (goautoneg keeps ParseFloat's 0): JSON
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Accept: application/vnd.kubernetes.protobuf;q=high, application/json;q=0.1
--- response_headers
Content-Type: application/json



=== TEST 17: no Accept header: JSON
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- response_headers
Content-Type: application/json



=== TEST 18: nothing served in the header: a get's 404 is itself (no 406 before it, unlike kube-apiserver's get handler), a Status in JSON, as any other
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00009",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nope"]
--- more_headers
Accept: text/html
--- error_code eval
[404, 404]
--- response_headers eval
[("Content-Type: application/json") x 2]
--- response_body_like eval
[qr/^\{"kind":"Status".*"message":"nodemetrics.metrics.k8s.io \\"node-00009\\" not found","reason":"NotFound".*"code":404\}\n$/,
 qr/^\{"kind":"Status".*"reason":"NotFound".*"code":404\}\n$/]



=== TEST 19: a list asked again from the same snapshot in protobuf is sent again from the worker's rendering, its creationTimestamps rewritten; JSON and protobuf kept apart
--- timeout: 40
--- http_config eval
::http_config() =~ s/k8s_metrics_resolution 1s;/k8s_metrics_resolution 10s;/r
--- request eval
[$::Ready . "&timeout=30000",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /wait?path=/admin/metrics&match=never&timeout=2500",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /wait?path=/admin/metrics&match=never&timeout=1500",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods",
 "GET /admin/metrics"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf
--- error_code eval
[200, 200, 200, 504, 200, 504, 200, 200]
--- response_body_filters eval
[\&::stamps_now]
--- response_body_like eval
["ready", "^PodMetricsList 12 items, stamps now\n\$", "^PodMetricsList 12 items, stamps now\n\$", ".",
 "^PodMetricsList 12 items, stamps now\n\$", ".", "^PodMetricsList 12 items, stamps now\n\$",
 qr/\nk8s_metrics_responses_reused_total [1-9]/]



=== TEST 20: /version: version.Info of the module, in JSON whatever the Accept header
--- request
GET /admin/version
--- more_headers
Accept: application/vnd.kubernetes.protobuf, */*
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"major":"0","minor":"1","gitVersion":"v0\.1\.0","gitCommit":"([0-9a-f]{40})?","gitTreeState":"(clean|dirty)?","buildDate":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","goVersion":"(gcc|clang) [^"]+","compiler":"(gcc|clang)","platform":"linux/(amd64|arm64)"\}\n$



=== TEST 21: pods with labels (from the fake apiserver) in protobuf: each pod its own labels and containers
--- http_config eval
K8sMetricsTest::api_server(
    zone => 'k8s_metrics_zone metrics:4m;',
    http => K8sMetricsTest::apiserver_kubelets() . K8sMetricsTest::kubelet_tls()
            . K8sMetricsTest::waiter_http(),
    directives => K8sMetricsTest::collection_api())
--- request eval
["GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/pods&match=sim.k8s.io/node%22:%22node-00003&timeout=20000",
 "GET /admin/apis/metrics.k8s.io/v1beta1/pods"]
--- more_headers
Accept: application/vnd.kubernetes.protobuf
--- response_body_filters eval
[\&::pod_labels]
--- response_body eval
["ready\n", ::want_pod_labels()]
