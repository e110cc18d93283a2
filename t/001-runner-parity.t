# The bundled runner (t/lib/Test/Nginx/Lite.pm) against the real
# Test::Nginx::Socket: small test files, with stock nginx only, each run
# under the bundled runner and, when it can be found (K8sMetricsTest's
# real_runner_lib: installed, TEST_NGINX_LIB, ../shared/vendor/...), under
# the real one; both must give the outcome written here: which tests
# fail, or the bail out that refuses the file.  What a block may rely on
# is what the real runner does: these cases are its rules.

use strict;
use warnings;

use lib 't/lib';
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use K8sMetricsTest ();
use Test::More;

my $Port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
my $Dir = tempdir(CLEANUP => 1);
my $Lite = abs_path('t/lib');
my $Real = K8sMetricsTest::real_runner_lib();

# Two requests, each logging its own line.
my $TwoRequests = <<'BLOCKS';
=== TEST 1: two requests, each logs its own line
--- config
--- request eval
["GET /first-missing", "GET /second-missing"]
--- error_code eval
[404, 404]
--- error_log
first-missing
--- no_error_log
second-missing
BLOCKS

# Each case: the file's code before its blocks, its blocks, and what
# both runners must give: the names of the tests that fail (regexes, in
# order), or the bail out (a regex).
my @Cases = (
    {
        name => 'error_log is checked after each request, against what '
                . 'was logged since the previous check',
        blocks => $TwoRequests,
        fail => [qr/pattern "first-missing" should match a line in error\.log/,
                 qr/pattern "second-missing" should not match any line/],
    },
    {
        name => 'check_accum_error_log(): each check sees the whole log',
        code => "check_accum_error_log();\n",
        blocks => $TwoRequests,
        fail => [qr/pattern "second-missing" should not match any line/],
    },
    {
        name => 'a line written after the first request: shutdown_error_log',
        code => "check_accum_error_log();\n",
        blocks => <<'BLOCKS',
=== TEST 1: found once nginx has stopped
--- config
--- request eval
["GET /", "GET /later-missing"]
--- error_code eval
[200, 404]
--- shutdown_error_log
later-missing
BLOCKS
        fail => [],
    },
    {
        name => 'a block without config is sent to the nginx before',
        blocks => <<'BLOCKS',
=== TEST 1: the nginx
--- config
    location = /t { return 200 "first\n"; }
--- request
GET /t
--- response_body
first

=== TEST 2: no config: the same nginx, whatever its http_config
--- http_config
    this_is_not_a_directive;
--- request
GET /t
--- response_body
first
BLOCKS
        fail => [],
    },
    {
        name => 'the first block without config is refused',
        blocks => <<'BLOCKS',
=== TEST 1: no config
--- request
GET /
BLOCKS
        bail => qr/No '--- config' section specified/,
    },
    {
        name => 'a must_die block without config is not started at all',
        blocks => <<'BLOCKS',
=== TEST 1: the nginx
--- config
--- request
GET /

=== TEST 2: must_die, but no config: no nginx -t, no request
--- http_config
    this_is_not_a_directive;
--- must_die
BLOCKS
        bail => qr/Request line should be non-empty/,
    },
    {
        name => 'several requests: every expected result is an array',
        blocks => <<'BLOCKS',
=== TEST 1: a scalar response_headers with two requests
--- config
--- request eval
["GET /", "GET /"]
--- error_code eval
[200, 200]
--- response_headers
Content-Type: text/html
BLOCKS
        bail => qr/You asked for many requests, the expected results/,
    },
    {
        name => 'one request: an array gives its first element',
        blocks => <<'BLOCKS',
=== TEST 1: error_code as a one-element array
--- config
--- request
GET /missing
--- error_code eval
[404]
BLOCKS
        fail => [],
    },
    {
        name => 'a request line that is not METHOD [URI [VERSION]]',
        blocks => <<'BLOCKS',
=== TEST 1: four words
--- config
--- request
GET / HTTP/1.1 more
BLOCKS
        bail => qr/Request line is not valid/,
    },
    {
        name => 'more_headers as an array shorter than the requests',
        blocks => <<'BLOCKS',
=== TEST 1: two requests, one set of headers
--- config
--- request eval
["GET /", "GET /"]
--- more_headers eval
["X-A: 1"]
--- error_code eval
[200, 200]
BLOCKS
        bail => qr/more_headers lacks data for the 1th request/,
    },
    {
        name => 'the server root holds only what the runner put there',
        blocks => <<'BLOCKS',
=== TEST 1: a file left in the server root
--- config
--- init
open my $fh, '>', server_root() . '/left-here' or die $!;
--- request
GET /

=== TEST 2: the next nginx cannot start from it
--- config
--- request
GET /
BLOCKS
        bail => qr/Can't remove .* \(not empty\?\)/,
    },
    {
        name => 'an undefined $TEST_NGINX_ variable in the configuration',
        blocks => <<'BLOCKS',
=== TEST 1: undefined
--- config
    location = /t { return 200 "$TEST_NGINX_NO_SUCH_VARIABLE"; }
--- request
GET /t
BLOCKS
        bail => qr/No environment TEST_NGINX_NO_SUCH_VARIABLE defined/,
    },
    {
        name => 'must_die: nginx -t fails, error_log is what it logged',
        blocks => <<'BLOCKS',
=== TEST 1: an unknown directive
--- config
    this_is_not_a_directive on;
--- must_die
--- error_log
unknown directive "this_is_not_a_directive"
BLOCKS
        fail => [],
    },
    {
        name => 'a failing check is a failure under both',
        blocks => <<'BLOCKS',
=== TEST 1: wrong body, wrong status
--- config
    location = /t { return 200 "hello\n"; }
--- request
GET /t
--- error_code: 201
--- response_body
bye
BLOCKS
        fail => [qr/status code ok/, qr/response_body - response is expected/],
    },
);

