# t/apiserver/selftest.t -- self-test of the fake kube-apiserver: prove t/apiserver/selftest.t
#
# Starts the fake apiserver (3 nodes x 4 pods, the PKI's ConfigMap) on free ports in 6000-6999
# (FAKE_APISERVER_PORT / FAKE_APISERVER_CONTROL_PORT override), and talks to it with curl the
# way the module does (cluster CA, bearer token): lists and pagination, selectors, the metadata
# view of pods, live watch events (latency), the list form on a watch (the stream ends at its first
# event, as kube-apiserver ends it), resume, 410, cut, timeout bookmarks, SAR, TokenReview,
# the authentication ConfigMap and its rotation, error Statuses, the call log, and stop.
# Needs nginx + njs, openssl and curl.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(sleep time);
use lib $FindBin::Bin;
use FakeApiserver;

my $root = "$FindBin::Bin/../..";
for my $bin ('/usr/sbin/nginx', '/usr/lib/nginx/modules/ngx_http_js_module.so') {
    plan skip_all => "$bin missing" unless -e $bin;
}
system('curl --version >/dev/null 2>&1') == 0 or plan skip_all => 'curl missing';

my $tmp = tempdir('fake-apiserver-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $pki = $ENV{TEST_NGINX_PKI} || "$tmp/pki";
system("$root/t/pki/gen.sh $pki >/dev/null") == 0 or BAIL_OUT("t/pki/gen.sh $pki failed");

sub free_port {
    my %not = map { $_ => 1 } @_;
    for (1 .. 200) {
        my $port = 6000 + int rand 1000;
        next if $not{$port};
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => $port,
                                      ReuseAddr => 1) or next;
        close $s;
        return $port;
    }
    die "no free port in 6000-6999\n";
}
my $port = $ENV{FAKE_APISERVER_PORT} || free_port();
my $cport = $ENV{FAKE_APISERVER_CONTROL_PORT} || free_port($port);

my $api = FakeApiserver->start(dir => "$tmp/api", pki => $pki, port => $port,
                               control_port => $cport, nodes => 3, pods => 4, quiet => 1);
END { $api->stop if $api }
my $URL = $api->url;
my $json = JSON::PP->new->canonical;

# curl(PATH, extra args...) -> (http code, body, headers, exit code); authenticated as the module
sub curl {
    my ($path, @args) = @_;
    my @auth = grep { $_ eq '--noauth' } @args;
    @args = grep { $_ ne '--noauth' } @args;
    my ($h, $b) = ("$tmp/h.$$", "$tmp/b.$$");
    unlink $h, $b;
    open(my $saved, '>&', \*STDERR) or die;
    open(STDERR, '>', "$tmp/curl.err") or die;
    open(my $fh, '-|', 'curl', '-sS', '--max-time', '20', '-o', $b, '-D', $h, '-w', '%{http_code}',
         (@auth ? ('--cacert', $api->ca) : $api->curl_args), @args, $URL . $path) or die "curl: $!";
    my $code = do { local $/; <$fh> };
    close $fh;
    my $rc = $? >> 8;
    open(STDERR, '>&', $saved) or die;
    my $body = -e $b ? do { local (@ARGV, $/) = $b; <> } : '';
    my $hdr = -e $h ? do { local (@ARGV, $/) = $h; <> } : '';
    return ($code, $body, $hdr, $rc);
}
sub get_json {
    my ($path, @args) = @_;
    my ($code, $body) = curl($path, @args);
    my $j = eval { decode_json($body) };
    return ($code, $j, $body);
}
sub post_json {
    my ($path, $obj, @args) = @_;
    return get_json($path, '-H', 'Content-Type: application/json', '--data-binary',
                    ref $obj ? encode_json($obj) : $obj, @args);
}

