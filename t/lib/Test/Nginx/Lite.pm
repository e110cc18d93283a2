package Test::Nginx::Lite;

# A small, self-contained runner for test files written in the
# Test::Nginx::Socket format (`=== TEST n: name` blocks with `--- section`s),
# for machines where the real Test::Nginx cannot be installed.
#
# Parsing of blocks, sections and filters (`--- x eval`, `--- x: value`,
# `--- ONLY`, `--- SKIP`) is Test::Base's own, so a .t file means the same
# thing under both runners.  The nginx part follows Test::Nginx::Socket
# (openresty/test-nginx), so that a block that passes here passes there:
#
# - the life of nginx: a block with a "--- config" stops the nginx of the
#   block before (SIGQUIT), checks that block's shutdown log, empties the
#   server root and starts its own nginx, which runs until the next block
#   (or the end of the file); a block without "--- config" is sent to the
#   running nginx (none yet: the file is refused); in HUP mode
#   (TEST_NGINX_USE_HUP, master on) the next block is a reload instead;
# - the server root: conf, html, logs, cache and the *_temp and *_cache
#   directories are removed, then the directory itself, which must be
#   empty by then ("Can't remove ... (not empty?)" otherwise);
# - the error log: "--- error_log" and "--- no_error_log" are checked
#   after every request of the block, each time against the lines written
#   since the previous check (the first: since nginx started), or against
#   the block's whole log after check_accum_error_log(); "--- wait" is
#   slept before each check;
# - what it refuses with a bail out: a request line that is empty or not
#   "METHOD [URI [VERSION]]", no request, several requests with an
#   expected result (error_code, response_headers, response_body, ...)
#   that is not an array, a "--- more_headers" array shorter than the
#   requests, an undefined $TEST_NGINX_* variable, an "--- init" that
#   dies, an nginx that cannot be started, a first block without config.
#
# It is stricter in one respect: when it stops nginx it fails the block
# whose nginx it was if nginx crashed, exited with an error or did not
# exit within TEST_NGINX_QUIT_TIMEOUT seconds of SIGQUIT, or if its whole
# error log holds an alert, "open socket ... left" or a sanitizer report
# (test "error log clean after shutdown").
#
# See the POD after __END__ for the supported API and sections.

use Test::Base -base;

our $VERSION = '0.02';

use File::Find ();
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
    add_test_cleanup_handler check_accum_error_log use_hup
    env_to_nginx timeout worker_connections config_preamble
    server_port server_addr server_root html_dir bail_out is_str
    $ServerPort $ServerAddr $ServerRoot $ServRoot
);

# Settings; the environment variables are those of Test::Nginx::Util.

our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
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
our $PidFile    = "$LogDir/nginx.pid";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $CacheDir   = "$ServRoot/cache";

# What nginx prints on its stderr: kept outside the server root, which
# must be empty once the runner's own directories are gone.
our $StderrFile = "$ServRoot.stderr";

our @TempDirs = qw(client_body_temp proxy_temp fastcgi_temp uwsgi_temp
                   scgi_temp);

our $NginxBinary;
our $Workers              = 1;
our $WorkerConnections    = 64;
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
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest   = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1;

# As Test::Nginx's TEST_NGINX_USE_HUP: with a master process, the next
# block's configuration is loaded by SIGHUP into the running nginx (after
# SIGUSR1 reopened the logs, which the runner removed), so shared memory
# zones live on from block to block.
our $UseHup               = $ENV{TEST_NGINX_USE_HUP};

our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

# State of the run, as Test::Nginx::Util's.
our $PrevConfig;          # the configuration of the last nginx started
our $PrevBlock;           # the block run last (its shutdown checks are due
                          # when its nginx stops)
our $NginxBlock;          # the block that started the running nginx
our $ErrLogFilePos = 0;   # where the next error log window begins
our $FirstTime = 1;
our $MainPid = $$;
our %RandPorts;           # $TEST_NGINX_RAND_PORT_N of the block

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

