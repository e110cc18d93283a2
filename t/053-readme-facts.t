# What the README says about collection and metrics-server's flags, held
# to the code and to metrics-server v0.9's command line
# (docs/command-line-flags.txt of kubernetes-sigs/metrics-server: the names
# of the flags its table maps).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Test::More;

my $root = abs_path(dirname(__FILE__) . '/..');

sub slurp {
    open my $fh, '<', "$root/$_[0]" or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

my $readme = slurp('README.md');
my $scrape = slurp('ngx_metrics_module/ngx_k8s_metrics_scrape.h');

# the kubelets scraped at once
my ($in_flight) = $scrape =~ /#define NGX_K8S_METRICS_MAX_IN_FLIGHT\s+(\d+)/;
my ($said) = $readme =~ /at most (\d+) at once/;
is($said, $in_flight, 'the README says how many kubelets are scraped at once');

# metrics-server v0.9's flags (serving, authentication, authorization,
# kubelet and the rest that its table names)
my %flags = map { $_ => 1 } qw(
    --metric-resolution --kubelet-preferred-address-types --kubelet-port
    --kubelet-use-node-status-port --kubelet-insecure-tls
    --kubelet-certificate-authority --kubelet-client-certificate
    --kubelet-client-key --kubelet-request-timeout --node-selector
    --deprecated-kubelet-completely-insecure --kubeconfig
    --authentication-kubeconfig --authorization-kubeconfig --secure-port
    --bind-address --tls-cert-file --tls-private-key-file --cert-dir
    --tls-min-version --tls-cipher-suites --tls-curve-preferences
    --tls-sni-cert-key --http2-max-streams-per-connection
    --disable-http2-serving --permit-port-sharing --permit-address-sharing
    --client-ca-file --requestheader-client-ca-file
    --requestheader-allowed-names --requestheader-username-headers
    --requestheader-group-headers --requestheader-extra-headers-prefix
    --requestheader-uid-headers --authentication-skip-lookup
    --authentication-tolerate-lookup-failure
    --authentication-token-webhook-cache-ttl
    --authorization-always-allow-paths
    --authorization-webhook-cache-authorized-ttl
    --authorization-webhook-cache-unauthorized-ttl --profiling
    --contention-profiling --vmodule --logging-format --version
);

my ($table) = $readme =~ /\n### metrics-server flags and their directives\n(.*?)\n\n(?!\|)/s;
my $rows = () = ($table // '') =~ /^\|/mg;
cmp_ok($rows, '>', 40, 'the flag table is found');

my @named = ($table // '') =~ /^\| ([^|]*)\|/mg;
my @unknown = grep { !$flags{$_} } map { /(--[a-z0-9-]+)/g } @named;
is_deeply(\@unknown, [], 'every flag the table names is one of metrics-server\'s');

# its TLS serving flags, each mapped to an nginx directive
for my $pair (['--tls-min-version', 'ssl_protocols'],
              ['--tls-cipher-suites', 'ssl_ciphers'],
              ['--tls-curve-preferences', 'ssl_ecdh_curve'],
              ['--http2-max-streams-per-connection', 'http2_max_concurrent_streams'],
              ['--permit-port-sharing', 'listen ... reuseport'])
{
    my ($flag, $directive) = @$pair;
    like($table // '', qr/^\| `\Q$flag\E` \| `\Q$directive\E`/m,
         "$flag maps to $directive");
}

# the timeout's default follows the resolution
like($readme, qr/\| `k8s_metrics_kubelet_timeout TIME` \| the smaller of `10s` and 0\.9 x the resolution \|/,
     'the timeout\'s default is the smaller of 10s and 0.9 x the resolution');

done_testing();
