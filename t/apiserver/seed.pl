#!/usr/bin/env perl
# t/apiserver/seed.pl -- the initial state of the fake kube-apiserver (called by fake-apiserver
# start; see README.md).  Writes two JSON files:
#   --config FILE   tokens, access, SAR rules, modes (DIR/state/config.json)
#   --seed FILE     the objects for the control server's /seed: nodes, pods, the
#                   kube-system/extension-apiserver-authentication ConfigMap from the PKI
#
#   seed.pl --pki PKI --config FILE --seed FILE
#           [--sim SIMDIR]                             nodes (and pods) of a running kubelet-sim
#           [--nodes N] [--base-ip IP] [--kubelet-port P] [--pods K] [--containers C]
#           [--no-pods] [--no-configmap] [--extra FILE.json]
#
# Nodes follow t/sim's numbering: node-00001..., addresses counted from --base-ip skipping
# last octets .0 and .255 (the same as kubelet-sim), so that `--sim DIR` and
# `--nodes N --base-ip IP --kubelet-port P` agree for the same simulator.
use strict;
use warnings;
use JSON::PP;
use Getopt::Long qw(GetOptions);

my %o = (containers => 2, pods => 0, 'base-ip' => '127.1.0.1', 'kubelet-port' => 10250);
GetOptions(\%o, 'pki=s', 'config=s', 'seed=s', 'sim=s', 'nodes=i', 'base-ip=s', 'kubelet-port=i',
           'pods=i', 'containers=i', 'no-pods', 'no-configmap', 'extra=s')
    or die "usage: see the head of $0\n";
defined $o{$_} or die "seed.pl: --$_ is required\n" for qw(pki config seed);

my $json = JSON::PP->new->canonical->utf8;
sub slurp { my ($f) = @_; open my $fh, '<', $f or die "seed.pl: $f: $!\n"; local $/; <$fh> }
sub spew {
    my ($f, $s) = @_;
    open my $fh, '>', "$f.tmp" or die "seed.pl: $f: $!\n";
    print $fh $s;
    close $fh or die "seed.pl: $f: $!\n";
    rename "$f.tmp", $f or die "seed.pl: $f: $!\n";
}

# ---- nodes: (name, ip, port) ----
my @nodes;
my ($pods, $containers) = ($o{pods}, $o{containers});
if ($o{sim}) {
    for my $line (split /\n/, slurp("$o{sim}/nodes.tsv")) {
        my ($name, $ip, $port) = split /\t/, $line;
        push @nodes, [$name, $ip, $port] if $name;
    }
    my $p = $json->decode(slurp("$o{sim}/sim.json"));
    $pods = $p->{pods};
    $containers = $p->{containers};
} elsif ($o{nodes}) {
    my @b = split /\./, $o{'base-ip'};
    my $base = ($b[0] << 24) + ($b[1] << 16) + ($b[2] << 8) + $b[3];
    for my $n (1 .. $o{nodes}) {
        my $k = ($n - 1) + ($base & 255) - 1;
        my $x = (($base >> 8) + int($k / 254)) * 256 + $k % 254 + 1;
        my $ip = join '.', ($x >> 24) & 255, ($x >> 16) & 255, ($x >> 8) & 255, $x & 255;
        push @nodes, [sprintf('node-%05d', $n), $ip, $o{'kubelet-port'}];
    }
}
$pods = 0 if $o{'no-pods'};

my @NAMESPACES = qw(default kube-system team-a team-b monitoring);
my @CONTAINERS = qw(app sidecar proxy logger cache worker exporter init);
my @APPS = qw(web api db);

my (@node_specs, @pod_specs);
for my $x (@nodes) {
    my ($name, $ip, $port) = @$x;
    my ($n) = $name =~ /(\d+)$/;
    $n += 0;
    push @node_specs, {
        name => $name, address => $ip, port => $port + 0,
        labels => { 'sim.k8s.io/index' => "$n", 'sim.k8s.io/parity' => ($n % 2 ? 'odd' : 'even') },
    };
    for my $p (0 .. $pods - 1) {
        push @pod_specs, {
            name => sprintf('pod-%05d-%03d', $n, $p), namespace => $NAMESPACES[$p % 5],
            node => $name, phase => 'Running',
            labels => { app => $APPS[$p % 3], 'sim.k8s.io/node' => $name, 'sim.k8s.io/index' => "$p" },
            containers => [map { $_ < @CONTAINERS ? $CONTAINERS[$_] : "c$_" } 0 .. $containers - 1],
        };
    }
}

