# The real client: kubectl top nodes / kubectl top pods -A against the
# local demo (make run: conf/local-demo), through the front proxy that
# stands in for kube-apiserver's aggregation layer.  Not in the .t block
# format: kubectl is a process of its own, not a request.

use strict;
use warnings;

use File::Basename qw(dirname);
use Test::More;

use lib dirname(__FILE__) . '/lib';
use K8sMetricsDemo;

my $dir = K8sMetricsDemo::dir('demo');

my $kubectl = K8sMetricsDemo::kubectl();
plan skip_all => 'kubectl is not installed (make deps installs it)' unless $kubectl;

my ($out, $rc) = K8sMetricsDemo::start(dir => $dir, offset => 30, nodes => 4, pods => 6);
is($rc, 0, 'the demo starts') or diag($out);
like($out, qr{kubeconfig: \Q$dir\E/kubeconfig}, 'it prints its kubeconfig');

sub kubectl_until { K8sMetricsDemo::kubectl_until(@_) }

my $nodes = kubectl_until('top nodes', qr/node-00004/, 60);
like($nodes, qr/^NAME\s+CPU\(cores\)\s+CPU(%|\(%\))\s+MEMORY\(bytes\)\s+MEMORY(%|\(%\))/m,
     'kubectl top nodes prints its table');

for my $n (1 .. 4) {
    my $name = sprintf 'node-%05d', $n;
    like($nodes, qr/^\Q$name\E\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/m,
         "kubectl top nodes shows $name with CPU and memory");
}

my $pods = kubectl_until('top pods -A', qr/pod-00004-005/, 30);
like($pods, qr/^NAMESPACE\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/m,
     'kubectl top pods -A prints its table');
my @rows = $pods =~ /^\S+\s+pod-\d+-\d+\s+\d+m\s+\d+Mi\s*$/mg;
is(scalar @rows, 24, 'every pod of every node, with CPU and memory');

my $kube_system = `$kubectl top pods -n kube-system 2>&1`;
like($kube_system, qr/^pod-00001-001\s+\d+m\s+\d+Mi/m, 'kubectl top pods -n NAMESPACE');

# kubectl get asks for a Table (Accept: as=Table): rows, and "No resources
# found" for a Table of none (columnDefinitions and rows null)
my $table = `$kubectl get nodemetrics 2>&1`;
like($table, qr/^NAME\s+CPU\s+MEMORY\s+WINDOW\s*\n(node-\d+\s+\S+\s+\S+\s+\S+\s*\n){4}\z/,
     'kubectl get nodemetrics prints the Table');
my $none = `$kubectl get nodemetrics -l no-such-label=here 2>&1`;
is($?, 0, 'kubectl get nodemetrics matching none succeeds');
like($none, qr/^No resources found/, '... and says so') or diag($none);
my $pod_table = `$kubectl get podmetrics -n kube-system 2>&1`;
like($pod_table, qr/^NAME\s+CPU\s+MEMORY\s+WINDOW\s*\npod-00001-001\s/,
     'kubectl get podmetrics -n NAMESPACE prints the Table');

my $raw = `$kubectl get --raw /apis/metrics.k8s.io/v1beta1/nodes/node-00002 2>&1`;
like($raw, qr/"kind":"NodeMetrics".*"name":"node-00002"/s, 'kubectl get --raw a NodeMetrics');

# kubectl explain: the OpenAPI v3 documents through the front proxy, the
# kind found by the GET operations' x-kubernetes-group-version-kind.
# kubectl 1.32 reads "nodes.metrics.k8s.io" as the field "metrics" of the
# core nodes: the group goes in --api-version.
my $explain = `$kubectl explain nodes --api-version=metrics.k8s.io/v1beta1 2>&1`;
like($explain, qr/^GROUP:\s+metrics\.k8s\.io\n.*^KIND:\s+NodeMetrics\n.*^VERSION:\s+v1beta1\n/ms,
     'kubectl explain nodes --api-version=metrics.k8s.io/v1beta1 names the kind') or diag($explain);
like($explain, qr/NodeMetrics sets resource usage metrics of a node\..*^  timestamp\s+<string> -required-.*^  usage\s+<map\[string\]Quantity> -required-.*^  window\s+<string> -required-/ms,
     '... and prints its fields') or diag($explain);

my $usage = `$kubectl explain podmetrics.containers.usage --api-version=metrics.k8s.io/v1beta1 2>&1`;
like($usage, qr/^KIND:\s+PodMetrics\n.*^FIELD:\s+usage <map\[string\]Quantity>\n.*The memory usage is the memory working set\./ms,
     'kubectl explain podmetrics.containers.usage prints the field') or diag($usage);

my $log = do { local (@ARGV, $/) = "$dir/metrics-access.log"; <> // '' };
like($log, qr/requestheader:admin \[system:masters,system:authenticated\] "GET \/apis\/metrics.k8s.io\/v1beta1\/nodes/,
     'the module saw kubectl\'s user through the front proxy');

my $errors = do { local (@ARGV, $/) = "$dir/error.log"; <> // '' };
unlike($errors, qr/\[(alert|emerg)\]/, 'no alert in the error log');

done_testing();
