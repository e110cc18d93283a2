package FakeApiserver;

# Perl driver of the fake kube-apiserver (t/apiserver/fake-apiserver + apiserver.js): start,
# attach, stop, and one method per control call, each returning the decoded JSON answer.
# Core modules only (HTTP::Tiny, JSON::PP).  See t/apiserver/README.md.
#
#     use lib 't/apiserver';
#     use FakeApiserver;
#     my $api = FakeApiserver->start(dir => "$tmp/api", pki => $pki, port => 6443,
#                                    control_port => 6080, sim => $sim->{dir});
#     print $api->module_conf;                  # k8s_metrics_apiserver ... directives
#     $api->add_node(name => 'node-00009', address => '127.1.0.9', port => 10250);
#     $api->modify_node('node-00001', set_labels => { tier => 'gold' });
#     $api->remove_pod('default', 'pod-00001-000');
#     $api->gone; $api->cut;                     # 410 for the next watch; cut open streams
#     $api->sar_rules([{ user => 'alice', verb => 'list', resource => 'pods' }]);
#     $api->mode(sar_status => 500);
#     my $sars = $api->calls(type => 'sar');     # what the module sent
#     $api->stop;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib abs_path(dirname(__FILE__)) . '/../lib';
use JSON::PP;
use PeerDaemon;
use Time::HiRes qw(sleep time);

our @ISA = ('PeerDaemon');

our $BIN = abs_path(dirname(__FILE__)) . '/fake-apiserver';
my $JSON = JSON::PP->new->canonical->utf8->allow_nonref;

# FakeApiserver->start(dir => DIR, pki => PKI, port => P, control_port => C,
#     [sim => SIMDIR | nodes => N, base_ip => IP, kubelet_port => P, pods => K, containers => C],
#     [no_pods => 1, no_configmap => 1, extra => {config => {...}, seed => {...}} | 'FILE.json',
#      http1 => 1, poll_ms => 25, log_level => 'info', quiet => 1])
sub start {
    my ($class, %o) = @_;
    my @extra;
    if (defined $o{extra}) {
        my $file = $o{extra};
        if (ref $file) {
            system('mkdir', '-p', $o{dir}) == 0 or die "mkdir $o{dir}\n";
            $file = "$o{dir}/extra.json";
            open my $fh, '>', $file or die "$file: $!\n";
            print $fh $JSON->encode($o{extra});
            close $fh;
        }
        @extra = ('--extra', $file);
    }
    return $class->start_daemon($BIN, \%o,
        [qw(port control_port sim nodes base_ip kubelet_port pods containers
            poll_ms log_level)],
        [qw(no_pods no_configmap http1 quiet)],
        '--pki', $o{pki}, @extra);
}

# attach to a running fake apiserver (reads DIR/apiserver.json)
sub attach {
    my ($class, $dir) = @_;
    my $self = $class->attach_daemon($dir, 'apiserver.json');
    # the module's bearer token file
    my $tf = "$dir/token";
    unless (-e $tf) {
        open my $t, '>', $tf or die "$tf: $!\n";
        print $t $self->{token};
        close $t;
    }
    $self->{token_file} = $tf;
    return $self;
}

sub stop { $_[0]->stop_daemon($BIN) }

sub url        { $_[0]->{url} }
sub ca         { $_[0]->{ca} }
sub token      { $_[0]->{token} }
sub token_file { $_[0]->{token_file} }
sub control    { "http://127.0.0.1:$_[0]->{control_port}" }

# directives for the module under test (bearer token of the metrics-server service account)
sub module_conf {
    my ($self) = @_;
    return "k8s_metrics_apiserver $self->{url};\n"
         . "k8s_metrics_apiserver_ca $self->{ca};\n"
         . "k8s_metrics_apiserver_token_file $self->{token_file};\n";
}

