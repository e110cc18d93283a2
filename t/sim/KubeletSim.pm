package KubeletSim;

# Perl side of the kubelet simulator (t/sim/kubelet-sim + t/sim/kubelet.js): the same formulas
# as kubelet.js, for tests to compute expected values, and a small driver (start, stop, modes,
# statistics over the control port).  Core modules only (HTTP::Tiny, JSON::PP).
#
#     use lib 't/sim';
#     use KubeletSim qw(:all);
#     my $sim = KubeletSim->start(dir => "$dir/sim", pki => $pki, nodes => 3,
#                                 port => $port, control_port => $cport);
#     print $sim->nodes_conf;                 # k8s_metrics_node lines, for the nginx config
#     container_cpu_nanocores(1, 0, 0);       # node-00001, pod-00001-000, container "app"
#     $sim->mode('node-00002', 'status', 500);
#     my $st = $sim->stats('node-00001');     # {requests, last_client_subject, ...}
#     $sim->stop;
#
# Numbering: node n is node-NNNNN (1-based, n = the number in its name); pod p is pod-NNNNN-PPP
# on node n (0-based), namespace (default, kube-system, team-a, team-b, monitoring)[p % 5];
# container c is (app, sidecar, proxy, logger, cache, worker, exporter, init)[c], then "cC".

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib abs_path(dirname(__FILE__)) . '/../lib';
use JSON::PP;
use PeerDaemon;
use POSIX qw(floor);
use Exporter 'import';

our @ISA = ('PeerDaemon');

our @FORMULAS = qw(node_name pod_name pod_namespace container_name
    container_cpu_millicores container_cpu_nanocores container_memory_bytes container_start_ms
    container_cpu_counter_ns pod_cpu_nanocores pod_memory_bytes pod_cpu_counter_ns
    node_cpu_nanocores node_memory_bytes node_cpu_counter_ns node_boot_ms
    cpu_quantity memory_quantity go_float);
our @EXPORT_OK = @FORMULAS;
our %EXPORT_TAGS = (all => \@FORMULAS);

our @NAMESPACES = qw(default kube-system team-a team-b monitoring);
our @CONTAINERS = qw(app sidecar proxy logger cache worker exporter init);
our $NODE_CPU_OVERHEAD_M = 250;
our $NODE_MEM_OVERHEAD = 805306368;          # 768 MiB
our $START_BEFORE_MS = 3_600_000;            # containers started 1 h (+ 0..599 s) before T0
our $BOOT_BEFORE_MS = 7_200_000;             # node counters run from T0 - 2 h

our $SIM = abs_path(dirname(__FILE__)) . '/kubelet-sim';

# ---- formulas (pristine state: no mode applied) ----

sub node_name      { sprintf 'node-%05d', $_[0] }
sub pod_name       { sprintf 'pod-%05d-%03d', $_[0], $_[1] }
sub pod_namespace  { $NAMESPACES[$_[0] % @NAMESPACES] }
sub container_name { $_[0] < @CONTAINERS ? $CONTAINERS[$_[0]] : "c$_[0]" }

sub container_cpu_millicores { my ($n, $p, $c) = @_; 1 + ($n * 7 + $p * 13 + $c * 29) % 997 }
sub container_cpu_nanocores  { container_cpu_millicores(@_) * 1_000_000 }
sub container_memory_bytes {
    my ($n, $p, $c) = @_;
    4096 * (2048 + ($n * 101 + $p * 211 + $c * 307) % 61440);
}
sub container_start_ms {
    my ($t0, $n, $p, $c) = @_;
    $t0 - $START_BEFORE_MS - 1000 * (($n * 3 + $p * 7 + $c * 11) % 600);
}
# cumulative CPU in ns at $now_ms (what the body shows, x 1e9)
sub container_cpu_counter_ns {
    my ($t0, $n, $p, $c, $now) = @_;
    my $from = container_start_ms($t0, $n, $p, $c);
    $now > $from ? container_cpu_millicores($n, $p, $c) * 1000 * ($now - $from) : 0;
}

sub pod_cpu_nanocores {
    my ($n, $p, $containers) = @_;
    my $s = 0;
    $s += container_cpu_nanocores($n, $p, $_) for 0 .. $containers - 1;
    $s;
}
sub pod_memory_bytes {
    my ($n, $p, $containers) = @_;
    my $s = 0;
    $s += container_memory_bytes($n, $p, $_) for 0 .. $containers - 1;
    $s;
}
sub pod_cpu_counter_ns {
    my ($t0, $n, $p, $containers, $now) = @_;
    my $s = 0;
    $s += container_cpu_counter_ns($t0, $n, $p, $_, $now) for 0 .. $containers - 1;
    $s;
}

sub node_cpu_nanocores {
    my ($n, $pods, $containers) = @_;
    my $m = $NODE_CPU_OVERHEAD_M;
    for my $p (0 .. $pods - 1) {
        $m += container_cpu_millicores($n, $p, $_) for 0 .. $containers - 1;
    }
    $m * 1_000_000;
}
sub node_memory_bytes {
    my ($n, $pods, $containers) = @_;
    my $s = $NODE_MEM_OVERHEAD;
    for my $p (0 .. $pods - 1) {
        $s += container_memory_bytes($n, $p, $_) for 0 .. $containers - 1;
    }
    $s;
}
sub node_boot_ms { $_[0] - $BOOT_BEFORE_MS }
sub node_cpu_counter_ns {
    my ($t0, $n, $pods, $containers, $now) = @_;
    node_cpu_nanocores($n, $pods, $containers) / 1000 * ($now - node_boot_ms($t0));
}

