# Protobuf with the real client, and the same values as JSON: kubectl top
# nodes and pods against the local demo (conf/local-demo) through the front
# proxy standing in for kube-apiserver's aggregator, which passes kubectl's
# Accept header on and logs what the module answered; then a property
# test: for snapshots of a random shape (nodes, pods, node labels; the
# seed is printed, K8S_METRICS_TEST_SEED replays it), every list and every
# object in JSON and in protobuf (decoded by t/lib/K8sMetricsProtobuf.pm)
# carry the same values.  Not in the .t block format: kubectl is a process
# of its own.

use strict;
use warnings;

use File::Basename qw(dirname);
use JSON::PP ();
use Test::More;

use lib dirname(__FILE__) . '/lib';
use K8sMetricsDemo;
use K8sMetricsProtobuf;

my $dir = K8sMetricsDemo::dir('protobuf');

my $kubectl = K8sMetricsDemo::kubectl();
plan skip_all => 'kubectl is not installed (make deps installs it)' unless $kubectl;

my $seed = $ENV{K8S_METRICS_TEST_SEED} // (time ^ $$);
srand $seed;
diag "seed $seed (K8S_METRICS_TEST_SEED=$seed replays it)";

my $nodes = 2 + int rand 4;
my $pods = 1 + int rand 5;

# the logs of this run only
unlink map { "$dir/$_" } qw(error.log front-access.log metrics-access.log);

my ($out, $rc) = K8sMetricsDemo::start(dir => $dir, offset => 34,
                                       nodes => $nodes, pods => $pods);
is($rc, 0, "the demo starts: $nodes nodes x $pods pods") or diag($out);

sub kubectl_until { K8sMetricsDemo::kubectl_until(@_) }

my $last_node = sprintf 'node-%05d', $nodes;
my $top = kubectl_until('top nodes', qr/^\Q$last_node\E\s+\d+m/m, 60);
my @node_rows = $top =~ /^node-\d+\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/mg;
is(scalar @node_rows, $nodes, 'kubectl top nodes decodes every node') or diag($top);

my $top_pods = kubectl_until('top pods -A', qr/pod-\d+-\d+\s+\d+m/, 30);
my @pod_rows = $top_pods =~ /^\S+\s+pod-\d+-\d+\s+\d+m\s+\d+Mi\s*$/mg;
is(scalar @pod_rows, $nodes * $pods, 'kubectl top pods -A decodes every pod')
    or diag($top_pods);

my $front = K8sMetricsDemo::slurp("$dir/front-access.log");
like($front, qr{^"GET /apis/metrics.k8s.io/v1beta1/nodes HTTP/1.1" 200 "application/vnd.kubernetes.protobuf, \*/\*" "application/vnd.kubernetes.protobuf" \d+$}m,
     'kubectl asked for protobuf and the module sent it (front proxy log): nodes');
like($front, qr{^"GET /apis/metrics.k8s.io/v1beta1/pods HTTP/1.1" 200 "application/vnd.kubernetes.protobuf, \*/\*" "application/vnd.kubernetes.protobuf" \d+$}m,
     '... and pods');

# --- the property: JSON and protobuf carry the same values ---

my $curl = "curl -sS --cacert $dir/pki/ca.crt --cert $dir/pki/client-admin.crt"
         . " --key $dir/pki/client-admin.key";
my $api = "https://127.0.0.1:$ENV{APISERVER_PORT}/apis/metrics.k8s.io/v1beta1";

sub get {
    my ($path, $accept) = @_;
    my $body = `$curl -H 'Accept: $accept' '$api$path'`;
    return $body;
}

