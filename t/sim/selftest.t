# t/sim/selftest.t -- self-test of the kubelet simulator: prove t/sim/selftest.t
#
# Starts 5 simulated kubelets on free loopback ports, fetches /metrics/resource with curl the
# way the module does (cluster CA, kubelet-client certificate, IP host verification), checks the
# body against KubeletSim.pm's formulas (exact strings), counter rates, every mode, the
# statistics, and a clean stop.  Needs nginx + njs, openssl and curl.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use lib $FindBin::Bin;
use KubeletSim qw(:all);

my $root = "$FindBin::Bin/../..";
for my $bin ('/usr/sbin/nginx', '/usr/lib/nginx/modules/ngx_http_js_module.so') {
    plan skip_all => "$bin missing" unless -e $bin;
}
system('curl --version >/dev/null 2>&1') == 0 or plan skip_all => 'curl missing';

my $tmp = tempdir('kubelet-sim-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $pki = $ENV{TEST_NGINX_PKI} || "$tmp/pki";
system("$root/t/pki/gen.sh", $pki) == 0 or BAIL_OUT("t/pki/gen.sh $pki failed");

sub free_port {
    for (1 .. 100) {
        my $port = 20000 + int rand 30000;
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '0.0.0.0', LocalPort => $port,
                                      ReuseAddr => 1) or next;
        close $s;
        return $port;
    }
    die "no free port\n";
}

my ($port, $cport) = (free_port(), free_port());
my $base = sprintf '127.%d.%d.1', 100 + int rand 100, int rand 250;
my $sim = KubeletSim->start(dir => "$tmp/sim", pki => $pki, nodes => 5, port => $port,
                            control_port => $cport, base_ip => $base, quiet => 1);
END { $sim->stop if $sim }

my @client = ('--cacert', "$pki/ca.crt", '--cert', "$pki/kubelet-client.crt",
              '--key', "$pki/kubelet-client.key");

# curl(URL, extra args...) -> (http code, body, headers)
sub curl {
    my ($url, @args) = @_;
    my $h = "$tmp/h.$$";
    my $b = "$tmp/b.$$";
    unlink $h, $b;
    open(my $saved, '>&', \*STDERR) or die;
    open(STDERR, '>', "$tmp/curl.err") or die;
    open(my $fh, '-|', 'curl', '-sS', '--max-time', '10', '-o', $b, '-D', $h,
         '-w', '%{http_code}', @args, $url) or die "curl: $!";
    my $code = do { local $/; <$fh> };
    close $fh;
    open(STDERR, '>&', $saved) or die;
    my $body = -e $b ? do { local (@ARGV, $/) = $b; <> } : '';
    my $hdr = -e $h ? do { local (@ARGV, $/) = $h; <> } : '';
    return ($code, $body, $hdr, $? >> 8);
}

my $t0 = $sim->t0_ms;
ok($t0 > 1_600_000_000_000 && $t0 % 1000 == 0, "T0 $t0");
is($sim->node_ip(1), $base, 'node 1 at the base address');

# nodes.conf / nodes.tsv
like($sim->nodes_conf, qr/^k8s_metrics_node node-00003 \Q${\ $sim->node_ip(3)}:$port\E;$/m,
     'nodes.conf line');

# ---- a verified scrape of node 2 ----
my $n = 2;
my ($code, $body, $hdr) = curl($sim->url($n), @client);
is($code, 200, 'scrape with client cert: 200');
like($hdr, qr{^Content-Type: text/plain; version=0\.0\.4; charset=utf-8\r?$}mi, 'content type');
my $len = length $body;
ok($len > 25_000 && $len < 40_000, "body size $len");

# families in registry order, each with HELP and TYPE
my @fam = $body =~ /^# TYPE (\S+)/mg;
is_deeply(\@fam, [qw(container_cpu_usage_seconds_total container_memory_working_set_bytes
    container_start_time_seconds container_swap_usage_bytes node_cpu_usage_seconds_total
    node_memory_working_set_bytes node_swap_usage_bytes pod_cpu_usage_seconds_total
    pod_memory_working_set_bytes pod_swap_usage_bytes resource_scrape_error scrape_error)],
    'metric families in order');

