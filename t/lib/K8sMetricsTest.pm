package K8sMetricsTest;

# The test setup shared by every t/*.t of ngx_metrics_module:
#
#     use lib 't/lib';
#     use K8sMetricsTest;
#
#     run_tests();
#
#     __DATA__
#     === TEST 1: ...
#
# and its helpers, called by their full names (K8sMetricsTest::api_server(),
# ::kubelet_sim(), ::get(), ...): the configuration of the module's server,
# the peers (kubelet simulator, fake apiserver) and what a test needs to
# watch nginx from the outside.
#
# It picks the runner and gives its whole API to the test file, so that the
# same file runs under both: the real Test::Nginx::Socket (openresty's
# test-nginx) when Perl finds it (installed, e.g. "cpanm Test::Nginx", or
# on PERL5LIB), else the one in $TEST_NGINX_LIB (default:
# ../shared/vendor/test-nginx/lib beside the repository) when that folder
# exists, else the bundled Test::Nginx::Lite, which behaves as the real one
# does (t/lib/Test/Nginx/Lite.pm).  For every block it loads the module
# under test and forbids alerts, leaked sockets and sanitizer reports in
# the error log, while nginx runs and after it has stopped, and the test
# credentials (@Secrets) in it.
#
# The error log checks see the block's whole log (check_accum_error_log):
# the real runner checks "--- error_log" after each request of a block,
# by default against the lines written since the previous check only, so
# that a line written once (by the scraper, the informer, the master)
# could not be expected in a block of several requests.  Checked after
# the first request, such a line must have been written by then: the
# block's first request waits for the event it checks.
#
# Environment:
#   TEST_NGINX_LITE=1            use the bundled runner; =0: the real one,
#                                or fail if it cannot be found
#   TEST_NGINX_LIB               where to look for the real one when Perl
#                                does not find it (default
#                                ../shared/vendor/test-nginx/lib)
#   K8S_METRICS_TEST_WORKERS=N   run nginx with a master and N workers
#   TEST_NGINX_MODULE            the module .so (default build/...)
#   TEST_NGINX_PKI               a ready PKI directory (default: generated
#                                by t/pki/gen.sh into t/servroot-pki, or
#                                $TEST_NGINX_SERVROOT-pki)
#   TEST_NGINX_LOG_LEVEL         error_log level (default info)
# and it sets, unless already set, for the configurations of the tests:
#   TEST_NGINX_TLS_PORT, TEST_NGINX_TLS_PORT2   server port + 1, + 2
#   TEST_NGINX_PEER_PORT                        server port + 3 (fake peers)

use strict;
use warnings;

use Cwd qw(abs_path);
use Fcntl qw(:flock);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec ();
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

our $Runner;
our $Sim;
our $Api;
our $ApiPerBlock = 1;   # restart the fake apiserver for every block

# njs, from Debian's libnginx-mod-http-js: the suites' waiter and peers
our $NjsModule = $ENV{TEST_NGINX_NJS_MODULE}
                 // '/usr/lib/nginx/modules/ngx_http_js_module.so';

# The repository root: this file is t/lib/K8sMetricsTest.pm.
our $Root = abs_path(File::Spec->rel2abs(dirname(__FILE__) . '/../..'));

# Patterns no block may produce (the bundled runner also checks the whole
# log after nginx has exited, where "open socket ... left" appears).
our @ForbiddenLogPatterns = ('[alert]', '[emerg]', 'open socket',
                             'Sanitizer', 'runtime error');

# Credentials no block may log: the bearer tokens the fake apiserver
# (t/apiserver/seed.pl) knows, the module's own among them, and the ones
# suites present; a suite adds its own (push @K8sMetricsTest::Secrets).
our @Secrets = ('metrics-server-token', 'admin-token', 'alice-token',
                'bob-token', 'nobody-token', 'restricted-token',
                'not-a-token');

my $set_up;

