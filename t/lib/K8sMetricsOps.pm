package K8sMetricsOps;

# Support for the reliability suites (t/100-faults.t, t/110-load-lifecycle.t,
# t/120-endurance.t): what a test needs to watch nginx from the outside
# (its processes, the scraping worker, memory, /metrics), and the peers of
# K8sMetricsTest with the fake apiserver started once, not per block.
#
#     use lib 't/lib';
#     use K8sMetricsTest;
#     use K8sMetricsOps;
#
#     our $Sim = K8sMetricsOps::kubelet_sim(nodes => 3, pods => 4);
#     our $Api = K8sMetricsOps::fake_apiserver();      # optional
#
# A test restarts the fake apiserver when it wants to (restart_apiserver(),
# with modes set before nginx starts).

use strict;
use warnings;

use K8sMetricsTest ();
use HTTP::Tiny;
use JSON::PP ();
use Time::HiRes qw(sleep time);

sub root { $K8sMetricsTest::Root }

sub servroot { K8sMetricsTest::servroot() }

sub peer_dir { K8sMetricsTest::peer_dir(@_) }

sub server_port { K8sMetricsTest::runner_call('server_port') }

sub kubelet_sim { K8sMetricsTest::kubelet_sim(@_) }

sub fake_apiserver {
    $K8sMetricsTest::ApiPerBlock = 0;
    return K8sMetricsTest::fake_apiserver(@_);
}

sub restart_apiserver { K8sMetricsTest::restart_apiserver(@_) }


# ---- nginx from the outside ----

sub slurp {
    my $file = shift;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

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
sub workers {
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

    my @workers = workers($master);
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

# a field of /proc/PID/status in kB (VmRSS, VmHWM, ...)
sub vm_kb {
    my ($pid, $field) = @_;
    return undef unless $pid;
    return slurp("/proc/$pid/status") =~ /^\Q$field\E:\s+(\d+) kB/m ? $1 : undef;
}


# ---- requests to the test's own server (plain HTTP, the personas) ----

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
#     my $c = K8sMetricsOps::TLSConnection->connect($port, $cert, $key);
#     my $r = $c->request('/path', 'X-Remote-User' => 'admin');
#     # {status => 200, body => '...'}, or {status => 0, error => '...'}
#     # when the connection is gone: a new one is never made
#     $c->disconnect;

package K8sMetricsOps::TLSConnection;

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
