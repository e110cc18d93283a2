# The OpenAPI documents, as metrics-server publishes them: /openapi/v2
# (swagger 2.0), /openapi/v3 and /openapi/v3/apis/metrics.k8s.io/v1beta1,
# with the API's GET operations carrying x-kubernetes-group-version-kind
# (kube-apiserver's aggregator ignores a v2 spec without paths; kubectl
# explain finds a kind through them: t/070), the four kinds' schemas; ETag
# and 304; the v3 document by its hash.  kubectl explain itself: t/070.

use lib 't/lib';
use K8sMetricsTest;
use JSON::PP ();
use Digest::SHA ();

no_root_location();
no_shuffle();

our $HttpConfig = K8sMetricsTest::open_api_server();

K8sMetricsTest::block_defaults(
    http_config => $HttpConfig,
    config => K8sMetricsTest::personas() . K8sMetricsTest::wait_location());

# a document's operations: path, operation id, action and GVK; and its
# schemas with their GVKs and references, all resolved
# the SHA-512 of the documents seen, as kube-openapi makes their ETags
our %Etag;
sub seen {
    my ($path, $body) = @_;
    $Etag{$path} = uc Digest::SHA::sha512_hex($body);
}

sub summary {
    my $body = shift;
    seen($body =~ /^\{"openapi"/ ? '/openapi/v3/apis/metrics.k8s.io/v1beta1' : '/openapi/v2', $body);
    my $doc = eval { JSON::PP::decode_json($body) } or return "not JSON: $body";
    my $v3 = exists $doc->{openapi};
    my $schemas = $v3 ? $doc->{components}{schemas} : $doc->{definitions};
    my $prefix = $v3 ? '#/components/schemas/' : '#/definitions/';
    my $out = ($v3 ? "openapi $doc->{openapi}" : "swagger $doc->{swagger}") . "\n";

    for my $path (sort keys %{ $doc->{paths} }) {
        my $get = $doc->{paths}{$path}{get};
        my $gvk = $get->{'x-kubernetes-group-version-kind'};
        my $ok = $v3 ? $get->{responses}{200}{content}{'application/json'}{schema}{'$ref'}
                     : $get->{responses}{200}{schema}{'$ref'};
        $out .= "$path $get->{operationId} $get->{'x-kubernetes-action'} "
              . "$gvk->{group}/$gvk->{version}/$gvk->{kind} -> " . ($ok =~ s/^\Q$prefix\E//r) . "\n";
    }

    my @missing;
    (my $text = $body) =~ s/"\$ref":"\Q$prefix\E([^"]+)"/push @missing, $1 unless $schemas->{$1}; ''/ge;
    $out .= "unresolved: @missing\n" if @missing;
    $out .= "other references\n" if $text =~ /"\$ref"/;

    for my $name (sort keys %$schemas) {
        my $gvk = $schemas->{$name}{'x-kubernetes-group-version-kind'};
        next unless $gvk;
        $out .= "$name " . join(',', map { "$_->{group}/$_->{version}/$_->{kind}" } @$gvk)
              . " required=" . join(',', @{ $schemas->{$name}{required} // [] }) . "\n";
    }

    return $out;
}

our $Paths = <<'PATHS';
/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods listMetricsV1beta1NamespacedPodMetrics list metrics.k8s.io/v1beta1/PodMetrics -> io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList
/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name} readMetricsV1beta1NamespacedPodMetrics get metrics.k8s.io/v1beta1/PodMetrics -> io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics
/apis/metrics.k8s.io/v1beta1/nodes listMetricsV1beta1NodeMetrics list metrics.k8s.io/v1beta1/NodeMetrics -> io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsList
/apis/metrics.k8s.io/v1beta1/nodes/{name} readMetricsV1beta1NodeMetrics get metrics.k8s.io/v1beta1/NodeMetrics -> io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics
/apis/metrics.k8s.io/v1beta1/pods listMetricsV1beta1PodMetricsForAllNamespaces list metrics.k8s.io/v1beta1/PodMetrics -> io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList
io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics metrics.k8s.io/v1beta1/NodeMetrics required=timestamp,window,usage
io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsList metrics.k8s.io/v1beta1/NodeMetricsList required=items
io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics metrics.k8s.io/v1beta1/PodMetrics required=timestamp,window,containers
io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList metrics.k8s.io/v1beta1/PodMetricsList required=items
PATHS

# the v3 root's one entry, and where it points
our $GvUrl;
sub root {
    my $body = shift;
    my $doc = eval { JSON::PP::decode_json($body) } or return "not JSON: $body";
    my @keys = sort keys %{ $doc->{paths} };
    $GvUrl = $doc->{paths}{'apis/metrics.k8s.io/v1beta1'}{serverRelativeURL};
    my ($hash) = $GvUrl =~ /hash=([0-9A-F]{128})$/;
    my $gv = $Etag{'/openapi/v3/apis/metrics.k8s.io/v1beta1'} // '';
    return "@keys -> " . ($GvUrl =~ s/=[0-9A-F]{128}$/=HASH/r)
         . ($hash && $hash eq $gv ? ", the SHA-512 of the document" : ", not the document's hash") . "\n";
}

run_tests();

__DATA__

=== TEST 1: /openapi/v2: swagger 2.0, the GET operations with their GVKs, the kinds' schemas, every reference resolved
--- request
GET /admin/openapi/v2
--- response_headers_like
Content-Type: application/json
ETag: "[0-9A-F]{128}"
--- response_body_filters eval
\&::summary
--- response_body eval
"swagger 2.0\n$::Paths"



=== TEST 2: /openapi/v3/apis/metrics.k8s.io/v1beta1: the same in OpenAPI 3
--- request
GET /admin/openapi/v3/apis/metrics.k8s.io/v1beta1
--- response_body_filters eval
\&::summary
--- response_body eval
"openapi 3.0.0\n$::Paths"



=== TEST 3: /openapi/v3 lists the group version's document by its hash; that URL is the document, for good; another hash is sent to it
--- request eval
["GET /admin/openapi/v3", "GET /admin/openapi/v3/apis/metrics.k8s.io/v1beta1",
 "GET /admin/openapi/v3/apis/metrics.k8s.io/v1beta1?hash=0123"]
--- more_headers eval
["", "", ""]
--- error_code eval
[200, 200, 301]
--- response_body_filters eval
[sub { $_[0] =~ /^\{"paths"/ ? ::root($_[0]) : $_[0] =~ /^\{"openapi"/ ? "document\n" : $_[0] =~ s/[0-9A-F]{128}/HASH/r }]
--- response_body eval
["apis/metrics.k8s.io/v1beta1 -> /openapi/v3/apis/metrics.k8s.io/v1beta1?hash=HASH, the SHA-512 of the document\n", "document\n",
 "/openapi/v3/apis/metrics.k8s.io/v1beta1?hash=HASH"]
--- response_headers_like eval
["ETag: \"[0-9A-F]{128}\"", "ETag: \"[0-9A-F]{128}\"", "Location: /openapi/v3/apis/metrics.k8s.io/v1beta1\\?hash=[0-9A-F]{128}"]



=== TEST 4: the ETag sent back is a 304 without a body, for every document; another is a 200
--- request eval
["GET /wait?path=/admin/openapi/v2&revalidate=1",
 "GET /wait?path=/admin/openapi/v3&revalidate=1",
 "GET /wait?path=/admin/openapi/v3/apis/metrics.k8s.io/v1beta1&revalidate=1",
 "GET /admin/openapi/v2"]
--- more_headers eval
["", "", "", "If-None-Match: \"0123\""]
--- response_body_like eval
["^etag \"[0-9A-F]{128}\", again: 304 0\n\$", "^etag \"[0-9A-F]{128}\", again: 304 0\n\$",
 "^etag \"[0-9A-F]{128}\", again: 304 0\n\$", qr/^\{"swagger":"2.0"/]



=== TEST 5: an unknown document is a 404 Status; anonymous may not read them
--- request eval
["GET /admin/openapi/v4", "GET /anon/openapi/v2"]
--- error_code eval
[404, 403]