sub import {
    my ($class, @args) = @_;

    set_up() unless $set_up++;

    # Test::Nginx::Socket leaves some of Test::Nginx::Util's API out of
    # its exports (depending on its version); the bundled runner has it all.
    if ($Runner eq 'Test::Nginx::Socket') {
        my %util = map { $_ => 1 } @Test::Nginx::Util::EXPORT;
        my @more = grep { $util{$_} } qw(env_to_nginx $ServerPort $ServRoot);
        Test::Nginx::Util->export_to_level(1, 'Test::Nginx::Util', @more)
            if @more;
    }

    # Test::Base-style import of the runner, for our caller: it exports
    # the runner's API (plus Test::More's) and handles 'no_plan' etc.
    # Without arguments the file gets no fixed plan: the two runners do
    # not count the same tests (Lite adds a shutdown check per block).
    @args = ('no_plan') unless @args;

    my $import = $Runner->can('import');
    @_ = ($Runner, @args);
    goto &$import;
}

sub runner_call {
    my ($fn, @args) = @_;

    my $code = $Runner->can($fn)
        or die "K8sMetricsTest: $Runner has no $fn()\n";

    return $code->(@args);
}

# Where the real Test::Nginx::Socket is: '' when Perl finds it as it is
# (installed, or on PERL5LIB), else the folder that holds it
# ($TEST_NGINX_LIB, default ../shared/vendor/test-nginx/lib beside the
# repository); undef when it is nowhere.
sub real_runner_lib {
    for my $dir (@INC) {
        return '' if !ref $dir && -f "$dir/Test/Nginx/Socket.pm";
    }

    my $lib = test_nginx_lib();

    return -f "$lib/Test/Nginx/Socket.pm" ? abs_path($lib) : undef;
}

sub test_nginx_lib {
    return $ENV{TEST_NGINX_LIB} // "$Root/../shared/vendor/test-nginx/lib";
}

sub find_real_runner {
    my $lib = real_runner_lib();

    return 0 unless defined $lib;

    unshift @INC, $lib if $lib ne '';

    require Test::Nginx::Socket;

    return 1;
}

sub set_up {
    my $lite = $ENV{TEST_NGINX_LITE};

    if ((!defined $lite || $lite eq '0') && find_real_runner()) {
        $Runner = 'Test::Nginx::Socket';

    } elsif (defined $lite && $lite eq '0') {
        die "K8sMetricsTest: TEST_NGINX_LITE=0 asks for the real "
            . "Test::Nginx::Socket, which is neither installed nor in "
            . test_nginx_lib() . " (cpanm Test::Nginx, or set "
            . "TEST_NGINX_LIB)\n";

    } else {
        require Test::Nginx::Lite;
        $Runner = 'Test::Nginx::Lite';
    }

    my $workers = $ENV{K8S_METRICS_TEST_WORKERS};
    if (defined $workers && $workers =~ /^\d+$/ && $workers > 0) {
        runner_call('master_on');
        runner_call('workers', $workers);
    }

    runner_call('log_level', $ENV{TEST_NGINX_LOG_LEVEL} || 'info');
    runner_call('check_accum_error_log');

    $ENV{TEST_NGINX_MODULE}
        //= "$Root/build/ngx_http_k8s_metrics_module.so";

    if (!-f $ENV{TEST_NGINX_MODULE}) {
        die "K8sMetricsTest: the module is not built: "
            . "$ENV{TEST_NGINX_MODULE} does not exist (run \"make\", or "
            . "set TEST_NGINX_MODULE)\n";
    }

    $ENV{TEST_NGINX_PKI} //= generate_pki(peer_dir('pki'));

    my $port = runner_call('server_port');
    $ENV{TEST_NGINX_TLS_PORT}  //= $port + 1;
    $ENV{TEST_NGINX_TLS_PORT2} //= $port + 2;
    $ENV{TEST_NGINX_PEER_PORT} //= $port + 3;

    runner_call('add_block_preprocessor', \&preprocess_block);
}