# Go's Duration.String() in nanoseconds, exactly
sub duration_ns {
    my $d = shift;
    my %unit = (h => 3600e9, m => 60e9, s => 1e9, ms => 1e6, us => 1e3,
                "\x{b5}s" => 1e3, ns => 1);
    my $ns = 0;
    while ($d =~ s/^(\d+)(?:\.(\d+))?(h|ms|us|ns|m|s)//) {
        my ($int, $frac, $u) = ($1, $2 // '', $3);
        my $digits = length(sprintf '%.0f', $unit{$u}) - 1;
        $ns += $int * $unit{$u} + ($digits ? substr($frac . '0' x $digits, 0, $digits) : 0);
    }
    return $d eq '' ? $ns : "unparsed($d)";
}

# one object in both encodings: '' when the values agree, else the first
# difference
sub differ {
    my ($j, $p, $what) = @_;
    my $jm = $j->{metadata};
    my $pm = $p->{metadata};

    for my $k (qw(name namespace creationTimestamp)) {
        return "$what: metadata.$k " . ($jm->{$k} // 'none') . ' vs ' . ($pm->{$k} // 'none')
            if ($jm->{$k} // '') ne ($pm->{$k} // '');
    }

    my $jl = JSON::PP->new->canonical->encode($jm->{labels} // {});
    my $pl = JSON::PP->new->canonical->encode($pm->{labels} // {});
    return "$what: labels $jl vs $pl" if $jl ne $pl;

    return "$what: timestamp $j->{timestamp} vs $p->{timestamp}"
        if $j->{timestamp} ne $p->{timestamp};
    return "$what: window $j->{window} vs $p->{window_ns}ns"
        if duration_ns($j->{window}) ne $p->{window_ns};

    my $enc = JSON::PP->new->canonical;
    if ($j->{containers}) {
        my $jc = $enc->encode($j->{containers});
        my $pc = $enc->encode($p->{containers} // []);
        return "$what: containers $jc vs $pc" if $jc ne $pc;
    } else {
        my $ju = $enc->encode($j->{usage});
        my $pu = $enc->encode($p->{usage} // {});
        return "$what: usage $ju vs $pu" if $ju ne $pu;
    }

    return '';
}

# a path in both encodings, from the same snapshot and second (asked again
# when a publication or a second came between the two)
sub compare {
    my ($path) = @_;
    my $why = '';

    for (1 .. 5) {
        my $json = get($path, 'application/json');
        my $pb = get($path, 'application/vnd.kubernetes.protobuf');
        my $j = eval { JSON::PP::decode_json($json) } or return "$path: not JSON: $json";
        my $p = eval { K8sMetricsProtobuf::decode($pb) } or return "$path: not protobuf: $@";

        return "$path: kind $j->{kind} vs $p->{kind}" if $j->{kind} ne ($p->{kind} // '');
        return "$path: apiVersion" if $j->{apiVersion} ne $p->{apiVersion};
        return "$path: contentEncoding or contentType set"
            if $p->{contentEncoding} ne '' || $p->{contentType} ne '';

        my @jo = $j->{items} ? @{ $j->{items} } : ($j);
        my @po = $p->{items} ? @{ $p->{items} } : ($p);

        $why = @jo == @po ? '' : "$path: " . @jo . ' items vs ' . @po;
        for my $i (0 .. $#jo) {
            last if $why;
            $why = differ($jo[$i], $po[$i], "$path item $i");
        }

        return ('', scalar @jo, $j) unless $why;
    }

    return $why;
}

# random node labels: keys with and without a prefix, values of every
# character a label value may hold
sub random_labels {
    my @chars = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
    my @inner = (@chars, '-', '_', '.');
    my %labels;

    for (1 .. int rand 5) {
        my $key = (rand() < 0.5 ? 'example.com/' : '')
                . join '', map { $chars[rand 26] } 1 .. 1 + int rand 8;
        my $value = $chars[rand @chars]
                  . join('', map { $inner[rand @inner] } 1 .. int rand 12)
                  . $chars[rand @chars];
        $labels{$key} = $value;
    }

    return \%labels;
}

my $conf = K8sMetricsDemo::slurp("$dir/nginx.conf");
$conf =~ s/k8s_metrics_resolution 15s;/k8s_metrics_resolution 2s;/
    or die "no resolution in the demo's nginx.conf\n";
open my $fh, '>', "$dir/nginx.conf" or die "$!";
print $fh $conf;
close $fh;

my $nodes_conf = K8sMetricsDemo::slurp("$dir/sim/nodes.conf");

for my $round (1 .. 3) {
    my (%want, $text);

    for my $n (1 .. $nodes) {
        $want{ sprintf 'node-%05d', $n } = random_labels();
    }

    ($text = $nodes_conf) =~ s{^(k8s_metrics_node (node-\d+) \S+);}{
        "$1" . join('', map { " label=$_=$want{$2}{$_}" } sort keys %{ $want{$2} }) . ';'
    }gme;

    open my $nc, '>', "$dir/sim/nodes.conf" or die "$!";
    print $nc $text;
    close $nc;

    system("kill -HUP \$(cat $dir/nginx.pid)") == 0 or die "reload: $?";

    # the new labels served, with rates (the second scrape of the new cycle)
    my $want = JSON::PP->new->canonical->encode(\%want);
    my ($got, $deadline) = ('', time + 30);
    while (time < $deadline) {
        my $doc = eval { JSON::PP::decode_json(get('/nodes', 'application/json')) };
        my %seen = map { $_->{metadata}{name} => $_->{metadata}{labels} // {} }
                   @{ $doc ? $doc->{items} : [] };
        $got = JSON::PP->new->canonical->encode(\%seen);
        last if $got eq $want;
        select undef, undef, undef, 0.5;
    }
    is($got, $want, "round $round: the random labels are served");

    my ($why, $count, $doc);
    my @paths = ('/nodes', '/pods', (map { "/nodes/$_" } sort keys %want));

    ($why, $count, $doc) = compare('/pods');
    for my $pod (@{ $doc ? $doc->{items} : [] }) {
        push @paths, "/namespaces/$pod->{metadata}{namespace}/pods/$pod->{metadata}{name}";
    }
    my %ns = map { $_->{metadata}{namespace} => 1 } @{ $doc ? $doc->{items} : [] };
    push @paths, map { "/namespaces/$_/pods" } sort keys %ns;

    my ($objects, @bad) = (0);
    for my $path (@paths) {
        ($why, $count) = compare($path);
        push @bad, $why if $why;
        $objects += $count // 0;
    }

    is(join("\n", @bad), '', "round $round: JSON and protobuf agree on "
       . scalar(@paths) . " answers ($objects objects)");
}

my $errors = K8sMetricsDemo::slurp("$dir/error.log");
unlike($errors, qr/\[(alert|emerg)\]/, 'no alert in the error log');

done_testing();
