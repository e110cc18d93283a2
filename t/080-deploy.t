# deploy/: the kustomizations render offline (kubectl kustomize, no cluster)
# and the rendered objects are what a cluster needs: kinds, RBAC rules, the
# APIService, the pod's security context, probes and ports, the HA and
# cert-manager overlays; conf/in-cluster.conf is what the ConfigMap and the
# image carry; deploy/make-certs.sh --dry-run makes a serving certificate
# that verifies under the caBundle it writes.  Plain Test::More: no nginx
# runs here (nginx -t of the in-cluster configuration at the end).  Each
# subtest is one rule of what a cluster needs.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use MIME::Base64 qw(decode_base64);
use Test::More;

my $root = abs_path(dirname(__FILE__) . '/..');

my ($kubectl) = grep { -x } map { "$_/kubectl" } split /:/, $ENV{PATH};
plan skip_all => 'kubectl is not installed (make deps installs it)'
    unless $kubectl;
plan skip_all => 'YAML::XS is not installed (Debian: libyaml-libyaml-perl; '
    . 'make deps installs it)'
    unless eval { require YAML::XS; 1 };

my $tmp = tempdir('ngx-metrics-deploy-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
}

# kubectl kustomize DIR: the rendered YAML text and its objects
sub render {
    my ($dir) = @_;
    my $yaml = `'$kubectl' kustomize '$root/$dir' 2>'$tmp/stderr'`;
    my $rc = $?;
    ok($rc == 0 && length $yaml, "kubectl kustomize $dir renders offline")
        or diag(slurp("$tmp/stderr"));
    my @objects = eval { grep { ref } YAML::XS::Load($yaml) };
    ok(!$@, "kubectl kustomize $dir: the output parses") or diag($@);
    return ($yaml, @objects);
}

sub find_all {
    my ($objects, $kind) = @_;
    return grep { $_->{kind} eq $kind } @$objects;
}

sub find {
    my ($objects, $kind, $name) = @_;
    my @found = grep { $_->{kind} eq $kind
                       && (!defined $name || $_->{metadata}{name} eq $name) }
                @$objects;
    return $found[0];
}

sub kinds {
    my %n;
    $n{ $_->{kind} }++ for @_;
    return { %n };
}

# rules compared as sets: the order of apiGroups, resources and verbs does
# not matter, the rules themselves must be exactly these
sub norm_rules {
    my ($rules) = @_;
    return [ sort map {
        my $r = $_;
        join ' | ', map { join ',', sort @{ $r->{$_} || [] } }
            qw(apiGroups resources verbs nonResourceURLs resourceNames)
    } @{ $rules || [] } ];
}

sub matches {
    my ($selector, $labels) = @_;
    return 0 unless $selector && %$selector;
    for (keys %$selector) {
        return 0 unless defined $labels->{$_} && $labels->{$_} eq $selector->{$_};
    }
    return 1;
}

my $sa_dir = '/var/run/secrets/kubernetes.io/serviceaccount';
my $conf = slurp("$root/conf/in-cluster.conf");

# --- kustomize v2.0.3 (kubectl <= 1.20) and v5 (kubectl >= 1.27) alike ---

subtest 'kustomizations stay within what kustomize v2.0.3 reads' => sub {
    my %allowed = map { $_ => 1 } qw(apiVersion kind resources bases
        patchesStrategicMerge configMapGenerator generatorOptions images);

    my @files = map { s{^\Q$root\E/}{}r }
                glob("$root/deploy/kustomization.yaml $root/deploy/*/kustomization.yaml "
                     . "$root/deploy/*/*/kustomization.yaml");
    ok(@files >= 5, 'kustomization files found: ' . join(' ', @files));

    for my $file (@files) {
        my $text = slurp("$root/$file");
        my ($k) = YAML::XS::Load($text);
        my $dir = dirname("$root/$file");

        my @unknown = grep { !$allowed{$_} } sort keys %$k;
        is("@unknown", '', "$file: only fields v2.0.3 knows");

        # v2.0.3 rewrites the text "patches:" to patchesStrategicMerge
        unlike($text, qr/(?<![A-Za-z])patches:/, "$file: no \"patches:\" text");

        for (@{ $k->{resources} || [] }) {
            ok(-f "$dir/$_", "$file: resource $_ is a file (v2.0.3: directories go in bases)");
        }
        for (@{ $k->{bases} || [] }) {
            ok(-f "$dir/$_/kustomization.yaml", "$file: base $_ is a kustomization");
        }
    }
};

# --- the base ---

my ($base_yaml, @base, @certgen);

subtest 'deploy/ renders offline, as its base and deploy/certgen (t/082)' => sub {
    my @top;
    my $canon = JSON::PP->new->canonical;
    ($base_yaml, @base) = render('deploy/base');
    (undef, @top) = render('deploy');
    (undef, @certgen) = render('deploy/certgen');
    is_deeply([sort map { $canon->encode($_) } @top],
              [sort map { $canon->encode($_) } @base, @certgen],
              'kubectl kustomize deploy renders the base and deploy/certgen');
};

