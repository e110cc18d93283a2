package Test::Nginx::Lite;

# A small, self-contained runner for test files written in the
# Test::Nginx::Socket format (`=== TEST n: name` blocks with `--- section`s),
# for machines where the real Test::Nginx cannot be installed.
#
# Parsing of blocks, sections and filters (`--- x eval`, `--- x: value`,
# `--- ONLY`, `--- SKIP`) is Test::Base's own, so a .t file means the same
# thing under both runners.  What this module adds is the nginx part: one
# fresh nginx per block, started from t/servroot, requests over plain TCP,
# the response checks, the error log checks, and a graceful stop at the end
# of every block followed by a scan of the block's whole error log for
# alerts, "open socket left" and sanitizer reports (those are only written
# when nginx exits, so they cannot be caught while it runs).
#
# See the POD after __END__ for the supported API and sections.

use Test::Base -base;

our $VERSION = '0.01';

use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX ();
use Test::LongString ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(
    run_tests repeat_each workers master_on master_off
    master_process_enabled log_level no_shuffle no_long_string
    no_root_location add_block_preprocessor add_cleanup_handler
    env_to_nginx timeout worker_connections config_preamble
    server_port server_addr server_root html_dir bail_out is_str
    $ServerPort $ServerAddr $ServerRoot $ServRoot
);

# Settings; the environment variables are those of Test::Nginx::Util.

our $ServerAddr = '127.0.0.1';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;

our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                    || 't/servroot');
$ServRoot =~ s{(?<=.)/+\z}{};
our $ServerRoot = $ServRoot;
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $StderrFile = "$LogDir/stderr.log";
our $PidFile    = "$LogDir/nginx.pid";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";

our @TempDirs = qw(client_body_temp proxy_temp fastcgi_temp uwsgi_temp
                   scgi_temp);

our $NginxBinary;
our $Workers              = 1;
our $WorkerConnections    = 1024;
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $RepeatEach           = 1;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $QuitTimeout          = $ENV{TEST_NGINX_QUIT_TIMEOUT} || 10;
our $StartTimeout         = 10;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString         = 0;
our $NoRootLocation       = 0;
our $ConfigPreamble       = '';
our $Verbose              = $ENV{TEST_NGINX_VERBOSE};

# As Test::Nginx's TEST_NGINX_USE_HUP: with a master process, the next
# block's configuration is loaded by "nginx -s reload" (SIGHUP) into the
# running nginx, so shared memory zones live on from block to block.
our $UseHup               = $ENV{TEST_NGINX_USE_HUP};
our $LastBlock;
our $BlockLogStart = 0;

our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;

# Lines that fail a block whenever they appear in its error log (checked
# after nginx has exited).  [emerg] is expected in must_die blocks.
our @FatalLogPatterns = (
    [ alert  => qr/\[alert\]/ ],
    [ emerg  => qr/\[emerg\]/ ],
    [ socket => qr/open socket #\d+ left/ ],
    [ asan   => qr/AddressSanitizer/ ],
    [ lsan   => qr/LeakSanitizer/ ],
    [ ubsan  => qr/UndefinedBehaviorSanitizer/ ],
    [ ubsan  => qr/runtime error:/ ],
    [ vg     => qr/==\d+== / ],
);

# The pid of the nginx master (or single process) this module started.
our $RunningPid;

# Configuration functions (same names and behaviour as Test::Nginx).

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub workers (@) {
    $Workers = shift if @_;
    return $Workers;
}

sub worker_connections (@) {
    $WorkerConnections = shift if @_;
    return $WorkerConnections;
}

sub master_on ()  { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = shift() ? 'on' : 'off';
    }
    return $MasterProcessEnabled;
}

sub log_level (@) {
    $LogLevel = shift if @_;
    return $LogLevel;
}

sub timeout (@) {
    $Timeout = shift if @_;
    return $Timeout;
}

sub no_shuffle ()       { $NoShuffle = 1 }
sub no_long_string ()   { $NoLongString = 1 }
sub no_root_location () { $NoRootLocation = 1 }

sub config_preamble ($) { $ConfigPreamble = shift }

sub server_port (@) {
    $ServerPort = shift if @_;
    return $ServerPort;
}

sub server_addr (@) {
    $ServerAddr = shift if @_;
    return $ServerAddr;
}

sub server_root () { $ServRoot }
sub html_dir ()    { $HtmlDir }

# Test::Nginx runs the most recently added preprocessor first.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }

sub env_to_nginx (@) {
    Carp::croak("env_to_nginx: no arguments specified") unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            Carp::croak("env_to_nginx: bad argument value: $v");
        }
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }

    return Test::LongString::is_string($got, $expected, $desc);
}

# The main loop.

sub run_tests () {
    # Test::Base's END block runs its own comparisons unless a plan was
    # declared; files that declare none get "no_plan".
    Test::More::plan('no_plan') unless Test::More->builder->has_plan;

    $NginxBinary = find_nginx_binary();
    become_subreaper();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        # in HUP mode a block's log begins before its preprocessors run
        $BlockLogStart = -s $ErrLogFile // 0;

        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }

        run_block($block);
    }

    cleanup();
}

sub cleanup () {
    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }

    if ($LastBlock) {
        stop_nginx($LastBlock->name);
        check_shutdown_log($LastBlock);
        undef $LastBlock;
    }

    stop_nginx(undef);
}