# ---- the authentication ConfigMap, as kube-apiserver's cluster authentication trust
# controller writes it (pkg/controlplane/controller/clusterauthenticationtrust): the CA bundles
# as PEM, every requestheader-* list as a JSON array string ----
my @configmaps;
unless ($o{'no-configmap'}) {
    my $arr = JSON::PP->new->canonical;
    push @configmaps, {
        namespace => 'kube-system', name => 'extension-apiserver-authentication',
        data => {
            'client-ca-file' => slurp("$o{pki}/ca.crt"),
            'requestheader-client-ca-file' => slurp("$o{pki}/front-proxy-ca.crt"),
            'requestheader-allowed-names' => $arr->encode(['front-proxy-client']),
            'requestheader-username-headers' => $arr->encode(['X-Remote-User']),
            'requestheader-group-headers' => $arr->encode(['X-Remote-Group']),
            'requestheader-extra-headers-prefix' => $arr->encode(['X-Remote-Extra-']),
            'requestheader-uid-headers' => $arr->encode([]),
        },
    };
}

my %seed = (nodes => \@node_specs, pods => \@pod_specs, configmaps => \@configmaps);

# ---- authentication / authorization ----
my %config = (
    tokens => {
        'metrics-server-token' => {
            username => 'system:serviceaccount:kube-system:metrics-server',
            uid => '6b2f1f7e-0000-4000-8000-00000000a001',
            groups => ['system:serviceaccounts', 'system:serviceaccounts:kube-system'],
            extra => {
                'authentication.kubernetes.io/credential-id' => ['JTI=5e1b6c1a-0000-4000-8000-00000000b001'],
                'authentication.kubernetes.io/pod-name' => ['metrics-server-7d9c6b5f4-abcde'],
            },
        },
        'admin-token' => { username => 'kubernetes-admin', groups => ['system:masters'] },
        'alice-token' => { username => 'alice', uid => 'alice-uid', groups => ['dev', 'qa'],
                           extra => { scopes => ['view', 'edit'] } },
        'bob-token' => { username => 'bob', groups => [] },
        'nobody-token' => { username => 'nobody', groups => [] },
        'restricted-token' => { username => 'system:serviceaccount:kube-system:restricted',
                                groups => ['system:serviceaccounts'] },
    },
    access => {
        # no entry = everything; [] = nothing (403)
        nobody => [],
        'system:serviceaccount:kube-system:restricted' => ['list nodes', 'watch nodes', 'get nodes'],
    },
    sar => {
        rules => [ { group => 'system:masters', reason => 'fake-apiserver: group system:masters' } ],
        default => 'deny',
    },
    modes => {},
    # /node/add without a port: the simulator's port (or --kubelet-port)
    default_kubelet_port => (@nodes ? $nodes[0][2] + 0 : $o{'kubelet-port'} + 0),
    audiences => ['https://kubernetes.default.svc.cluster.local'],
);

if ($o{extra}) {
    # a JSON file {"config": {...merged...}, "seed": {"nodes": [...], ...appended...}}
    my $x = $json->decode(slurp($o{extra}));
    for my $k (keys %{ $x->{config} || {} }) {
        my $v = $x->{config}{$k};
        if (ref $v eq 'HASH' && ref $config{$k} eq 'HASH') { $config{$k}{$_} = $v->{$_} for keys %$v }
        else { $config{$k} = $v }
    }
    for my $k (keys %{ $x->{seed} || {} }) { push @{ $seed{$k} }, @{ $x->{seed}{$k} } }
}

spew($o{config}, $json->encode(\%config));
spew($o{seed}, $json->encode(\%seed));