sub case_file {
    my ($case, $runner) = @_;
    my $file = "$Dir/case.t";

    open my $fh, '>', $file or die "$file: $!\n";
    print $fh "use $runner 'no_plan';\nno_shuffle();\nno_root_location();\n"
              . ($case->{code} // '') . "run_tests();\n__DATA__\n\n"
              . $case->{blocks};
    close $fh;

    return $file;
}

# Runs a case under a runner: (names of the failed tests, bail out or undef)
sub run_case {
    my ($case, $runner, @inc) = @_;
    my $file = case_file($case, $runner);

    local $ENV{TEST_NGINX_SERVROOT} = "$Dir/servroot";
    local $ENV{TEST_NGINX_SERVER_PORT} = $Port;
    local $ENV{TEST_NGINX_LOG_LEVEL} = 'info';
    delete local $ENV{TEST_NGINX_USE_HUP};
    delete local $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
    delete local $ENV{TEST_NGINX_NO_CLEAN};

    system('rm', '-rf', "$Dir/servroot");

    my $pid = open my $out, '-|';
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>', '/dev/null';
        exec($^X, (map { "-I$_" } @inc), $file) or exit 127;
    }

    my (@failed, $bail);
    while (my $line = <$out>) {
        push @failed, $1 if $line =~ /^not ok \d+ - (.*)/;
        $bail = $1 if $line =~ /^Bail out!\s+(.*)/;
    }
    close $out;

    return (\@failed, $bail);
}

sub check_case {
    my ($case, $what, $failed, $bail) = @_;

    subtest "$what: $case->{name}" => sub {
        if ($case->{bail}) {
            like($bail // '(no bail out)', $case->{bail}, 'refused');
            return;
        }

        is($bail, undef, 'not refused');
        is(scalar @$failed, scalar @{ $case->{fail} }, 'failures')
            or diag(join "\n", @$failed);

        for my $i (0 .. $#{ $case->{fail} }) {
            like($failed->[$i] // '', $case->{fail}[$i], "failure $i");
        }
    };
}

for my $case (@Cases) {
    check_case($case, 'bundled', run_case($case, 'Test::Nginx::Lite', $Lite));

    if (defined $Real) {
        check_case($case, 'real', run_case($case, 'Test::Nginx::Socket',
                                           $Real eq '' ? () : ($Real)));
    }
}

note(defined $Real ? "the real runner: " . ($Real || 'installed')
                   : "no real Test::Nginx::Socket: the bundled runner only");

done_testing();
