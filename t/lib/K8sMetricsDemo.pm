package K8sMetricsDemo;

# The local demo (conf/local-demo: the kubelet simulator, nginx with the
# module, and the front proxy standing in for kube-apiserver) for the
# suites that drive the real kubectl, which is a process of its own and
# not a request of a Test::Nginx block.  Ports: TEST_NGINX_SERVER_PORT
# (1984) + offset .. + offset + 3.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);

our $Root = abs_path(dirname(__FILE__) . '/../..');

my @started;

# where a suite's demo runs: beside the server root, as the other suites'
# peers (TEST_NGINX_SERVROOT: one per run, see the CI lanes)
sub dir {
    my $name = shift;
    my $dir = ($ENV{TEST_NGINX_SERVROOT} || "$Root/t/servroot") . "-$name";
    $dir =~ s{/+(?=-\Q$name\E\z)}{};
    return $dir;
}

# the demo detached in $dir; (its output, its exit status)
sub start {
    my (%o) = @_;
    my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + $o{offset};

    $ENV{API_PORT} = $port;
    $ENV{APISERVER_PORT} = $port + 1;
    $ENV{KUBELET_PORT} = $port + 2;
    $ENV{CONTROL_PORT} = $port + 3;

    my $out = `$Root/conf/local-demo --detach --nodes $o{nodes} --pods $o{pods} --dir $o{dir} 2>&1`;
    my $rc = $?;

    push @started, $o{dir};
    $ENV{KUBECONFIG} = "$o{dir}/kubeconfig";

    return ($out, $rc);
}

END {
    local $?;
    for my $dir (@started) {
        system("kill -QUIT \$(cat $dir/nginx.pid) 2>/dev/null") if -e "$dir/nginx.pid";
        system("$Root/t/sim/kubelet-sim stop --dir $dir/sim >/dev/null 2>&1");
    }
}

sub kubectl {
    my ($kubectl) = grep { -x } map { "$_/kubectl" } split /:/, $ENV{PATH};
    return $kubectl // '';
}

# kubectl ARGS until its output matches (the demo scrapes every 15s: the
# second scrape gives rates)
sub kubectl_until {
    my ($args, $want, $timeout) = @_;
    my $kubectl = kubectl();
    my $deadline = time + $timeout;
    my $text = '';

    while (time < $deadline) {
        $text = `$kubectl $args 2>&1`;
        return $text if $text =~ $want;
        sleep 1;
    }

    return $text;
}

sub slurp {
    my $file = shift;
    local (@ARGV, $/) = $file;
    return -e $file ? <> // '' : '';
}

1;
