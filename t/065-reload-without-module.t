# A reload into a configuration without the module unloads it (nginx
# dlcloses the modules of the old cycle): nothing of the module may stay
# behind in a library that outlives it.  OpenSSL keeps the callbacks of an
# SSL ex_data index for the life of the process; a free callback left
# there by the module made every new worker crash at its first SSL_free()
# (found in review of the per-connection verdicts, fixed before it
# shipped).  Not in the .t block format: the second configuration has no
# load_module, which the block runner always writes.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(sleep);

my $root = abs_path(dirname(__FILE__) . '/..');
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_MODULE} || "$root/build/ngx_http_k8s_metrics_module.so";
my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 60;   # + 40 = 2024: taken on this machine
my $base = $ENV{TEST_NGINX_SERVROOT} || "$root/t/servroot";
my $dir = "$base-reload";
my $pki = "$base-pki";             # K8sMetricsTest's, shared with the other suites

plan skip_all => "the module is not built ($module)" unless -f $module;

system("$root/t/pki/gen.sh", $pki) == 0 or BAIL_OUT("cannot generate the PKI in $pki");
remove_tree($dir);
make_path("$dir/logs");

sub conf {
    my ($with_module) = @_;
    my $load = $with_module ? "load_module $module;" : '';
    my $zone = $with_module ? 'k8s_metrics_zone metrics:1m;' : '';
    my $location = $with_module ? <<"API" : "return 200 \"plain\\n\";";
k8s_metrics_api;
            k8s_metrics_client_ca $pki/ca.crt;
            k8s_metrics_authorization always_allow;
API
    my $user = $> == 0 ? 'user root;' : '';
    open my $fh, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!\n";
    print $fh <<"CONF";
$load
$user
worker_processes 2;
error_log $dir/logs/error.log info;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    $zone
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $pki/server.crt;
        ssl_certificate_key $pki/server.key;
        ssl_verify_client optional_no_ca;
        location / {
            $location
        }
    }
}
CONF
    close $fh;
}

sub curl {
    my (@args) = @_;
    my $out = `curl -sk --max-time 5 @args https://127.0.0.1:$port/livez 2>&1`;
    return $out;
}

sub error_log { local (@ARGV, $/) = "$dir/logs/error.log"; <> // '' }

conf(1);
is(system($nginx, '-p', "$dir/", '-c', "$dir/nginx.conf"), 0, 'nginx starts with the module');
sleep 0.5;

# a client certificate verified: the module's per-connection verdict
like(curl("--cert $pki/client-admin.crt --key $pki/client-admin.key"), qr/^ok/,
     'a request with a client certificate, authenticated by the module');

conf(0);
is(system($nginx, '-p', "$dir/", '-c', "$dir/nginx.conf", '-s', 'reload'), 0,
   'reload into a configuration without the module');
sleep 1.5;

my @answers = map { curl("--cert $pki/client-admin.crt --key $pki/client-admin.key") } 1 .. 6;
is(scalar(grep { $_ eq "plain\n" } @answers), 6,
   'the new workers answer TLS requests (with and without a certificate)')
    or diag(join '', map { "[$_]\n" } @answers);

system($nginx, '-p', "$dir/", '-c', "$dir/nginx.conf", '-s', 'quit');
for (1 .. 50) { last unless -e "$dir/nginx.pid"; sleep 0.1 }

my $log = error_log();
unlike($log, qr/exited on signal/, 'no worker crashed') or diag($log);
unlike($log, qr/\[(alert|emerg)\]/, 'no alert in the error log');

done_testing();