subtest 'the base holds these kinds, and nothing else' => sub {
    is_deeply(kinds(@base), {
        ServiceAccount => 1, ClusterRole => 2, ClusterRoleBinding => 2,
        RoleBinding => 1, ConfigMap => 1, Deployment => 1, Service => 1,
        APIService => 1,
    }, 'the kinds');
};

subtest 'every namespaced object is in kube-system' => sub {
    my %cluster_scoped = map { $_ => 1 } qw(ClusterRole ClusterRoleBinding APIService);
    for (grep { !$cluster_scoped{ $_->{kind} } } @base) {
        is($_->{metadata}{namespace}, 'kube-system',
           "$_->{kind}/$_->{metadata}{name} is in kube-system");
    }
};

my $sa = find(\@base, 'ServiceAccount', 'ngx-metrics');

subtest 'RBAC: the reader role aggregates to view, edit and admin, and reads metrics only' => sub {
    ok($sa, 'ServiceAccount ngx-metrics');
    my $reader = find(\@base, 'ClusterRole', 'system:aggregated-metrics-reader');
    ok($reader, 'ClusterRole system:aggregated-metrics-reader');
    for my $to (qw(view edit admin)) {
        is($reader->{metadata}{labels}{"rbac.authorization.k8s.io/aggregate-to-$to"},
           'true', "aggregated to $to");
    }
    is_deeply(norm_rules($reader->{rules}),
              norm_rules([{ apiGroups => ['metrics.k8s.io'],
                            resources => [qw(pods nodes)],
                            verbs => [qw(get list watch)] }]),
              'reader: get, list, watch on metrics.k8s.io pods and nodes, only');
};

subtest 'RBAC: the module may get nodes/metrics, list and watch nodes and pods, only' => sub {
    my $role = find(\@base, 'ClusterRole', 'system:ngx-metrics');
    ok($role, 'ClusterRole system:ngx-metrics');
    is_deeply(norm_rules($role->{rules}),
              norm_rules([{ apiGroups => [''], resources => ['nodes/metrics'],
                            verbs => ['get'] },
                          { apiGroups => [''], resources => [qw(nodes pods)],
                            verbs => [qw(list watch)] }]),
              'module: get nodes/metrics; list, watch nodes and pods; only');
};

subtest 'RBAC: each binding gives its role to the service account only' => sub {
    my $subject = [{ kind => 'ServiceAccount', name => $sa->{metadata}{name},
                     namespace => 'kube-system' }];
    my @bindings = (
        [ ClusterRoleBinding => 'system:ngx-metrics',
          ClusterRole => 'system:ngx-metrics' ],
        [ ClusterRoleBinding => 'ngx-metrics:system:auth-delegator',
          ClusterRole => 'system:auth-delegator' ],
        [ RoleBinding => 'ngx-metrics-auth-reader',
          Role => 'extension-apiserver-authentication-reader' ],
    );
    for (@bindings) {
        my ($kind, $name, $role_kind, $role_name) = @$_;
        my $b = find(\@base, $kind, $name);
        ok($b, "$kind $name");
        is_deeply($b->{roleRef}, { apiGroup => 'rbac.authorization.k8s.io',
                                   kind => $role_kind, name => $role_name },
                  "$name binds $role_kind $role_name");
        is_deeply($b->{subjects}, $subject, "$name: to the service account only");
    }
    is(find(\@base, 'RoleBinding')->{metadata}{namespace}, 'kube-system',
       'the auth reader binding is in kube-system, with the ConfigMap');
};

my $apisvc = find(\@base, 'APIService', 'v1beta1.metrics.k8s.io');
my $svc = find(\@base, 'Service', 'ngx-metrics');
my $deploy = find(\@base, 'Deployment', 'ngx-metrics');
my $pod = $deploy->{spec}{template}{spec};
my ($ctr) = @{ $pod->{containers} };
my ($port) = grep { $_->{name} eq 'https' } @{ $ctr->{ports} };

subtest 'APIService: metrics.k8s.io/v1beta1 served by the Service on 443, TLS verified' => sub {
    ok($apisvc, 'APIService v1beta1.metrics.k8s.io');
    my $s = $apisvc->{spec};
    is($s->{group}, 'metrics.k8s.io', 'group');
    is($s->{version}, 'v1beta1', 'version');
    is($s->{groupPriorityMinimum}, 100, 'groupPriorityMinimum');
    is($s->{versionPriority}, 100, 'versionPriority');
    is_deeply($s->{service}, { name => $svc->{metadata}{name},
                               namespace => 'kube-system', port => 443 },
              'service kube-system/ngx-metrics port 443');
    ok(!$s->{insecureSkipTLSVerify}, 'insecureSkipTLSVerify absent or false');
    ok(exists $s->{insecureSkipTLSVerify},
       'insecureSkipTLSVerify: false spelled out (turns off metrics-server\'s true)');
    # make-certs.sh or cainjector sets caBundle on the live object: a value
    # in the manifest would overwrite it at every kubectl apply
    ok(!exists $s->{caBundle}, 'caBundle not in the manifest (set on the live object)');
};