sub preprocess_block {
    my $block = shift;

    # A block with a configuration gets a new nginx (in HUP mode, the same
    # one reloaded): the one before is stopped now, before the peers are
    # reset for this block, not by the runner once they are.
    stop_previous_nginx() if defined $block->config && !hup_mode($block);

    # "--- sim_modes": lines "NODE MODE [ARG]" for the kubelet simulator,
    # applied before nginx starts, after a reset of every node
    restart_apiserver() if $Api && $ApiPerBlock;

    if ($Sim) {
        $Sim->mode('all', 'reset');
        $Sim->stats_reset;

        for my $line (split /\n/, $block->sim_modes // '') {
            my ($node, $mode, $arg) = split ' ', $line, 3;
            $Sim->mode($node, $mode, $arg) if defined $mode;
        }
    }

    my $main = $block->main_config;
    $block->set_value('main_config', "load_module \$TEST_NGINX_MODULE;\n"
                                     . "load_module $NjsModule;\n"
                                     . (defined $main ? $main : ''));

    # What no block may log, while nginx runs and when it stops; a block
    # that expects an alert in its log may have one.
    my $must_die = defined $block->must_die;
    my $expected = $block->error_log;
    my @extra;

    for my $pat (@ForbiddenLogPatterns, @Secrets) {
        next if $must_die && $pat eq '[emerg]';
        next if value_contains($expected, $pat);

        push @extra, $pat;
    }

    return unless @extra;

    for my $section (qw(no_error_log no_shutdown_error_log)) {
        my @list = pattern_list(scalar $block->$section);
        $block->set_value($section, [@list, @extra]);
    }
}

# A section of log patterns as a list (text: one per line).
sub pattern_list {
    my $pats = shift;

    return () unless defined $pats;
    return @$pats if ref $pats eq 'ARRAY';
    return ($pats) if ref $pats eq 'Regexp';
    return grep { /\S/ } split /\n+/, $pats;
}

# HUP mode (TEST_NGINX_USE_HUP or use_hup(), with a master): the runner
# reloads the running nginx for the next block, but for a must_die block.
sub hup_mode {
    my $block = shift;

    no strict 'refs';
    my $pkg = $Runner eq 'Test::Nginx::Socket' ? 'Test::Nginx::Util'
                                               : $Runner;

    return ${"${pkg}::UseHup"} && !defined $block->must_die;
}

# Stops the nginx that runs from the server root (SIGQUIT, then SIGKILL
# after 10 s, a failure of the block before), and waits until it is gone.
# Its exit status is left to the runner (the bundled one reaps it).
sub stop_previous_nginx {
    my $pid = slurp(servroot() . '/logs/nginx.pid');

    return unless $pid =~ /^\s*(\d+)\s*$/ && process_alive($1);
    $pid = $1;

    kill 'QUIT', $pid;

    my $deadline = time + 10;
    select(undef, undef, undef, 0.02)
        while process_alive($pid) && time < $deadline;

    return unless process_alive($pid);

    kill 'KILL', $pid;
    select(undef, undef, undef, 0.02) while process_alive($pid);

    if ($Runner eq 'Test::Nginx::Socket') {
        Test::More::fail("nginx (pid $pid) of the block before exited "
                         . "within 10 s of SIGQUIT");
    }
}

sub process_alive {
    my $pid = shift;

    return 0 unless kill 0, $pid;

    # a daemon that exited lingers as a zombie until it is reaped
    return slurp("/proc/$pid/stat") !~ /^\d+ \(.*\) Z/s;
}

sub slurp {
    my $file = shift;

    open my $fh, '<', $file or return '';
    local $/;
    my $data = <$fh>;

    return $data // '';
}

# True when the error_log expectation (text, qr// or an array of them)
# mentions $pat literally.
sub value_contains {
    my ($val, $pat) = @_;

    return 0 unless defined $val;

    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
        return 0;
    }

    return index("$val", $pat) >= 0;
}

# Generates the test PKI once into $dir with t/pki/gen.sh; concurrent test
# files (prove -j) wait for the one that generates it.
sub generate_pki {
    my $dir = shift;

    return $dir if -e "$dir/.done";

    my $gen = "$Root/t/pki/gen.sh";
    if (!-f $gen) {
        die "K8sMetricsTest: $gen not found: it generates the test "
            . "certificates (or set TEST_NGINX_PKI to a PKI directory)\n";
    }

    make_path($dir);

    open my $lock, '>', "$dir/.lock"
        or die "K8sMetricsTest: cannot open $dir/.lock: $!\n";
    flock $lock, LOCK_EX
        or die "K8sMetricsTest: cannot lock $dir/.lock: $!\n";

    if (!-e "$dir/.done") {
        # stdout is the TAP stream: the script's output goes to stderr.
        my $pid = fork;
        die "K8sMetricsTest: fork() failed: $!\n" unless defined $pid;

        if ($pid == 0) {
            open STDOUT, '>&', \*STDERR;
            my @cmd = -x $gen ? ($gen, $dir) : ('/bin/sh', $gen, $dir);
            exec(@cmd) or print STDERR "cannot execute $gen: $!\n";
            POSIX::_exit(127);
        }

        waitpid($pid, 0);

        if ($? != 0) {
            die "K8sMetricsTest: $gen $dir failed (exit status "
                . ($? >> 8) . ")\n";
        }

        open my $done, '>', "$dir/.done"
            or die "K8sMetricsTest: cannot create $dir/.done: $!\n";
        close $done;
    }

    close $lock;

    return $dir;
}

