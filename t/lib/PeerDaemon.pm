package PeerDaemon;

# What the Perl drivers of the test peers share (t/sim/KubeletSim.pm, the
# kubelet simulator; t/apiserver/FakeApiserver.pm, the fake apiserver):
# a peer is a daemon its script starts and stops ("SCRIPT start --dir DIR
# --opt value ...", "SCRIPT stop --dir DIR"), describes in a JSON file in
# DIR (ports, addresses, ...), and answers on its control port with JSON.
#
#     package KubeletSim;
#     our @ISA = ('PeerDaemon');
#     sub start  { my ($class, %o) = @_;
#                  $class->start_daemon($SIM, \%o, [qw(pods port)], [qw(quiet)],
#                                       '--nodes', $o{nodes}) }
#     sub attach { $_[0]->attach_daemon($_[1], 'sim.json') }
#     sub stop   { $_[0]->stop_daemon($SIM) }
#
# Core modules only (HTTP::Tiny, JSON::PP).

use strict;
use warnings;

use File::Basename qw(basename);
use HTTP::Tiny;
use JSON::PP;

my $JSON = JSON::PP->new->canonical->utf8->allow_nonref;

# Runs "SCRIPT start --dir DIR @args", then "--opt value" for each option
# of @$valued that %$o defines and "--flag" for each of @$flags it sets
# (opt_name: --opt-name); dies if the script fails; returns the attached
# driver.
sub start_daemon {
    my ($class, $script, $o, $valued, $flags, @args) = @_;

    my @cmd = ($script, 'start', '--dir', $o->{dir}, @args);

    for my $k (@$valued) {
        next unless defined $o->{$k};
        (my $opt = $k) =~ tr/_/-/;
        push @cmd, "--$opt", $o->{$k};
    }

    for my $k (@$flags) {
        (my $opt = $k) =~ tr/_/-/;
        push @cmd, "--$opt" if $o->{$k};
    }

    system(@cmd) == 0
        or die basename($script) . " start failed: @cmd\n";

    return $class->attach($o->{dir});
}

# The driver of a running peer, from DIR/$file.
sub attach_daemon {
    my ($class, $dir, $file) = @_;

    open my $fh, '<', "$dir/$file" or die "$dir/$file: $!\n";
    my $p = decode_json(do { local $/; <$fh> });

    return bless { %$p, http => HTTP::Tiny->new(timeout => 60) }, $class;
}

sub stop_daemon {
    my ($self, $script) = @_;

    system($script, 'stop', '--dir', $self->{dir}, '--quiet');
}

# A call to the control port: GET PATH, or POST PATH with \%body as JSON;
# the decoded answer; dies on a non-2xx answer.
sub control_call {
    my ($self, $path, $body) = @_;

    my $url = "http://127.0.0.1:$self->{control_port}$path";
    my $r = defined $body
        ? $self->{http}->post($url, {
              headers => { 'Content-Type' => 'application/json' },
              content => $JSON->encode($body) })
        : $self->{http}->get($url);

    die ref($self) . " control $path: $r->{status} $r->{content}\n"
        unless $r->{success};

    return decode_json($r->{content});
}

# a query string value
sub uri_escape {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

1;