subtest 'Service: port 443 to the container port, selecting the pods' => sub {
    ok($svc, 'Service ngx-metrics');
    my ($p) = @{ $svc->{spec}{ports} };
    is($p->{port}, 443, 'port 443');
    ok($p->{targetPort} eq $port->{name} || $p->{targetPort} eq $port->{containerPort},
       'to the container port');
    ok(matches($svc->{spec}{selector}, $deploy->{spec}{template}{metadata}{labels}),
       'selects the pods');
};

subtest 'Deployment: one replica of one nginx container, as the service account' => sub {
    ok($deploy, 'Deployment ngx-metrics');
    is($deploy->{spec}{replicas}, 1, 'one replica in the base');
    ok(matches($deploy->{spec}{selector}{matchLabels},
               $deploy->{spec}{template}{metadata}{labels}),
       'the selector matches the template');
    is($pod->{serviceAccountName}, 'ngx-metrics', 'runs as the service account');
    isnt($pod->{automountServiceAccountToken}, 0, 'with its token mounted');
    is($pod->{priorityClassName}, 'system-cluster-critical', 'priority class');
    is_deeply($pod->{nodeSelector}, { 'kubernetes.io/os' => 'linux' }, 'linux nodes');
    ok(!$pod->{hostNetwork}, 'not hostNetwork in the base');
    is(scalar @{ $pod->{containers} }, 1, 'one container: nginx, no sidecar');
    like($ctr->{image}, qr{(^|/)ngx-metrics-module:latest$}, 'image ngx-metrics-module');
};

subtest 'Deployment: the pod runs unprivileged (non-root, no capability, read-only root)' => sub {
    my $psc = $pod->{securityContext};
    my $csc = $ctr->{securityContext};
    ok($psc->{runAsNonRoot}, 'pod: runAsNonRoot');
    is($psc->{runAsUser}, 101, 'pod: runAsUser 101');
    is($psc->{seccompProfile}{type}, 'RuntimeDefault', 'pod: seccomp RuntimeDefault');
    is($csc->{allowPrivilegeEscalation}, '', 'allowPrivilegeEscalation false');
    ok(exists $csc->{allowPrivilegeEscalation}, '... spelled out');
    ok($csc->{readOnlyRootFilesystem}, 'readOnlyRootFilesystem');
    is_deeply($csc->{capabilities}, { drop => ['ALL'] }, 'drops ALL, adds none');
    ok(!$csc->{privileged}, 'not privileged');
    is(($csc->{seccompProfile} || $psc->{seccompProfile})->{type}, 'RuntimeDefault',
       'container: seccomp RuntimeDefault');
    ok(!defined $csc->{runAsUser} || $csc->{runAsUser} == 101,
       'container: runAsUser 101 if set');
};

subtest 'Deployment: nginx listens on an unprivileged container port, not the kubelet\'s' => sub {
    ok($port, 'container port named https');
    isnt($port->{containerPort}, 10250, 'not the kubelet\'s port 10250 (hostNetwork)');
    cmp_ok($port->{containerPort}, '>=', 1024,
           'unprivileged: no NET_BIND_SERVICE needed');
    my ($listen) = $conf =~ /^\s*listen\s+(?:[\d.]+:)?(\d+)\s+ssl/m;
    is($listen, $port->{containerPort}, 'nginx listens on the container port');
};

subtest 'Deployment: readiness /readyz and liveness /livez, over HTTPS on that port' => sub {
    for ([ readinessProbe => '/readyz' ], [ livenessProbe => '/livez' ]) {
        my ($probe, $path) = @$_;
        my $g = $ctr->{$probe}{httpGet};
        ok($g, "$probe: httpGet");
        is($g->{scheme}, 'HTTPS', "$probe: HTTPS");
        is($g->{path}, $path, "$probe: $path");
        ok($g->{port} eq $port->{name} || $g->{port} eq $port->{containerPort},
           "$probe: on the container port");
    }
};

subtest 'Deployment: CPU and memory requested, memory limited' => sub {
    my $res = $ctr->{resources};
    ok($res->{requests}{cpu} && $res->{requests}{memory}, 'requests cpu and memory');
    ok($res->{limits}{memory}, 'a memory limit');
};

my %vol = map { $_->{name} => $_ } @{ $pod->{volumes} };
my %mnt = map { $_->{mountPath} => $_ } @{ $ctr->{volumeMounts} };