# The module's TLS server, as the suites configure it: serving cert from
# the cluster CA, client certificates requested but verified by the module,
# and the identity it mapped echoed in X-K8s-* response headers.
# %opts: directives => extra k8s_metrics_* lines for the server,
#        http => extra lines at http level, zone => 1 to declare the zone.
sub api_server {
    my (%opts) = @_;

    my $directives = $opts{directives} // '';
    my $http = $opts{http} // '';
    my $zone = exists $opts{zone} ? $opts{zone}
             : "k8s_metrics_zone metrics:1m;";
    my $listen = $opts{listen} // 'ssl http2';

    # X-Remote-Extra-* keys carry '.', '%' (the aggregator's escapes):
    # headers nginx drops unless told otherwise
    return <<"CONF";
    $zone
    $http
    ignore_invalid_headers off;

    server {
        listen 127.0.0.1:\$TEST_NGINX_TLS_PORT $listen;
        server_name localhost;

        ssl_certificate \$TEST_NGINX_PKI/server.crt;
        ssl_certificate_key \$TEST_NGINX_PKI/server.key;
        ssl_verify_client optional_no_ca;

        add_header X-K8s-User \$k8s_metrics_user always;
        add_header X-K8s-Groups \$k8s_metrics_groups always;
        add_header X-K8s-Authenticator \$k8s_metrics_authenticator always;

        location / {
            k8s_metrics_api;
            $directives
        }
    }
CONF
}

# The peers' directories derive from the server root, so that suites run
# at once on other ports (TEST_NGINX_SERVER_PORT, TEST_NGINX_SERVROOT) do
# not stop each other's peers: with TEST_NGINX_SERVROOT=/tmp/x, the
# simulator is in /tmp/x-sim and the fake apiserver in /tmp/x-apiserver;
# with the default server root, t/servroot-sim and t/servroot-apiserver.
sub servroot {
    my $dir = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                  || "$Root/t/servroot");
    $dir =~ s{(?<=.)/+\z}{};
    return $dir;
}

sub peer_dir { servroot() . '-' . $_[0] }

# Starts the kubelet simulator (t/sim) for this test file, once, and stops
# it when the file is done.  Its nodes' k8s_metrics_node lines are in
# $ENV{TEST_NGINX_SIM_NODES} (a file to include); %opts go to
# KubeletSim->start (nodes, pods, containers, ...).
my $sim_owner;

sub kubelet_sim {
    my (%opts) = @_;

    return $Sim if $Sim;

    unshift @INC, "$Root/t/sim" unless grep { $_ eq "$Root/t/sim" } @INC;
    require KubeletSim;

    my $port = runner_call('server_port');
    my $dir = peer_dir('sim');

    KubeletSim->attach($dir)->stop if -e "$dir/sim.json";

    $Sim = KubeletSim->start(dir => $dir, pki => $ENV{TEST_NGINX_PKI},
                             nodes => 3, pods => 4, containers => 2,
                             port => $port + 20, control_port => $port + 21,
                             quiet => 1, %opts);
    $sim_owner = $$;

    $ENV{TEST_NGINX_SIM_NODES} = "$dir/nodes.conf";
    $ENV{TEST_NGINX_SIM_PORT} = $port + 20;
    $ENV{TEST_NGINX_SIM_CONTROL} = $port + 21;

    return $Sim;
}

# The fake kube-apiserver (t/apiserver) for this test file, listing the
# simulator's nodes and pods; started afresh for every block (see
# preprocess_block), so that what a block changes does not leak into the
# next, unless per_block => 0 (then started once; a test restarts it when
# it wants to, restart_apiserver()).  $ENV{TEST_NGINX_APISERVER_CONF} is a
# file of the directives that point the module at it; /apictl/... in
# waiter_location() is its control.
our %ApiOptions;