END {
    # A die in the middle of a block must not leave nginx behind.
    local $?;
    stop_nginx(undef) if defined $RunningPid;
}

sub find_nginx_binary {
    return $ENV{TEST_NGINX_BINARY} if $ENV{TEST_NGINX_BINARY};

    for my $dir (File::Spec->path) {
        my $f = "$dir/nginx";
        return $f if -f $f && -x _;
    }

    return '/usr/sbin/nginx';
}

sub run_block {
    my $block = shift;
    my $name = $block->name;

    local $LogLevel = $block->log_level // $LogLevel;
    $LogLevel =~ s/^\s+|\s+$//g;

    my $must_die = defined $block->must_die;

    my $reload = $UseHup && !$must_die && $MasterProcessEnabled eq 'on'
                 && defined $RunningPid && is_alive($RunningPid);

    my $log_pos = 0;

    if ($reload) {
        $log_pos = $BlockLogStart;

        if (!rewrite_config($block) || !reload_nginx($block)) {
            return;
        }

    } else {
        # Whatever runs from an earlier, interrupted run goes first.
        stop_nginx(undef);

        if (!prepare_server_root($block)) {
            return;
        }

        if ($must_die) {
            run_must_die_block($block);
            return;
        }

        if (!start_nginx($block)) {
            return;
        }
    }

    if (defined $block->init) {
        eval $block->init;
        if ($@) {
            Test::More::fail("$name - init code ran");
            Test::More::diag($@);
        }
    }

    for my $rep (0 .. $RepeatEach - 1) {
        run_requests($block, $rep);

        # Log lines of the log phase are written after the response.
        my $wait = parse_time(scalar $block->wait);
        sleep(defined $wait ? $wait : 0.05);

        my ($lines, $pos) = read_log_lines($ErrLogFile, $log_pos);
        $log_pos = $pos;

        # What nginx printed while reading its configuration (warnings go
        # to stderr before the error_log file is open) counts as log too.
        if ($rep == 0 && -e $StderrFile) {
            my ($startup) = read_log_lines($StderrFile, 0);
            $lines = [@$startup, @$lines];
        }

        check_log_patterns($block, 'error_log', $lines, "req $rep", 1);
        check_log_patterns($block, 'no_error_log', $lines, "req $rep", 0);
    }

    if ($UseHup && $MasterProcessEnabled eq 'on') {
        # the next block reloads this nginx; cleanup() stops it
        $LastBlock = $block;
        return;
    }

    stop_nginx($name);

    check_shutdown_log($block);
}

# HUP mode: the new configuration, without touching the logs nginx holds.
sub rewrite_config {
    my $block = shift;

    my $conf = eval {
        write_user_files($block);
        build_config($block);
    };

    if (!defined $conf) {
        (my $err = $@) =~ s/\s+\z//;
        Test::More::fail($block->name . " - configuration prepared");
        Test::More::diag($err);
        return 0;
    }

    write_file($ConfFile, $conf);

    return 1;
}

# HUP mode: "nginx -s reload", done once a worker of the new generation runs.
sub reload_nginx {
    my $block = shift;
    my $name = $block->name;

    my %old = map { $_ => 1 } child_pids($RunningPid);
    my $pos = -s $ErrLogFile // 0;

    kill 'HUP', $RunningPid;

    my $deadline = time + $StartTimeout;

    while (time < $deadline) {
        my ($lines) = read_log_lines($ErrLogFile, $pos);

        if (my ($bad) = grep { /\[emerg\]/ } @$lines) {
            Test::More::fail("$name - nginx reloaded");
            Test::More::diag("the reload failed: $bad");
            return 0;
        }

        return 1 if grep { !$old{$_} } child_pids($RunningPid);

        sleep 0.01;
    }

    Test::More::fail("$name - nginx reloaded");
    Test::More::diag("no new worker after SIGHUP" . log_tail("error.log"));

    return 0;
}

# Server root and configuration.

sub prepare_server_root {
    my $block = shift;
    my $name = $block->name;

    # Only our own subdirectories are removed: TEST_NGINX_SERVROOT may point
    # somewhere that holds other things.
    remove_tree($ConfDir, $LogDir, $HtmlDir,
                map { "$ServRoot/$_" } @TempDirs);

    for my $dir ($ServRoot, $ConfDir, $LogDir, $HtmlDir,
                 map { "$ServRoot/$_" } @TempDirs)
    {
        next if -d $dir;
        make_path($dir, { error => \my $err });
        if (!-d $dir) {
            bail_out("$name - cannot create $dir");
        }
    }

    write_file("$HtmlDir/index.html",
               '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>');

    my $conf = eval {
        write_user_files($block);
        build_config($block);
    };

    if (!defined $conf) {
        (my $err = $@) =~ s/\s+\z//;
        Test::More::fail("$name - configuration prepared");
        Test::More::diag($err);
        return 0;
    }

    write_file($ConfFile, $conf);

    return 1;
}

