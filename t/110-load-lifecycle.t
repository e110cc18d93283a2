# Lifecycle under load (issue 6, item 4): wrk requests the API for the
# whole run while the test runs "nginx -s reload" ten times, kills a worker
# and then the scraping worker with SIGKILL, and rotates the serving
# certificate twice (files replaced, then a reload).
#
# What "zero failed requests" means here.  wrk goes through a front proxy
# (a separate nginx, never reloaded or killed), standing in for
# kube-apiserver's aggregation layer, the module's one client in a cluster:
# keep-alive connections to the module over verified TLS with a client
# certificate, and, like Go's http.Transport that the aggregator uses, an
# idempotent request whose connection is closed or reset before any
# response byte is sent again on another connection (proxy_next_upstream
# error; at most 17 attempts, the 17th on a new connection).  Only that is
# retried: an HTTP error, a timeout or a truncated response reaches wrk.  Two things cut connections under the
# proxy, and both are the nature of HTTP/1.1 rather than the module's:
# a worker of the old generation closing an idle keep-alive connection just
# as the next request arrives on it (every reload), and a worker killed
# with SIGKILL, whose in-flight requests are lost by definition.  So the
# test demands what a client can see, 0 non-2xx answers and 0 socket errors
# in wrk, every poll of the node list answered with every node and fresh
# data, and it counts the proxy's retries per phase: none while nothing
# happens (the first steady phase), a few at reloads and kills.
#
# This file always runs with a master and 2 workers.  The load block is
# driven from its "--- init" (wrk, a poller and the signals run while the
# block's nginx runs), and its requests check the state after the run.
# The only alerts in its error log must be the master's about the workers
# this test killed (the exit on signal 9, and "shared memory zone ... was
# locked by" if a killed worker held the zone's mutex, which the master
# then released): the run checks those it logged, by pid, and the block's
# no_shutdown_error_log any other alert until nginx has stopped.  /readyz
# is not in wrk's mix: an old worker's answer to it during a reload is
# TEST 1.

use lib 't/lib';
use K8sMetricsTest;
use K8sMetricsCheck;

use File::Copy qw(copy);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

our $TODO;

no_root_location();
no_shuffle();
master_on();
workers(2);

our $Sim = K8sMetricsTest::kubelet_sim(nodes => 3, pods => 4, containers => 2);

our $Wrk = (grep { -x } map { "$_/wrk" } split /:/, $ENV{PATH})[0];
our $Openssl = (grep { -x } map { "$_/openssl" } split /:/, $ENV{PATH})[0];
our $Nginx = $ENV{TEST_NGINX_BINARY}
             || (grep { -x } map { "$_/nginx" } split /:/, $ENV{PATH})[0]
             || '/usr/sbin/nginx';

die "wrk is not installed: apt-get install wrk (make deps)\n" unless $Wrk;
die "openssl is not installed\n" unless $Openssl;

our $Pki = $ENV{TEST_NGINX_PKI};
our $ProxyPort = $ENV{TEST_NGINX_PEER_PORT} + 1;
our $ProxyDir = K8sMetricsTest::peer_dir('proxy');

# The serving certificate lives in files of its own, replaced by the
# rotations: the test PKI's, then two new ones from the same CA.
our $CertDir = tempdir(CLEANUP => 1);
chmod 0755, $CertDir;
copy("$Pki/server.crt", "$CertDir/server.crt") or die "copy: $!\n";
copy("$Pki/server.key", "$CertDir/server.key") or die "copy: $!\n";
$ENV{TEST_NGINX_CERT_DIR} = $CertDir;

sub run_quiet {
    my @cmd = @_;
    my $out = `@cmd 2>&1`;
    die "failed: @cmd\n$out" if $? != 0;
    return $out;
}

for my $n (1, 2) {
    my $ext = "$CertDir/ext.cnf";
    open my $fh, '>', $ext or die "$ext: $!\n";
    print $fh "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
              . "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n";
    close $fh;
    run_quiet($Openssl, 'req', '-new', '-newkey', 'ec', '-pkeyopt',
              'ec_paramgen_curve:prime256v1', '-nodes',
              '-keyout', "$CertDir/rotated-$n.key", '-subj',
              "/CN=metrics-server-rotated-$n", '-out', "$CertDir/rotated-$n.csr");
    run_quiet($Openssl, 'x509', '-req', '-in', "$CertDir/rotated-$n.csr",
              '-CA', "$Pki/ca.crt", '-CAkey', "$Pki/ca.key",
              '-set_serial', sprintf('0x%x%04x', time, 4096 * $n + $$ % 4096),
              '-days', 2, '-extfile', $ext, '-out', "$CertDir/rotated-$n.crt");
}

