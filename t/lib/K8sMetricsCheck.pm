package K8sMetricsCheck;

# What a metrics.k8s.io response says, summarized in lines that compare
# with what the kubelet simulator (t/sim) is known to serve: CPU within 1%
# of the simulator's rate, memory exact, windows near the resolution.
# For response_body_filters:
#
#     --- response_body_filters eval
#     [\&K8sMetricsCheck::summary]

use strict;
use warnings;

use JSON::PP;
use POSIX ();
use Time::HiRes ();

sub nanocores {
    my $q = shift;
    my ($v, $s) = $q =~ /^(\d+)([num]?|k)$/ or return -1;
    return $v * { n => 1, u => 1e3, m => 1e6, '' => 1e9, k => 1e12 }->{$s};
}

sub bytes {
    my $q = shift;
    my ($v, $s) = $q =~ /^(\d+)(Ki|Mi|Gi|)$/ or return -1;
    return $v * { '' => 1, Ki => 1024, Mi => 1024**2, Gi => 1024**3 }->{$s};
}

# Go's Duration.String() of a window: "994ms", "1.02s"
sub seconds {
    my $w = shift;
    return $1 if $w =~ /^(\d+(?:\.\d+)?)s$/;
    return $1 / 1000 if $w =~ /^(\d+(?:\.\d+)?)ms$/;
    return -1;
}

sub close_to {
    my ($got, $want) = @_;
    return $want == 0 ? $got == 0 : abs($got - $want) / $want <= 0.01;
}

sub node_index { my $name = shift; $name =~ /node-(\d+)/ ? $1 + 0 : 0 }

# The resolution is 1s, with up to 5% jitter and scheduling noise.  Under
# the sanitizers (t/asan/run.sh) the first scrape's TLS handshakes take most
# of a second, and the window from it to the next shrinks accordingly:
# K8S_METRICS_TEST_MIN_WINDOW lowers the bound (seconds).
my $min_window = $ENV{K8S_METRICS_TEST_MIN_WINDOW} // 0.5;

sub check_window {
    my $w = shift;
    my $s = seconds($w);
    return $s > 0 && $s >= $min_window && $s <= 3.5 ? 'ok' : "BAD($w)";
}

sub summarize_node {
    my $item = shift;
    my $name = $item->{metadata}{name};
    my $n = node_index($name);
    my $cpu = nanocores($item->{usage}{cpu});
    my $labels = join ',', map { "$_=$item->{metadata}{labels}{$_}" }
                           sort keys %{ $item->{metadata}{labels} // {} };

    return sprintf "%s cpu=%s memory=%s window=%s labels=%s\n", $name,
        close_to($cpu, $K8sMetricsTest::Sim->node_cpu($n)) ? 'ok'
            : "BAD($item->{usage}{cpu} want " . $K8sMetricsTest::Sim->node_cpu($n) . "n)",
        bytes($item->{usage}{memory}) == $K8sMetricsTest::Sim->node_memory($n) ? 'ok'
            : "BAD($item->{usage}{memory})",
        check_window($item->{window}), $labels;
}

sub summarize_pod {
    my $item = shift;
    my ($n, $p) = $item->{metadata}{name} =~ /pod-(\d+)-(\d+)/;
    my @c;

    for my $c (@{ $item->{containers} }) {
        my ($ci) = grep { KubeletSim::container_name($_) eq $c->{name} } 0 .. 7;
        my $want = KubeletSim::container_cpu_nanocores($n + 0, $p + 0, $ci);
        my $mem = KubeletSim::container_memory_bytes($n + 0, $p + 0, $ci);
        push @c, sprintf "%s:cpu=%s,memory=%s", $c->{name},
            close_to(nanocores($c->{usage}{cpu}), $want) ? 'ok'
                : "BAD($c->{usage}{cpu} want ${want}n)",
            bytes($c->{usage}{memory}) == $mem ? 'ok' : "BAD($c->{usage}{memory})";
    }

    return sprintf "%s/%s window=%s %s\n", $item->{metadata}{namespace},
        $item->{metadata}{name}, check_window($item->{window}), join ' ', @c;
}

sub summary {
    return $_[0] if $_[0] !~ /^\{/;
    my $body = shift;
    my $doc = eval { decode_json($body) } or return "not JSON: $body";

    if ($doc->{kind} =~ /List$/) {
        return "$doc->{kind}\n" . join '', map {
            $doc->{kind} eq 'NodeMetricsList' ? summarize_node($_) : summarize_pod($_)
        } @{ $doc->{items} };
    }

    return "$doc->{kind}\n"
        . ($doc->{kind} eq 'NodeMetrics' ? summarize_node($doc)
           : $doc->{kind} eq 'PodMetrics' ? summarize_pod($doc)
           : "$doc->{message}\n");
}

# the pods of the simulator, as the summary lists them (sorted by ns/name)
sub pod_lines {
    my ($filter) = @_;
    my @lines;
    for my $n (1 .. 3) {
        for my $p (0 .. 3) {
            my $ns = KubeletSim::pod_namespace($p);
            next if $filter && !$filter->($ns, $n, $p);
            push @lines, [$ns, KubeletSim::pod_name($n, $p),
                          "$ns/" . KubeletSim::pod_name($n, $p)
                          . " window=ok app:cpu=ok,memory=ok sidecar:cpu=ok,memory=ok\n"];
        }
    }
    return join '', map { $_->[2] } sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @lines;
}

# The creationTimestamps a list answered just now may carry: this second or
# the one before.  From gettimeofday(), as nginx's clock: Perl's time()
# reads the kernel's coarse clock, up to a tick behind, and at a second's
# boundary said 20:37:53 to a list stamped 20:37:54 (CI, t/072).
sub now_stamps {
    my $now = Time::HiRes::time();
    return map { POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(int($now) - $_)) } 0, 1;
}

1;
