#!/usr/bin/env perl
# t/sim/expected.pl -- the simulator's known values (pristine state), from KubeletSim.pm.
#
#   expected.pl [--dir SIMDIR | --t0 MS] [--pods 30] [--containers 2] [--now MS] NODE [POD [CONTAINER]]
#
# NODE, POD, CONTAINER are numbers (node 1-based as in node-00001; pod and container 0-based) or
# names (node-00001, pod-00001-003, app).  --dir reads T0, pods and containers from SIMDIR/sim.json.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Getopt::Long;
use JSON::PP;
use Time::HiRes qw(time);
use KubeletSim qw(:all);

my ($dir, $t0, $now);
my ($pods, $containers) = (30, 2);
GetOptions('dir=s' => \$dir, 't0=i' => \$t0, 'pods=i' => \$pods, 'containers=i' => \$containers,
           'now=i' => \$now) && @ARGV >= 1
    or die "usage: $0 [--dir SIMDIR | --t0 MS] [--pods N] [--containers N] [--now MS] NODE [POD [CONTAINER]]\n";
if ($dir) {
    my $s = KubeletSim->attach($dir);
    ($t0, $pods, $containers) = ($s->{t0_ms}, $s->{pods}, $s->{containers});
}
$now //= int(time * 1000);

my ($n, $p, $c) = @ARGV;
$n = $1 + 0 if $n =~ /^node-(\d+)$/;
if (defined $p) { $p = $1 + 0 if $p =~ /^pod-\d+-(\d+)$/ }
if (defined $c && $c !~ /^\d+$/) {
    my ($i) = grep { container_name($_) eq $c } 0 .. 63;
    defined $i or die "unknown container '$c'\n";
    $c = $i;
}

my %out = (node => node_name($n), now_ms => $now);
if (!defined $p) {
    %out = (%out, cpu_nanocores => node_cpu_nanocores($n, $pods, $containers),
            memory_bytes => node_memory_bytes($n, $pods, $containers),
            cpu => cpu_quantity(node_cpu_nanocores($n, $pods, $containers)),
            memory => memory_quantity(node_memory_bytes($n, $pods, $containers)));
    $out{cpu_counter_ns} = node_cpu_counter_ns($t0, $n, $pods, $containers, $now) if defined $t0;
} elsif (!defined $c) {
    %out = (%out, pod => pod_name($n, $p), namespace => pod_namespace($p),
            cpu_nanocores => pod_cpu_nanocores($n, $p, $containers),
            memory_bytes => pod_memory_bytes($n, $p, $containers),
            cpu => cpu_quantity(pod_cpu_nanocores($n, $p, $containers)),
            memory => memory_quantity(pod_memory_bytes($n, $p, $containers)));
    $out{cpu_counter_ns} = pod_cpu_counter_ns($t0, $n, $p, $containers, $now) if defined $t0;
} else {
    %out = (%out, pod => pod_name($n, $p), namespace => pod_namespace($p),
            container => container_name($c),
            cpu_nanocores => container_cpu_nanocores($n, $p, $c),
            memory_bytes => container_memory_bytes($n, $p, $c),
            cpu => cpu_quantity(container_cpu_nanocores($n, $p, $c)),
            memory => memory_quantity(container_memory_bytes($n, $p, $c)));
    if (defined $t0) {
        $out{start_ms} = container_start_ms($t0, $n, $p, $c);
        $out{cpu_counter_ns} = container_cpu_counter_ns($t0, $n, $p, $c, $now);
    }
}
print JSON::PP->new->canonical->pretty->encode(\%out);