subtest 'Deployment: nginx writes only under /tmp, an emptyDir' => sub {
    ok($mnt{'/tmp'} && $vol{ $mnt{'/tmp'}{name} }{emptyDir}, '/tmp is an emptyDir');
    for my $path ($conf =~ /^\s*(?:pid|\w+_temp_path)\s+(\S+);/mg) {
        like($path, qr{^/tmp/}, "nginx writes $path under /tmp");
    }
};

subtest 'Deployment: nginx.conf from the generated ConfigMap, whose change rolls the pods' => sub {
    my $cm = find(\@base, 'ConfigMap');
    my $m = $mnt{'/etc/nginx/nginx.conf'};
    ok($m, 'the ConfigMap is mounted as /etc/nginx/nginx.conf');
    is($m->{subPath}, 'nginx.conf', '... its key nginx.conf');
    is($vol{ $m->{name} }{configMap}{name}, $cm->{metadata}{name},
       '... from the generated ConfigMap ' . $cm->{metadata}{name});
    like($cm->{metadata}{name}, qr/^ngx-metrics-config-\w+$/,
         'the ConfigMap name carries a content hash (a change rolls the pods)');
};

subtest 'Deployment: the serving pair from Secret ngx-metrics-tls, renewed in place' => sub {
    # ssl_certificate DIR/tls.crt, DIR possibly a variable set by a map
    my ($tls_dir) = $conf =~ m{^\s*ssl_certificate\s+(\S+)/tls\.crt;}m;
    if ($tls_dir && $tls_dir =~ /^\$(\w+)$/) {
        ($tls_dir) = $conf =~ /map\s+\S+\s+\$\Q$1\E\s*\{\s*default\s+(\S+);\s*\}/;
    }
    is($tls_dir, '/etc/metrics', 'nginx reads the serving pair from /etc/metrics');
    my $t = $mnt{'/etc/metrics'};
    ok($t, 'the serving Secret is mounted at /etc/metrics');
    ok(!$t->{subPath}, '... not by subPath: a renewed Secret reaches the pod');
    is($vol{ $t->{name} }{secret}{secretName}, 'ngx-metrics-tls', '... Secret ngx-metrics-tls');
};

subtest 'the ConfigMap carries conf/in-cluster.conf' => sub {
    my $cm = find(\@base, 'ConfigMap');
    is_deeply([ keys %{ $cm->{data} } ], ['nginx.conf'], 'one key: nginx.conf');
    ok($cm->{data}{'nginx.conf'} eq $conf, 'the rendered ConfigMap holds conf/in-cluster.conf byte for byte');
    ok(slurp("$root/deploy/base/nginx.conf") eq $conf,
       'deploy/base/nginx.conf is a copy of conf/in-cluster.conf')
        or diag('cp conf/in-cluster.conf deploy/base/nginx.conf');
};

(my $conf_code = $conf) =~ s/#.*//g;

subtest 'conf/in-cluster.conf: only directives of SPEC section 3' => sub {
    # SPEC section 3: the directive names are a contract
    my %spec = map { $_ => 1 } qw(
        k8s_metrics_zone k8s_metrics_resolution k8s_metrics_node
        k8s_metrics_apiserver k8s_metrics_apiserver_ca
        k8s_metrics_apiserver_token_file k8s_metrics_apiserver_client_certificate
        k8s_metrics_apiserver_client_certificate_key k8s_metrics_node_selector
        k8s_metrics_kubelet_port k8s_metrics_kubelet_use_node_status_port
        k8s_metrics_kubelet_address_types k8s_metrics_kubelet_ca
        k8s_metrics_kubelet_insecure_tls k8s_metrics_kubelet_client_certificate
        k8s_metrics_kubelet_client_certificate_key k8s_metrics_kubelet_token_file
        k8s_metrics_kubelet_timeout k8s_metrics_kubelet_max_body
        k8s_metrics_api k8s_metrics_client_ca k8s_metrics_requestheader_client_ca
        k8s_metrics_requestheader_allowed_names
        k8s_metrics_requestheader_username_headers
        k8s_metrics_requestheader_group_headers
        k8s_metrics_requestheader_extra_headers_prefix
        k8s_metrics_requestheader_uid_headers
        k8s_metrics_authentication_configmap k8s_metrics_anonymous
        k8s_metrics_authorization k8s_metrics_authorization_always_allow_paths);

    my @used = $conf_code =~ /^\s*(k8s_metrics_\w+)/mg;
    ok(@used > 5, 'it configures the module');
    is(join(' ', grep { !$spec{$_} } @used), '', 'every directive is one of SPEC section 3');
};