sub no_shuffle ()            { $NoShuffle = 1 }
sub no_long_string ()        { $NoLongString = 1 }
sub no_root_location ()      { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub use_hup ()               { $UseHup = 1 }

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
sub add_block_preprocessor (&)  { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)      { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

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
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }

        $block->set_value('name', "$0 " . $block->name);

        run_block($block);

        for my $hdl (@TestCleanupHandlers) {
            $hdl->($block);
        }

        $PrevBlock = $block;
    }

    cleanup();
}

# As Test::Nginx: run at the end of run_tests() and again at exit (so
# twice), before the last nginx is stopped.
sub cleanup () {
    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }
}

END {
    if ($$ == $MainPid && defined $NginxBinary) {
        local $?;

        cleanup();
        stop_block_nginx();
        check_prev_block_shutdown_log();
    }
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

    return if defined $block->SKIP;

    local $LogLevel = $block->log_level // $LogLevel;
    $LogLevel =~ s/^\s+|\s+$//g;

    local %RandPorts = ();

    my $first_time = $FirstTime;
    undef $FirstTime;

    my $must_die = defined $block->must_die;
    my $config = $block->config;

    if (!defined $config) {
        # The block's requests go to the nginx that runs.
        if (!defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could "
                     . "not get previous one. Use "
                     . "TEST_NGINX_NO_NGINX_MANAGER ?");
        }

    } else {
        $config = expand_env($config, $name);

        my $changed = !defined $PrevConfig || $config ne $PrevConfig;
        $PrevConfig = $config;

        if ($changed || $ForceRestartOnTest) {
            my $hup = $UseHup && !$must_die;

            if ($hup && !$first_time && nginx_running()) {
                return unless reload_block_nginx($block, $config);

            } else {
                stop_block_nginx();
                check_prev_block_shutdown_log();

                setup_server_root($hup, $first_time);
                write_user_files($block);
                write_config_file($block, $config);

                if ($must_die) {
                    run_must_die_block($block);
                    return;
                }

                return unless start_nginx($block);
            }
        }
    }

    if (defined $block->init) {
        eval $block->init;
        if ($@) {
            bail_out("$name - init failed: $@");
        }
    }

    $ErrLogFilePos = 0;

    for my $rep (0 .. $RepeatEach - 1) {
        if ($rep > 0) {
            write_user_files($block);
        }

        run_requests($block, $rep);
    }
}

sub nginx_running {
    my $pid = $RunningPid // read_pid();
    return defined $pid && is_alive($pid);
}

# Stops the nginx of the block before, if one runs, and checks its log
# (the runner's own "error log clean after shutdown").
sub stop_block_nginx {
    my $block = $NginxBlock;
    undef $NginxBlock;

    stop_nginx(defined $block ? $block->name : undef);

    check_shutdown_log($block) if defined $block;
}

# The block before's "--- shutdown_error_log" and
# "--- no_shutdown_error_log", once its nginx has stopped: the lines
# written since its last error log check (in HUP mode, not checked).
sub check_prev_block_shutdown_log {
    my $block = $PrevBlock;

    return unless defined $block;

    return unless defined $block->shutdown_error_log
                  || defined $block->no_shutdown_error_log;

    my $dry_run = $UseHup ? 'the HUP reload mode' : undef;
    my $lines = $dry_run ? [] : error_log_data();

    check_log_patterns($block, 'shutdown_error_log', $lines, undef, 1,
                       $dry_run);
    check_log_patterns($block, 'no_shutdown_error_log', $lines, undef, 0,
                       $dry_run);
}

