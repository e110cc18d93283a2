# The audit trail: $k8s_metrics_audit_event, one audit.k8s.io/v1 Event per
# request (level Metadata, stage ResponseComplete, kube-apiserver's field
# names), written with "log_format k8s_audit escape=none
# '$k8s_metrics_audit_event';" and read back line by line with jq, for an
# authenticated request, an anonymous one, a denied one, one whose
# authentication failed and one that failed (404); the Audit-ID the
# aggregator sends is kept and echoed in Audit-Id, else a new UUID.

use lib 't/lib';
use K8sMetricsTest;

no_root_location();
no_shuffle();

our $HttpConfig = q{
    log_format k8s_audit escape=none '$k8s_metrics_audit_event';
} . K8sMetricsTest::open_api_server(directives => q{
            access_log logs/audit.log k8s_audit;
});

K8sMetricsTest::block_defaults(
    http_config => $HttpConfig,
    config => K8sMetricsTest::personas() . K8sMetricsTest::wait_location() . q{
        location = /plain {
            return 200;
        }
});

our $Uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

# every line of the audit log through jq (a line that is not JSON fails
# it), one line per event: its fields, what varies between runs checked
# and named
our $Jq = <<'JQ';
def us: test("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z$");
[.kind, .apiVersion, .level, .stage,
 (if (.auditID | test("^UUID$")) then "uuid" else .auditID end),
 .requestURI, .verb, (.user | tojson), (.sourceIPs | join(",")),
 (.userAgent // "-"), ((.objectRef // {}) | tojson),
 (.responseStatus | tojson), ((.annotations // {}) | tojson),
 (if (.requestReceivedTimestamp | us) and (.stageTimestamp | us)
     and .stageTimestamp >= .requestReceivedTimestamp
  then "times" else "bad times: \(.requestReceivedTimestamp) \(.stageTimestamp)" end),
 (keys_unsorted | join(","))] | join(" ")
JQ
$Jq =~ s/UUID/$Uuid/;

sub audit_log {
    my $log = K8sMetricsTest::servroot() . "/logs/audit.log";
    my $raw = K8sMetricsTest::slurp($log);
    return "a credential in the audit log\n" if $raw =~ /alice-token|Bearer/;
    open my $fh, '-|', 'jq', '-r', $Jq, $log or return "jq: $!\n";
    local $/;
    my $out = <$fh>;
    close $fh;
    return "jq failed: $?\n$out" if $?;
    return $out;
}

run_tests();

__DATA__

=== TEST 1: one Event per request, for jq: authenticated, anonymous and denied, authentication failed, failed
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /anon/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
 "GET /unknown/apis/metrics.k8s.io/v1beta1/nodes",
 "GET /admin/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/nothere",
 "GET /admin/healthz",
 "GET /wait?path=/plain&after=300"]
--- more_headers eval
["Audit-ID: 5e1f2c3a-aggregator-1\nX-Forwarded-For: 10.0.0.1, bogus, 10.0.0.2\nUser-Agent: kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b",
 "Audit-ID: 5e1f2c3a-aggregator-2\nX-Real-Ip: 10.0.0.9\nUser-Agent: curl/7.88.1",
 "Audit-ID: 5e1f2c3a-aggregator-3\nUser-Agent: curl/7.88.1\nX-Remote-User: mallory\nX-Remote-Group: system:masters\nAuthorization: Bearer alice-token",
 "User-Agent: curl/7.88.1",
 "User-Agent: kube-probe/1.30",
 ""]
--- error_code eval
[200, 403, 401, 404, 200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^ready/ ? ::audit_log() : "answered\n" }]
--- response_body eval
["answered\n", "answered\n", "answered\n", "answered\n", "answered\n",
 'Event audit.k8s.io/v1 Metadata ResponseComplete 5e1f2c3a-aggregator-1 /apis/metrics.k8s.io/v1beta1/nodes list {"username":"admin","groups":["system:masters","system:authenticated"]} 10.0.0.1,10.0.0.2,127.0.0.1 kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b {"resource":"nodes","apiGroup":"metrics.k8s.io","apiVersion":"v1beta1"} {"metadata":{},"code":200} {"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""} times kind,apiVersion,level,auditID,stage,requestURI,verb,user,sourceIPs,userAgent,objectRef,responseStatus,requestReceivedTimestamp,stageTimestamp,annotations
Event audit.k8s.io/v1 Metadata ResponseComplete 5e1f2c3a-aggregator-2 /apis/metrics.k8s.io/v1beta1/namespaces/default/pods list {"username":"system:anonymous","groups":["system:unauthenticated"]} 10.0.0.9,127.0.0.1 curl/7.88.1 {"resource":"pods","namespace":"default","apiGroup":"metrics.k8s.io","apiVersion":"v1beta1"} {"metadata":{},"code":403} {"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""} times kind,apiVersion,level,auditID,stage,requestURI,verb,user,sourceIPs,userAgent,objectRef,responseStatus,requestReceivedTimestamp,stageTimestamp,annotations
Event audit.k8s.io/v1 Metadata ResponseComplete 5e1f2c3a-aggregator-3 /apis/metrics.k8s.io/v1beta1/nodes list {} 127.0.0.1 curl/7.88.1 {"resource":"nodes","apiGroup":"metrics.k8s.io","apiVersion":"v1beta1"} {"metadata":{},"code":401} {} times kind,apiVersion,level,auditID,stage,requestURI,verb,user,sourceIPs,userAgent,objectRef,responseStatus,requestReceivedTimestamp,stageTimestamp
Event audit.k8s.io/v1 Metadata ResponseComplete uuid /apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/nothere get {"username":"admin","groups":["system:masters","system:authenticated"]} 127.0.0.1 curl/7.88.1 {"resource":"pods","namespace":"kube-system","name":"nothere","apiGroup":"metrics.k8s.io","apiVersion":"v1beta1"} {"metadata":{},"code":404} {"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""} times kind,apiVersion,level,auditID,stage,requestURI,verb,user,sourceIPs,userAgent,objectRef,responseStatus,requestReceivedTimestamp,stageTimestamp,annotations
Event audit.k8s.io/v1 Metadata ResponseComplete uuid /healthz get {"username":"admin","groups":["system:masters","system:authenticated"]} 127.0.0.1 kube-probe/1.30 {} {"metadata":{},"code":200} {"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""} times kind,apiVersion,level,auditID,stage,requestURI,verb,user,sourceIPs,userAgent,responseStatus,requestReceivedTimestamp,stageTimestamp,annotations
']



=== TEST 2: the aggregator's Audit-ID is answered in Audit-Id, as it came
--- request
GET /admin/apis/metrics.k8s.io/v1beta1/nodes
--- more_headers
Audit-ID: 5e1f2c3a-aggregator-9
--- response_headers
Audit-Id: 5e1f2c3a-aggregator-9



=== TEST 3: without one, a new random UUID, in Audit-Id, a 401 included
--- request
GET /unknown/apis/metrics.k8s.io/v1beta1/nodes
--- error_code: 401
--- response_headers_like eval
"Audit-Id: $::Uuid"



=== TEST 4: an Audit-ID that tries to end its string stays a string
--- request eval
["GET /admin/apis/metrics.k8s.io/v1beta1/nodes", "GET /wait?path=/plain&after=300"]
--- more_headers eval
["Audit-ID: x\",\"user\":{\"username\":\"mallory\"},\"a\":\"\\", ""]
--- response_body_filters eval
[sub { $_[0] =~ /^ready/ ? ::audit_log() : "answered\n" }]
--- response_body_like eval
["^answered\n\$", qr/^Event audit.k8s.io\/v1 Metadata ResponseComplete x","user":\{"username":"mallory"\},"a":"\\ \/apis\/metrics.k8s.io\/v1beta1\/nodes list \{"username":"admin",/]
