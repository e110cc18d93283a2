# deploy/certgen: verified TLS with one `kubectl apply -k deploy`.  The
# rendered objects (the Job, its RBAC, what deploy, deploy/ha and
# deploy/cert-manager contain), then the Job's own command,
# deploy/certgen/ngx-metrics-certgen, run as the Job runs it against the
# fake apiserver (t/apiserver: real TLS, its Secrets and APIServices
# answered as kube-apiserver answers), with exactly the access the rendered
# RBAC rules grant and the APIService as `kubectl kustomize deploy` renders
# it: created once, patched once, a second run changes nothing, a Secret
# it cannot vouch for is refused.  Plain Test::More: the fake apiserver is
# the only server.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

my $root;
BEGIN { $root = abs_path(dirname(__FILE__) . '/..') }
use lib "$root/t/apiserver";
use FakeApiserver;

my ($kubectl) = grep { -x } map { "$_/kubectl" } split /:/, $ENV{PATH};
plan skip_all => 'kubectl is not installed (make deps installs it)'
    unless $kubectl;
plan skip_all => 'YAML::XS is not installed (libyaml-libyaml-perl)'
    unless eval { require YAML::XS; 1 };

my $tmp = tempdir('ngx-metrics-certgen-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $script = "$root/deploy/certgen/ngx-metrics-certgen";
my $secret_key = 'kube-system/ngx-metrics-tls';
my $apiservice = 'v1beta1.metrics.k8s.io';

sub render {
    my ($dir) = @_;
    my $yaml = `'$kubectl' kustomize '$root/$dir' 2>/dev/null`;
    ok($? == 0 && length $yaml, "kubectl kustomize $dir renders offline");
    return grep { ref } YAML::XS::Load($yaml);
}

sub find {
    my ($objects, $kind, $name) = @_;
    return (grep { $_->{kind} eq $kind
                   && (!defined $name || $_->{metadata}{name} eq $name) } @$objects)[0];
}

sub norm_rules {
    my ($rules) = @_;
    return [ sort map {
        my $r = $_;
        join ' | ', map { join ',', sort @{ $r->{$_} || [] } }
            qw(apiGroups resources verbs resourceNames)
    } @{ $rules || [] } ];
}

# --- the rendered objects ---

my @certgen = render('deploy/certgen');
my @top = render('deploy');
my @ha = render('deploy/ha');
my @cm = render('deploy/cert-manager');

my $job = find(\@certgen, 'Job', 'ngx-metrics-certgen');
my $role = find(\@certgen, 'Role', 'ngx-metrics-certgen');
my $crole = find(\@certgen, 'ClusterRole', 'ngx-metrics-certgen');

subtest 'the certgen Job and its RBAC' => sub {
    ok($job, 'Job ngx-metrics-certgen');
    is($job->{metadata}{namespace}, 'kube-system', '... in kube-system');
    my $pod = $job->{spec}{template}{spec};
    my $c = $pod->{containers}[0];
    is($c->{image}, 'ngx-metrics-module:latest', 'the module\'s own image');
    is_deeply($c->{command}, ['/usr/local/bin/ngx-metrics-certgen'],
              'runs ngx-metrics-certgen');
    like(slurp("$root/deploy/Dockerfile"),
         qr{^COPY deploy/make-certs\.sh deploy/certgen/ngx-metrics-certgen /usr/local/bin/$}m,
         'the image carries it and make-certs.sh');
    is($pod->{serviceAccountName}, 'ngx-metrics-certgen', 'its own ServiceAccount');
    is($pod->{restartPolicy}, 'OnFailure', 'retried on failure');
    ok($job->{spec}{ttlSecondsAfterFinished}, 'deleted when done (a later apply may change it)');
    ok($c->{securityContext}{readOnlyRootFilesystem}, 'read-only root filesystem');
    ok(!$c->{securityContext}{allowPrivilegeEscalation}, 'no privilege escalation');
    is_deeply($c->{securityContext}{capabilities}{drop}, ['ALL'], 'every capability dropped');
    is($pod->{securityContext}{runAsUser}, 101, 'uid 101');
    my ($m) = grep { $_->{mountPath} eq '/tmp' } @{ $c->{volumeMounts} || [] };
    my ($v) = grep { $_->{name} eq ($m || {})->{name} } @{ $pod->{volumes} || [] };
    ok($v && $v->{emptyDir}, '/tmp is an emptyDir (the CA key lives and dies there)');

    is_deeply(norm_rules($role->{rules}),
              norm_rules([{ apiGroups => [''], resources => ['secrets'], verbs => ['get'],
                            resourceNames => ['ngx-metrics-tls'] },
                          { apiGroups => [''], resources => ['secrets'], verbs => ['create'] }]),
              'Role: get that Secret by name, create secrets (RBAC cannot name a create)');
    is($role->{metadata}{namespace}, 'kube-system', '... in kube-system only');
    is_deeply(norm_rules($crole->{rules}),
              norm_rules([{ apiGroups => ['apiregistration.k8s.io'], resources => ['apiservices'],
                            verbs => ['get', 'patch'], resourceNames => [$apiservice] }]),
              'ClusterRole: get and patch that APIService only');
    for my $kind (qw(RoleBinding ClusterRoleBinding)) {
        my $b = find(\@certgen, $kind, 'ngx-metrics-certgen');
        is_deeply($b->{subjects}, [{ kind => 'ServiceAccount', name => 'ngx-metrics-certgen',
                                     namespace => 'kube-system' }], "$kind: the Job's account");
        is($b->{roleRef}{name}, 'ngx-metrics-certgen', "$kind: its role");
    }
};

subtest 'one apply: deploy and deploy/ha run the Job, cert-manager does not' => sub {
    for ([deploy => \@top], ['deploy/ha' => \@ha]) {
        my ($name, $objs) = @$_;
        my @jobs = grep { $_->{kind} eq 'Job' } @$objs;
        is(scalar @jobs, 1, "$name: one certgen Job");
        my $as = find($objs, 'APIService', $apiservice);
        ok(exists $as->{spec}{insecureSkipTLSVerify} && !$as->{spec}{insecureSkipTLSVerify},
           "$name: insecureSkipTLSVerify false");
        ok(!exists $as->{spec}{caBundle}, "$name: no caBundle in the manifest (the Job sets it)");
        my $d = find($objs, 'Deployment', 'ngx-metrics');
        my @secrets = map { $_->{secret}{secretName} }
                      grep { $_->{secret} } @{ $d->{spec}{template}{spec}{volumes} };
        is_deeply(\@secrets, ['ngx-metrics-tls'],
                  "$name: every replica mounts the one Secret the Job makes");
    }
    is(find(\@ha, 'Deployment', 'ngx-metrics')->{spec}{replicas}, 2, 'deploy/ha: two replicas');
    ok(!grep({ ($_->{metadata}{name} // '') =~ /certgen/ } @cm),
       'deploy/cert-manager: no certgen (cert-manager makes the Secret)');
};

# --- the Job's command against the fake apiserver ---

sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; scalar <$fh> }
sub spew { open my $fh, '>', $_[0] or die "$_[0]: $!"; print $fh $_[1]; close $fh }

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "no free port: $!";
    return $s->sockport;
}

system("'$root/t/pki/gen.sh' '$tmp/pki' >'$tmp/pki.log' 2>&1") == 0
    or BAIL_OUT('t/pki/gen.sh failed: ' . slurp("$tmp/pki.log"));
my $api = FakeApiserver->start(dir => "$tmp/api", pki => "$tmp/pki", port => free_port(),
                               control_port => free_port(), no_pods => 1, quiet => 1);
END { $api->stop if $api }

# the Job's token, allowed exactly what the rendered rules grant
my $user = 'system:serviceaccount:kube-system:ngx-metrics-certgen';
$api->set_token(token => 'certgen-token', username => $user,
                groups => ['system:serviceaccounts', 'system:serviceaccounts:kube-system']);
my @perms;
for my $rule (@{ $role->{rules} }, @{ $crole->{rules} }) {
    for my $verb (@{ $rule->{verbs} }) {
        for my $res (@{ $rule->{resources} }) {
            push @perms, $rule->{resourceNames}
                ? map { "$verb $res/$_" } @{ $rule->{resourceNames} }
                : "$verb $res";
        }
    }
}
$api->access($user, \@perms);
spew("$tmp/token", 'certgen-token');

# the APIService as `kubectl apply -k deploy` creates it
my $as_manifest = find(\@top, 'APIService', $apiservice);
$api->store('apiservices', $apiservice, $as_manifest);

sub certgen {
    local $ENV{CERTGEN_SERVER} = 'https://127.0.0.1:' . $api->{port};
    local $ENV{CERTGEN_TOKEN_FILE} = "$tmp/token";
    local $ENV{CERTGEN_CA_FILE} = "$tmp/pki/ca.crt";
    local $ENV{CERTGEN_MAKE_CERTS} = "$root/deploy/make-certs.sh";
    local $ENV{CERTGEN_WAIT} = 2;
    local $ENV{TMPDIR} = $tmp;
    my $out = `'$script' 2>&1`;
    return ($? >> 8, $out);
}

sub calls_since {
    my ($since) = @_;
    return [ map { "$_->{method} $_->{path} $_->{status}" }
             grep { $_->{res} eq 'secrets' || $_->{res} eq 'apiservices' }
             @{ $api->calls(since => $since) } ];
}

my $sp = '/api/v1/namespaces/kube-system/secrets';
my $ap = "/apis/apiregistration.k8s.io/v1/apiservices/$apiservice";

subtest 'first run: the Secret created, the caBundle patched' => sub {
    my $since = $api->calls_next;
    my ($rc, $out) = certgen();
    is($rc, 0, 'exit 0') or diag($out);
    is_deeply(calls_since($since), ["GET $sp/ngx-metrics-tls 404", "POST $sp 201",
                                    "GET $ap 200", "PATCH $ap 200"],
              'get (absent), create, get the APIService, patch it')
        or diag($out);
    my $s = $api->stored('secrets', $secret_key);
    is($s->{type}, 'kubernetes.io/tls', 'a kubernetes.io/tls Secret');
    is_deeply([sort keys %{ $s->{data} }], ['ca.crt', 'tls.crt', 'tls.key'], 'ca.crt, tls.crt, tls.key');
    my $as = $api->stored('apiservices', $apiservice);
    is($as->{spec}{caBundle}, $s->{data}{'ca.crt'}, 'caBundle = the Secret\'s ca.crt');
    ok(exists $as->{spec}{insecureSkipTLSVerify} && !$as->{spec}{insecureSkipTLSVerify},
       'insecureSkipTLSVerify false');
    is($as->{spec}{service}{name}, 'ngx-metrics', 'the rest of the APIService untouched');

    spew("$tmp/ca.crt", decode_base64($as->{spec}{caBundle}));
    spew("$tmp/tls.crt", decode_base64($s->{data}{'tls.crt'}));
    my $v = `openssl verify -CAfile '$tmp/ca.crt' -purpose sslserver -verify_hostname ngx-metrics.kube-system.svc '$tmp/tls.crt' 2>&1`;
    like($v, qr/: OK$/m, 'the served certificate verifies under the caBundle as ngx-metrics.kube-system.svc');
    my $k = `openssl pkey -in /dev/stdin -pubout 2>&1 <<'EOF'\n@{[decode_base64($s->{data}{'tls.key'})]}EOF\n`;
    my $c = `openssl x509 -in '$tmp/tls.crt' -noout -pubkey 2>&1`;
    is($k, $c, 'tls.key is the certificate\'s key');
    unlike($out, qr/BEGIN|PRIVATE/, 'no key material in the Job\'s log');
};

my $secret_rv = $api->stored('secrets', $secret_key)->{metadata}{resourceVersion};
my $as_rv = $api->stored('apiservices', $apiservice)->{metadata}{resourceVersion};

subtest 'second run: nothing changes' => sub {
    my $since = $api->calls_next;
    my ($rc, $out) = certgen();
    is($rc, 0, 'exit 0') or diag($out);
    is_deeply(calls_since($since), ["GET $sp/ngx-metrics-tls 200", "GET $ap 200"],
              'two reads, no create, no patch') or diag($out);
    is($api->stored('secrets', $secret_key)->{metadata}{resourceVersion}, $secret_rv,
       'the Secret is the same object');
    is($api->stored('apiservices', $apiservice)->{metadata}{resourceVersion}, $as_rv,
       'the APIService is unchanged');
    like($out, qr/nothing to do/, 'and says so');
};

subtest 'applied over metrics-server: insecureSkipTLSVerify true, no caBundle' => sub {
    my %ms = %$as_manifest;
    $ms{spec} = { %{ $as_manifest->{spec} }, insecureSkipTLSVerify => JSON::PP::true() };
    $api->store('apiservices', $apiservice, \%ms);
    my $since = $api->calls_next;
    my ($rc, $out) = certgen();
    is($rc, 0, 'exit 0') or diag($out);
    is_deeply(calls_since($since), ["GET $sp/ngx-metrics-tls 200", "GET $ap 200", "PATCH $ap 200"],
              'the existing Secret kept, the APIService patched');
    my $as = $api->stored('apiservices', $apiservice);
    ok(!$as->{spec}{insecureSkipTLSVerify}, 'insecureSkipTLSVerify false');
    is($as->{spec}{caBundle}, $api->stored('secrets', $secret_key)->{data}{'ca.crt'},
       'caBundle = the kept Secret\'s CA');
    is($api->stored('secrets', $secret_key)->{metadata}{resourceVersion}, $secret_rv,
       'the Secret untouched');
};

subtest 'a Secret it cannot vouch for is refused, nothing patched' => sub {
    my $good = $api->stored('secrets', $secret_key);
    my %other = (metadata => { name => 'ngx-metrics-tls', namespace => 'kube-system' },
                 type => 'kubernetes.io/tls',
                 data => { 'tls.crt' => $good->{data}{'tls.crt'},
                           'tls.key' => $good->{data}{'tls.key'} });
    $api->store('secrets', $secret_key, \%other);
    my $since = $api->calls_next;
    my ($rc, $out) = certgen();
    isnt($rc, 0, 'no ca.crt: fails');
    like($out, qr/has no ca\.crt/, '... saying why');

    $other{data}{'ca.crt'} = encode_base64(slurp("$tmp/pki/ca.crt"), '');
    $api->store('secrets', $secret_key, \%other);
    ($rc, $out) = certgen();
    isnt($rc, 0, 'a ca.crt that did not sign tls.crt: fails');
    like($out, qr/does not verify against its ca\.crt/, '... saying why');
    ok(!grep({ /^PATCH/ } @{ calls_since($since) }), 'the APIService never patched');
    is($api->stored('apiservices', $apiservice)->{spec}{caBundle}, $good->{data}{'ca.crt'},
       'the caBundle is still the good one');
};

subtest 'RBAC as rendered is what it needs, and no more is used' => sub {
    $api->store('secrets', $secret_key, undef);
    $api->access($user, [grep { !/^create/ } @perms]);
    my $since = $api->calls_next;
    my ($rc, $out) = certgen();
    isnt($rc, 0, 'without create: fails');
    like($out, qr/create Secret kube-system\/ngx-metrics-tls: HTTP 403: secrets is forbidden: User "\Q$user\E" cannot create resource "secrets"/,
         '... with the apiserver\'s 403 message');
    $api->access($user, \@perms);
    ($rc, $out) = certgen();
    is($rc, 0, 'with the rendered rules: a new Secret') or diag($out);
    my $users = { map { $_->{user} => 1 } grep { $_->{res} eq 'secrets' || $_->{res} eq 'apiservices' }
                  @{ $api->calls(since => $since) } };
    is_deeply([keys %$users], [$user], 'every request as the Job\'s ServiceAccount');
};

subtest 'another run created the Secret first (409): that one is used' => sub {
    # the other run's certificates: a CA of its own
    system("'$root/deploy/make-certs.sh' --dry-run --new-ca --out '$tmp/other' 2>/dev/null") == 0
        or die "make-certs.sh --dry-run\n";
    my %data = map { $_ => encode_base64(slurp("$tmp/other/$_"), '') } qw(ca.crt tls.crt tls.key);
    my $before = $api->stored('apiservices', $apiservice)->{spec}{caBundle};
    isnt($data{'ca.crt'}, $before, 'the other run\'s CA is not the caBundle yet');
    $api->store('secrets', $secret_key, undef);
    $api->store_before_create('secrets', $secret_key,
        { metadata => { name => 'ngx-metrics-tls', namespace => 'kube-system' },
          type => 'kubernetes.io/tls', data => \%data });
    my $since = $api->calls_next;
    my ($rc, $out) = certgen();
    is($rc, 0, 'exit 0') or diag($out);
    is_deeply(calls_since($since), ["GET $sp/ngx-metrics-tls 404", "POST $sp 409",
                                    "GET $sp/ngx-metrics-tls 200", "GET $ap 200", "PATCH $ap 200"],
              'get (absent), create (409), get the winner\'s, patch the APIService')
        or diag($out);
    is($api->stored('secrets', $secret_key)->{data}{'ca.crt'}, $data{'ca.crt'},
       'the winner\'s Secret is kept');
    is($api->stored('apiservices', $apiservice)->{spec}{caBundle}, $data{'ca.crt'},
       'caBundle = the winner\'s CA, not the one this run made');
    like($out, qr/created meanwhile by another run/, '... and it says so');
};

subtest 'the APIService not there yet: waits, then says so' => sub {
    $api->store('apiservices', $apiservice, undef);
    my ($rc, $out) = certgen();
    isnt($rc, 0, 'fails (the Job retries)');
    like($out, qr/get APIService \Q$apiservice\E: HTTP 404: apiservices\.apiregistration\.k8s\.io "\Q$apiservice\E" not found/,
         '... with the apiserver\'s 404');
};

done_testing;