sub fake_apiserver {
    my (%opts) = @_;

    $ApiPerBlock = delete $opts{per_block} // 1;

    unshift @INC, "$Root/t/apiserver"
        unless grep { $_ eq "$Root/t/apiserver" } @INC;
    require FakeApiserver;

    my $port = runner_call('server_port');

    %ApiOptions = (dir => peer_dir('apiserver'), pki => $ENV{TEST_NGINX_PKI},
                   port => $port + 50, control_port => $port + 51,
                   sim => $Sim ? $Sim->{dir} : undef, quiet => 1, %opts);

    $ENV{TEST_NGINX_APISERVER_CONTROL} = $port + 51;
    $ENV{TEST_NGINX_APISERVER_CONF} = peer_dir('apiserver') . '.conf';

    return restart_apiserver();
}

# a fresh fake apiserver; %modes (list_status => 503, ...) set at once
sub restart_apiserver {
    my (%modes) = @_;
    my $dir = $ApiOptions{dir};

    $Api->stop if $Api;
    FakeApiserver->attach($dir)->stop if !$Api && -e "$dir/apiserver.json";

    system('rm', '-rf', $dir);

    $Api = FakeApiserver->start(%ApiOptions);
    $sim_owner //= $$;

    $Api->mode(%modes) if %modes;

    open my $fh, '>', $ENV{TEST_NGINX_APISERVER_CONF}
        or die "$ENV{TEST_NGINX_APISERVER_CONF}: $!\n";
    print $fh $Api->module_conf;
    close $fh;

    return $Api;
}

END {
    local $?;   # the test's exit status, whatever stopping the peers gives
    if (defined $sim_owner && $sim_owner == $$) {
        $Api->stop if $Api;
        $Sim->stop if $Sim;
    }
}

# The sections every block of a file gets unless it has its own:
#
#     K8sMetricsTest::block_defaults(http_config => $HttpConfig,
#                                    config => $Config);
#
# A file's own block preprocessor, added after this, runs before it.
sub block_defaults {
    my (%sections) = @_;

    runner_call('add_block_preprocessor', sub {
        my $block = shift;

        for my $name (sort keys %sections) {
            $block->set_value($name, $sections{$name})
                unless defined $block->$name;
        }
    });
}

# The module's kubelet client as the suites configure it: the kubelets'
# certificates verified against the test PKI's CA, the module presenting
# kubelet-client (CN system:metrics-server).
sub kubelet_tls {
    return <<'CONF';
    k8s_metrics_kubelet_ca $TEST_NGINX_PKI/ca.crt;
    k8s_metrics_kubelet_client_certificate $TEST_NGINX_PKI/kubelet-client.crt;
    k8s_metrics_kubelet_client_certificate_key $TEST_NGINX_PKI/kubelet-client.key;
CONF
}

# Nodes and pods from the fake apiserver (fake_apiserver()), their
# kubelets the simulator, scraped every second (092 and 095 write these
# lines out themselves).
sub apiserver_kubelets {
    return q{
    k8s_metrics_kubelet_port $TEST_NGINX_SIM_PORT;
    k8s_metrics_resolution 1s;
    k8s_metrics_apiserver_timeout 2s;
    include $TEST_NGINX_APISERVER_CONF;
};
}

# The API of the open suites (040, 072, and open_api_server()): client
# certificates of the test CA, any authenticated user allowed.
sub collection_api {
    return q{
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
};
}