subtest 'conf/in-cluster.conf: the in-cluster settings a pod needs' => sub {
    my @want = (
        qr/^load_module \/usr\/lib\/nginx\/modules\/ngx_http_k8s_metrics_module\.so;/m,
        qr/^pid \/tmp\/nginx\.pid;/m,
        qr/^error_log stderr\b/m,
        qr/^\s*access_log \/dev\/stdout k8s\b/m,
        qr/^\s*k8s_metrics_zone \w+:\d+[mk];/m,
        qr/^\s*k8s_metrics_apiserver in_cluster;/m,
        qr/^\s*k8s_metrics_kubelet_address_types InternalIP ExternalIP Hostname;/m,
        qr/^\s*k8s_metrics_kubelet_ca\s+\Q$sa_dir\E\/ca\.crt;/m,
        qr/^\s*k8s_metrics_kubelet_token_file\s+\Q$sa_dir\E\/token;/m,
        qr/^\s*ignore_invalid_headers off;/m,
        qr/^\s*ssl_verify_client\s+optional_no_ca;/m,
        qr/^\s*k8s_metrics_api;/m,
        qr/^\s*k8s_metrics_authentication_configmap on;/m,
        qr/^\s*k8s_metrics_authorization webhook;/m,
        qr/^worker_processes 2;/m,
        qr/^worker_rlimit_nofile \d+;/m,
        qr/^\s*worker_connections \d+;/m,
    );
    like($conf_code, $_, "has $_") for @want;
};

subtest 'conf/in-cluster.conf: not root, kubelets verified' => sub {
    unlike($conf_code, qr/^\s*user\s/m, 'no user directive (not root)');
    unlike($conf_code, qr/^\s*k8s_metrics_kubelet_insecure_tls on/m, 'kubelets verified');
};

subtest 'conf/in-cluster.conf: the access log names the user, groups and authenticator' => sub {
    my ($format) = $conf_code =~ /log_format k8s (.*?);/s;
    like($format, qr/\$k8s_metrics_$_\b/, "the access log has \$k8s_metrics_$_")
        for qw(user groups authenticator);
};

subtest 'conf/in-cluster.conf: worker_rlimit_nofile covers worker_connections' => sub {
    my ($wc) = $conf_code =~ /worker_connections (\d+);/;
    my ($nofile) = $conf_code =~ /worker_rlimit_nofile (\d+);/;
    cmp_ok($nofile, '>=', $wc, 'worker_rlimit_nofile covers worker_connections');
};

subtest 'Dockerfile: Debian\'s nginx with the module and conf/in-cluster.conf, as user 101' => sub {
    my $df = slurp("$root/deploy/Dockerfile");
    like($df, qr/^ARG BASE_IMAGE=debian:\$\{DEBIAN_RELEASE\}$/m, 'Debian builder');
    like($df, qr/^FROM \$\{BASE_IMAGE\} AS builder$/m, '... as the builder');
    like($df, qr/^ARG DEBIAN_RELEASE=bookworm$/m, 'bookworm');
    like($df, qr/^ARG RUNTIME_IMAGE=debian:\$\{DEBIAN_RELEASE\}-slim$/m, 'Debian slim image');
    like($df, qr/^FROM \$\{RUNTIME_IMAGE\}$/m, '... as the image');
    like($df, qr/apt-get install .*\bnginx nginx-dev\b/s, 'builds against Debian\'s nginx');
    like($df, qr/"nginx=\$v"/, 'the image runs the builder\'s nginx version');
    like($df, qr{^COPY --from=builder /out/ngx_http_k8s_metrics_module\.so /usr/lib/nginx/modules/$}m,
         'the module where load_module looks');
    like($df, qr{^COPY conf/in-cluster\.conf /etc/nginx/nginx\.conf$}m,
         'conf/in-cluster.conf as nginx.conf');
    like($df, qr/^USER 101(:101)?$/m, 'USER 101, as runAsUser');
    like($df, qr/^EXPOSE $port->{containerPort}$/m, 'EXPOSE the container port');
    like($df, qr/^CMD \["nginx", "-g", "daemon off;"\]$/m, 'nginx in the foreground');
    my $ignore = slurp("$root/deploy/Dockerfile.dockerignore");
    for ($df =~ /^COPY (?!--from)(.*) \S+$/mg) {
        for my $src (split ' ') {
            ok(-e "$root/$src", "COPY $src exists in the repository");
            (my $p = $src) =~ s{/$}{};
            like($ignore, qr/^!\Q$p\E\/?$/m, "COPY $src is in the build context");
        }
    }
};

# --- HA ---

my ($ha_yaml, @ha);

subtest 'deploy/ha renders offline' => sub { ($ha_yaml, @ha) = render('deploy/ha') };