sub serial_of_file {
    my $s = run_quiet($Openssl, 'x509', '-noout', '-serial', '-in', shift);
    return $s =~ /serial=(\S+)/ ? uc $1 : '';
}

# the serial of the certificate the module's port presents
sub served_serial {
    my $cmd = "$Openssl s_client -connect 127.0.0.1:$ENV{TEST_NGINX_TLS_PORT}"
              . " -servername localhost </dev/null 2>/dev/null"
              . " | $Openssl x509 -noout -serial 2>/dev/null";
    my $s = `$cmd`;
    return $s =~ /serial=(\S+)/ ? uc $1 : '';
}

# The module's server: as K8sMetricsTest::api_server(), with the
# certificate in $CertDir; no reuseport (the listening socket is the
# master's, so connections waiting in its queue outlive a killed worker).
our $HttpConfig = q{
    k8s_metrics_zone metrics:2m;
    k8s_metrics_resolution 1s;
} . K8sMetricsTest::kubelet_tls() . q{
    include $TEST_NGINX_SIM_NODES;
    ignore_invalid_headers off;

    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl http2;
        server_name localhost;

        ssl_certificate $TEST_NGINX_CERT_DIR/server.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/server.key;
        ssl_verify_client optional_no_ca;

        location / {
            k8s_metrics_api;
            k8s_metrics_client_ca $TEST_NGINX_PKI/ca.crt;
            k8s_metrics_authorization always_allow;
        }
    }
} . K8sMetricsTest::waiter_http();

our $Config = K8sMetricsTest::personas() . K8sMetricsTest::waiter_location();
our $Nodes = '/apis/metrics.k8s.io/v1beta1/nodes';

our @Phases;      # [name, start, end]
our @Killed;      # pids killed with SIGKILL
our %Run;         # what the run saw, for the block's checks

# ---- the rules: what the run (TEST 2's --- init, drive() below) must
# ---- show, one subtest each; the machinery that drives it follows ----

sub rule { Test::More::subtest(@_) }

