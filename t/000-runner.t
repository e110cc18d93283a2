# Self-test of the bundled runner (t/lib/Test/Nginx/Lite.pm), with stock
# nginx only: no module is loaded.  Its blocks are written for the real
# Test::Nginx::Socket too (t/001-runner-parity.t compares the two runners):
# a block without "--- config" is sent to the nginx of the block before,
# and "--- error_log" is checked after each request of a block against
# what was logged since the previous check.

use lib 't/lib';
use Test::Nginx::Lite 'no_plan';

no_shuffle();
log_level('info');

# "--- master_workers: N" runs that block with a master and N workers.
add_block_preprocessor(sub {
    my $block = shift;

    if (defined $block->master_workers) {
        master_on();
        workers($block->master_workers);

    } else {
        master_off();
        workers(1);
    }
});

run_tests();

__DATA__

=== TEST 1: exact body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello



=== TEST 2: status code and error_log of a missing file
--- request
GET /nonexistent.html
--- error_code: 404
--- error_log
open() "
nonexistent.html" failed (2: No such file or directory)
--- no_error_log
[warn]



=== TEST 3: response headers: present, repeated, absent
--- config
    location = /t {
        add_header X-Foo bar;
        add_header X-Multi a;
        add_header X-Multi b;
        return 200 "abc";
    }
--- request
GET /t
--- response_headers
X-Foo: bar
X-Multi: a, b
Content-Type: text/plain
Content-Length: 3
!X-Bar
--- response_body chomp
abc



=== TEST 4: body and headers matched by regex
--- config
    location = /t {
        return 200 "hello, world\n";
    }
--- request
GET /t
--- response_headers_like
Content-Length: \d+
Server: nginx/[\d.]+
--- response_body_like: ^hello, w.rld$



=== TEST 5: more_headers are sent as given
--- config
    location = /t {
        return 200 "[$http_x_foo] [$http_x_case] [$http_user_agent]\n";
    }
--- request
GET /t
--- more_headers
X-Foo: abc
x-CaSe: Mixed Value
User-Agent: lite/1.0
--- response_body
[abc] [Mixed Value] [lite/1.0]



=== TEST 6: several requests in one block
--- config
    location = /a {
        return 200 "a\n";
    }
    location = /b {
        return 201 "b\n";
    }
    location = /c {
        return 200 "len=$content_length\n";
    }
--- request eval
["GET /a", "GET /b", "POST /c\nhello"]
--- error_code eval
[200, 201, 200]
--- response_body eval
["a\n", "b\n", "len=5\n"]



=== TEST 7: chunked response
--- config
    location = /t {
        default_type text/html;
        sub_filter world nginx;
        return 200 "hello world\n";
    }
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
hello nginx



=== TEST 8: HTTP/1.0: body delimited by the end of the connection
--- config
    location = /t {
        default_type text/html;
        sub_filter world nginx;
        return 200 "hello world\n";
    }
--- request
GET /t HTTP/1.0
--- response_headers
!Transfer-Encoding
!Content-Length
--- response_body
hello nginx



=== TEST 9: HEAD has no body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 6
--- response_body



=== TEST 10: error_log eval, no_error_log, wait: each request logs its line
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request eval
["GET /nope.txt", "GET /nope.txt?again"]
--- error_code eval
[404, 404]
--- wait: 0.1
--- error_log eval
[qr/\[error\] .*open\(\) "[^"]*\/html\/nope\.txt" failed/, "GET /nope.txt"]
--- no_error_log eval
["[warn]", qr/\[(?:alert|crit|emerg)\]/]



=== TEST 11: user_files and the default root location
--- config
--- user_files
>>> sub/foo.txt
foo content
--- request
GET /sub/foo.txt
--- response_body
foo content



=== TEST 12: $TEST_NGINX_* in the configuration; a request that times out
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/t;
    }
    location = /t {
        return 200 "never\n";
    }
--- raw_request eval
"POST /slow HTTP/1.1\r
Host: localhost\r
Content-Length: 100\r
\r
abc"
--- timeout: 0.5
--- abort
--- ignore_response



=== TEST 13: must_die
--- config
    this_is_not_a_directive on;
--- must_die
--- error_log
unknown directive "this_is_not_a_directive"



=== TEST 14: master process with 2 workers
--- master_workers: 2
--- config
    location = /t {
        return 200 "pid $pid\n";
    }
--- request
GET /t
--- response_body_like: ^pid \d+$
--- error_log
start worker processes
--- shutdown_error_log
gracefully shutting down



=== TEST 15: back to a single process
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
start worker processes