subtest 'HA overlay: two replicas on distinct nodes, a PodDisruptionBudget, the base\'s container' => sub {
    is_deeply(kinds(@ha), { %{ kinds(@base, @certgen) }, PodDisruptionBudget => 1 },
              'the base, the certgen Job (one certificate for both replicas) and a PDB');
    my $d = find(\@ha, 'Deployment', 'ngx-metrics');
    my $labels = $d->{spec}{template}{metadata}{labels};
    is($d->{spec}{replicas}, 2, 'two replicas');
    is($d->{spec}{strategy}{rollingUpdate}{maxUnavailable}, 1, 'rolling update: maxUnavailable 1');
    my $terms = $d->{spec}{template}{spec}{affinity}{podAntiAffinity}
                  {requiredDuringSchedulingIgnoredDuringExecution};
    is(scalar @{ $terms || [] }, 1, 'required pod anti-affinity');
    is($terms->[0]{topologyKey}, 'kubernetes.io/hostname', '... per node');
    ok(matches($terms->[0]{labelSelector}{matchLabels}, $labels), '... against its own pods');

    my $pdb = find(\@ha, 'PodDisruptionBudget', 'ngx-metrics');
    is($pdb->{apiVersion}, 'policy/v1', 'PDB policy/v1');
    is($pdb->{metadata}{namespace}, 'kube-system', 'PDB in kube-system');
    is($pdb->{spec}{minAvailable}, 1, 'PDB minAvailable 1');
    ok(matches($pdb->{spec}{selector}{matchLabels}, $labels), 'PDB selects the pods');

    my $c = $d->{spec}{template}{spec}{containers}[0];
    is_deeply($c, $ctr, 'the container is the base\'s');
};

# --- cert-manager ---

my ($cm_yaml, @cm);

subtest 'deploy/cert-manager renders offline' => sub {
    ($cm_yaml, @cm) = render('deploy/cert-manager');
};

subtest 'cert-manager overlay: a self-signed CA issues the serving certificate, cainjector fills the caBundle' => sub {
    is_deeply(kinds(@cm), { %{ kinds(@base) }, Issuer => 2, Certificate => 2 },
              'the base, two Issuers, two Certificates');
    for (grep { $_->{apiVersion} =~ /^cert-manager\.io\// } @cm) {
        is($_->{apiVersion}, 'cert-manager.io/v1', "$_->{kind} $_->{metadata}{name}: v1");
        is($_->{metadata}{namespace}, 'kube-system', "$_->{kind} $_->{metadata}{name}: kube-system");
    }

    my %issuer = map { $_->{metadata}{name} => $_ } find_all(\@cm, 'Issuer');
    my %cert = map { $_->{metadata}{name} => $_ } find_all(\@cm, 'Certificate');

    my ($selfsigned) = grep { exists $_->{spec}{selfSigned} } values %issuer;
    ok($selfsigned, 'a self-signed Issuer');
    my ($ca) = grep { $_->{spec}{isCA} } values %cert;
    ok($ca, 'a CA Certificate');
    is($ca->{spec}{issuerRef}{name}, $selfsigned->{metadata}{name}, '... from the self-signed Issuer');
    my ($ca_issuer) = grep { $_->{spec}{ca} } values %issuer;
    ok($ca_issuer, 'a CA Issuer');
    is($ca_issuer->{spec}{ca}{secretName}, $ca->{spec}{secretName}, '... with the CA\'s Secret');

    my ($serving) = grep { !$_->{spec}{isCA} } values %cert;
    is($serving->{spec}{secretName}, 'ngx-metrics-tls', 'serving certificate into Secret ngx-metrics-tls');
    is($serving->{spec}{issuerRef}{name}, $ca_issuer->{metadata}{name}, '... from the CA Issuer');
    my $svc_dns = "$apisvc->{spec}{service}{name}.$apisvc->{spec}{service}{namespace}.svc";
    ok((grep { $_ eq $svc_dns } @{ $serving->{spec}{dnsNames} }), "... with DNS name $svc_dns");
    ok((grep { $_ eq 'server auth' } @{ $serving->{spec}{usages} }), '... for server auth');

    my $a = find(\@cm, 'APIService', 'v1beta1.metrics.k8s.io');
    is($a->{metadata}{annotations}{'cert-manager.io/inject-ca-from'},
       "kube-system/$serving->{metadata}{name}",
       'APIService: cainjector fills caBundle from the serving Certificate');
    ok(!$a->{spec}{insecureSkipTLSVerify}, 'APIService: TLS verified');
    ok(!exists $a->{spec}{caBundle}, 'APIService: caBundle left to cainjector');
    is_deeply($a->{spec}{service}, $apisvc->{spec}{service}, 'APIService: the same Service');
};

# --- deploy/make-certs.sh ---

# a kubectl that only records what it is asked
my $fake_bin = "$tmp/bin";
mkdir $fake_bin;
spew("$fake_bin/kubectl", <<"EOF");
#!/bin/sh
printf '%s\\n' "\$*" >>'$tmp/kubectl.log'
case "\$*" in "get apiservice "*) [ -e '$tmp/has-apiservice' ] || exit 1 ;; esac
exit 0
EOF
chmod 0755, "$fake_bin/kubectl";
my $certs = "$tmp/certs";