sub build_config {
    my $block = shift;
    my $name = $block->name;

    my %sec;
    for my $s (qw(main_config http_config config post_main_config)) {
        my $v = $block->$s;
        $sec{$s} = defined $v ? expand_env($v, $name) : '';
    }

    my $env = '';
    for my $v (qw(ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS LD_PRELOAD
                  LD_LIBRARY_PATH), @EnvToNginx)
    {
        $env .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }

    # As Test::Nginx: workers of a root master would otherwise run as
    # "nobody" and could not read the test files.
    my $user = $> == 0 ? "user root;\n" : '';

    # The compiled-in temp paths are under /var/lib/nginx.
    my $temp = join '', map {
        "    ${_}_path $ServRoot/$_;\n"
    } @TempDirs;

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    return <<"_EOC_";
daemon on;
master_process $MasterProcessEnabled;
worker_processes $Workers;
pid $PidFile;
error_log $ErrLogFile $LogLevel;
$env$user
# main_config
$sec{main_config}

events {
    accept_mutex off;
    worker_connections $WorkerConnections;
}

http {
    access_log $AccLogFile;
    default_type text/plain;
    keepalive_timeout 68;

$temp
    # http_config
$sec{http_config}

    server {
        listen $ServerAddr:$ServerPort;
        server_name localhost;

        client_max_body_size 30M;

$ConfigPreamble
        # config
$sec{config}

$root_location    }
}

$sec{post_main_config}
_EOC_
}

# Replaces $TEST_NGINX_XXX with the environment variable, as Test::Nginx
# does; $TEST_NGINX_RAND_PORT_N is a free port, the same within a block.
our %RandPorts;

sub expand_env {
    my ($text, $name) = @_;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $RandPorts{$name}{$var} //= free_port();
        } elsif (!defined $ENV{$var}) {
            die "no environment variable $var defined "
                . "(used in the configuration)\n";
        } else {
            $ENV{$var};
        }
    }ge;

    return $text;
}

sub free_port {
    for (1 .. 1000) {
        my $port = 1985 + int rand 63000;
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port,
                                         Proto => 'tcp');
        if ($sock) {
            close $sock;
            return $port;
        }
    }

    die "cannot find a free port\n";
}

# --- user_files: ">>> name [touch date]" followed by the content, or an
# array of [name, content, date].
sub write_user_files {
    my $block = shift;
    my $files = $block->user_files;

    return unless defined $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, '', $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        (my $dir = $path) =~ s{/[^/]*\z}{};
        make_path($dir) unless -d $dir;

        write_file($path, expand_env($body // '', $block->name));

        if ($date) {
            system('touch', '-t', $date, $path) == 0
                or die "cannot touch $path\n";
        }
    }
}

sub write_file {
    my ($path, $data) = @_;

    open my $out, '>', $path or bail_out("cannot write $path: $!");
    binmode $out;
    print $out $data;
    close $out or bail_out("cannot write $path: $!");
}

# Starting and stopping nginx.

# Runs the nginx command line (which daemonizes) and returns its wait
# status; its stderr goes to logs/stderr.log.
sub exec_nginx {
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $StderrFile;
        exec($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile)
            or print STDERR "cannot execute $NginxBinary: $!\n";
        POSIX::_exit(127);
    }

    # The foreground process exits as soon as the daemon is forked (or the
    # configuration is refused); do not wait forever if it hangs.
    my $deadline = time + $StartTimeout;
    while (waitpid($pid, POSIX::WNOHANG()) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            return -1;
        }
        sleep 0.01;
    }

    return $?;
}

sub start_nginx {
    my $block = shift;
    my $name = $block->name;

    my $status;
    my $deadline = time + 5;

    for (;;) {
        unlink $StderrFile;
        $status = exec_nginx();
        last if $status == 0;

        # A listener of an earlier test may still hold the port.
        my $out = slurp($StderrFile) . slurp($ErrLogFile);
        last if $out !~ /Address already in use/ || time > $deadline;
        sleep 0.2;
    }

    if ($status != 0) {
        Test::More::fail("$name - nginx started");
        Test::More::diag(sprintf "%s exited with %s; stderr:\n%s%s",
                         "$NginxBinary -p $ServRoot/ -c $ConfFile",
                         describe_status($status),
                         indent(slurp($StderrFile)),
                         log_tail("error.log"));
        return 0;
    }

    # The listening sockets exist before the foreground process exits;
    # the pid file is written by the daemon a moment later.
    my $pid;
    $deadline = time + $StartTimeout;
    until (defined($pid = read_pid()) && port_listening()) {
        if (time > $deadline) {
            Test::More::fail("$name - nginx started");
            Test::More::diag("no pid file or no listener on "
                             . "$ServerAddr:$ServerPort after "
                             . "${StartTimeout}s" . log_tail("error.log"));
            $RunningPid = $pid;
            stop_nginx(undef);
            return 0;
        }
        sleep 0.01;
    }

    $RunningPid = $pid;

    return 1;
}

sub run_must_die_block {
    my $block = shift;
    my $name = $block->name;

    unlink $StderrFile;
    my $status = exec_nginx();

    if ($status == 0) {
        Test::More::fail("$name - nginx failed to start (must_die)");
        Test::More::diag("nginx started although the block says must_die");

        my $deadline = time + 2;
        sleep 0.01 until defined read_pid() || time > $deadline;
        $RunningPid = read_pid();
        stop_nginx(undef);

    } elsif ($block->must_die =~ /^\s*(\d+)\s*$/) {
        Test::More::is($status >> 8, $1,
                       "$name - nginx died with the expected exit code");

    } else {
        Test::More::pass("$name - nginx failed to start (must_die)");
    }

    # error_log is matched against what nginx printed on stderr, where
    # startup errors go, and against the error log file.
    my @lines = (split(/^/m, slurp($StderrFile)),
                 @{ (read_log_lines($ErrLogFile, 0))[0] });

    check_log_patterns($block, 'error_log', \@lines, 'startup', 1);
    check_log_patterns($block, 'no_error_log', \@lines, 'startup', 0);

    check_shutdown_log($block);
}