# HUP mode: the server root's files removed (nginx's pid file kept), the
# new configuration, SIGUSR1 (nginx reopens its logs, so the block's log
# begins here), then SIGHUP; done once a worker of the new generation runs.
sub reload_block_nginx {
    my ($block, $config) = @_;
    my $name = $block->name;

    my $pid = $RunningPid // read_pid();
    my %old = map { $_ => 1 } child_pids($pid);

    # what the block before logged, checked before its log is removed
    check_shutdown_log($NginxBlock, 1) if defined $NginxBlock;

    remove_tree($ConfDir, glob("$ServRoot/*_cache"),
                glob("$ServRoot/*_temp"));
    remove_server_root_files(0);
    setup_server_root_dirs();
    write_user_files($block);
    write_config_file($block, $config);

    kill 'USR1', $pid;
    sleep $TestNginxSleep;
    kill 'HUP', $pid;
    sleep $TestNginxSleep * 3;

    check_prev_block_shutdown_log();

    $NginxBlock = $block;

    my $deadline = time + $StartTimeout;

    while (time < $deadline) {
        my ($lines) = read_log_lines($ErrLogFile, 0);

        if (my ($bad) = grep { /\[emerg\]/ } @$lines) {
            Test::More::fail("$name - nginx reloaded");
            Test::More::diag("the reload failed: $bad");
            return 0;
        }

        return 1 if grep { !$old{$_} } child_pids($pid);

        sleep 0.01;
    }

    Test::More::fail("$name - nginx reloaded");
    Test::More::diag("no new worker after SIGHUP" . log_tail("error.log"));

    return 0;
}

# Server root and configuration.

# As Test::Nginx: the runner's own directories are removed, then the
# server root, which must be empty by then (it is not the place for
# anything else, and TEST_NGINX_SERVROOT must not point at data).  In HUP
# mode every file under it is removed instead (but nginx's pid file and
# sockets, unless this is the file's first block).
sub setup_server_root {
    my ($hup, $first_time) = @_;

    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"),
                    glob("$ServRoot/*_temp"));

        if ($hup) {
            remove_server_root_files($first_time);

        } else {
            remove_tree($CacheDir, $HtmlDir, $LogDir);

            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }

    setup_server_root_dirs();
}