# curl arguments that authenticate as the module does
sub curl_args {
    my ($self, $token) = @_;
    return ('--cacert', $self->{ca}, '-H', 'Authorization: Bearer ' . ($token // $self->{token}));
}

# ---- control calls ----

sub _q { PeerDaemon::uri_escape(@_) }

# $api->ctl(PATH [, \%body]): GET without a body, POST with one; dies on a non-2xx answer
sub ctl { my ($s, $path, $body) = @_; $s->control_call($path, $body) }

# nodes: add_node(name => N, address => IP, port => P, labels => {...}, annotations => {...},
#   addresses => [{type, address}], external_ip => IP, hostname => H, ready => 0|1,
#   unschedulable => 1, default_labels => 0)
sub add_node     { my ($s, %o) = @_; $s->ctl('/node/add', \%o) }
sub add_nodes    { my ($s, @specs) = @_; $s->ctl('/node/add', { items => \@specs }) }
# modify_node(NAME, labels => {...} (replace) | set_labels => {k => v|undef}, annotations,
#   set_annotations, address, external_ip, hostname, addresses, port, ready, unschedulable)
sub modify_node  { my ($s, $name, %o) = @_; $s->ctl('/node/modify', { %o, name => $name }) }
sub set_node_labels { my ($s, $name, $set) = @_; $s->modify_node($name, set_labels => $set) }
sub remove_node  { my ($s, $name) = @_; $s->ctl('/node/remove', { name => $name }) }

# pods: add_pod(namespace => NS, name => N, node => NODE, labels => {...}, phase => 'Running',
#   containers => [...], ip => IP)
sub add_pod      { my ($s, %o) = @_; $s->ctl('/pod/add', \%o) }
sub add_pods     { my ($s, @specs) = @_; $s->ctl('/pod/add', { items => \@specs }) }
# modify_pod(NS, NAME, phase => P, labels => {...} | set_labels => {...}, node => NODE)
sub modify_pod   { my ($s, $ns, $name, %o) = @_; $s->ctl('/pod/modify', { %o, namespace => $ns, name => $name }) }
sub set_pod_phase  { my ($s, $ns, $name, $phase) = @_; $s->modify_pod($ns, $name, phase => $phase) }
sub set_pod_labels { my ($s, $ns, $name, $set) = @_; $s->modify_pod($ns, $name, set_labels => $set) }
# remove_pod(NS, NAME [, graceful => 1]): graceful = MODIFIED with deletionTimestamp, then DELETED
sub remove_pod   { my ($s, $ns, $name, %o) = @_; $s->ctl('/pod/remove', { %o, namespace => $ns, name => $name }) }

# the ConfigMap (default kube-system/extension-apiserver-authentication; namespace/name options)
# configmap_set({key => value | undef}) merges (undef deletes), configmap_replace({...}) replaces
sub configmap_set     { my ($s, $data, %o) = @_; $s->ctl('/configmap/set', { %o, data => $data }) }
sub configmap_replace { my ($s, $data, %o) = @_; $s->ctl('/configmap/replace', { %o, data => $data }) }
sub configmap_delete  { my ($s, %o) = @_; $s->ctl('/configmap/delete', \%o) }
sub _pem { my $x = shift; return $x if $x =~ /-----BEGIN/; open my $fh, '<', $x or die "$x: $!\n"; local $/; <$fh> }
# rotate_requestheader_ca(PEM or FILE [, allowed_names => [...]])
sub rotate_requestheader_ca {
    my ($s, $pem, %o) = @_;
    my %d = ('requestheader-client-ca-file' => _pem($pem));
    $d{'requestheader-allowed-names'} = encode_json($o{allowed_names}) if $o{allowed_names};
    return $s->configmap_set(\%d);
}
sub set_client_ca { my ($s, $pem) = @_; $s->configmap_set({ 'client-ca-file' => _pem($pem) }) }
# requestheader lists (JSON array strings in the ConfigMap): set_requestheader(username_headers
#   => [...], group_headers => [...], extra_headers_prefix => [...], uid_headers => [...],
#   allowed_names => [...])
sub set_requestheader {
    my ($s, %o) = @_;
    my %d;
    for my $k (keys %o) {
        (my $key = "requestheader-$k") =~ tr/_/-/;
        $d{$key} = defined $o{$k} ? encode_json($o{$k}) : undef;
    }
    return $s->configmap_set(\%d);
}
sub configmap {
    my ($s, %o) = @_;
    my $key = ($o{namespace} // 'kube-system') . '/' . ($o{name} // 'extension-apiserver-authentication');
    return $s->ctl('/object?res=configmaps&key=' . _q($key));
}

# history and streams
sub gone     { my ($s, %o) = @_; $s->ctl('/gone', \%o) }          # cut => 1, floor => RV
sub cut      { my ($s, %o) = @_; $s->ctl('/cut', \%o) }           # clean => 1
sub bookmark { $_[0]->ctl('/bookmark') }

# SubjectAccessReview rules: [{user, group, verb, apiGroup, resource, subresource, namespace,
#   name, path, allowed, denied, reason}], first match wins, then the default (deny)
sub sar_rules   { my ($s, $rules, %o) = @_; $s->ctl('/sar', { %o, rules => $rules }) }
sub sar_append  { my ($s, $rule) = @_; $s->ctl('/sar', { append => $rule }) }
sub sar_prepend { my ($s, $rule) = @_; $s->ctl('/sar', { prepend => $rule }) }
sub sar_default { my ($s, $d) = @_; $s->ctl('/sar', { default => $d }) }

# tokens (TokenReview answers and this server's own bearer authentication)
sub set_token    { my ($s, %o) = @_; $s->ctl('/token', \%o) }    # token, username, uid, groups, extra, audiences
sub remove_token { my ($s, $t) = @_; $s->ctl('/token', { token => $t, remove => JSON::PP::true }) }
# what a user may do on this server: access(USER, ["list nodes", "watch *", ...]) or undef = all
sub access       { my ($s, $user, $perms) = @_; $s->ctl('/access', { user => $user, perms => $perms }) }

# modes: mode(sar_status => 500, sar_delay => 2000, tokenreview_status => 500,
#   tokenreview_delay => MS, tokenreview_truncate => BYTES, list_status => N, 'list_status:nodes' => N, watch_status => N,
#   get_status => N, bookmark_interval => S, watch_timeout_default => S, expired_as_http => 1,
#   ignore_limit_rv0 => 1); 0 clears
sub mode         { my ($s, %o) = @_; $s->ctl('/mode', \%o) }
sub reset_config { $_[0]->ctl('/reset') }

# calls(type => 'sar'|'tokenreview'|'list'|'watch'|'get'|'list,watch', res => R, since => I)
sub calls {
    my ($s, %o) = @_;
    my @q = map { "$_=" . _q($o{$_}) } grep { defined $o{$_} } qw(type res since);
    return $s->ctl('/calls' . (@q ? '?' . join('&', @q) : ''))->{calls};
}
sub calls_next  { $_[0]->ctl('/calls')->{next} }
sub calls_reset { $_[0]->ctl('/calls/reset') }
sub watches {
    my ($s, $res) = @_;
    return $s->ctl('/watches' . (defined $res ? '?res=' . _q($res) : ''))->{watches};
}
sub state  { $_[0]->ctl('/state') }
sub rv     { $_[0]->ctl('/rv')->{rv} }
sub object { my ($s, $res, $key) = @_; $s->ctl('/object?res=' . _q($res) . '&key=' . _q($key)) }
# Secrets and APIServices (the certgen Job's objects): stored(RES, KEY) is the object or undef
# (secrets: KEY = NS/NAME, apiservices: NAME); store(RES, KEY, OBJ) puts it as given, undef deletes
sub stored { my ($s, $res, $key) = @_; $s->ctl('/stored?res=' . _q($res) . '&key=' . _q($key))->{object} }
sub store  { my ($s, $res, $key, $o) = @_; $s->ctl('/stored', { res => $res, key => $key, object => $o })->{object} }
# store_before_create(RES, KEY, OBJ): OBJ lands just before the next create of KEY (a lost race: 409)
sub store_before_create {
    my ($s, $res, $key, $o) = @_;
    $s->ctl('/stored', { res => $res, key => $key, object => $o, pending => JSON::PP::true });
}

# wait_for(sub { ... }, TIMEOUT_S): polls every 50 ms until the sub returns true; returns its value
sub wait_for {
    my ($s, $cond, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return undef if time > $deadline;
        sleep 0.05;
    }
}
# wait_watches(N [, res => R, timeout => S]): until at least N watch streams are open
sub wait_watches {
    my ($s, $n, %o) = @_;
    return $s->wait_for(sub { my $w = $s->watches($o{res}); @$w >= $n ? $w : undef }, $o{timeout});
}
# wait_calls(N, type => T [, res => R, since => I, timeout => S]): until N such calls arrived
sub wait_calls {
    my ($s, $n, %o) = @_;
    my $t = delete $o{timeout};
    return $s->wait_for(sub { my $c = $s->calls(%o); @$c >= $n ? $c : undef }, $t);
}

1;