# Stops the running nginx (or one left over, found by its pid file) with
# SIGQUIT, the graceful shutdown that makes workers report leaked sockets.
# With $name set, a shutdown that hangs and an nginx that crashed or exited
# with an error are test failures.
sub stop_nginx {
    my $name = shift;

    my $pid = $RunningPid // read_pid();
    undef $RunningPid;

    return 1 unless defined $pid;

    my $killed = 0;

    if (is_alive($pid)) {
        my @procs = ($pid, child_pids($pid));

        kill 'QUIT', $pid;

        my $deadline = time + $QuitTimeout;
        while (is_alive($pid) && time < $deadline) {
            sleep 0.01;
        }

        # The master exits after its workers, but be sure of it.
        $deadline = time + 1;
        while (grep({ is_alive($_) } @procs) && time < $deadline) {
            sleep 0.01;
        }

        my @left = grep { is_alive($_) } @procs;

        if (@left) {
            if (defined $name) {
                Test::More::fail("$name - nginx exited within "
                                 . "${QuitTimeout}s of SIGQUIT");
                Test::More::diag("still running: " . join(', ', map {
                    my $cmd = slurp("/proc/$_/cmdline");
                    $cmd =~ tr/\0/ /;
                    "$_ ($cmd)";
                } @left) . "; killing them" . log_tail("error.log"));
            }

            kill 'KILL', @left;
            $killed = 1;

            $deadline = time + 2;
            while (grep({ is_alive($_) } @left) && time < $deadline) {
                sleep 0.01;
            }

            unlink $PidFile;
        }
    }

    # The exit status is known only for a daemon we adopted (see
    # become_subreaper); nginx exits with 0 after a graceful stop.
    my $status = waitpid($pid, POSIX::WNOHANG()) == $pid ? $? : undef;

    if (defined $name && !$killed && defined $status && $status != 0) {
        Test::More::fail("$name - nginx exited normally");
        Test::More::diag("nginx (pid $pid) exited with "
                         . describe_status($status) . log_tail("error.log"));
        return 0;
    }

    return !$killed;
}

# The nginx daemon is orphaned by the process that starts it.  As a child
# subreaper (Linux) this process adopts it, so that it can learn the
# daemon's exit status (a crash in single-process mode is otherwise seen
# nowhere) and reap it instead of leaving zombies to init.
sub become_subreaper {
    return 0 unless $^O eq 'linux';

    # h2ph's syscall.ph defines SYS_prctl in the package requiring it.
    eval { require 'syscall.ph' };
    my $sys = __PACKAGE__->can('SYS_prctl') || main->can('SYS_prctl');
    return 0 unless $sys;
    my $nr = $sys->();

    my $PR_SET_CHILD_SUBREAPER = 36;

    return syscall($nr, $PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

sub read_pid {
    my $s = slurp($PidFile);
    return $s =~ /^\s*(\d+)\s*$/ ? $1 : undef;
}

sub is_alive {
    my $pid = shift;

    return 0 unless kill 0, $pid;

    # nginx daemons are not our children: once exited they may linger as
    # zombies under an init that does not reap them.
    my $stat = slurp("/proc/$pid/stat");
    return 0 if $stat =~ /^\d+ \(.*\) Z/s;

    return 1;
}

sub child_pids {
    my $ppid = shift;
    my @pids;

    for my $f (glob "/proc/[0-9]*/stat") {
        my $stat = slurp($f);
        if ($stat =~ /^(\d+) \(.*\) \S+ (\d+)/s && $2 == $ppid) {
            push @pids, $1;
        }
    }

    return @pids;
}

# True when something listens on $ServerAddr:$ServerPort; read from
# /proc/net/tcp rather than by connecting, which nginx would log.
sub port_listening {
    my $data = slurp('/proc/net/tcp');

    if ($data eq '') {
        my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                         PeerPort => $ServerPort,
                                         Proto => 'tcp', Timeout => 1);
        return defined $sock;
    }

    my $addr = sprintf "%08X:%04X",
                       unpack('V', pack('C4', split /\./, $ServerAddr)),
                       $ServerPort;
    my $any = sprintf "00000000:%04X", $ServerPort;

    return $data =~ /^\s*\d+:\s+(?:\Q$addr\E|\Q$any\E)\s+\S+\s+0A\s/m;
}

# Requests and responses.

sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;

    my $reqs = eval { build_requests($block) };
    if (!$reqs) {
        Test::More::fail("$name - request built");
        Test::More::diag($@);
        return;
    }

    my $many = @$reqs > 1;
    my $timeout = parse_time(scalar $block->timeout) // $Timeout;

    for my $idx (0 .. $#$reqs) {
        my $req = $reqs->[$idx];
        my $label = $name;
        if ($RepeatEach > 1 || $many) {
            $label .= " (" . ($RepeatEach > 1 ? "rep $rep, " : '')
                      . "req $idx)";
        }

        if ($Verbose) {
            Test::More::diag("$label - sending:\n$req->{raw}");
        }

        my $res = http_request($req->{raw}, $timeout,
                               $req->{method} eq 'HEAD');

        check_response($block, $res, $idx, $label);
    }
}