# ---- watch streams through curl: open, read events with their arrival time ----
sub watch_open {
    my ($path, @args) = @_;
    my $err = "$tmp/watch.err." . int(rand 1e9);
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open(STDERR, '>', $err) or die;
        exec('curl', '-sSN', '--max-time', '60', $api->curl_args, @args, $URL . $path) or die;
    }
    return { fh => $fh, pid => $pid, buf => '', sel => IO::Select->new($fh), err => $err, eof => 0 };
}
# next event (decoded, with {_t} = arrival time), undef on timeout or end of stream
sub watch_next {
    my ($w, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        if ($w->{buf} =~ s/^([^\n]*)\n//) {
            my $line = $1;
            my $ev = eval { decode_json($line) } or return { _bad => $line, _t => $w->{t} };
            $ev->{_t} = $w->{t};
            $ev->{_raw} = $line;
            return $ev;
        }
        return undef if $w->{eof};
        my $left = $deadline - time;
        return undef if $left <= 0;
        next unless $w->{sel}->can_read($left);
        my $n = sysread($w->{fh}, my $chunk, 65536);
        $w->{t} = time;
        if (!$n) { $w->{eof} = 1; next; }
        $w->{buf} .= $chunk;
    }
}
# wait for the end of the stream: curl's exit code and stderr
sub watch_end {
    my ($w, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (!$w->{eof} && time < $deadline) {
        last unless $w->{sel}->can_read($deadline - time);
        my $n = sysread($w->{fh}, my $chunk, 65536);
        if (!$n) { $w->{eof} = 1; last; }
        $w->{buf} .= $chunk;
    }
    kill 'TERM', $w->{pid} unless $w->{eof};
    close $w->{fh};
    my $rc = $? >> 8;
    my $err = do { local (@ARGV, $/) = $w->{err}; <> } // '';
    return ($w->{eof} ? $rc : -1, $err);
}

my $H_POM = 'Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
my $H_POM1 = 'Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

# =============================================================================================
# lists

my ($code, $j, $raw) = get_json('/api/v1/nodes');
is($code, 200, 'GET /api/v1/nodes: 200');
is($j->{kind}, 'NodeList', 'kind NodeList');
is($j->{apiVersion}, 'v1', 'apiVersion v1');
like($j->{metadata}{resourceVersion}, qr/^\d+$/, 'list resourceVersion is a string of digits');
is(scalar @{ $j->{items} }, 3, '3 nodes');
my $n1 = $j->{items}[0];
is($n1->{metadata}{name}, 'node-00001', 'sorted by name');
ok(!exists $n1->{kind} && !exists $n1->{apiVersion}, 'list items carry no kind/apiVersion (as kube-apiserver)');
like($n1->{metadata}{uid}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'uid');
like($n1->{metadata}{resourceVersion}, qr/^\d+$/, 'item resourceVersion');
is_deeply($n1->{status}{addresses}, [{ type => 'InternalIP', address => '127.1.0.1' },
                                      { type => 'Hostname', address => 'node-00001' }], 'addresses');
is($n1->{status}{daemonEndpoints}{kubeletEndpoint}{Port}, 10250, 'daemonEndpoints.kubeletEndpoint.Port');
is($n1->{metadata}{labels}{'kubernetes.io/hostname'}, 'node-00001', 'hostname label');
is($n1->{status}{conditions}[0]{type}, 'Ready', 'Ready condition');
like($raw, qr/^\{"kind":"NodeList","apiVersion":"v1","metadata":\{"resourceVersion":"\d+"\},"items":\[\{"metadata":\{"name":"node-00001","uid":/,
     'Go field order');
my $rv0 = $j->{metadata}{resourceVersion};

# pagination
my @names;
my ($cont, $pages, @remaining) = ('', 0);
do {
    ($code, $j) = get_json('/api/v1/nodes?limit=1' . ($cont ? "&continue=$cont" : ''));
    is($code, 200, "page " . ($pages + 1));
    push @names, map { $_->{metadata}{name} } @{ $j->{items} };
    push @remaining, $j->{metadata}{remainingItemCount} // 'none';
    is($j->{metadata}{resourceVersion}, $rv0, 'each page at the first page\'s resourceVersion');
    $cont = $j->{metadata}{continue};
    $pages++;
} while ($cont && $pages < 10);
is_deeply(\@names, [qw(node-00001 node-00002 node-00003)], 'limit=1 pages through all nodes');
is_deeply(\@remaining, [2, 1, 'none'], 'remainingItemCount');
# a paged list is one consistent snapshot: changes after the first page do not show in the next
{
    my ($c1, $first) = get_json('/api/v1/nodes?limit=2');
    $api->remove_node('node-00003');
    my $new = $api->add_node(name => 'node-00002a', address => '127.1.0.99');
    my ($c2, $second) = get_json('/api/v1/nodes?limit=2&continue=' . $first->{metadata}{continue});
    is_deeply([map { $_->{metadata}{name} } @{ $first->{items} }, @{ $second->{items} }],
              [qw(node-00001 node-00002 node-00003)], 'continue: the snapshot of the first page (removed node still there, new one not)');
    is($second->{metadata}{resourceVersion}, $first->{metadata}{resourceVersion}, '... at the first page\'s resourceVersion');
    ($code, $j) = get_json('/api/v1/nodes');
    is_deeply([map { $_->{metadata}{name} } @{ $j->{items} }], [qw(node-00001 node-00002 node-00002a)], 'a new list sees the changes');
    $api->remove_node('node-00002a');
    $api->add_node(name => 'node-00003', address => '127.1.0.3', labels => { 'sim.k8s.io/index' => '3', 'sim.k8s.io/parity' => 'odd' });
}
($code, $j) = get_json('/api/v1/nodes?limit=2&resourceVersion=0');
is(scalar @{ $j->{items} }, 2, 'limit honoured with resourceVersion=0 too (mode ignore_limit_rv0 emulates the old watch cache)');
($code, $j) = get_json('/api/v1/nodes?continue=bm90LWEtdG9rZW4');
is($code, 400, 'bad continue token: 400');

# label selectors
my %sel = ('sim.k8s.io/parity=odd' => [1, 3], 'sim.k8s.io/parity!=odd' => [2],
           'sim.k8s.io/index in (1,2)' => [1, 2], 'sim.k8s.io/index notin (1,2)' => [3],
           'sim.k8s.io/parity' => [1, 2, 3], '!sim.k8s.io/parity' => [],
           'sim.k8s.io/parity=odd,sim.k8s.io/index!=1' => [3]);
for my $s (sort keys %sel) {
    (my $q = $s) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    ($code, $j) = get_json("/api/v1/nodes?labelSelector=$q");
    is_deeply([map { $_->{metadata}{name} } @{ $j->{items} }],
              [map { sprintf 'node-%05d', $_ } @{ $sel{$s} }], "labelSelector $s");
}
($code, $j) = get_json('/api/v1/nodes?labelSelector=a%3D%3D%3Db');
is($code, 400, 'unparsable labelSelector: 400');
is($j->{reason}, 'BadRequest', '... BadRequest Status');
($code, $j) = get_json('/api/v1/nodes?fieldSelector=metadata.name%3Dnode-00002');
is_deeply([map { $_->{metadata}{name} } @{ $j->{items} }], ['node-00002'], 'fieldSelector metadata.name');
($code, $j) = get_json('/api/v1/pods?fieldSelector=spec.foo%3Dx');
is($code, 400, 'unsupported field: 400');
is($j->{message}, 'field label not supported: spec.foo', '... with kube-apiserver\'s message');

# pods: PartialObjectMetadataList, fieldSelector status.phase=Running
($code, $j) = get_json('/api/v1/pods?fieldSelector=status.phase%3DRunning', '-H', $H_POM);
is($code, 200, 'pods as PartialObjectMetadataList');
is($j->{kind}, 'PartialObjectMetadataList', 'kind PartialObjectMetadataList');
is($j->{apiVersion}, 'meta.k8s.io/v1', 'apiVersion meta.k8s.io/v1');
is(scalar @{ $j->{items} }, 12, '12 running pods');
my $p0 = $j->{items}[0];
is($p0->{kind}, 'PartialObjectMetadata', 'items: kind PartialObjectMetadata');
is($p0->{apiVersion}, 'meta.k8s.io/v1', 'items: apiVersion');
is_deeply([sort grep { $_ ne 'managedFields' } keys %$p0], [qw(apiVersion kind metadata)], 'items: metadata only');
is($p0->{metadata}{namespace}, 'default', 'sorted by namespace/name');
ok($p0->{metadata}{labels}{app} && $p0->{metadata}{creationTimestamp} && $p0->{metadata}{uid}, 'labels, creationTimestamp, uid');
$api->set_pod_phase('default', 'pod-00001-000', 'Succeeded');
($code, $j) = get_json('/api/v1/pods?fieldSelector=status.phase%3DRunning', '-H', $H_POM);
is(scalar @{ $j->{items} }, 11, 'a Succeeded pod leaves the Running list');
($code, $j) = get_json('/api/v1/pods');
is($j->{kind}, 'PodList', 'without the Accept: a PodList');
is(scalar @{ $j->{items} }, 12, '... of every pod');
ok(exists $j->{items}[0]{spec}{containers}, '... full objects');
($code, $j) = get_json('/api/v1/namespaces/kube-system/pods', '-H', $H_POM);
is_deeply([sort map { $_->{metadata}{namespace} } @{ $j->{items} }], [('kube-system') x 3], 'namespaced list');
($code, $j) = get_json('/api/v1/pods', '-H', $H_POM1);
is($code, 406, 'as=PartialObjectMetadata on a list: 406 (as kube-apiserver)');

# =============================================================================================
# watch: live events, latency

for my $proto ('--http1.1', '--http2') {
    my $rv = $api->rv;
    my $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=30", $proto);
    ok($api->wait_watches(1, res => 'nodes'), "$proto: watch open");
    my (@lat, $ev);
    my $t = time; $api->modify_node('node-00002', set_labels => { tier => 'gold' }); my $t1 = time;
    $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'MODIFIED', "$proto: label change -> MODIFIED");
    is($ev && $ev->{object}{metadata}{labels}{tier}, 'gold', "$proto: ... with the new label");
    is($ev && $ev->{object}{kind}, 'Node', "$proto: event objects carry kind");
    like($ev && $ev->{_raw}, qr/^\{"type":"MODIFIED","object":\{"kind":"Node","apiVersion":"v1",/, "$proto: event JSON");
    push @lat, $ev->{_t} - $t1 if $ev;
    $t1 = time; $api->add_node(name => 'node-00009', address => '127.1.0.9', port => 10259); my $t2 = time;
    $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'ADDED', "$proto: new node -> ADDED");
    is($ev && $ev->{object}{status}{daemonEndpoints}{kubeletEndpoint}{Port}, 10259, "$proto: ... its port");
    push @lat, $ev->{_t} - $t2 if $ev;
    $api->bookmark; $t2 = time;
    $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'BOOKMARK', "$proto: bookmark now -> BOOKMARK");
    is($ev && $ev->{object}{metadata}{resourceVersion}, $api->rv, "$proto: ... at the current resourceVersion");
    is_deeply($ev && [sort keys %{ $ev->{object}{metadata} }], [qw(creationTimestamp resourceVersion)],
              "$proto: ... with only metadata.resourceVersion (and creationTimestamp null)");
    push @lat, $ev->{_t} - $t2 if $ev;
    $api->remove_node('node-00009'); $t2 = time;
    $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'DELETED', "$proto: removed node -> DELETED");
    is($ev && $ev->{object}{metadata}{name}, 'node-00009', "$proto: ... the node");
    push @lat, $ev->{_t} - $t2 if $ev;
    my ($max) = sort { $b <=> $a } @lat;
    cmp_ok($max // 9, '<', 0.2, sprintf("$proto: events arrive within 200 ms of the change (max %.0f ms, all: %s)",
                                        1000 * ($max // 9), join(' ', map { sprintf '%.0f', 1000 * $_ } @lat)));
    diag(sprintf("$proto watch latency ms: %s", join(' ', map { sprintf '%.1f', 1000 * $_ } @lat)));
    $api->cut(clean => 1);
    my ($rc) = watch_end($w, 3);
    is($rc, 0, "$proto: cut clean=1 ends the stream cleanly");
}

# watch with a label selector: an object leaving the selector is DELETED for that watch
{
    my $rv = $api->rv;
    my $w = watch_open("/api/v1/nodes?watch=true&resourceVersion=$rv&labelSelector=tier%3Dgold");
    $api->wait_watches(1, res => 'nodes');
    $api->modify_node('node-00001', set_labels => { tier => 'gold' });
    my $ev = watch_next($w, 3);
    is($ev && "$ev->{type} $ev->{object}{metadata}{name}", 'ADDED node-00001', 'selector watch: node entering the selector -> ADDED');
    my $r = $api->modify_node('node-00002', set_labels => { tier => undef });
    $ev = watch_next($w, 3);
    is($ev && "$ev->{type} $ev->{object}{metadata}{name}", 'DELETED node-00002', 'selector watch: node leaving the selector -> DELETED');
    is($ev && $ev->{object}{metadata}{resourceVersion}, $r->{metadata}{resourceVersion}, '... at the change\'s resourceVersion');
    is($ev && $ev->{object}{metadata}{labels}{tier}, 'gold', '... with the previous content (as the watch cache)');
    $api->cut;
    my ($rc, $err) = watch_end($w, 3);
    ok($rc == 18 || $rc == 92, "cut: curl sees the stream end without its last chunk (HTTP/1.1: 18, HTTP/2 RST_STREAM: 92): $rc") or diag($err);
    ok($api->wait_for(sub { !@{ $api->watches } }, 3), 'cut: no open watch left');
}

# watch with no resourceVersion: synthetic ADDED for the current state first
{
    my $w = watch_open('/api/v1/nodes?watch=1&timeoutSeconds=10');
    my @ev = map { watch_next($w, 3) } 1 .. 3;
    is_deeply([map { $_ && "$_->{type} $_->{object}{metadata}{name}" } @ev],
              ['ADDED node-00001', 'ADDED node-00002', 'ADDED node-00003'], 'watch without resourceVersion: initial ADDED events');
    $api->cut;
    watch_end($w, 3);
}

# a client that goes away: its stream is unregistered (the control side notices within ~1 s)
{
    my $w = watch_open('/api/v1/nodes?watch=1&timeoutSeconds=60');
    ok($api->wait_watches(1, res => 'nodes'), 'watch open');
    kill 'KILL', $w->{pid};
    close $w->{fh};
    ok($api->wait_for(sub { !@{ $api->watches('nodes') } }, 3), 'client gone: no open watch left');
}

# resume: events after the given resourceVersion are replayed
{
    my $rv = $api->rv;
    $api->modify_node('node-00003', set_labels => { a => 1 });
    $api->modify_node('node-00003', set_labels => { a => 2 });
    my $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$rv&timeoutSeconds=10");
    my @ev = map { watch_next($w, 3) } 1 .. 2;
    is_deeply([map { $_ && $_->{object}{metadata}{labels}{a} } @ev], [1, 2], 'resume from a resourceVersion: the changes after it, in order');
    $api->cut;
    watch_end($w, 3);
}

# pods: metadata watch, phase leaving the Running field selector
{
    my $rv = $api->rv;
    my $w = watch_open("/api/v1/pods?watch=1&resourceVersion=$rv&fieldSelector=status.phase%3DRunning&allowWatchBookmarks=true", '-H', $H_POM1);
    $api->wait_watches(1, res => 'pods');
    $api->add_pod(namespace => 'team-a', name => 'new-pod', node => 'node-00001', labels => { app => 'x' });
    my $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'ADDED', 'pod watch: ADDED');
    is($ev && $ev->{object}{kind}, 'PartialObjectMetadata', 'pod watch with as=PartialObjectMetadata: metadata objects');
    is($ev && $ev->{object}{metadata}{namespace}, 'team-a', '... namespace');
    is($ev && $ev->{object}{metadata}{labels}{app}, 'x', '... labels');
    $api->set_pod_labels('team-a', 'new-pod', { app => 'y' });
    $ev = watch_next($w, 3);
    is($ev && "$ev->{type} $ev->{object}{metadata}{labels}{app}", 'MODIFIED y', 'pod label change: MODIFIED');
    $api->set_pod_phase('team-a', 'new-pod', 'Failed');
    $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'DELETED', 'pod no longer Running: DELETED for a status.phase=Running watch');
    $api->bookmark;
    $ev = watch_next($w, 3);
    is($ev && $ev->{_raw}, '{"type":"BOOKMARK","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"' . $api->rv . '","creationTimestamp":null}}}',
       'metadata BOOKMARK');
    $api->remove_pod('default', 'pod-00002-000', graceful => 1);
    my @ev = map { watch_next($w, 3) } 1 .. 2;
    is_deeply([map { $_ && $_->{type} } @ev], ['MODIFIED', 'DELETED'], 'graceful pod removal: MODIFIED (deletionTimestamp), DELETED');
    ok($ev[0] && $ev[0]{object}{metadata}{deletionTimestamp}, '... deletionTimestamp');
    $api->cut;
    watch_end($w, 3);
}

# the list form on a watch: negotiated (AllowsMediaTypeTransform does not tell lists from
# objects), but no event can be made a list, and kube-apiserver cannot encode it as it is: the
# stream ends, cleanly, before the first event; an ERROR's Status still goes through
{
    my $rv = $api->rv;
    my $w = watch_open("/api/v1/pods?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=30", '-H', $H_POM);
    ok($api->wait_watches(1, res => 'pods'), 'a pod watch with as=PartialObjectMetadataList starts');
    $api->set_pod_labels('team-b', 'pod-00001-003', { app => 'z' });
    my $t0 = time;
    my $ev = watch_next($w, 3);
    my ($rc) = watch_end($w, 3);
    is($ev, undef, '... the first event is not sent');
    is($rc, 0, '... the stream ends cleanly (the last chunk)');
    ok(time - $t0 < 1, '... at that event');
    my ($wc) = grep { $_->{query} =~ /resourceVersion=$rv&/ } @{ $api->calls(type => 'watch', res => 'pods') };
    is($wc && $wc->{status}, 200, '... after a 200');
    like($wc && $wc->{warning}, qr/ends the stream/, '... the call log says why');
    my $log = do { local (@ARGV, $/) = "$tmp/api/error.log"; <> } // '';
    like($log, qr/unable to encode watch object \*core\.Pod: no kind is registered for the type core\.Pod/,
         '... and the server log says what kube-apiserver logs');

    $w = watch_open("/api/v1/pods?watch=1&resourceVersion=$rv&timeoutSeconds=30", '-H', $H_POM);
    ($rc) = watch_end($w, 3);
    is($w->{buf} . $rc, '0', 'watched again from the same resourceVersion: the same end, nothing sent');

    $w = watch_open('/api/v1/pods?watch=1&timeoutSeconds=30', '-H', $H_POM);
    ($rc) = watch_end($w, 3);
    is($w->{buf} . $rc, '0', 'without a resourceVersion: ends at the first synthetic ADDED');

    $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=" . $api->rv . "&allowWatchBookmarks=true&timeoutSeconds=30", '-H', $H_POM);
    ok($api->wait_watches(1, res => 'nodes'), 'a node watch with the list form');
    $api->bookmark;
    ($rc) = watch_end($w, 3);
    is($w->{buf} . $rc, '0', '... ends at a BOOKMARK too');

    # the q values order the clauses (goautoneg), the list form losing here
    my $q = 'Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1;q=0.5,'
            . 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
    $w = watch_open("/api/v1/pods?watch=1&resourceVersion=" . $api->rv . "&timeoutSeconds=30", '-H', $q);
    ok($api->wait_watches(1, res => 'pods'), 'q=0.5 on the list form, 1 on the object form');
    $api->set_pod_labels('team-b', 'pod-00001-003', { app => 'q' });
    $ev = watch_next($w, 3);
    is($ev && "$ev->{type} $ev->{object}{kind}", 'MODIFIED PartialObjectMetadata', '... the object form wins');
    $api->cut;
    watch_end($w, 3);

    # an ERROR goes through the list form's encoder
    my $old = $api->rv;
    $api->modify_node('node-00002', set_labels => { e => 1 });
    my $g = $api->gone;
    $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$old", '-H', $H_POM);
    $ev = watch_next($w, 3);
    is($ev && "$ev->{type} $ev->{object}{code}", 'ERROR 410', 'the list form, from before the history: the ERROR 410 is sent');
    watch_end($w, 3);

    # mode watch_unencodable: the same end with the right form
    $api->mode('watch_unencodable:pods' => 1);
    $w = watch_open("/api/v1/pods?watch=1&resourceVersion=" . $api->rv . "&timeoutSeconds=30", '-H', $H_POM1);
    ok($api->wait_watches(1, res => 'pods'), 'mode watch_unencodable:pods');
    $api->set_pod_labels('team-b', 'pod-00001-003', { app => 'u' });
    ($rc) = watch_end($w, 3);
    is($w->{buf} . $rc, '0', '... a metadata watch ends before its first event');
    $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$g->{rv}&timeoutSeconds=30");
    ok($api->wait_watches(1, res => 'nodes'), '... other resources unaffected');
    $api->modify_node('node-00002', set_labels => { e => 2 });
    $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'MODIFIED', '... their events are sent');
    $api->cut;
    watch_end($w, 3);
    $api->mode('watch_unencodable:pods' => 0);
}

# 410: history gone
{
    my $old = $api->rv;
    $api->modify_node('node-00001', set_labels => { b => 1 });
    my $g = $api->gone;
    my $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$old&allowWatchBookmarks=true");
    my $ev = watch_next($w, 3);
    is($ev && $ev->{_raw}, qq({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: $old ($g->{floor})","reason":"Expired","code":410}}),
       'watch from before the history: ERROR 410 Expired event');
    my ($rc) = watch_end($w, 3);
    is($rc, 0, '... then the stream ends');
    $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$g->{rv}&timeoutSeconds=10");
    ok($api->wait_watches(1, res => 'nodes'), 'a watch from the current resourceVersion is fine');
    $api->cut;
    watch_end($w, 3);
    ($code, $j) = get_json("/api/v1/nodes?resourceVersion=$old&resourceVersionMatch=Exact");
    is($code, 410, 'list at an expired exact resourceVersion: 410');
    $api->mode(expired_as_http => 1);
    ($code, $j) = get_json("/api/v1/nodes?watch=1&resourceVersion=$old");
    is($code, 410, 'mode expired_as_http: the watch gets an HTTP 410 instead');
    $api->mode(expired_as_http => 0);
}

# timeoutSeconds: a bookmark 2 s before the deadline, then a clean end
{
    my $rv = $api->rv;
    my $t0 = time;
    my $w = watch_open("/api/v1/nodes?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=3");
    my $ev = watch_next($w, 5);
    is($ev && $ev->{type}, 'BOOKMARK', 'timeoutSeconds=3: a BOOKMARK before the end');
    ok($ev && $ev->{_t} - $t0 > 0.7 && $ev->{_t} - $t0 < 1.8, sprintf('... about 2 s before it (after %.2f s)', $ev ? $ev->{_t} - $t0 : -1));
    my ($rc) = watch_end($w, 5);
    is($rc, 0, '... then a clean end');
    my $dt = time - $t0;
    ok($dt > 2.8 && $dt < 4, sprintf('... at the timeout (%.2f s)', $dt));
}

# =============================================================================================
# authentication, errors

($code, $j) = get_json('/api/v1/nodes', '--noauth');
is($code, 401, 'no credentials: 401');
is_deeply($j, { kind => 'Status', apiVersion => 'v1', metadata => {}, status => 'Failure',
                message => 'Unauthorized', reason => 'Unauthorized', code => 401 }, '... Unauthorized Status');
($code) = get_json('/api/v1/nodes', '--noauth', '-H', 'Authorization: Bearer wrong');
is($code, 401, 'unknown token: 401');
($code) = get_json('/api/v1/nodes/node-00001', '--noauth', '--cert', "$pki/client-alice.crt", '--key', "$pki/client-alice.key");
is($code, 200, 'client certificate of the cluster CA: 200');
($code) = get_json('/api/v1/nodes/node-00001', '--noauth', '--cert', "$pki/unknown-client.crt", '--key', "$pki/unknown-client.key");
is($code, 401, 'client certificate of another CA: 401');
($code, $j) = get_json('/api/v1/pods', '--noauth', '-H', 'Authorization: Bearer restricted-token');
is($code, 403, 'token without access: 403');
is($j->{message}, 'pods is forbidden: User "system:serviceaccount:kube-system:restricted" cannot list resource "pods" in API group "" at the cluster scope', '... RBAC message');
($code, $j) = get_json('/api/v1/nodes/nope');
is($code, 404, 'unknown node: 404');
is($j->{message}, 'nodes "nope" not found', '... NotFound message');
is_deeply($j->{details}, { name => 'nope', kind => 'nodes' }, '... details');
$api->mode('list_status:nodes' => 503);
($code, $j) = get_json('/api/v1/nodes');
is($code, 503, 'list_status:nodes 503');
($code) = get_json('/api/v1/pods');
is($code, 200, '... other resources unaffected');
$api->mode('list_status:nodes' => 0);

# =============================================================================================
# SubjectAccessReview

my $sar = { apiVersion => 'authorization.k8s.io/v1', kind => 'SubjectAccessReview',
            spec => { resourceAttributes => { verb => 'list', group => 'metrics.k8s.io', version => 'v1beta1',
                                              resource => 'pods', namespace => 'default' },
                      user => 'alice', groups => ['dev', 'system:authenticated'],
                      extra => { scopes => ['view'] }, uid => 'alice-uid' } };
# the call log: what was asked, with which query and headers
my $lw = $api->calls(type => 'list,watch', res => 'pods');
ok(@$lw >= 3, 'list/watch calls of pods recorded');
my ($pw) = grep { $_->{type} eq 'watch' } @$lw;
like($pw->{query}, qr/fieldSelector=status.phase%3DRunning/, '... with their query string');
like($pw->{accept}, qr/as=PartialObjectMetadata;/, '... and Accept');

my $SARP = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
$api->calls_reset;
($code, $j) = post_json($SARP, $sar);
is($code, 201, 'SAR: 201 Created');
is($j->{kind}, 'SubjectAccessReview', 'SAR answer kind');
is_deeply($j->{status}, { allowed => JSON::PP::false }, 'default: denied (allowed false)');
is_deeply($j->{spec}, $sar->{spec}, 'spec echoed');
$api->sar_rules([{ user => 'alice', verb => 'list', apiGroup => 'metrics.k8s.io', resource => 'pods', reason => 'ok' },
                 { group => 'qa', denied => JSON::PP::true, reason => 'qa is denied' },
                 { path => '/healthz', verb => 'get' }]);
($code, $j) = post_json($SARP, $sar);
is_deeply($j->{status}, { allowed => JSON::PP::true, reason => 'ok' }, 'rule by user/verb/group/resource: allowed');
($code, $j) = post_json($SARP, { %$sar, spec => { %{ $sar->{spec} }, user => 'carol', groups => ['qa'] } });
is_deeply($j->{status}, { allowed => JSON::PP::false, denied => JSON::PP::true, reason => 'qa is denied' }, 'rule by group: denied');
($code, $j) = post_json($SARP, { spec => { nonResourceAttributes => { path => '/healthz', verb => 'get' }, user => 'x' } });
is($j->{status}{allowed}, JSON::PP::true, 'nonResourceAttributes rule');
my $calls = $api->calls(type => 'sar');
is(scalar @$calls, 4, "SAR calls recorded");
is_deeply($calls->[0]{spec}{resourceAttributes}, $sar->{spec}{resourceAttributes}, '... with the attributes sent');
is($calls->[0]{authorization}, 'Bearer metrics-server-token', '... and the Authorization header');
($code, $j) = post_json($SARP, { spec => {} });
is($code, 422, 'SAR without attributes or user: 422 Invalid');
($code, $j) = get_json($SARP, '--data-binary', encode_json($sar));
is($code, 415, 'SAR without Content-Type: application/json: 415');
$api->mode(sar_status => 500);
($code, $j) = post_json($SARP, $sar);
is($code, 500, 'sar_status 500');
is($j->{reason}, 'InternalError', '... InternalError Status');
$api->mode(sar_status => 0, sar_delay => 600);
my $t0 = time;
($code, $j) = post_json($SARP, $sar);
my $dt = time - $t0;
ok($code == 201 && $dt >= 0.55, sprintf('sar_delay 600: answered after %.2f s', $dt));
$api->mode(sar_delay => 0);

# =============================================================================================
# TokenReview

my $TRP = '/apis/authentication.k8s.io/v1/tokenreviews';
($code, $j) = post_json($TRP, { apiVersion => 'authentication.k8s.io/v1', kind => 'TokenReview', spec => { token => 'alice-token' } });
is($code, 201, 'TokenReview: 201');
is_deeply($j->{status}, { authenticated => JSON::PP::true,
                          user => { username => 'alice', uid => 'alice-uid', groups => ['dev', 'qa', 'system:authenticated'],
                                    extra => { scopes => ['view', 'edit'] } },
                          audiences => ['https://kubernetes.default.svc.cluster.local'] }, 'known token: user');
($code, $j) = post_json($TRP, { spec => { token => 'nope' } });
ok(!$j->{status}{authenticated} && $j->{status}{error}, 'unknown token: not authenticated, error');
$api->set_token(token => 'carol-token', username => 'carol', groups => ['ops'], audiences => ['other']);
($code, $j) = post_json($TRP, { spec => { token => 'carol-token', audiences => ['other'] } });
is_deeply($j->{status}{audiences}, ['other'], 'audiences intersect');
($code, $j) = post_json($TRP, { spec => { token => 'carol-token' } });
ok(!$j->{status}{authenticated}, 'token for another audience: not authenticated');
$api->mode(tokenreview_status => 500);
($code) = post_json($TRP, { spec => { token => 'alice-token' } });
is($code, 500, 'tokenreview_status 500');
$api->mode(tokenreview_status => 0);
$api->mode(tokenreview_truncate => 140);
my ($cut_code, $cut_json, $cut_body);
($cut_code, $cut_json, $cut_body) = post_json($TRP, { spec => { token => 'alice-token' } });
ok($cut_code == 201 && !$cut_json && $cut_body =~ /^\{"kind":"TokenReview",.*"token":"alice-token"/
   && length($cut_body) == 141, 'tokenreview_truncate 140: the first 140 bytes, spec.token in them');
$api->mode(tokenreview_truncate => 0);
is(scalar @{ $api->calls(type => 'tokenreview') }, 6, 'TokenReview calls recorded');

# =============================================================================================
# the authentication ConfigMap

my $CMP = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
($code, $j) = get_json($CMP);
is($code, 200, 'ConfigMap get');
is($j->{kind}, 'ConfigMap', 'kind ConfigMap');
is_deeply([sort keys %{ $j->{data} }], [qw(client-ca-file requestheader-allowed-names requestheader-client-ca-file
    requestheader-extra-headers-prefix requestheader-group-headers requestheader-uid-headers requestheader-username-headers)],
    'data keys as kube-apiserver writes them');
my $pem = sub { local (@ARGV, $/) = $_[0]; <> };
is($j->{data}{'client-ca-file'}, $pem->("$pki/ca.crt"), 'client-ca-file = the cluster CA');
is($j->{data}{'requestheader-client-ca-file'}, $pem->("$pki/front-proxy-ca.crt"), 'requestheader-client-ca-file = the front-proxy CA');
is($j->{data}{'requestheader-allowed-names'}, '["front-proxy-client"]', 'requestheader-allowed-names: a JSON array string');
is($j->{data}{'requestheader-username-headers'}, '["X-Remote-User"]', 'requestheader-username-headers');
is($j->{data}{'requestheader-group-headers'}, '["X-Remote-Group"]', 'requestheader-group-headers');
is($j->{data}{'requestheader-extra-headers-prefix'}, '["X-Remote-Extra-"]', 'requestheader-extra-headers-prefix');
is($j->{data}{'requestheader-uid-headers'}, '[]', 'requestheader-uid-headers');
# the informer of k8s.io/apiserver's requestheader/ConfigMap CA controllers: list, then watch
($code, $j) = get_json('/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dextension-apiserver-authentication&limit=500&resourceVersion=0');
is($j->{kind}, 'ConfigMapList', 'informer list (fieldSelector metadata.name)');
is(scalar @{ $j->{items} }, 1, '... one item');
{
    my $rv = $j->{metadata}{resourceVersion};
    my $w = watch_open("/api/v1/namespaces/kube-system/configmaps?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dextension-apiserver-authentication&resourceVersion=$rv&timeoutSeconds=300&watch=true");
    $api->wait_watches(1, res => 'configmaps');
    $api->rotate_requestheader_ca("$pki/unknown-ca.crt");
    my $ev = watch_next($w, 3);
    is($ev && $ev->{type}, 'MODIFIED', 'CA rotation: MODIFIED on the informer\'s watch');
    is($ev && $ev->{object}{data}{'requestheader-client-ca-file'}, $pem->("$pki/unknown-ca.crt"), '... with the new PEM');
    is($ev && $ev->{object}{data}{'client-ca-file'}, $pem->("$pki/ca.crt"), '... other keys kept');
    $api->ctl('/configmap/set', { 'requestheader-allowed-names' => '["front-proxy-client","x"]' });
    $ev = watch_next($w, 3);
    is($ev && $ev->{object}{data}{'requestheader-allowed-names'}, '["front-proxy-client","x"]', '/configmap/set with the data keys at the top level');
    $api->set_requestheader(uid_headers => ['X-Remote-Uid']);
    $ev = watch_next($w, 3);
    is($ev && $ev->{object}{data}{'requestheader-uid-headers'}, '["X-Remote-Uid"]', 'set_requestheader');
    $api->cut;
    watch_end($w, 3);
}
($code, $j) = get_json($CMP);
is($j->{data}{'requestheader-client-ca-file'}, $pem->("$pki/unknown-ca.crt"), 'get after rotation: the new CA');
($code, $j) = get_json($CMP, '--noauth', '-H', 'Authorization: Bearer restricted-token');
is($code, 403, 'ConfigMap without access: 403');

# =============================================================================================
# call log, stop

# seeding from a kubelet-sim directory (nodes.tsv, sim.json)
{
    my $sim = "$tmp/sim";
    mkdir $sim;
    open my $fh, '>', "$sim/nodes.tsv" or die;
    print $fh "node-00001\t127.3.0.1\t10777\nnode-00002\t127.3.0.2\t10777\n";
    close $fh;
    open $fh, '>', "$sim/sim.json" or die;
    print $fh '{"pods":3,"containers":2}';
    close $fh;
    my $p2 = free_port($port, $cport);
    my $c2 = free_port($port, $cport, $p2);
    my $api2 = FakeApiserver->start(dir => "$tmp/api2", pki => $pki, port => $p2, control_port => $c2,
                                    sim => $sim, quiet => 1, http1 => 1);
    my @out = `curl -sS --cacert $pki/ca.crt -H 'Authorization: Bearer metrics-server-token' https://127.0.0.1:$p2/api/v1/nodes https://127.0.0.1:$p2/api/v1/namespaces/team-b/pods`;
    my $nodes = decode_json($out[0]);
    is_deeply([map { [$_->{metadata}{name}, $_->{status}{addresses}[0]{address}, $_->{status}{daemonEndpoints}{kubeletEndpoint}{Port}] } @{ $nodes->{items} }],
              [['node-00001', '127.3.0.1', 10777], ['node-00002', '127.3.0.2', 10777]], '--sim: the simulator\'s nodes, addresses and port');
    my $pods = decode_json($out[1]);
    is($api2->add_node(name => 'node-00007', address => '127.3.0.7')->{status}{daemonEndpoints}{kubeletEndpoint}{Port}, 10777,
       '--sim: /node/add without a port takes the simulator\'s');
    is_deeply([map { $_->{metadata}{name} } @{ $pods->{items} }], [], '--sim: 3 pods per node, none in team-b (p % 5 = 3)');
    my $all = decode_json(`curl -sS --cacert $pki/ca.crt -H 'Authorization: Bearer metrics-server-token' https://127.0.0.1:$p2/api/v1/pods`);
    is_deeply([map { "$_->{metadata}{namespace}/$_->{metadata}{name} $_->{spec}{nodeName} " . join(',', map { $_->{name} } @{ $_->{spec}{containers} }) } @{ $all->{items} }],
              ['default/pod-00001-000 node-00001 app,sidecar', 'default/pod-00002-000 node-00002 app,sidecar',
               'kube-system/pod-00001-001 node-00001 app,sidecar', 'kube-system/pod-00002-001 node-00002 app,sidecar',
               'team-a/pod-00001-002 node-00001 app,sidecar', 'team-a/pod-00002-002 node-00002 app,sidecar'],
              '--sim: the simulator\'s pods (namespace by p % 5, its container names)');
    $api2->stop;
}

$api->stop;
my $pid = do { local (@ARGV, $/) = "$tmp/api/apiserver.pid"; <> };
chomp $pid;
ok(!-e "/proc/$pid", 'stopped');
undef $api;

done_testing;
