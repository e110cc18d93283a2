# Watches against the fake kube-apiserver (t/apiserver), which ends a watch
# stream before any event it cannot encode for the form asked, as
# kube-apiserver does: an informer asks a watch for the object form of
# what its list asked for (PartialObjectMetadata, not ...List), so that pods
# added or relabelled reach the module through the watch; and a watch that
# keeps ending at once without an event is given up for a list, logged.

use lib 't/lib';
use K8sMetricsTest;
use JSON::PP ();

no_root_location();
no_shuffle();

# node-00001's kubelet reports one more pod than the apiserver lists at
# first (sim mode add_pod): pod-00001-002, in team-a
our $Sim = K8sMetricsTest::kubelet_sim(nodes => 2, pods => 2, containers => 1);
our $Api = K8sMetricsTest::fake_apiserver();
$K8sMetricsTest::ApiPerBlock = 0;   # restarted below, with the block's modes

our $HttpConfig = K8sMetricsTest::api_server(
    zone => 'k8s_metrics_zone metrics:4m;',
    http => q{
    k8s_metrics_kubelet_port $TEST_NGINX_SIM_PORT;
    k8s_metrics_resolution 1s;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
} . K8sMetricsTest::waiter_http(),
    directives => q{
            k8s_metrics_authentication_configmap on;
});

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location()
              . K8sMetricsTest::apiserver_control_location();

our $Pods = '/apis/metrics.k8s.io/v1beta1/pods';
our $NewPod = '/apis/metrics.k8s.io/v1beta1/namespaces/team-a/pods/pod-00001-002';

our $Ready = "GET /wait?path=/admin$Pods&match=pod-00002-001&timeout=15000";
our $AddPod = "POST /apictl/pod/add\n"
              . '{"namespace":"team-a","name":"pod-00001-002","node":"node-00001",'
              . '"labels":{"app":"new"}}';

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

add_block_preprocessor(sub {
    my $block = shift;

    # a fresh fake apiserver for each block, with "--- api_modes" (NAME
    # VALUE lines) set before nginx starts
    K8sMetricsTest::restart_apiserver(map { split ' ', $_, 2 } grep { /\S/ }
                                      split /\n/, $block->api_modes // '');
});

# the module's pod lists and watches, as the fake apiserver recorded them:
# how many lists by the informer that listed most (with 2 workers or more
# each runs one: the calls do not say whose);
# whether each watch asked for the object form of the form its list asked
# for (PartialObjectMetadataList -> PartialObjectMetadata, none -> none);
# how many watches came before the first list again
sub pod_calls {
    my $calls = ref $_[0] ? $_[0] : JSON::PP::decode_json($_[0])->{calls};
    my $form = sub { $_[0]{accept} =~ /\bas=(\w+)/ ? $1 : '' };
    my $informers = ($ENV{K8S_METRICS_TEST_WORKERS} // 0) =~ /^\d+$/
                    && $ENV{K8S_METRICS_TEST_WORKERS} >= 2
                    ? $ENV{K8S_METRICS_TEST_WORKERS} : 1;
    my ($lists, $before, $bad) = (0, 0, 0);
    my $list_form;

    for my $c (@$calls) {
        if ($c->{type} eq 'list') {
            $lists++;
            $list_form //= $form->($c);
            next;
        }

        $before++ if $lists >= 1 && $lists <= $informers;
        (my $object_form = $list_form // '') =~ s/List$//;
        $bad++ if $form->($c) ne $object_form || $c->{accept} =~ /List\b/;
    }

    return sprintf "lists:%d watches before the second:%s "
                   . "watches in the list's object form:%s\n",
                   int(($lists + $informers - 1) / $informers),
                   $before >= 3 ? '3 or more' : $before,
                   $bad ? 'no' : 'yes';
}

# the answer of a request, then the calls that came before it
sub with_pod_calls {
    return $_[0] . pod_calls($K8sMetricsTest::Api->calls(type => 'list,watch',
                                                          res => 'pods'));
}

run_tests();

__DATA__

=== TEST 1: a pod added, then relabelled, in the apiserver is served through the watch, without a new list
--- timeout: 40
--- sim_modes
node-00001 add_pod
--- more_headers
X-Remote-User: admin
X-Remote-Group: system:masters
--- request eval
[$::Ready,
 "GET /fp$::NewPod",
 $::AddPod,
 "GET /wait?path=/admin$::NewPod&timeout=10000",
 "POST /apictl/pod/modify\n"
 . '{"namespace":"team-a","name":"pod-00001-002","set_labels":{"app":"changed"}}',
 "GET /wait?path=/admin$::Pods%3FlabelSelector%3Dapp%253Dchanged&match=pod-00001-002&timeout=10000",
 "GET /apictl/calls?type=list,watch&res=pods"]
--- error_code eval
[200, 404, 200, 200, 200, 200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^\{"next"/ ? ::pod_calls($_[0]) : $_[0] }]
--- response_body_like eval
["ready", '"code":404', ".", "ready", ".", "ready",
 "^lists:1 watches before the second:(?:[12]|3 or more) watches in the list's object form:yes\n\$"]
--- no_error_log
listing again
failed



=== TEST 2: a pod watch that ends before every event: listed again after 3 watches, logged; the new pod is served
--- timeout: 40
--- sim_modes
node-00001 add_pod
--- api_modes
watch_unencodable:pods 1
--- init
K8sMetricsTest::wait_until(sub {
    (K8sMetricsTest::get("/admin$::Pods")->{content} // '') =~ /pod-00002-001/
}, 15);
$K8sMetricsTest::Api->add_pod(namespace => 'team-a', name => 'pod-00001-002',
                              node => 'node-00001', labels => { app => 'new' });
--- request eval
"GET /wait?path=/admin$::NewPod&timeout=15000"
--- response_body_filters eval
[\&::with_pod_calls]
--- response_body
ready
lists:2 watches before the second:3 or more watches in the list's object form:yes
--- error_log eval
[qr/\[error\].*k8s metrics: watching pods \(GET https:[^)]*watch=1[^)]*\): 3 watches in a row ended within 1 s without an event: listing again/,
 qr/\[info\].*k8s metrics: watching pods \(GET [^)]*\): the stream ended within 1 s without an event/]