sub remove_server_root_files {
    my $first_time = shift;

    File::Find::find({ bydepth => 1, no_chdir => 1, wanted => sub {
        return if -d $_;
        return if !$first_time
                  && /(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
        unlink $_ or warn "Failed to remove $_\n";
    } }, $ServRoot);
}

sub setup_server_root_dirs {
    for my $dir ($ServRoot, $ConfDir, $LogDir, $HtmlDir,
                 map { "$ServRoot/$_" } @TempDirs)
    {
        next if -d $dir;
        make_path($dir, { error => \my $err });
        if (!-d $dir) {
            bail_out("Failed to do mkdir $dir");
        }
    }

    write_file("$HtmlDir/index.html",
               '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>');
}

sub write_config_file {
    my ($block, $config) = @_;

    write_file($ConfFile, build_config($block, $config));
}

sub build_config {
    my ($block, $config) = @_;
    my $name = $block->name;

    my %sec = (config => $config);
    for my $s (qw(main_config http_config post_main_config)) {
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

    # HUP mode needs a master (Test::Nginx turns it on too).
    my $master = $UseHup && !defined $block->must_die
                 ? 'on' : $MasterProcessEnabled;

    return <<"_EOC_";
daemon on;
master_process $master;
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

    # (as Test::Nginx: on every address, so that a peer listening on the
    # same port elsewhere meets the same conflict under both runners)
    server {
        listen $ServerPort;
        server_name $ServerName;

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
# does (an undefined one is a bail out); $TEST_NGINX_RAND_PORT_N is a free
# port, the same within a block.

sub expand_env {
    my ($text, $name) = @_;

    return $text unless defined $text;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $RandPorts{$var} //= free_port();
        } elsif (!defined $ENV{$var}) {
            bail_out("$name - No environment $var defined.\n");
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
    my $name = $block->name;
    my $files = $block->user_files;

    return unless $files;

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

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: " . ref($files)
                 . ", only scalar or ARRAY are accepted");
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        (my $dir = $path) =~ s{/[^/]*\z}{};
        make_path($dir) unless -d $dir;

        write_file($path, expand_env($body // '', $name));

        if ($date) {
            system('touch', '-t', $date, $path) == 0
                or bail_out("Failed to run shell command: touch $path");
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
# status.  As Test::Nginx, "-e" sends what nginx logs before it has read
# its configuration to the block's error.log; stderr is kept apart.
sub exec_nginx {
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $StderrFile;
        exec($NginxBinary, '-e', $ErrLogFile, '-p', "$ServRoot/",
             '-c', $ConfFile)
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

# As Test::Nginx: an nginx that does not start is tried again for up to
# 30 seconds (a listener of an earlier test may still hold the port),
# then the file is given up.
sub start_nginx {
    my $block = shift;
    my $name = $block->name;

    my ($status, $waited, $i) = (0, 0, 0);

    for (;;) {
        unlink $StderrFile;
        $status = exec_nginx();
        last if $status == 0;

        my $delay = 0.1 * ++$i;
        $delay = 1 if $delay > 1;
        if ($waited >= 30) {
            Test::More::diag(sprintf "%s exited with %s; stderr:\n%s%s",
                             "$NginxBinary -p $ServRoot/ -c $ConfFile",
                             describe_status($status),
                             indent(slurp($StderrFile)),
                             log_tail("error.log"));
            bail_out("$name - Cannot start nginx using command "
                     . "\"$NginxBinary -p $ServRoot/ -c $ConfFile\" "
                     . "(status code $status).");
        }
        sleep $delay;
        $waited += $delay;
    }

    $NginxBlock = $block;

    # The listening sockets exist before the foreground process exits;
    # the pid file is written by the daemon a moment later.
    my $pid;
    my $deadline = time + $StartTimeout;
    until (defined($pid = read_pid()) && port_listening()) {
        if (time > $deadline) {
            Test::More::fail("$name - nginx started");
            Test::More::diag("no pid file or no listener on "
                             . "$ServerAddr:$ServerPort after "
                             . "${StartTimeout}s" . log_tail("error.log"));
            $RunningPid = $pid;
            return 0;
        }
        sleep 0.01;
    }

    $RunningPid = $pid;

    sleep $TestNginxSleep;

    return 1;
}

sub run_must_die_block {
    my $block = shift;
    my $name = $block->name;

    unlink $StderrFile;
    $ErrLogFilePos = 0;
    my $status = exec_nginx();

    if ($status == -1) {
        Test::More::fail("$name - failed to execute the nginx command line");

    } elsif ($status & 128) {
        Test::More::fail("$name - nginx core dumped");

    } elsif ($block->must_die =~ /^\s*(\d+)\s*$/) {
        Test::More::is($1, $status >> 8,
                       "$name - die with the expected exit code");

    } else {
        Test::More::isnt($status, 0, "$name - die as expected");
    }

    check_error_log($block, 0);

    if ($status == 0) {
        Test::More::diag("WARNING: $name - nginx must die but it does not; "
                         . "killing it");
        my $deadline = time + 2;
        sleep 0.01 until defined read_pid() || time > $deadline;
        $RunningPid = read_pid();
        stop_nginx(undef);
    }

    check_shutdown_log($block);
}

# Stops the running nginx (or one left over, found by its pid file) with
# SIGQUIT, the graceful shutdown that makes workers report leaked sockets.
# With $name set, a shutdown that hangs and an nginx that crashed or exited
# with an error are test failures of that block.
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
        }
    }

    unlink $PidFile if -f $PidFile;

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

    return () unless defined $ppid;

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

# The block's requests, each followed by its checks and, as Test::Nginx
# does, by the error log checks against what was logged since the
# previous check ("--- wait" slept before each).
sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;

    my $reqs = build_requests($block);
    my $need_array = @$reqs > 1;
    my $timeout = parse_time(scalar $block->timeout) // $Timeout;
    my $wait = parse_time(scalar $block->wait);

    for my $idx (0 .. $#$reqs) {
        my $req = $reqs->[$idx];

        if ($Verbose) {
            Test::More::diag("$name - sending:\n$req->{raw}");
        }

        my $res = http_request($req->{raw}, $timeout,
                               $req->{method} eq 'HEAD');

        check_response($block, $res, $idx, $need_array, $rep);

        if ($idx < $#$reqs) {
            sleep $wait if $wait;
            check_error_log($block, $rep);
        }
    }

    sleep $wait if $wait;

    check_error_log($block, $rep);
}

# The requests of a block as [{raw => bytes, method => ...}].
sub build_requests {
    my $block = shift;
    my $name = $block->name;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        $raw = join '', @$raw if ref $raw eq 'ARRAY';
        my ($meth) = $raw =~ /^\s*(\S+)/;
        return [{ raw => $raw, method => $meth // '' }];
    }

    my $request = $block->request;
    my $more = $block->more_headers // '';

    if (!ref $request) {
        # a single request: leading blank and "# comment" lines dropped
        if (defined $request) {
            1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//s;
        }

        my $h = $more;
        if (ref $more eq 'ARRAY') {
            $h = $more->[0];
            bail_out("--- more_headers lacks data for the request")
                unless defined $h;
        }

        return [ build_request($name, $request, $h) ];
    }

    if (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of "
                 . "requests");
    }

    bail_out("$name - request empty") unless @$request;

    my @reqs;

    for my $i (0 .. $#$request) {
        my $r = $request->[$i];

        if (ref $r eq 'ARRAY') {
            # a request in packets: sent at once here
            $r = join '', map { ref $_ eq 'HASH' ? $_->{value} : $_ } @$r;

        } elsif (ref $r) {
            bail_out("$name - Invalid syntax. $r should be a string or an "
                     . "array of packets.");
        }

        my $h = $more;
        if (ref $more eq 'ARRAY') {
            $h = $more->[$i];
            bail_out("--- more_headers lacks data for the ${i}th request")
                unless defined $h;
        }

        push @reqs, build_request($name, $r, $h);
    }

    return \@reqs;
}

# "METHOD [URI [VERSION]]\n<body>" plus --- more_headers, as
# Test::Nginx::Socket builds it (and refuses it).
sub build_request {
    my ($name, $text, $more) = @_;

    if (!defined $text || $text eq '') {
        bail_out("$name - Request line should be non-empty");
    }

    my ($first, $body) = split /\n/, $text, 2;
    $body //= '';

    if ($first !~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/) {
        bail_out("$name - Request line is not valid. Should be 'meth [url "
                 . "[version]]' but got \"$first\n\".");
    }

    my ($meth, $uri, $ver) = ($2, $5 // '/', $8 // 'HTTP/1.1');

    my ($headers, $chunked) = ('', 0);
    for my $line (split /\n+/, $more // '') {
        next if $line =~ /^\s*\#/;

        my ($k, $v) = split /:\s*/, $line, 2;
        $v //= '';

        $chunked = 1 if lc $k eq 'transfer-encoding' && $v eq 'chunked';
        $headers .= "$k: $v\r\n";
    }

    my $len = '';
    if (!$chunked && $body ne '' && $headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//gs;
        $len = "Content-Length: " . length($body) . "\r\n";
    }

    my $pre = '';
    $pre .= "Host: $ServerName\r\n" if $headers !~ /(?:^|\n)Host:/i;
    $pre .= "Connection: close\r\n" if $headers !~ /(?:^|\n)Connection/i;

    return {
        raw    => "$meth $uri $ver\r\n$pre$headers$len\r\n$body",
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


# The expectation of a section for request $idx, as Test::Nginx's
# get_indexed_value(): with several requests it must be an array (a bail
# out otherwise); with one, an array gives its first element.
sub indexed {
    my ($block, $section, $idx, $need_array) = @_;
    my $value = $block->$section;

    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';

        bail_out($block->name . " - You asked for many requests, the "
                 . "expected results should be arrays as well.");
    }

    return $value->[0] if ref $value eq 'ARRAY';
    return $value;
}

sub check_response {
    my ($block, $res, $idx, $need_array, $rep) = @_;
    my $name = $block->name;

    return if defined $block->ignore_response;

    my @checks = response_checks($block, $idx, $need_array, $rep);

    if (defined $res->{error}) {
        if ($res->{timed_out} && defined $block->abort) {
            skip_checks(\@checks, "request aborted on timeout as expected");
            return;
        }

        my $first = shift @checks;
        Test::More::fail($first->[0]);
        Test::More::diag("request " . ($idx + 1) . " failed: $res->{error}"
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

# The checks of one response, as [test name, sub {...}] pairs (so that a
# failed request can skip them all), with Test::Nginx's precedence:
# error_code_like over error_code, response_headers over
# response_headers_like, response_body over response_body_like over
# response_body_unlike.
sub response_checks {
    my ($block, $idx, $need_array, $rep) = @_;
    my $name = $block->name;
    my @checks;

    my $status = "$name - status code ok";

    if (defined $block->error_code_like) {
        my $want = indexed($block, 'error_code_like', $idx, $need_array);
        push @checks, [ $status, sub {
            Test::More::like($_[0]->{code}, qr/$want/sm, $status)
                or diag_body($_[0]);
        } ];

    } else {
        my $want = defined $block->error_code
                   ? indexed($block, 'error_code', $idx, $need_array) : 200;
        push @checks, [ $status, sub {
            Test::More::is($_[0]->{code}, $want, $status)
                or diag_body($_[0]);
        } ];
    }

    for my $type (qw(like unlike)) {
        my $section = "raw_response_headers_$type";
        next unless defined $block->$section;

        my $pat = indexed($block, $section, $idx, $need_array);
        my $test = "$name - raw resp headers $type";
        push @checks, [ $test, sub {
            my $raw = $_[0]->{raw_headers};
            $type eq 'like' ? Test::More::like($raw, qr/$pat/s, $test)
                            : Test::More::unlike($raw, qr/$pat/s, $test);
        } ];
    }

    if (defined $block->response_headers) {
        my $hdrs = indexed($block, 'response_headers', $idx, $need_array);

        for my $h (parse_header_lines($hdrs)) {
            my ($key, $val) = @$h;

            if (!defined $val) {
                my $test = "$name - header $key not present in the raw "
                           . "headers";
                push @checks, [ $test, sub {
                    Test::More::unlike($_[0]->{raw_headers},
                                       qr/^\s*\Q$key\E\s*:/ms, $test);
                } ];
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;

            push @checks, [ "$name - header $key ok", sub {
                Test::More::is(header_value($_[0], $key) // '', $val,
                               "$name - header $key ok");
            } ];
        }

    } elsif (defined $block->response_headers_like) {
        my $hdrs = indexed($block, 'response_headers_like', $idx,
                           $need_array);

        for my $h (parse_header_lines($hdrs)) {
            my ($key, $val) = @$h;
            next unless defined $val;

            push @checks, [ "$name - header $key like ok", sub {
                Test::More::like(header_value($_[0], $key) // '',
                                 qr/^$val$/, "$name - header $key like ok");
            } ];
        }
    }

    if (defined $block->response_body) {
        my $want = indexed($block, 'response_body', $idx, $need_array);

        if (defined $want && !ref $want) {
            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want = expand_env($want, $name);
        }

        my $test = "$name - response_body - "
                   . (ref $want ? "like" : "response is expected")
                   . " (repeated req $rep, req $idx)";
        push @checks, [ $test, sub {
            is_str(filter_body($block, $_[0]->{body}, $idx), $want, $test);
        } ];

    } else {
        for my $type (qw(like unlike)) {
            my $section = "response_body_$type";
            next unless defined $block->$section;

            my $pat = indexed($block, $section, $idx, $need_array);
            $pat =~ s/\$ServerPort\b/$ServerPort/g unless ref $pat;

            push @checks, [ "$name - response_body_$type", sub {
                my $body = filter_body($block, $_[0]->{body}, $idx);
                (my $summary = $body) =~ s/^\s+|\s+$//g;
                my $test = "$name - response_body_$type - response is "
                           . "expected ($summary)";
                $type eq 'like'
                    ? Test::More::like($body, qr/$pat/s, $test)
                    : Test::More::unlike($body, qr/$pat/s, $test);
            } ];

            last;
        }
    }

    return @checks;
}

sub diag_body {
    my $res = shift;
    Test::More::diag("status line: $res->{status_line}\nbody:\n"
                     . indent(truncate_str($res->{body})));
}

# response_body_filters, as Test::Nginx::Socket: code references (from an
# "eval" section) or the names of builtin filters, applied in order to the
# body before it is compared; an array of arrays gives each request its
# own list.
sub filter_body {
    my ($block, $body, $idx) = @_;
    my $name = $block->name;

    my $filters = $block->response_body_filters;
    return $body unless defined $filters;

    my @list = ref $filters eq 'ARRAY' ? @$filters
             : ref $filters ? ($filters)
             : split ' ', $filters;

    if (@list && ref $list[0] eq 'ARRAY') {
        if (grep { ref $_ ne 'ARRAY' } @list) {
            bail_out("$name - the --- response_body_filters two-dimensional "
                     . "array only be like [[uc], [lc]] not [[uc], lc]");
        }
        my $mine = $list[$idx];
        bail_out("$name - the ---response_body_filters two-dimensional array"
                 . " unmatch the specified request($idx)")
            unless defined $mine;
        @list = @$mine;
    }

    for my $f (@list) {
        if (ref $f eq 'CODE') {
            $body = $f->($body);

        } elsif (ref $f) {
            bail_out("$name - the --- response_body_filters section only "
                     . "supports subroutine reference values and string "
                     . "values");

        } elsif ($f eq 'uc') {
            $body = uc $body;
        } elsif ($f eq 'lc') {
            $body = lc $body;
        } elsif ($f eq 'ucfirst') {
            $body = ucfirst $body;
        } elsif ($f eq 'lcfirst') {
            $body = lcfirst $body;
        } elsif ($f eq 'length') {
            $body = length $body;
        } else {
            bail_out("$name - unknown filter, \"$f\", specified in the --- "
                     . "response_body_filters section");
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

# The error log's window, as Test::Nginx's error_log_data(): what was
# written since the previous call (the first of a block: since nginx
# started), or the whole log after check_accum_error_log().  Lines of the
# log phase are written after the response: a short sleep first.
sub error_log_data {
    sleep $TestNginxSleep * 3;

    my ($lines, $pos) = read_log_lines($ErrLogFile,
                                       $CheckAccumErrLog ? 0
                                                         : $ErrLogFilePos);
    $ErrLogFilePos = $pos unless $CheckAccumErrLog;

    return $lines;
}

# A pattern section as a list: text is one substring per line, or an array
# of strings and qr//s, or one qr//.
sub pattern_list {
    my $pats = shift;

    return () unless defined $pats;
    return ($pats) if ref $pats eq 'Regexp';
    return grep { defined } @$pats if ref $pats eq 'ARRAY';

    chomp $pats;
    return split /\n+/, $pats;
}

sub match_line {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

# After a request: the window is read (and so moved on) whether or not
# the block has patterns, as Test::Nginx does.
sub check_error_log {
    my ($block, $rep) = @_;

    my $lines = error_log_data();

    check_log_patterns($block, 'error_log', $lines, $rep, 1);
    check_log_patterns($block, 'no_error_log', $lines, $rep, 0);
}

sub check_log_patterns {
    my ($block, $section, $lines, $rep, $want, $dry_run) = @_;
    my $name = $block->name;
    my $when = defined $rep ? " (req $rep)" : '';

    for my $pat (pattern_list(scalar $block->$section)) {
        my @hits = grep { match_line($_, $pat) } @$lines;

        # (Test::Nginx's names: the error_log pattern as it is)
        my $p = $want ? "$pat" : fmt_str($pat);

        if ($dry_run) {
            SKIP: {
                Test::More::skip("$name - $section - tests skipped due to "
                                 . $dry_run, 1);
            }

        } elsif ($want) {
            if (@hits) {
                Test::More::pass("$name - pattern \"$p\" matches a line in "
                                 . "error.log$when");
            } else {
                Test::More::fail("$name - pattern \"$p\" should match a line "
                                 . "in error.log$when");
                Test::More::diag(log_tail_of($lines));
            }

        } elsif (@hits) {
            Test::More::fail("$name - pattern \"$p\" should not match any line"
                             . " in error.log but matches line \""
                             . fmt_str($hits[0]) . "\"$when");
        } else {
            Test::More::pass("$name - pattern \"$p\" does not match a line in "
                             . "error.log$when");
        }
    }
}

# After nginx has exited: the whole error log (and what nginx printed on
# stderr) must hold no alert, emerg, leaked socket or sanitizer report.
# In HUP mode ($reload), before the log is removed for the next block.
sub check_shutdown_log {
    my ($block, $reload) = @_;
    my $name = $block->name;

    my @lines = (@{ (read_log_lines($ErrLogFile, 0))[0] },
                 split(/^/m, slurp($StderrFile)));

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

    my $what = $reload ? 'before the reload' : 'after shutdown';

    if (!@bad) {
        Test::More::pass("$name - error log clean $what");
        return;
    }

    my $max = 10;
    for my $line (@bad[0 .. ($#bad < $max - 1 ? $#bad : $max - 1)]) {
        Test::More::fail("$name - error log $what: " . fmt_str($line));
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
    return "\nlast " . scalar(@tail) . " lines of the window:\n"
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
C<check_accum_error_log>, C<use_hup>, C<config_preamble>,
C<add_block_preprocessor>, C<add_cleanup_handler>,
C<add_test_cleanup_handler>, C<env_to_nginx>, C<server_port>,
C<server_addr>, C<server_root>, C<html_dir>, C<bail_out>, C<is_str>,
C<$ServerPort>, C<$ServerAddr>, C<$ServerRoot> (also C<$ServRoot>), and
Test::Base's exports (C<plan>, C<blocks>, C<is>, C<like>, ...).

=head1 SECTIONS

Configuration: C<main_config>, C<http_config>, C<config>,
C<post_main_config>, C<user_files>, C<log_level>.  C<$TEST_NGINX_*> is
replaced by the environment variable in all of them (and in
C<response_body>).

Requests: C<request> (or C<request eval> giving an array of requests),
C<raw_request>, C<more_headers>, C<timeout>, C<abort>, C<init>.

Checks: C<error_code>, C<error_code_like>, C<raw_response_headers_like>,
C<raw_response_headers_unlike>, C<response_headers>,
C<response_headers_like>, C<response_body>, C<response_body_like>,
C<response_body_unlike>, C<response_body_filters>, C<ignore_response>,
C<error_log>, C<no_error_log>, C<wait>, C<must_die>,
C<shutdown_error_log>, C<no_shutdown_error_log>.

When a block's nginx stops (at the next block with a configuration, or at
the end), the runner also checks "error log clean after shutdown", which
fails on C<[alert]>, C<[emerg]>, C<open socket #N left>, sanitizer reports
and valgrind output, and that nginx exited in time and with status 0.

=head1 ENVIRONMENT

C<TEST_NGINX_BINARY>, C<TEST_NGINX_SERVROOT>, C<TEST_NGINX_SERVER_PORT>
(or C<TEST_NGINX_PORT>), C<TEST_NGINX_LOG_LEVEL>, C<TEST_NGINX_TIMEOUT>,
C<TEST_NGINX_MASTER_PROCESS>, C<TEST_NGINX_NO_SHUFFLE>,
C<TEST_NGINX_USE_HUP>, C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>,
C<TEST_NGINX_SLEEP>, C<TEST_NGINX_FORCE_RESTART_ON_TEST>,
C<TEST_NGINX_VERBOSE>, C<TEST_NGINX_QUIT_TIMEOUT> (seconds to wait for
a graceful exit, default 10).

=cut