# The requests of a block as [{raw => bytes, method => ...}].
sub build_requests {
    my $block = shift;
    my $name = $block->name;
    my @reqs;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        $raw = join '', @$raw if ref $raw eq 'ARRAY';
        my ($meth) = $raw =~ /^\s*(\S+)/;
        return [{ raw => $raw, method => $meth // '' }];
    }

    my $request = $block->request;
    return [] unless defined $request;

    my @list = ref $request eq 'ARRAY' ? @$request : ($request);
    my $more = $block->more_headers;

    for my $i (0 .. $#list) {
        my $r = $list[$i];
        $r = join '', @$r if ref $r eq 'ARRAY';   # a request in packets

        my $h = ref $more eq 'ARRAY' ? $more->[$i] : $more;
        push @reqs, build_request($name, $r, $h // '');
    }

    return \@reqs;
}

# "GET /uri [HTTP/1.x]\n<body>" plus --- more_headers, as
# Test::Nginx::Socket builds it.
sub build_request {
    my ($name, $text, $more) = @_;

    # Leading blank lines and "# comment" lines are not part of it.
    1 while $text =~ s/^\s*\#[^\n]*\n|^\s+//s;

    my ($first, $body) = split /\n/, $text, 2;
    $first //= '';
    $body //= '';
    $first =~ s/\r$//;

    my ($meth, $uri, $ver) = split ' ', $first;
    if (!defined $meth) {
        die "$name - empty --- request\n";
    }
    $uri //= '/';
    $ver //= 'HTTP/1.1';

    my ($headers, $chunked) = ('', 0);
    for my $line (split /\n+/, $more) {
        $line =~ s/\r$//;
        next if $line =~ /^\s*(?:\#|$)/;

        my ($k, $v) = split /:\s*/, $line, 2;
        if (!defined $v) {
            $headers .= "$line\r\n";
            next;
        }

        $chunked = 1 if lc $k eq 'transfer-encoding' && $v =~ /chunked/i;
        $headers .= "$k: $v\r\n";
    }

    my $pre = '';
    $pre .= "Host: localhost\r\n" if $headers !~ /^Host:/mi;
    $pre .= "Connection: close\r\n" if $headers !~ /^Connection:/mi;

    if (!$chunked && $body ne '' && $headers !~ /^Content-Length:/mi) {
        $body =~ s/^\s+|\s+$//gs;
        $headers .= "Content-Length: " . length($body) . "\r\n";
    }

    return {
        raw    => "$meth $uri $ver\r\n$pre$headers\r\n$body",
        method => $meth,
    };
}

# Sends one request and reads the whole response, within $timeout seconds.
# Returns a response hash, or {error => ...} (with {timed_out} on timeout).
sub http_request {
    my ($raw, $timeout, $is_head) = @_;

    local $SIG{PIPE} = 'IGNORE';

    my $deadline = time + $timeout;

    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp',
                                     Timeout => $timeout);
    if (!$sock) {
        return { error => "cannot connect to $ServerAddr:$ServerPort: "
                          . ($@ || $!),
                 connect_failed => 1 };
    }

    $sock->blocking(0);
    my $sel = IO::Select->new($sock);

    my $off = 0;
    while ($off < length $raw) {
        my $left = $deadline - time;
        if ($left <= 0 || !$sel->can_write($left)) {
            return { error => "timed out after ${timeout}s sending the "
                              . "request", timed_out => 1 };
        }

        my $n = syswrite($sock, $raw, length($raw) - $off, $off);
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            # nginx may have answered and closed early (413, 400...).
            last;
        }
        $off += $n;
    }

    my $buf = '';
    for (;;) {
        my $res = parse_response($buf, $is_head, 0);
        return $res if $res;

        my $left = $deadline - time;
        if ($left <= 0) {
            return { error => "timed out after ${timeout}s reading the "
                              . "response", timed_out => 1,
                     partial => $buf };
        }

        next unless $sel->can_read($left);

        my $n = sysread($sock, my $chunk, 65536);
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            if ($buf eq '') {
                return { error => "reading the response failed: $!" };
            }
            $n = 0;
        }

        if ($n == 0) {
            return parse_response($buf, $is_head, 1)
                   || { error => "connection closed before a complete "
                                 . "response", partial => $buf };
        }

        $buf .= $chunk;
    }
}