# exact values against the formulas
my ($bad, $checked) = (0, 0);
my %seen;
for my $line (split /\n/, $body) {
    next if $line =~ /^#/;
    if ($line =~ /^(container_\w+)\{container="([^"]+)",namespace="([^"]+)",pod="pod-(\d+)-(\d+)"\} (\S+)(?: (\d+))?$/) {
        my ($m, $cn, $ns, $nn, $p, $v, $ts) = ($1, $2, $3, $4 + 0, $5 + 0, $6, $7);
        my ($c) = grep { container_name($_) eq $cn } 0 .. 1;
        my $want;
        if ($m eq 'container_cpu_usage_seconds_total') {
            $want = go_float(container_cpu_counter_ns($t0, $n, $p, $c, $ts) / 1e9);
        } elsif ($m eq 'container_memory_working_set_bytes') {
            $want = go_float(container_memory_bytes($n, $p, $c));
        } elsif ($m eq 'container_start_time_seconds') {
            $want = go_float(container_start_ms($t0, $n, $p, $c) / 1000);
            $bad++, diag("timestamp on start time: $line") if defined $ts;
        } else {
            $want = '0';
        }
        $seen{"$m/$p/$c"}++;
        $checked++;
        if ($v ne $want || $nn != $n || $ns ne pod_namespace($p)) { $bad++; diag("$line: want $want") }
    } elsif ($line =~ /^(pod_\w+)\{namespace="([^"]+)",pod="pod-\d+-(\d+)"\} (\S+) (\d+)$/) {
        my ($m, $ns, $p, $v, $ts) = ($1, $2, $3 + 0, $4, $5);
        my $want = $m eq 'pod_cpu_usage_seconds_total'
                   ? go_float(pod_cpu_counter_ns($t0, $n, $p, 2, $ts) / 1e9)
                 : $m eq 'pod_memory_working_set_bytes' ? go_float(pod_memory_bytes($n, $p, 2))
                 : '0';
        $checked++;
        if ($v ne $want) { $bad++; diag("$line: want $want") }
    } elsif ($line =~ /^(node_\w+) (\S+) (\d+)$/) {
        my ($m, $v, $ts) = ($1, $2, $3);
        my $want = $m eq 'node_cpu_usage_seconds_total'
                   ? go_float(node_cpu_counter_ns($t0, $n, 30, 2, $ts) / 1e9)
                 : $m eq 'node_memory_working_set_bytes' ? go_float(node_memory_bytes($n, 30, 2))
                 : '0';
        $checked++;
        if ($v ne $want) { $bad++; diag("$line: want $want") }
    } elsif ($line =~ /^(resource_scrape_error|scrape_error) 0$/) {
        $checked++;
    } else {
        $bad++;
        diag("unexpected line: $line");
    }
}
is($bad, 0, "$checked sample lines match the formulas exactly");
is($checked, 60 * 4 + 30 * 3 + 3 + 2, 'sample count: 60 containers x 4, 30 pods x 3, node 3, errors 2');
is(scalar(keys %seen), 240, 'every container of every pod');
like($body, qr/^container_memory_working_set_bytes\{[^}]+\} \d\.\d+e\+07 \d{13}$/m,
     'memory in Go %g form (e+07)');