# The collection suites' http_config: the simulator's three nodes (from
# kubelet_sim(), started first) with the labels their selectors read
# (tier: node 2 "gpu", the others "cpu"; zone z1..z3), scraped every
# second over kubelet_tls() with a timeout under 0.9 x the resolution,
# behind collection_api(), with the waiter.  extra: more http-level
# directives.
sub collection_http_config {
    my ($extra) = @_;

    my $nodes = join '', map {
        sprintf "k8s_metrics_node %s %s:%d label=tier=%s label=zone=z%d;\n",
                KubeletSim::node_name($_), $Sim->node_ip($_), $Sim->{port},
                ($_ == 2 ? 'gpu' : 'cpu'), $_
    } 1 .. 3;

    return open_api_server(
        zone => 'k8s_metrics_zone metrics:2m;',
        http => kubelet_client('1s')
                . "    k8s_metrics_kubelet_timeout 900ms;\n" . $nodes
                . ($extra // ''));
}

# the kubelet client with the resolution of a file's cycles
sub kubelet_client {
    my ($resolution) = @_;

    return "    k8s_metrics_resolution $resolution;\n" . kubelet_tls();
}

# the kubelet simulator's nodes (kubelet_sim()), scraped every RESOLUTION
sub sim_kubelets {
    my ($resolution) = @_;

    return kubelet_client($resolution) . "    include \$TEST_NGINX_SIM_NODES;\n";
}

# api_server() that lets every client of the test PKI's CA read everything
# (always_allow), with the waiter (waiter_http()) beside it; http and
# directives are added to
sub open_api_server {
    my (%opts) = @_;

    return api_server(%opts,
        http => ($opts{http} // '') . waiter_http(),
        directives => collection_api() . ($opts{directives} // ''));
}

# The waiter (t/lib/wait.js): "GET /wait?path=/anon/readyz" returns once
# that path answers 200; http-level and server-level parts.
sub waiter_http {
    return "js_import waiter from $Root/t/lib/wait.js;\n";
}

# the waiter alone, for a file without the kubelet simulator
sub wait_location {
    return <<'CONF';
        location = /wait {
            js_content waiter.wait;
        }
CONF
}

sub waiter_location {
    return wait_location() . <<'CONF';

        # the kubelet simulator's control port: /sim/stats?node=..., /sim/mode?...
        location /sim/ {
            proxy_pass http://127.0.0.1:$TEST_NGINX_SIM_CONTROL/;
        }
CONF
}

# the fake apiserver's control port: "POST /apictl/node/remove" + JSON body
sub apiserver_control_location {
    return <<'CONF';
        location /apictl/ {
            proxy_pass http://127.0.0.1:$TEST_NGINX_APISERVER_CONTROL/;
        }
CONF
}

# Client personas: each location /NAME/ forwards the request (headers
# included) to the module's TLS server presenting one certificate of the
# test PKI (or [CRT, KEY]: paths in it, or absolute ones), and verifies the
# server's certificate, as the aggregator does.
our %Personas = (
    'anon'              => undef,
    'fp'                => 'front-proxy-client',
    'fp-other'          => 'front-proxy-other',
    'fp-expired'        => 'front-proxy-expired',
    'fp-notyet'         => 'front-proxy-notyet',
    'fp-serverauth'     => 'front-proxy-serverauth',
    'fp-chained'        => ['front-proxy-chained-bundle.crt',
                            'front-proxy-chained.key'],
    'fp-selfsigned'     => 'front-proxy-selfsigned',
    'unknown'           => 'unknown-client',
    'admin'             => 'client-admin',
    'alice'             => 'client-alice',
    'bob'               => 'client-nogroups',
    'alice-expired'     => 'client-expired',
    'alice-serverauth'  => 'client-serverauth',
    'as-fp'             => 'client-as-front-proxy',
);

sub personas {
    my $port = shift // '$TEST_NGINX_TLS_PORT';
    my $conf = '';

    for my $name (sort keys %Personas) {
        my $cert = $Personas{$name};
        my $tls = '';

        if (defined $cert) {
            my ($crt, $key) = map { m{^/} ? $_ : "\$TEST_NGINX_PKI/$_" }
                              ref $cert ? @$cert : ("$cert.crt", "$cert.key");
            $tls = "proxy_ssl_certificate $crt;\n"
                 . "            proxy_ssl_certificate_key $key;";
        }

        $conf .= <<"CONF";
        location /$name/ {
            proxy_pass https://127.0.0.1:$port/;
            $tls
            proxy_ssl_trusted_certificate \$TEST_NGINX_PKI/ca.crt;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse off;
        }
CONF
    }

    return $conf;
}


# ---- nginx from the outside ----

sub master_pid {
    my $pid = slurp(servroot() . '/logs/nginx.pid');
    return $pid =~ /^\s*(\d+)/ ? $1 : undef;
}

sub children {
    my $ppid = shift;
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = slurp($stat);
        push @pids, $1 if $s =~ /^(\d+) \(.*\) \S+ (\d+)/s && $2 == $ppid;
    }

    return sort { $a <=> $b } @pids;
}

sub title {
    my $t = slurp("/proc/$_[0]/cmdline");
    $t =~ tr/\0/ /;
    $t =~ s/\s+\z//;
    return $t;
}

# the running workers of a master (not those shutting down)
sub running_workers {
    my $master = shift // master_pid();
    return grep { title($_) =~ /worker process$/ } children($master);
}

# workers of an older generation, still finishing their connections
sub exiting_workers {
    my $master = shift // master_pid();
    return grep { title($_) =~ /is shutting down/ } children($master);
}

# inodes of the established TCP connections to a remote port
sub tcp_inodes_to {
    my $port = shift;
    my %inodes;

    for my $table ('/proc/net/tcp', '/proc/net/tcp6') {
        for my $line (split /\n/, slurp($table)) {
            my @f = split ' ', $line;
            next unless @f > 9 && $f[2] =~ /:([0-9A-F]{4})$/;
            next unless hex($1) == $port && $f[3] eq '01';
            $inodes{ $f[9] } = 1;
        }
    }

    return \%inodes;
}

sub socket_inodes {
    my $pid = shift;
    my @inodes;

    opendir my $dh, "/proc/$pid/fd" or return ();
    for my $fd (readdir $dh) {
        my $l = readlink "/proc/$pid/fd/$fd" // next;
        push @inodes, $1 if $l =~ /^socket:\[(\d+)\]$/;
    }

    return @inodes;
}

# The process that scrapes: the single process without a master, else
# the worker holding connections to the kubelets (keep-alive: they stay
# open between cycles).  undef while none is found.
sub scraping_worker {
    my ($kubelet_port) = @_;
    my $master = master_pid() // return undef;

    my @workers = running_workers($master);
    return $master unless @workers || children($master);

    my $conns = tcp_inodes_to($kubelet_port // $ENV{TEST_NGINX_SIM_PORT});
    my @found = grep {
        my $pid = $_;
        grep { $conns->{$_} } socket_inodes($pid);
    } @workers;

    return @found == 1 ? $found[0] : undef;
}

# waits for the scraping worker (it has connections once it scraped)
sub wait_scraping_worker {
    my ($timeout, $not) = @_;
    my $deadline = time + ($timeout // 10);

    while (time < $deadline) {
        my $pid = scraping_worker();
        return $pid if $pid && (!defined $not || $pid != $not);
        sleep 0.05;
    }

    return undef;
}

# Holds process PID at BREAK (a gdb breakpoint: a function, "if" and a
# condition) through gdb, in the background; returns once it is held.
# The sub returned lets it go: gdb then does THEN ("kill", "detach").  No
# request may go to a worker held where it could accept it (in its event
# loop): held in a handler, it takes no connection.
sub gdb_hold {
    my ($pid, $break, $then) = @_;
    my $go = servroot() . '/logs/gdb.go';
    my $out = servroot() . '/logs/gdb.out';
    my ($function) = $break =~ /^(\S+)/;

    unlink $go;

    my $gdb = fork // die "fork: $!\n";

    if ($gdb == 0) {
        open STDOUT, '>', $out or die "$out: $!\n";
        open STDERR, '>&', \*STDOUT;
        exec 'timeout', '120', 'gdb', '-nx', '-batch', '-p', $pid,
             '-ex', "break $break", '-ex', 'continue', '-ex', 'delete',
             '-ex', "shell while [ ! -e $go ]; do sleep 0.02; done",
             '-ex', $then;
        exit 127;
    }

    wait_until(sub { slurp($out) =~ /Breakpoint 1, .*\Q$function\E/ }, 60,
               0.02)
        or die "$pid was not held at $function: " . slurp($out);

    return sub {
        open my $fh, '>', $go or die "$go: $!\n";
        close $fh;
        waitpid $gdb, 0;
    };
}

# a field of /proc/PID/status in kB (VmRSS, VmHWM, ...)
sub vm_kb {
    my ($pid, $field) = @_;
    return undef unless $pid;
    return slurp("/proc/$pid/status") =~ /^\Q$field\E:\s+(\d+) kB/m ? $1 : undef;
}


# ---- requests to the test's own server (plain HTTP, the personas) ----

sub server_port { runner_call('server_port') }

my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);

sub get {
    my ($path, %o) = @_;
    my $t0 = time;
    my $r = $http->get('http://127.0.0.1:' . server_port() . $path,
                       { headers => $o{headers} // {} });
    $r->{elapsed} = time - $t0;
    return $r;
}

# /metrics as {'name{labels}' => value}
sub prom {
    my $text = shift;
    my %m;
    for my $line (split /\n/, $text // '') {
        next if $line =~ /^#/;
        $m{$1} = $2 if $line =~ /^(\S+(?:\{.*\})?) (\S+)$/;
    }
    return \%m;
}

sub metrics {
    my $r = get('/admin/metrics');
    return $r->{status} == 200 ? prom($r->{content}) : undef;
}

# waits until $cond->() is true; returns its value (undef on timeout)
sub wait_until {
    my ($cond, $timeout, $step) = @_;
    my $deadline = time + ($timeout // 10);

    for (;;) {
        my $v = $cond->();
        return $v if $v;
        return undef if time > $deadline;
        sleep($step // 0.1);
    }
}

# waits until k8s_metrics_scrape_cycles_total passes $n; returns the count
sub wait_cycles {
    my ($n, $timeout) = @_;
    return wait_until(sub {
        my $m = metrics() or return undef;
        my $c = $m->{k8s_metrics_scrape_cycles_total} // 0;
        return $c > $n ? $c : undef;
    }, $timeout, 0.05);
}

sub json { JSON::PP->new->canonical->utf8->encode($_[0]) }

# ---- one TLS connection held open: openssl s_client, requests on it ----
#
#     my $c = K8sMetricsTest::TLSConnection->connect($port, $cert, $key);
#     my $r = $c->request('/path', 'X-Remote-User' => 'admin');
#     # {status => 200, body => '...'}, or {status => 0, error => '...'}
#     # when the connection is gone: a new one is never made
#     $c->disconnect;

package K8sMetricsTest::TLSConnection;

use IO::Select;
use IPC::Open3 qw(open3);
use Time::HiRes qw(time);

sub connect {
    my ($class, $port, $cert, $key) = @_;
    my ($in, $out);
    open my $null, '>', '/dev/null' or die "/dev/null: $!\n";
    my $pid = open3($in, $out, '>&' . fileno($null),
                    $ENV{OPENSSL} // 'openssl', 's_client', '-quiet',
                    '-connect', "127.0.0.1:$port", '-servername', 'localhost',
                    '-cert', $cert, '-key', $key);
    $in->autoflush(1);
    return bless { pid => $pid, in => $in, out => $out, buf => '' }, $class;
}

# reads until $want->() returns true; false on EOF or timeout
sub _fill {
    my ($self, $want, $timeout) = @_;
    my $deadline = time + $timeout;
    my $sel = IO::Select->new($self->{out});
    until ($want->()) {
        my $left = $deadline - time;
        return 0 if $left <= 0 || !$sel->can_read($left);
        my $n = sysread $self->{out}, $self->{buf}, 65536, length $self->{buf};
        return 0 unless $n;
    }
    return 1;
}

sub request {
    my ($self, $path, %headers) = @_;
    my $head = join '', map { "$_: $headers{$_}\r\n" } sort keys %headers;
    print { $self->{in} } "GET $path HTTP/1.1\r\nHost: localhost\r\n$head\r\n"
        or return { status => 0, error => "write: $!" };

    $self->_fill(sub { $self->{buf} =~ /\r\n\r\n/ }, 10)
        or return { status => 0, error => 'no response header (connection closed?)' };
    $self->{buf} =~ s/^(.*?)\r\n\r\n//s;
    my $header = $1;
    my ($status) = $header =~ m{^HTTP/1\.1 (\d+)};
    my ($length) = $header =~ /^Content-Length: (\d+)\r?$/mi;
    return { status => 0, error => "no Content-Length in:\n$header" }
        unless defined $length;

    $self->_fill(sub { length $self->{buf} >= $length }, 10)
        or return { status => 0, error => 'body cut short' };
    my $body = substr $self->{buf}, 0, $length, '';
    return { status => $status, body => $body, header => $header };
}

sub disconnect {
    my $self = shift;
    close $self->{in};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
}

1;