# Kubernetes canonical quantities for the integer values above (what metrics-server prints for
# a rate of exactly N nanocores / B bytes).
sub cpu_quantity {
    my ($nc) = @_;
    return '0' if $nc == 0;
    return ($nc / 1e9) . ''           if $nc % 1_000_000_000 == 0;
    return ($nc / 1_000_000) . 'm'    if $nc % 1_000_000 == 0;
    return ($nc / 1000) . 'u'         if $nc % 1000 == 0;
    return "${nc}n";
}
sub memory_quantity {
    my ($b) = @_;
    return '0' if $b == 0;
    my @suf = ('', qw(Ki Mi Gi Ti Pi Ei));
    my $i = 0;
    while ($i < $#suf && $b % 1024 == 0) { $b /= 1024; $i++ }
    return $b . $suf[$i];
}

# Go's strconv.FormatFloat(x, 'g', -1, 64), as the kubelet's Prometheus encoder writes values.
sub go_float {
    my ($x) = @_;
    return '0' if $x == 0;
    return 'NaN' if $x != $x;
    return $x > 0 ? '+Inf' : '-Inf' if $x * 0 != 0;
    my $s;
    for my $prec (1 .. 17) {
        $s = sprintf '%.*e', $prec - 1, $x;
        last if $s + 0 == $x;
    }
    my ($mant, $exp) = $s =~ /^(-?[\d.]+)e([-+]\d+)$/;
    $mant =~ s/\.?0+$// if $mant =~ /\./;
    $exp += 0;
    if ($exp < -4 || $exp >= 6) {
        return sprintf '%se%s%02d', $mant, $exp < 0 ? '-' : '+', abs $exp;
    }
    my $digits = $mant;
    $digits =~ s/[-.]//g;
    my $neg = $x < 0 ? '-' : '';
    my $dp = $exp + 1;                      # digits before the point
    if ($dp <= 0) { return $neg . '0.' . ('0' x -$dp) . $digits }
    if ($dp >= length $digits) { return $neg . $digits . ('0' x ($dp - length $digits)) }
    return $neg . substr($digits, 0, $dp) . '.' . substr($digits, $dp);
}

# ---- driver ----

# KubeletSim->start(dir => DIR, pki => PKI, nodes => N, [pods, containers, port, base_ip,
# workers, control_port, listen, anonymous => 1, http2 => 1, gzip => 1, path, keepalive_timeout,
# log_level, access_log => 1, quiet => 1])
sub start {
    my ($class, %o) = @_;
    return $class->start_daemon($SIM, \%o,
        [qw(pods containers port base_ip workers control_port listen path
            keepalive_timeout log_level)],
        [qw(anonymous http2 gzip access_log quiet)],
        '--pki', $o{pki}, '--nodes', $o{nodes});
}

# attach to a running simulator (reads DIR/sim.json)
sub attach { $_[0]->attach_daemon($_[1], 'sim.json') }

sub stop { $_[0]->stop_daemon($SIM) }

sub nodes_conf {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/nodes.conf" or die "$self->{dir}/nodes.conf: $!\n";
    local $/;
    return <$fh>;
}

sub node_ip {
    my ($self, $n) = @_;
    my @b = split /\./, $self->{base_ip};
    my $base = ($b[0] << 24) + ($b[1] << 16) + ($b[2] << 8) + $b[3];
    my $k = ($n - 1) + ($base & 255) - 1;
    my $x = (($base >> 8) + int($k / 254)) * 256 + $k % 254 + 1;
    return join '.', ($x >> 24) & 255, ($x >> 16) & 255, ($x >> 8) & 255, $x & 255;
}

sub url {
    my ($self, $n) = @_;
    return "https://" . $self->node_ip($n) . ":$self->{port}$self->{path}";
}

sub _get { $_[0]->control_call($_[1]) }

sub _q { PeerDaemon::uri_escape(@_) }

# $sim->mode(NODE, MODE [, ARG]); NODE: node-00001 | 1 | IP | 'all' | 'a,b'
sub mode {
    my ($self, $node, $mode, $arg) = @_;
    my $q = "/mode?node=" . _q($node) . "&mode=" . _q($mode);
    $q .= "&arg=" . _q($arg) if defined $arg;
    return $self->_get($q);
}

# $sim->stats           -> {total_requests, nodes_seen, nodes => {NAME => {...}}}
# $sim->stats(NODE)     -> the record of that node (zeros if it had no request)
sub stats {
    my ($self, $node) = @_;
    return $self->_get('/stats') unless defined $node;
    my $s = $self->_get('/stats?node=' . _q($node));
    my ($only) = values %{ $s->{nodes} };
    return $only;
}

sub stats_reset { $_[0]->_get('/stats/reset') }
sub state       { $_[0]->_get('/state?node=' . _q($_[1])) }
# the simulator's own view of node values at NOW_MS (default now), modes applied
sub expected    { $_[0]->_get('/expected?node=' . _q($_[1]) . (defined $_[2] ? "&now_ms=$_[2]" : '')) }

# pristine-state expectations of this simulator's node n
sub t0_ms { $_[0]->{t0_ms} }
sub node_cpu     { my ($s, $n) = @_; node_cpu_nanocores($n, $s->{pods}, $s->{containers}) }
sub node_memory  { my ($s, $n) = @_; node_memory_bytes($n, $s->{pods}, $s->{containers}) }
sub pod_cpu      { my ($s, $n, $p) = @_; pod_cpu_nanocores($n, $p, $s->{containers}) }
sub pod_memory   { my ($s, $n, $p) = @_; pod_memory_bytes($n, $p, $s->{containers}) }

1;