subtest 'make-certs.sh --dry-run: a serving pair under its CA, the Secret, the caBundle patch; no kubectl' => sub {
    local $ENV{PATH} = "$fake_bin:$ENV{PATH}";
    my $out = $certs;

    my $log = `'$root/deploy/make-certs.sh' --dry-run --out '$out' 2>&1`;
    is($?, 0, '--dry-run succeeds') or diag($log);
    ok(!-e "$tmp/kubectl.log", '--dry-run calls no kubectl');

    for (qw(ca.crt ca.key tls.crt tls.key secret.yaml apiservice-patch.json)) {
        ok(-s "$out/$_", "writes $_");
    }
    for (qw(ca.key tls.key secret.yaml)) {
        is((stat "$out/$_")[2] & 0077, 0, "$_ is private to its owner");
    }

    my $svc_dns = 'ngx-metrics.kube-system.svc';
    my $v = `openssl verify -CAfile '$out/ca.crt' -purpose sslserver -verify_hostname $svc_dns '$out/tls.crt' 2>&1`;
    like($v, qr/: OK$/m, "the serving certificate verifies under the CA for $svc_dns, serverAuth");
    my $text = `openssl x509 -in '$out/tls.crt' -noout -text`;
    like($text, qr/DNS:\Q$svc_dns\E\b/, 'SAN ' . $svc_dns);
    like($text, qr/DNS:\Q$svc_dns\E\.cluster\.local\b/, 'SAN with the cluster domain');
    my $pub_cert = `openssl x509 -in '$out/tls.crt' -noout -pubkey`;
    my $pub_key = `openssl pkey -in '$out/tls.key' -pubout`;
    is($pub_key, $pub_cert, 'tls.key is the certificate\'s key');

    my ($secret) = YAML::XS::Load(slurp("$out/secret.yaml"));
    is($secret->{kind}, 'Secret', 'secret.yaml: a Secret');
    is($secret->{type}, 'kubernetes.io/tls', '... of type kubernetes.io/tls');
    is($secret->{metadata}{name}, 'ngx-metrics-tls', '... ngx-metrics-tls');
    is($secret->{metadata}{namespace}, 'kube-system', '... in kube-system');
    is(decode_base64($secret->{data}{'tls.crt'}), slurp("$out/tls.crt"), '... tls.crt');
    is(decode_base64($secret->{data}{'tls.key'}), slurp("$out/tls.key"), '... tls.key');

    my $patch = decode_json(slurp("$out/apiservice-patch.json"));
    is(decode_base64($patch->{spec}{caBundle}), slurp("$out/ca.crt"),
       'the APIService patch: caBundle = base64 of the CA');
    ok(exists $patch->{spec}{insecureSkipTLSVerify} && !$patch->{spec}{insecureSkipTLSVerify},
       'the APIService patch: insecureSkipTLSVerify false');
};

subtest 'make-certs.sh again keeps the CA and renews the serving certificate; --new-ca replaces the CA' => sub {
    local $ENV{PATH} = "$fake_bin:$ENV{PATH}";
    my $out = $certs;

    my ($ca1, $crt1) = (slurp("$out/ca.crt"), slurp("$out/tls.crt"));
    my $log = `'$root/deploy/make-certs.sh' --dry-run --out '$out' 2>&1`;
    is($?, 0, 'a second run succeeds') or diag($log);
    is(slurp("$out/ca.crt"), $ca1, 'a second run keeps the CA (caBundle unchanged)');
    isnt(slurp("$out/tls.crt"), $crt1, '... and renews the serving certificate');
    $log = `'$root/deploy/make-certs.sh' --dry-run --new-ca --out '$out' 2>&1`;
    isnt(slurp("$out/ca.crt"), $ca1, '--new-ca makes a new CA');
};

subtest 'make-certs.sh without --dry-run: the Secret applied, then the APIService\'s caBundle patched' => sub {
    local $ENV{PATH} = "$fake_bin:$ENV{PATH}";
    my $out = $certs;

    my $log = `'$root/deploy/make-certs.sh' --out '$out' 2>&1`;
    isnt($?, 0, 'no APIService yet: fails') or diag($log);
    like($log, qr/kubectl apply -k/, '... saying to apply the manifests first');
    unlink "$tmp/kubectl.log";
    spew("$tmp/has-apiservice", '');
    $log = `'$root/deploy/make-certs.sh' --out '$out' 2>&1`;
    is($?, 0, 'with the APIService: succeeds') or diag($log);
    my @calls = split /\n/, slurp("$tmp/kubectl.log");
    is($calls[0], "apply -f secret.yaml", 'kubectl apply -f secret.yaml');
    is($calls[1], 'get apiservice v1beta1.metrics.k8s.io', 'kubectl get apiservice');
    like($calls[2] // '', qr/^patch apiservice v1beta1\.metrics\.k8s\.io --type=merge -p \{"spec":\{"caBundle":"[A-Za-z0-9+\/=]+","insecureSkipTLSVerify":false\}\}$/,
         'kubectl patch apiservice with the caBundle');
    is(scalar @calls, 3, 'nothing else');
};