# container order: sorted by (container, namespace, pod)
my @keys = map { /container="([^"]+)",namespace="([^"]+)",pod="([^"]+)"/ ? "$1\0$2\0$3" : () }
           grep { /^container_cpu_usage_seconds_total\{/ } split /\n/, $body;
is_deeply(\@keys, [sort @keys], 'samples sorted by label values');

# ---- counters advance at the documented rate ----
sub sample {
    my ($body, $re) = @_;
    my ($v, $ts) = $body =~ /^$re (\S+) (\d+)$/m or return;
    return ($v, $ts);
}
my $re_c = qr/container_cpu_usage_seconds_total\{container="sidecar",namespace="team-a",pod="pod-00002-007"\}/;
my ($v1, $ts1) = sample($body, $re_c);
my ($nv1, $nts1) = sample($body, qr/node_cpu_usage_seconds_total/);
sleep 2;
(undef, my $body2) = curl($sim->url($n), @client);
my ($v2, $ts2) = sample($body2, $re_c);
my ($nv2, $nts2) = sample($body2, qr/node_cpu_usage_seconds_total/);
my $rate = ($v2 - $v1) / (($ts2 - $ts1) / 1000) * 1e9;
my $want_rate = container_cpu_nanocores($n, 7, 1);
ok(abs($rate - $want_rate) <= $want_rate * 0.01, "container rate $rate ~ $want_rate nanocores");
my $nrate = ($nv2 - $nv1) / (($nts2 - $nts1) / 1000) * 1e9;
ok(abs($nrate - $sim->node_cpu($n)) <= $sim->node_cpu($n) * 0.01,
   "node rate $nrate ~ " . $sim->node_cpu($n));
ok($ts2 - $ts1 >= 1900, 'timestamps are now in ms');

# ---- TLS and authentication ----
(undef, undef, undef, my $rc) = curl("https://node-00003:$port/healthz", @client,
                                      '--resolve', "node-00003:$port:" . $sim->node_ip(4));
is($rc, 60, "node-00004's address does not verify as node-00003 (curl 60)");
($code) = curl("https://node-00003:$port/healthz", @client,
               '--resolve', "node-00003:$port:" . $sim->node_ip(3));
is($code, 200, 'DNS SAN of node-00003');
($code, $body) = curl($sim->url(1), '--cacert', "$pki/ca.crt");
is("$code $body", '401 Unauthorized', 'no credentials: 401 (anonymous auth off)');
($code) = curl($sim->url(1), '--cacert', "$pki/ca.crt", '-H', 'Authorization: Bearer t0k3n');
is($code, 200, 'bearer token: 200');
($code) = curl($sim->url(1), '--cacert', "$pki/ca.crt", '--cert', "$pki/unknown-client.crt",
               '--key', "$pki/unknown-client.key");
is($code, 401, 'client cert of an unknown CA: 401');

my $st = $sim->stats('node-00001');
is($st->{requests}, 3, 'node-00001: 3 requests');
is($st->{with_client_cert}, 0, 'node-00001: none with a verified client cert');
is($st->{with_authorization}, 1, 'node-00001: one with Authorization');
is($st->{last_client_verify}, 'FAILED:unable to verify the first certificate',
   'last verify result');
$st = $sim->stats('node-00002');
is($st->{requests}, 2, 'node-00002: 2 requests');
is($st->{with_client_cert}, 2, 'node-00002: both with the client cert');
is($st->{last_client_subject}, 'CN=system:metrics-server', 'node-00002: client subject');
ok(!$st->{last_authorization}, 'node-00002: no Authorization header');
is($sim->stats('node-00005')->{requests}, 0, 'node-00005: no request yet');

# ---- modes (node 5) ----
my $u5 = $sim->url(5);
sub mode { $sim->mode('node-00005', @_) }

mode('restart', 'pod-00005-004/app');
(undef, $body) = curl($u5, @client);
my ($cv, $cts) = sample($body, qr/container_cpu_usage_seconds_total\{container="app",namespace="monitoring",pod="pod-00005-004"\}/);
my ($start) = $body =~ /^container_start_time_seconds\{container="app",namespace="monitoring",pod="pod-00005-004"\} (\S+)$/m;
ok($cv < 1 && $start * 1000 > $cts - 5000 && $start * 1000 <= $cts, "restart: counter $cv from 0, start $start = now");
my $rs = $sim->state('node-00005')->{'node-00005'}{restarts}{'pod-00005-004/app'};
is($cv, go_float(container_cpu_millicores(5, 4, 0) * ($cts - $rs) / 1e6), 'restart: exact counter');

mode('counter_reset');
(undef, $body) = curl($u5, @client);
($nv1) = sample($body, qr/node_cpu_usage_seconds_total/);
ok($nv1 < 10, "counter_reset: node counter $nv1 restarted");
($cv) = sample($body, qr/container_cpu_usage_seconds_total\{container="sidecar",namespace="default",pod="pod-00005-000"\}/);
ok($cv < 1, "counter_reset: container counter $cv restarted");
like($body, qr/^container_start_time_seconds\{container="sidecar",namespace="default",pod="pod-00005-000"\} \Q${\ go_float(container_start_ms($t0, 5, 0, 1) \/ 1000)}\E$/m,
     'counter_reset: start times unchanged');

mode('drop_pod', 'pod-00005-003');
(undef, $body) = curl($u5, @client);
unlike($body, qr/pod-00005-003/, 'drop_pod: gone');
mode('add_pod', 2);
(undef, $body) = curl($u5, @client);
like($body, qr/^pod_cpu_usage_seconds_total\{namespace="default",pod="pod-00005-030"\} /m, 'add_pod: pod-00005-030');
like($body, qr/^pod_memory_working_set_bytes\{namespace="kube-system",pod="pod-00005-031"\} /m, 'add_pod: pod-00005-031');
my $cnt = () = $body =~ /^container_cpu_usage_seconds_total/mg;
is($cnt, 62, 'add_pod + drop_pod: 31 pods x 2 containers');
mode('claim_pod', 'default/pod-00001-000');
(undef, $body) = curl($u5, @client);
my @claimed = $body =~ /^container_memory_working_set_bytes\{container="app",namespace="default",pod="(pod-00001-000|pod-00005-000)"\} (\S+) /mg;
is("@claimed", 'pod-00001-000 ' . go_float(container_memory_bytes(5, 100000, 0))
               . ' pod-00005-000 ' . go_float(container_memory_bytes(5, 0, 0)),
   'claim_pod: another node\'s pod, in its place, with the values of pod 100000');
mode('reset');
(undef, $body) = curl($u5, @client);
$cnt = () = $body =~ /^container_cpu_usage_seconds_total/mg;
is($cnt, 60, 'reset: pristine');

mode('garbage', 1000);
($code, $body) = curl($u5, @client);
is("$code " . length($body), '200 1000', 'garbage: 1000 bytes');
mode('empty');
($code, $body, $hdr) = curl($u5, @client);
is("$code [$body]", '200 []', 'empty');
like($hdr, qr/^Content-Length: 0\r?$/mi, 'empty: Content-Length 0');
for my $s (401, 403, 500) {
    mode('status', $s);
    ($code, $body) = curl($u5, @client);
    is($code, $s, "status $s");
}
mode('gzip');
($code, $body, $hdr) = curl($u5, @client, '-H', 'Accept-Encoding: gzip');
like($hdr, qr/^Content-Encoding: gzip\r?$/mi, 'gzip: encoded when asked');
is(substr($body, 0, 2), "\x1f\x8b", 'gzip: gzip magic');
($code, $body, $hdr) = curl($u5, @client);
unlike($hdr, qr/Content-Encoding/i, 'gzip: identity when not asked');
like($body, qr/^# HELP container_cpu/, 'gzip: plain body');
mode('redirect');
($code, $body, $hdr) = curl($u5, @client);
is($code, 302, 'redirect: 302');
like($hdr, qr{^Location: https://\Q${\ $sim->node_ip(5)}:$port\E/redirected\r?$}mi, 'redirect: Location');
mode('malformed_lines');
($code, $body) = curl($u5, @client);
my $mal = () = $body =~ /malformed-\d|not a metric/g;
is($mal, 7, 'malformed_lines: 7 bad lines');
$cnt = () = $body =~ /^container_cpu_usage_seconds_total\{container="(app|sidecar)"/mg;
is($cnt, 60, 'malformed_lines: every good line kept');
mode('oversize', 20_000_000);
($code, $body, $hdr) = curl($u5, @client);
ok(length($body) >= 20_000_000, 'oversize: ' . length($body) . ' bytes');
like($hdr, qr/^Content-Length: \d+\r?$/mi, 'oversize: with Content-Length');
mode('oversize_chunked', 2_000_000);
($code, $body, $hdr) = curl($u5, @client);
ok(length($body) >= 2_000_000 && $hdr =~ /Transfer-Encoding: chunked/i, 'oversize_chunked');
mode('close_mid_body');
($code, $body, undef, $rc) = curl($u5, @client);
is($rc, 18, 'close_mid_body: curl 18 (transfer closed with bytes remaining)');
mode('hang', 5);
my $t = time;
(undef, undef, undef, $rc) = curl($u5, @client, '--max-time', 2);
is($rc, 28, 'hang: curl timed out');
ok(time - $t >= 1.9, 'hang: after 2 s');
mode('slow');
$t = time;
($code, $body, $hdr, $rc) = curl($u5, @client, '--max-time', 3);
is($rc, 28, 'slow: timed out');
ok(length($body) >= 2 && length($body) <= 4, 'slow: 1 byte per second (' . length($body) . ' in 3 s)');
like($hdr, qr{^HTTP/1.1 200}, 'slow: headers at once');
mode('slow', 20000);
($code, $body) = curl($u5, @client);
like($body, qr/scrape_error 0\n\z/, 'slow 20000: the whole body in ~2 s');
mode('normal');
($code) = curl($u5, @client);
is($code, 200, 'normal again');

# mode on several nodes, and errors
my $res = $sim->mode('node-00001,node-00003', 'status', 503);
is_deeply([sort keys %$res], ['node-00001', 'node-00003'], 'mode on a node list');
($code) = curl($sim->url(3), @client);
is($code, 503, 'node-00003: 503');
$sim->mode('all', 'reset');
($code) = curl($sim->url(3), @client);
is($code, 200, 'all reset');
ok(!eval { $sim->mode('node-00009', 'normal'); 1 }, 'unknown node refused');
ok(!eval { $sim->mode('node-00001', 'explode'); 1 }, 'unknown mode refused');

# statistics
$st = $sim->stats;
ok($st->{total_requests} > 20, "total requests $st->{total_requests}");
$st = $sim->stats('node-00005');
ok($st->{uris}{'/metrics/resource'} >= 20, 'per-uri counts');
ok($st->{connections} >= 1, "connections counted ($st->{connections})");
$sim->stats_reset;
is($sim->stats->{total_requests}, 0, 'stats reset');

# clean stop
my $pid = do { local (@ARGV, $/) = "$tmp/sim/nginx.pid"; <> };
chomp $pid;
$sim->stop;
undef $sim;
ok(!kill(0, $pid), 'nginx master gone after stop');
my $listening = IO::Socket::INET->new(PeerAddr => $base, PeerPort => $port, Timeout => 1);
ok(!$listening, 'port closed');

done_testing();
