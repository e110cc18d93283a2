# k8s_metrics_swap on: the kubelet's node_swap_usage_bytes and
# container_swap_usage_bytes served as "swap" in usage, in JSON, in
# Table (a "swap" column, as metrics-server makes a column of every
# resource) and in protobuf; off (the default), as metrics-server: cpu and
# memory only.

use lib 't/lib';
use K8sMetricsTest;
use JSON::PP ();
use K8sMetricsProtobuf ();

no_root_location();
no_shuffle();

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 2, pods => 4, containers => 2);

sub http_config {
    my ($swap) = @_;

    return K8sMetricsTest::open_api_server(
        zone => 'k8s_metrics_zone metrics:2m;',
        http => K8sMetricsTest::sim_kubelets('1s') . ($swap // ''));
}

K8sMetricsTest::block_defaults(
    http_config => http_config("    k8s_metrics_swap on;\n"),
    config => K8sMetricsTest::personas() . K8sMetricsTest::waiter_location());

our $Ready = "GET /wait?path=/admin/apis/metrics.k8s.io/v1beta1/pods&match=pod-00002-003";

our $Table = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io";

our $Protobuf = "Accept: application/vnd.kubernetes.protobuf, */*";

# a protobuf answer read as its JSON twin, for usage()
sub protobuf_usage {
    my $body = shift;
    return $body if substr($body, 0, 4) ne "k8s\0";
    return usage(K8sMetricsProtobuf::to_json($body));
}

# the usage of every item (and its containers'), or a Table's columns and cells
sub usage {
    my $body = shift;
    return $body if $body !~ /^\{/;
    my $doc = JSON::PP::decode_json($body);
    my $u = sub { my $x = shift; join ',', map { "$_=$x->{$_}" } sort keys %$x };

    if ($doc->{kind} eq 'Table') {
        my $out = join(',', map { $_->{name} } @{ $doc->{columnDefinitions} }) . "\n";
        $out .= join(',', @{ $_->{cells} }[0, 3]) . "\n" for @{ $doc->{rows} };
        return $out;
    }

    my @items = $doc->{items} ? @{ $doc->{items} } : ($doc);
    my $out = '';
    for my $i (@items) {
        $out .= $i->{metadata}{name} . ($i->{usage} ? ' ' . $u->($i->{usage}) : '') . "\n";
        $out .= "  $_->{name} " . $u->($_->{usage}) . "\n" for @{ $i->{containers} // [] };
    }
    $out =~ s/cpu=[^,\n]+/cpu/g;
    $out =~ s/memory=[^,\n]+/memory/g;
    return $out;
}

run_tests();

__DATA__

=== TEST 1: off (the default): cpu and memory only, as metrics-server, whatever the kubelet reports
--- http_config eval
::http_config()
--- sim_modes
all swap 1048576
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00001-000"]
--- response_body_filters eval
[\&::usage]
--- response_body eval
["ready\n", "node-00001 cpu,memory\nnode-00002 cpu,memory\n",
 "pod-00001-000\n  app cpu,memory\n  sidecar cpu,memory\n"]



=== TEST 2: on: the node's swap, each container's, in JSON
--- sim_modes
all swap 1048576
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00002",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00001-000"]
--- response_body_filters eval
[\&::usage]
--- response_body eval
["ready\n", "node-00001 cpu,memory,swap=12Mi\nnode-00002 cpu,memory,swap=12Mi\n",
 "node-00002 cpu,memory,swap=12Mi\n",
 "pod-00001-000\n  app cpu,memory,swap=1Mi\n  sidecar cpu,memory,swap=2Mi\n"]



=== TEST 3: on: a "swap" column in Table, a pod's the sum of its containers'
--- sim_modes
all swap 1048576
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"]
--- more_headers eval
["", $::Table, $::Table]
--- response_body_filters eval
[\&::usage]
--- response_body eval
["ready\n", "Name,cpu,memory,swap,Window\nnode-00001,12Mi\nnode-00002,12Mi\n",
 "Name,cpu,memory,swap,Window\npod-00001-000,3Mi\npod-00002-000,3Mi\n"]



=== TEST 4: on, a node without swap: the kubelet's 0
--- request eval
[$::Ready, "GET /admin/apis/metrics.k8s.io/v1beta1/nodes/node-00001"]
--- response_body_filters eval
[\&::usage]
--- response_body eval
["ready\n", "node-00001 cpu,memory,swap=0\n"]



=== TEST 5: on, in protobuf: the node's swap, each container's, as in JSON (what kubectl and the HPA read)
--- sim_modes
all swap 1048576
--- request eval
[$::Ready,
 "GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/pod-00001-000"]
--- more_headers eval
["", $::Protobuf, $::Protobuf]
--- response_body_filters eval
[\&::protobuf_usage]
--- response_body eval
["ready\n", "node-00001 cpu,memory,swap=12Mi\nnode-00002 cpu,memory,swap=12Mi\n",
 "pod-00001-000\n  app cpu,memory,swap=1Mi\n  sidecar cpu,memory,swap=2Mi\n"]