sub first_ten { my @l = @_; return join "\n", @l[0 .. ($#l < 9 ? $#l : 9)] }

sub check_run {
    (my $summary = $Run{wrk}) =~ s/^/    /mg;
    Test::More::note("wrk through the proxy, $Run{duration}s:\n$summary");

    # What the proxy logged (every request that was not one clean 200):
    # wrk stopped with requests in flight, which the proxy logs as 499
    # (client closed) when it sees the close before the module's answer;
    # a 499 before that moment would be wrk giving up, a real failure.
    my (%retries, @failed, $most, $cancelled);
    for my $u (@{ $Run{unclean} }) {
        if ($u->[1] == 499 && $u->[0] >= $Run{wrk_stopped}) {
            $cancelled++;
            next;
        }
        push @failed, $u->[3] if $u->[1] != 200;
        my $tries = 1 + ($u->[2] =~ tr/,//);
        $retries{ phase_of($u->[0]) }++ if $tries > 1;
        $most = $tries if $tries > ($most // 0);
    }
    Test::More::note(($cancelled // 0) . " requests in flight when wrk was stopped (499)");
    Test::More::note("requests the proxy sent again after a closed or reset connection, by phase: "
         . join(', ', map { "$_->[0] " . ($retries{ $_->[0] } // 0) } @Phases,
                ['after']) . "; at most " . ($most // 1) . " attempts for one request");

    rule('no request fails through reloads, kills and rotations' => sub {
        my ($requests) = $Run{wrk} =~ /^\s*(\d+) requests in/m;
        Test::More::ok(($requests // 0) > 500, "wrk made requests (" . ($requests // 0) . ")")
            or Test::More::diag($Run{wrk});
        Test::More::unlike($Run{wrk}, qr/Non-2xx or 3xx responses/, 'wrk: no non-2xx answer');
        Test::More::unlike($Run{wrk}, qr/Socket errors/, 'wrk: no socket error');
        Test::More::is(scalar @failed, 0, 'the proxy answered every request 200')
            or Test::More::diag(first_ten(@failed));
    });

    rule('no connection is cut while nothing happens' => sub {
        Test::More::is($retries{steady} // 0, 0, 'no retry in the first steady phase');
    });

    rule('the node list is served throughout: every node, with its usage' => sub {
        my @bad = grep { $_->[1] != 200 || $_->[2] != 3 } @{ $Run{polls} };
        Test::More::ok(@{ $Run{polls} } > 50,
                       "polled throughout (" . scalar(@{ $Run{polls} }) . " polls)");
        Test::More::is(scalar @bad, 0, 'every poll: 200 with the 3 nodes and their usage')
            or Test::More::diag(first_ten(map { "@$_" } @bad));
    });

    rule('the data served is never more than 5 s old' => sub {
        my @ok = grep { $_->[1] == 200 } @{ $Run{polls} };
        my @stale = grep { $_->[0] - $_->[3] > 5 } @ok;
        my ($oldest) = sort { $b <=> $a } map { $_->[0] - $_->[3] } @ok;
        Test::More::is(scalar @stale, 0, sprintf 'at most %.1fs old', $oldest // -1)
            or Test::More::diag(first_ten(map { "@$_" } @stale));
    });

    rule('every reload brings a new generation of workers; the old ones exit' => sub {
        Test::More::is($Run{reloaded}, 10, 'ten reloads, each with a new generation');
        Test::More::is($Run{exiting}, 'none', 'no worker of an old generation left');
    });

    rule('a worker killed with SIGKILL is replaced' => sub {
        Test::More::ok($Run{killed_other}, 'the master started another');
    });

    rule('the scraping worker killed with SIGKILL: its replacement scrapes on' => sub {
        Test::More::ok($Run{scraper_found},
                       'the scraping worker found (it holds the kubelet connections)');
        Test::More::ok($Run{killed_scraper}, 'it is replaced');
        Test::More::ok($Run{new_scraper} && $Run{new_scraper} != $Run{scraper_found},
                       "scraping resumed in the replacement (pid "
                       . ($Run{new_scraper} // 'none') . ")");
        Test::More::ok(($Run{cycles_after_kill} // 0) > ($Run{cycles_at_kill} // 0),
                       "scrape cycles went on ($Run{cycles_at_kill} -> "
                       . ($Run{cycles_after_kill} // 'none') . ")");
    });

    rule('a serving certificate rotated on disk is served after the reload' => sub {
        for my $i (0 .. 1) {
            my $r = $Run{rotations}[$i] // [];
            Test::More::ok($r->[0], "rotation " . ($i + 1) . ": the reload took the new files");
            Test::More::is($r->[2], $r->[1], "rotation " . ($i + 1) . ": the new certificate is served");
        }
    });

    rule('nothing is left locked: every worker answers at once' => sub {
        my @slow;
        for my $path (("/admin/metrics", "/admin$Nodes", "/anon/readyz") x 10) {
            my $r = K8sMetricsTest::get($path);
            push @slow, sprintf("%s: %d in %.3fs", $path, $r->{status}, $r->{elapsed})
                if $r->{status} != 200 || $r->{elapsed} > 0.5;
        }
        Test::More::is(scalar @slow, 0, '30 requests after the run, each answered in under 0.5s')
            or Test::More::diag(join "\n", @slow);
    });

    rule('the store goes on taking snapshots' => sub {
        my $c = cycles();
        my $later = K8sMetricsTest::wait_cycles($c + 1, 5);
        Test::More::ok($later, "a new scrape cycle ($c -> " . ($later // 'none') . ")");
    });

    rule('the only alerts are the master\'s about the killed workers' => \&check_alerts);
}

# ---- the front proxy (the aggregator's stand-in) ----

sub start_proxy {
    system('rm', '-rf', $ProxyDir);
    mkdir $ProxyDir or die "$ProxyDir: $!\n";
    my $user = $> == 0 ? 'user root;' : '';
    my $tls = $ENV{TEST_NGINX_TLS_PORT};
    my $peers = join '', map { "        server 127.0.0.1:$tls max_fails=0;\n" } 1 .. 17;

    open my $fh, '>', "$ProxyDir/nginx.conf" or die "$ProxyDir: $!\n";
    print $fh <<"CONF";
daemon on;
master_process on;
worker_processes 1;
$user
pid $ProxyDir/nginx.pid;
error_log $ProxyDir/error.log info;
events { worker_connections 1024; }
http {
    # every request that was not one clean 200: retried or failed
    map "\$status:\$upstream_status" \$unclean { "200:200" 0; default 1; }
    log_format lb '\$msec \$status "\$upstream_status" "\$upstream_addr" \$request_time "\$request"';
    access_log $ProxyDir/unclean.log lb if=\$unclean;
    client_body_temp_path $ProxyDir/tmp;
    proxy_temp_path $ProxyDir/tmp;

    # The same server many times: a retry needs a peer not tried yet, and
    # at a reload every cached connection to an old worker is closed at
    # once, so a request may meet several of them in a row (Go's transport
    # likewise goes on to the next idle connection, then a new one): with
    # 16 connections kept, the 17th attempt is on a new connection.
    upstream module {
$peers
        keepalive 16;
    }

    server {
        listen 127.0.0.1:$ProxyPort;
        keepalive_requests 1000000;

        location / {
            proxy_pass https://module;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_certificate $Pki/client-admin.crt;
            proxy_ssl_certificate_key $Pki/client-admin.key;
            proxy_ssl_trusted_certificate $Pki/ca.crt;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_next_upstream error;
            proxy_next_upstream_tries 0;
            proxy_connect_timeout 5s;
            proxy_read_timeout 10s;
        }
    }
}
CONF
    close $fh;
    mkdir "$ProxyDir/tmp";

    run_quiet($Nginx, '-p', "$ProxyDir/", '-c', "$ProxyDir/nginx.conf");
    K8sMetricsTest::wait_until(sub { -s "$ProxyDir/nginx.pid" }, 5)
        or die "the front proxy did not start\n";
}

sub stop_proxy {
    my $pid = K8sMetricsTest::slurp("$ProxyDir/nginx.pid");
    return unless $pid =~ /(\d+)/;
    $pid = $1;
    kill 'QUIT', $pid;
    K8sMetricsTest::wait_until(sub { !kill 0, $pid }, 10);
}

END { local $?; stop_proxy() if $ProxyDir && -e "$ProxyDir/nginx.pid" }

# ---- the poller: the node list through the proxy every 100 ms ----

sub rfc3339 {
    my ($y, $mo, $d, $h, $mi, $s) = shift =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/
        or return 0;
    return timegm($s, $mi, $h, $d, $mo - 1, $y);
}

sub start_poller {
    my ($file, $stop) = @_;
    my $pid = fork // die "fork: $!\n";
    return $pid if $pid;

    my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
    open my $out, '>', $file or POSIX::_exit(1);
    $out->autoflush(1);

    until (-e $stop) {
        my $t = time;
        my $r = $http->get("http://127.0.0.1:$ProxyPort$Nodes");
        my ($n, $newest) = (0, 0);
        if ($r->{status} == 200) {
            my $doc = eval { decode_json($r->{content}) } // {};
            for my $item (@{ $doc->{items} // [] }) {
                $n++ if $item->{usage}{cpu} && $item->{usage}{memory};
                my $ts = rfc3339($item->{timestamp} // '');
                $newest = $ts if $ts > $newest;
            }
        }
        printf $out "%.3f %d %d %d\n", $t, $r->{status}, $n, $newest;
        sleep 0.1;
    }

    close $out;
    POSIX::_exit(0);
}

# ---- the phases ----

sub phase {
    my ($name, $code) = @_;
    my $start = time;
    $code->();
    push @Phases, [$name, $start, time];
}

sub generation_changed {
    my ($old) = @_;
    my %old = map { $_ => 1 } @$old;
    return K8sMetricsTest::wait_until(sub {
        my @w = K8sMetricsTest::running_workers();
        return @w == 2 && !grep({ $old{$_} } @w) ? \@w : undef;
    }, 10, 0.02);
}

sub reload {
    my @before = K8sMetricsTest::running_workers();
    my $sr = K8sMetricsTest::servroot();
    my $out = `$Nginx -p $sr/ -c $sr/conf/nginx.conf -s reload 2>&1`;
    if ($? != 0) {
        Test::More::diag("nginx -s reload failed: $out");
        return 0;
    }
    return generation_changed(\@before) ? 1 : 0;
}

sub kill_worker {
    my ($pid) = @_;
    my @before = K8sMetricsTest::running_workers();
    push @Killed, $pid;
    kill 'KILL', $pid;
    # the master spawns one worker in its place
    return K8sMetricsTest::wait_until(sub {
        my @w = K8sMetricsTest::running_workers();
        return @w == 2 && !grep({ $_ == $pid } @w) ? 1 : undef;
    }, 10, 0.02);
}

sub cycles { (K8sMetricsTest::metrics() // {})->{k8s_metrics_scrape_cycles_total} // 0 }

sub rotate {
    my ($n) = @_;
    for my $ext ('crt', 'key') {
        copy("$CertDir/rotated-$n.$ext", "$CertDir/server.$ext.new") or die "copy: $!\n";
        rename "$CertDir/server.$ext.new", "$CertDir/server.$ext" or die "rename: $!\n";
    }
    return reload();
}

sub drive {
    K8sMetricsTest::wait_until(sub {
        my $r = K8sMetricsTest::get("/admin$Nodes");
        $r->{status} == 200 && $r->{content} =~ /node-00003/;
    }, 20) or die "the module did not serve the nodes\n";

    start_proxy();

    my $wrk_out = "$ProxyDir/wrk.txt";
    my $stop = "$ProxyDir/poller.stop";
    my $lua = "$ProxyDir/paths.lua";
    open my $fh, '>', $lua or die "$lua: $!\n";
    print $fh <<'LUA';
local paths = {
    "/apis/metrics.k8s.io/v1beta1/nodes",
    "/apis/metrics.k8s.io/v1beta1/pods",
    "/apis/metrics.k8s.io/v1beta1/nodes/node-00002",
    "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
    "/apis/metrics.k8s.io/v1beta1",
}
local i = 0
request = function()
    i = i + 1
    return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
    close $fh;

    my $wrk = fork // die "fork: $!\n";
    if ($wrk == 0) {
        open STDOUT, '>', $wrk_out;
        open STDERR, '>&', \*STDOUT;
        { exec($Wrk, '-t', 2, '-c', 8, '-d', '300s', '--timeout', '15s',
               '--latency', '-s', $lua, "http://127.0.0.1:$ProxyPort"); }
        POSIX::_exit(127);
    }

    my $poller = start_poller("$ProxyDir/polls.txt", $stop);
    my $t0 = time;

    phase(steady => sub { sleep 3 });

    phase(reloads => sub {
        for (1 .. 10) {
            $Run{reloaded}++ if reload();
            sleep 0.3;
        }
    });

    phase(settle => sub { sleep 1 });

    phase(kills => sub {
        my $scraper = K8sMetricsTest::wait_scraping_worker(5);
        my ($other) = grep { !$scraper || $_ != $scraper } K8sMetricsTest::running_workers();
        $Run{killed_other} = kill_worker($other) if $other;
        sleep 1;

        $scraper = K8sMetricsTest::wait_scraping_worker(5);
        $Run{scraper_found} = $scraper;
        return unless $scraper;

        my $before = cycles();
        $Run{killed_scraper} = kill_worker($scraper);
        $Run{cycles_at_kill} = $before;
        $Run{new_scraper} = K8sMetricsTest::wait_scraping_worker(10, $scraper);
        $Run{cycles_after_kill} = K8sMetricsTest::wait_cycles($before + 1, 10);
    });

    phase(rotations => sub {
        for my $n (1, 2) {
            my $ok = rotate($n);
            my $want = serial_of_file("$CertDir/rotated-$n.crt");
            my $got = K8sMetricsTest::wait_until(sub {
                my $s = served_serial();
                $s eq $want ? $s : undef;
            }, 5);
            push @{ $Run{rotations} }, [$ok, $want, $got // served_serial()];
            sleep 1;
        }
    });

    phase(tail => sub { sleep 3 });

    $Run{wrk_stopped} = time;
    kill 'INT', $wrk;
    waitpid $wrk, 0;
    open my $stopfh, '>', $stop;
    close $stopfh;
    waitpid $poller, 0;

    $Run{duration} = time - $t0;
    $Run{wrk} = K8sMetricsTest::slurp($wrk_out);
    $Run{polls} = [map { [split ' '] } split /\n/, K8sMetricsTest::slurp("$ProxyDir/polls.txt")];
    $Run{unclean} = [map {
        /^(\S+) (\d+) "([^"]*)"/ ? [$1, $2, $3, $_] : ()
    } split /\n/, K8sMetricsTest::slurp("$ProxyDir/unclean.log")];

    # workers of older generations all gone
    $Run{exiting} = K8sMetricsTest::wait_until(
        sub { K8sMetricsTest::exiting_workers() ? undef : 'none' }, 10)
        // join ' ', K8sMetricsTest::exiting_workers();

    stop_proxy();
    check_run();
}

sub phase_of {
    my $t = shift;
    for my $p (@Phases) {
        return $p->[0] if $t >= $p->[1] && $t < $p->[2];
    }
    return 'after';
}

# /readyz asked on a connection that a worker of the old generation holds
# when nginx reloads: the request half sent before "nginx -s reload", the
# rest after it; that worker answers it while it finishes.  The instance is
# not shutting down (the new generation serves), so readyz must pass.
# The "shutdown" check fails only when no newer configuration was loaded.
sub readyz_across_reload {
    my $out = "$ProxyDir-readyz-across-reload.txt";
    my $tls = $ENV{TEST_NGINX_TLS_PORT};
    unlink $out;

    K8sMetricsTest::wait_until(sub { K8sMetricsTest::get('/anon/readyz')->{status} == 200 }, 20)
        or Test::More::diag('the module is not ready');

    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        { exec('/bin/sh', '-c', "(printf 'GET /readyz?verbose HTTP/1.1\\r\\nHost: localhost\\r\\n';"
               . " sleep 1.5; printf 'Connection: close\\r\\n\\r\\n'; sleep 3)"
               . " | timeout 15 $Openssl s_client -quiet -connect 127.0.0.1:$tls"
               . " -servername localhost >$out 2>/dev/null"); }
        POSIX::_exit(127);
    }

    sleep 0.7;
    my $reloaded = reload();
    waitpid $pid, 0;

    my $res = K8sMetricsTest::slurp($out);
    my ($status) = $res =~ m{^HTTP/1\.1 (\d+)};

    rule('a reload does not make /readyz fail on a connection of the old generation' => sub {
        Test::More::ok($reloaded, 'nginx -s reload while the request is half sent');
        Test::More::ok(defined $status, 'the old worker answered the request')
            or Test::More::diag("got: $res");
        Test::More::is($status, 200, '/readyz passes')
            or Test::More::diag($res);
    });
}

# Every alert in the log at the end of the run is about a killed worker.
sub check_alerts {
    my $log = K8sMetricsTest::slurp(K8sMetricsTest::servroot() . '/logs/error.log');
    my %killed = map { $_ => 1 } @Killed;
    my (@alerts, @unexpected, $locked);

    for my $line (split /\n/, $log) {
        next unless $line =~ /\[(alert|crit|emerg)\]/;
        push @alerts, $line;
        if ($line =~ /worker process (\d+) exited on signal 9/ && $killed{$1}) {
            next;
        }
        if ($line =~ /shared memory zone "[^"]+" was locked by (\d+)/ && $killed{$1}) {
            $locked++;
            next;
        }
        push @unexpected, $line;
    }

    Test::More::is(scalar @unexpected, 0,
                   'the only alerts are the master\'s about the killed workers ('
                   . scalar(@alerts) . ' alerts, ' . ($locked // 0)
                   . ' zone locks released)')
        or Test::More::diag(join "\n", @unexpected);
    Test::More::is(scalar(grep { /exited on signal 9/ } @alerts), scalar @Killed,
                   'one "exited on signal 9" per killed worker');
}

K8sMetricsTest::block_defaults(http_config => $HttpConfig, config => $Config);

run_tests();

__DATA__

=== TEST 1: /readyz answered by a worker of the old generation, during a reload
--- init
::readyz_across_reload();
--- request
GET /anon/readyz
--- response_body: ok



=== TEST 2: wrk through 10 reloads, 2 SIGKILLs (one of the scraping worker) and 2 certificate rotations
--- init
::drive();
--- timeout: 20
--- request eval
["GET /anon/readyz?verbose", "GET /admin$::Nodes", "GET /admin/livez"]
--- response_body_filters eval
[\&K8sMetricsCheck::summary]
--- response_body eval
["[+]ping ok\n[+]metadata-informer-sync ok\n[+]metric-storage-ready ok\n[+]metric-snapshot-fresh ok\n[+]shutdown ok\nreadyz check passed\n",
 "NodeMetricsList\n" . CORE::join('', map { "node-0000$_ cpu=ok memory=ok window=ok labels=\n" } 1 .. 3),
 "ok"]
--- error_log eval
["[alert]", qr/worker process \d+ exited on signal 9/]
--- no_shutdown_error_log eval
[qr/\[alert\](?!.*(?:worker process \d+ exited on signal 9|shared memory zone "[^"]+" was locked by \d+))/]