# Parses $buf as a response.  Returns undef while more data is needed
# (unless $eof), the response when complete, or {error} when malformed.
sub parse_response {
    my ($buf, $is_head, $eof) = @_;

    for (;;) {
        my $end = index $buf, "\r\n\r\n";
        my $sep = 4;
        if ($end < 0) {
            $end = index $buf, "\n\n";
            $sep = 2;
        }

        if ($end < 0) {
            return undef unless $eof;
            return { error => $buf eq ''
                              ? "empty response (connection closed)"
                              : "incomplete response header",
                     partial => $buf };
        }

        my $head = substr $buf, 0, $end;
        my $rest = substr $buf, $end + $sep;

        my ($status_line, @lines) = split /\r?\n/, $head;

        my ($proto, $code) = $status_line =~ m{^(HTTP/\d\.\d)\s+(\d{3})\b};
        if (!defined $code) {
            return { error => "bad status line", partial => $buf };
        }

        # Skip interim responses ("100 Continue").
        if ($code =~ /^1/ && $code != 101) {
            $buf = $rest;
            next;
        }

        my @headers;
        for my $line (@lines) {
            if ($line =~ /^[ \t]/ && @headers) {
                $line =~ s/^\s+//;
                $headers[-1][1] .= " $line";
            } elsif ($line =~ /^([^:]+?)\s*:\s*(.*?)\s*$/) {
                push @headers, [$1, $2];
            }
        }

        my $res = {
            code        => $code,
            proto       => $proto,
            status_line => $status_line,
            raw_headers => "$head\r\n\r\n",
            headers     => \@headers,
            body        => '',
        };

        my $te = header_value($res, 'Transfer-Encoding');
        my $len = header_value($res, 'Content-Length');

        if ($is_head || $code == 204 || $code == 304) {
            return $res;
        }

        if (defined $te && $te =~ /chunked/i) {
            my ($body, $done) = dechunk($rest);
            if (!$done) {
                return undef unless $eof;
                return { %$res, error => "incomplete chunked body",
                         partial => $buf, body => $body // '' };
            }
            $res->{body} = $body;
            return $res;
        }

        if (defined $len && $len =~ /^\d+$/) {
            if (length $rest < $len) {
                return undef unless $eof;
                return { %$res, error => "body shorter than its "
                                         . "Content-Length ($len)",
                         partial => $buf, body => $rest };
            }
            $res->{body} = substr $rest, 0, $len;
            return $res;
        }

        # No framing: the body ends with the connection.
        return undef unless $eof;
        $res->{body} = $rest;
        return $res;
    }
}

# Decodes a chunked body; returns (body, complete).
sub dechunk {
    my $data = shift;
    my $body = '';
    my $pos = 0;

    for (;;) {
        my $eol = index $data, "\n", $pos;
        return ($body, 0) if $eol < 0;

        my $line = substr $data, $pos, $eol - $pos;
        my ($size) = $line =~ /^\s*([0-9a-fA-F]+)/;
        return ($body, 0) unless defined $size;
        $size = hex $size;
        $pos = $eol + 1;

        if ($size == 0) {
            # Trailer fields end with an empty line.
            for (;;) {
                $eol = index $data, "\n", $pos;
                return ($body, 0) if $eol < 0;
                $line = substr $data, $pos, $eol - $pos;
                $pos = $eol + 1;
                return ($body, 1) if $line =~ /^\r?$/;
            }
        }

        return ($body, 0) if length($data) < $pos + $size + 2;
        $body .= substr $data, $pos, $size;
        $pos += $size;
        $pos += substr($data, $pos, 2) eq "\r\n" ? 2 : 1;
    }
}

# All values of a header (case-insensitive), joined with ", " as
# HTTP::Headers does; undef when absent.
sub header_value {
    my ($res, $name) = @_;

    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
            @{ $res->{headers} || [] };

    return @v ? join(', ', @v) : undef;
}

# The expectation of a section for request $idx: the element of an array,
# or the one value for every request.  (Block accessors return an empty
# list for absent sections, so they are only ever called in scalar context.)
sub indexed {
    my ($block, $section, $idx) = @_;
    my $value = $block->$section;

    return $value->[$idx] if ref $value eq 'ARRAY';
    return $value;
}

sub check_response {
    my ($block, $res, $idx, $label) = @_;

    my @checks = response_checks($block, $idx, $label);

    if (defined $res->{error}) {
        if ($res->{timed_out} && defined $block->abort) {
            skip_checks(\@checks, "request aborted on timeout as expected");
            return;
        }

        if (!@checks) {
            @checks = ([ "$label - response received" ]);
        }

        my $first = shift @checks;
        Test::More::fail($first->[0]);
        Test::More::diag("request failed: $res->{error}"
                         . (defined $res->{partial} && $res->{partial} ne ''
                            ? "\nreceived so far:\n"
                              . indent(truncate_str($res->{partial}))
                            : '')
                         . log_tail("error.log"));
        skip_checks(\@checks, "request failed");
        return;
    }

    for my $check (@checks) {
        # A bad expectation (say, an invalid regex) fails its test only.
        if (!eval { $check->[1]->($res); 1 }) {
            Test::More::fail($check->[0]);
            Test::More::diag("the check died: $@");
        }
    }
}

sub skip_checks {
    my ($checks, $why) = @_;

    SKIP: {
        Test::More::skip($why, scalar @$checks) if @$checks;
    }
}

# The checks of one response, as [test name, sub {...}] pairs, so that a
# failed request can skip them all.
sub response_checks {
    my ($block, $idx, $label) = @_;
    my @checks;

    return () if defined $block->ignore_response;

    my $code_like = indexed($block, 'error_code_like', $idx);
    my $code = indexed($block, 'error_code', $idx);

    push @checks, [ "$label - status code ok", sub {
        my $res = shift;
        my $ok;
        if (defined $code_like) {
            $ok = Test::More::like($res->{code}, qr/$code_like/sm,
                                   "$label - status code ok");
        } else {
            my $want = defined $code ? $code : 200;
            $want =~ s/^\s+|\s+$//g;
            $ok = Test::More::is($res->{code}, $want,
                                 "$label - status code ok");
        }
        if (!$ok) {
            Test::More::diag("status line: $res->{status_line}\nbody:\n"
                             . indent(truncate_str($res->{body})));
        }
    } ];

    my $hdrs = indexed($block, 'response_headers', $idx);
    for my $h (parse_header_lines($hdrs)) {
        my ($key, $val) = @$h;

        if (!defined $val) {
            push @checks, [ "$label - header $key absent", sub {
                my $res = shift;
                my $got = header_value($res, $key);
                Test::More::ok(!defined $got, "$label - header $key absent")
                    or Test::More::diag("got $key: $got");
            } ];
            next;
        }

        $val =~ s/\$ServerPort\b/$ServerPort/g;

        push @checks, [ "$label - header $key ok", sub {
            my $res = shift;
            Test::More::is(header_value($res, $key), $val,
                           "$label - header $key ok");
        } ];
    }

    my $hlike = indexed($block, 'response_headers_like', $idx);
    for my $h (parse_header_lines($hlike)) {
        my ($key, $val) = @$h;
        next unless defined $val;

        push @checks, [ "$label - header $key like ok", sub {
            my $res = shift;
            Test::More::like(header_value($res, $key) // '', qr/^$val$/,
                             "$label - header $key like ok");
        } ];
    }

    return @checks if defined $block->ignore_response_body;

    if (defined $block->response_body) {
        my $want = indexed($block, 'response_body', $idx);
        $want =~ s/\$ServerPort\b/$ServerPort/g if defined $want && !ref $want;

        push @checks, [ "$label - response_body - response is expected", sub {
            my $res = shift;
            is_str(filter_body($block, $res->{body}), $want,
                   "$label - response_body - response is expected");
        } ];
    }

    for my $type (qw(like unlike)) {
        my $section = "response_body_$type";
        my $pat = indexed($block, $section, $idx);
        next unless defined $pat;
        $pat =~ s/\$ServerPort\b/$ServerPort/g unless ref $pat;

        my $test = "$label - response_body_$type - response is expected";
        push @checks, [ $test, sub {
            my $res = shift;
            my $body = filter_body($block, $res->{body});
            if ($type eq 'like') {
                Test::More::like($body, qr/$pat/s, $test);
            } else {
                Test::More::unlike($body, qr/$pat/s, $test);
            }
        } ];
    }

    return @checks;
}

# response_body_filters, as Test::Nginx::Socket: code references (from an
# "eval" section) or the names of builtin filters (uc, lc), applied in
# order to the body before it is compared with response_body.
sub filter_body {
    my ($block, $body) = @_;

    my $filters = $block->response_body_filters;
    return $body unless defined $filters;

    my @list = ref $filters eq 'ARRAY' ? @$filters
             : ref $filters eq 'CODE' ? ($filters)
             : split /\s+/, $filters;

    for my $f (@list) {
        next unless defined $f && $f ne '';

        if (ref $f eq 'CODE') {
            $body = $f->($body);
        } elsif ($f eq 'uc') {
            $body = uc $body;
        } elsif ($f eq 'lc') {
            $body = lc $body;
        } else {
            die "unknown response_body_filters entry \"$f\"\n";
        }
    }

    return $body;
}

# "Name: value" lines to [name, value]; "!Name" gives [name, undef].
sub parse_header_lines {
    my $text = shift;
    return () unless defined $text;

    my @h;
    for my $line (split /\n/, $text) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';

        if ($line =~ s/^!\s*//) {
            push @h, [$line, undef];
        } else {
            my ($k, $v) = split /\s*:\s*/, $line, 2;
            push @h, [$k, $v // ''];
        }
    }

    return @h;
}

# Error log checks.

# Reads the lines of $file from byte offset $pos; returns (lines, new pos).
sub read_log_lines {
    my ($file, $pos) = @_;

    open my $in, '<', $file or return ([], $pos);
    seek $in, $pos, 0;
    my @lines = <$in>;
    my $end = tell $in;
    close $in;

    return (\@lines, $end);
}

# A pattern section as a list: text is one substring per line, or an array
# of strings and qr//s, or one qr//.
sub pattern_list {
    my $pats = shift;

    return () unless defined $pats;
    return ($pats) if ref $pats eq 'Regexp';
    return grep { defined && $_ ne '' } @$pats if ref $pats eq 'ARRAY';

    return grep { /\S/ } split /\n+/, $pats;
}

sub match_line {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub check_log_patterns {
    my ($block, $section, $lines, $when, $want) = @_;
    my $name = $block->name;

    for my $pat (pattern_list(scalar $block->$section)) {
        my ($hit) = grep { match_line($_, $pat) } @$lines;
        my $p = fmt_str($pat);

        if ($want) {
            my $t = "$name - pattern \"$p\" matches a line in error.log "
                    . "($when)";
            Test::More::ok(defined $hit, $t)
                or Test::More::diag(log_tail_of($lines));

        } else {
            my $t = "$name - pattern \"$p\" does not match a line in "
                    . "error.log ($when)";
            Test::More::ok(!defined $hit, $t)
                or Test::More::diag("matching line: " . fmt_str($hit));
        }
    }
}

# After nginx has exited: the whole error log (and stderr of the start)
# must hold no alert, emerg, leaked socket or sanitizer report.
sub check_shutdown_log {
    my $block = shift;
    my $name = $block->name;

    my @lines = (@{ (read_log_lines($ErrLogFile, 0))[0] },
                 split(/^/m, slurp($StderrFile)));

    check_log_patterns($block, 'shutdown_error_log', \@lines,
                       'after shutdown', 1);
    check_log_patterns($block, 'no_shutdown_error_log', \@lines,
                       'after shutdown', 0);

    # A block that expects an alert (or emerg) in its log may have it.
    my %allowed;
    for my $s (qw(error_log shutdown_error_log)) {
        for my $pat (pattern_list(scalar $block->$s)) {
            next if ref $pat;
            $allowed{alert} = 1 if index($pat, '[alert') >= 0;
            $allowed{emerg} = 1 if index($pat, '[emerg') >= 0;
        }
    }
    $allowed{emerg} = 1 if defined $block->must_die;

    my @bad;
    for my $line (@lines) {
        for my $p (@FatalLogPatterns) {
            next if $allowed{ $p->[0] };
            if ($line =~ $p->[1]) {
                push @bad, $line;
                last;
            }
        }
    }

    if (!@bad) {
        Test::More::pass("$name - error log clean after shutdown");
        return;
    }

    my $max = 10;
    for my $line (@bad[0 .. ($#bad < $max - 1 ? $#bad : $max - 1)]) {
        Test::More::fail("$name - error log after shutdown: "
                         . fmt_str($line));
    }

    if (@bad > $max) {
        Test::More::diag(scalar(@bad) - $max . " more such lines in "
                         . $ErrLogFile);
    }
}

# Helpers.

sub parse_time {
    my $tm = shift;

    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    return undef if $tm eq '';

    if ($tm =~ s/ms$//) {
        return $tm / 1000;
    }
    $tm =~ s/s$//;

    return $tm;
}

sub slurp {
    my $file = shift;

    open my $in, '<', $file or return '';
    local $/;
    my $data = <$in>;
    close $in;

    return $data // '';
}

sub fmt_str {
    my $s = shift;
    $s = "$s";
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub indent {
    my $s = shift;
    return '' if !defined $s || $s eq '';
    $s =~ s/^/    /mg;
    $s .= "\n" unless $s =~ /\n\z/;
    return $s;
}

sub truncate_str {
    my $s = shift // '';
    my $max = 2000;
    return length $s > $max
           ? substr($s, 0, $max) . "\n... (" . (length($s) - $max)
             . " more bytes)"
           : $s;
}

sub log_tail {
    my $what = shift;
    my ($lines) = read_log_lines($ErrLogFile, 0);
    return "\n$what: empty or missing ($ErrLogFile)" unless @$lines;
    return "\n$what:" . log_tail_of($lines);
}

sub log_tail_of {
    my $lines = shift;
    my $n = 20;
    my @tail = @$lines > $n ? @$lines[-$n .. -1] : @$lines;
    return "\nlast " . scalar(@tail) . " lines of the error log:\n"
           . indent(join '', @tail);
}

sub describe_status {
    my $st = shift;
    return "a timeout" if $st == -1;
    if ($st & 127) {
        return "signal " . ($st & 127)
               . ($st & 128 ? " (core dumped)" : '');
    }
    return "status " . ($st >> 8);
}

1;
__END__

=head1 NAME

Test::Nginx::Lite - a small Test::Nginx::Socket work-alike

=head1 SYNOPSIS

    use lib 't/lib';
    use Test::Nginx::Lite 'no_plan';

    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello

=head1 FUNCTIONS

C<run_tests>, C<repeat_each>, C<workers>, C<worker_connections>,
C<master_on>, C<master_off>, C<master_process_enabled>, C<log_level>,
C<timeout>, C<no_shuffle>, C<no_long_string>, C<no_root_location>,
C<config_preamble>, C<add_block_preprocessor>, C<add_cleanup_handler>,
C<env_to_nginx>, C<server_port>, C<server_addr>, C<server_root>,
C<html_dir>, C<bail_out>, C<is_str>, C<$ServerPort>, C<$ServerAddr>,
C<$ServerRoot> (also C<$ServRoot>), and Test::Base's exports (C<plan>,
C<blocks>, C<is>, C<like>, ...).

=head1 SECTIONS

Configuration: C<main_config>, C<http_config>, C<config>,
C<post_main_config>, C<user_files>, C<log_level>.  C<$TEST_NGINX_*> is
replaced by the environment variable in all of them.

Requests: C<request> (or C<request eval> giving an array of requests),
C<raw_request>, C<more_headers>, C<timeout>, C<abort>, C<init>.

Checks: C<error_code>, C<error_code_like>, C<response_headers>,
C<response_headers_like>, C<response_body>, C<response_body_like>,
C<response_body_unlike>, C<ignore_response>, C<ignore_response_body>,
C<error_log>, C<no_error_log>, C<wait>, C<must_die>,
C<shutdown_error_log>, C<no_shutdown_error_log>.

Every block ends with a graceful stop (SIGQUIT) and the test
"error log clean after shutdown", which fails on C<[alert]>, C<[emerg]>,
C<open socket #N left>, sanitizer reports and valgrind output.

=head1 ENVIRONMENT

C<TEST_NGINX_BINARY>, C<TEST_NGINX_SERVROOT>, C<TEST_NGINX_SERVER_PORT>
(or C<TEST_NGINX_PORT>), C<TEST_NGINX_LOG_LEVEL>, C<TEST_NGINX_TIMEOUT>,
C<TEST_NGINX_MASTER_PROCESS>, C<TEST_NGINX_NO_SHUFFLE>,
C<TEST_NGINX_VERBOSE>, C<TEST_NGINX_QUIT_TIMEOUT> (seconds to wait for
a graceful exit, default 10).

=cut