# --- conf/in-cluster.conf with the module: nginx -t, then a short run ---

my $module = $ENV{TEST_NGINX_MODULE} || "$root/build/ngx_http_k8s_metrics_module.so";
my $nginx = $ENV{TEST_NGINX_BINARY}
    || (grep { -x } map { "$_/nginx" } split(/:/, $ENV{PATH}), '/usr/sbin')[0];
# a free port: other suites (and other checkouts) may hold the usual ones
my $api_port = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1) or die "socket: $!";
    $s->sockport;
};
my $run = "$tmp/nginx";

SKIP: {
    skip 'the module is not built (make)', 2 unless -f $module;
    skip 'nginx is not installed', 2 unless $nginx;

    # the pod's paths moved into a scratch directory; readable by the
    # workers (nobody when the suite runs as root: the pod has no root)
    mkdir $_ for $run, "$run/sa", "$run/tls";
    system("cp '$tmp/certs/ca.crt' '$run/sa/ca.crt' && "
           . "cp '$tmp/certs/tls.crt' '$tmp/certs/tls.key' '$run/tls/' && "
           . "chmod 0755 '$tmp' '$run' '$run/sa' '$run/tls' && "
           . "chmod 0644 '$run'/sa/* '$run'/tls/*") == 0 or die "copy: $?";
    spew("$run/sa/token", "test-token\n");
    chmod 0644, "$run/sa/token";

    (my $c = $conf) =~ s{(\s)/tmp/}{$1$run/}g;
    $c =~ s{/usr/lib/nginx/modules/ngx_http_k8s_metrics_module\.so}{$module};
    $c =~ s{\Q$sa_dir\E}{$run/sa}g;
    $c =~ s{/etc/metrics}{$run/tls}g;
    $c =~ s{^(\s*listen\s+)\d+}{${1}127.0.0.1:$api_port}m;
    spew("$run/nginx.conf", $c);

    # an apiserver that is not there: nothing but the API's own paths work
    local $ENV{KUBERNETES_SERVICE_HOST} = '127.0.0.1';
    local $ENV{KUBERNETES_SERVICE_PORT} = '1';

    my $out = `'$nginx' -t -p '$run/' -c '$run/nginx.conf' 2>&1`;
    my $ok = $? == 0;
    TODO: {
        # the apiserver client (issue 4): until its directives exist, this
        # may fail on them, and only on them
        local $TODO = "the module has no \"$1\" yet"
            if !$ok && $out =~ /unknown directive "(k8s_metrics_\w+)"/;
        ok($ok, 'nginx -t accepts conf/in-cluster.conf with the module') or diag($out);
    }
    skip 'nginx -t failed', 1 unless $ok;

    subtest 'conf/in-cluster.conf runs: probes over the make-certs.sh certificate' => sub {
        system("'$nginx' -p '$run/' -c '$run/nginx.conf' -g 'daemon on;' "
               . ">'$run/stdout.log' 2>'$run/stderr.log'");
        is($?, 0, 'nginx starts') or diag(slurp("$run/stderr.log"));

        # as the aggregator dials it: the Service's name, verified by the CA
        # that make-certs.sh put in the caBundle
        my $name = 'ngx-metrics.kube-system.svc';
        my $curl = "curl -s --http2 --max-time 5 --cacert '$run/sa/ca.crt' "
                 . "--resolve $name:$api_port:127.0.0.1 -o /dev/null -w '%{http_code}' "
                 . "https://$name:$api_port";
        my $code = '';
        for (1 .. 50) {
            $code = `$curl/healthz`;
            last if $code eq '200';
            select(undef, undef, undef, 0.1);
        }
        is($code, '200', '/healthz: 200, anonymous, TLS verified for ' . $name);
        is(`$curl/livez`, '200', '/livez: 200 (the liveness probe)');
        isnt(`$curl/readyz`, '200', '/readyz: not ready before any metrics');
        `$curl/apis/metrics.k8s.io/v1beta1/nodes`;

        system("kill -QUIT \$(cat '$run/nginx.pid') 2>/dev/null");
        select(undef, undef, undef, 0.5);

        my $log = slurp("$run/stdout.log");
        like($log, qr{ anonymous:system:anonymous \[system:unauthenticated\] "GET /apis/metrics\.k8s\.io/v1beta1/nodes HTTP/2\.0" \d{3} },
             'the access log on stdout names the user, groups and authenticator');
        unlike($log, qr{"GET /(livez|readyz|healthz)}, 'the probes are not logged');
        unlike(slurp("$run/stderr.log"), qr/\[(alert|emerg|crit)\]/, 'no alert, emerg or crit');
    };
}

END {
    local $?;
    system("kill -QUIT \$(cat '$run/nginx.pid') 2>/dev/null")
        if $run && -s "$run/nginx.pid" && kill 0, `cat '$run/nginx.pid'` + 0;
}

done_testing();
