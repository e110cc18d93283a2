package K8sMetricsProtobuf;

# A reader of the protobuf answers, written for the tests from the
# reference .proto files (t/protobuf/metrics.proto lists the messages and
# field numbers): the wire format decoded into fields, then the object
# rebuilt in the shape of its JSON (kind, apiVersion, metadata, timestamp
# as RFC 3339, window in nanoseconds, usage), so that the values of both
# encodings compare one to one.

use strict;
use warnings;

use POSIX ();

# the fields of a message: [[number, wire type, value], ...]
sub fields {
    my $buf = shift;
    my ($pos, @f) = (0);

    while ($pos < length $buf) {
        my $key = varint($buf, \$pos);
        my ($n, $type) = ($key >> 3, $key & 7);

        if ($type == 0) {
            push @f, [$n, 0, varint($buf, \$pos)];

        } elsif ($type == 2) {
            my $len = varint($buf, \$pos);
            die "field $n: $len bytes past the end\n" if $pos + $len > length $buf;
            push @f, [$n, 2, substr($buf, $pos, $len)];
            $pos += $len;

        } else {
            die "field $n: wire type $type\n";
        }
    }

    return \@f;
}

sub varint {
    my ($buf, $pos) = @_;
    my ($v, $shift) = (0, 0);

    while (1) {
        die "varint past the end\n" if $$pos >= length $buf;
        my $b = ord substr($buf, $$pos++, 1);
        $v |= ($b & 0x7f) << $shift;
        return $v unless $b & 0x80;
        $shift += 7;
    }
}

# the last value of field n (as protobuf reads a repeated scalar), or undef
sub one {
    my ($f, $n) = @_;
    my @v = map { $_->[2] } grep { $_->[0] == $n } @$f;
    return $v[-1];
}

sub all {
    my ($f, $n) = @_;
    return map { $_->[2] } grep { $_->[0] == $n } @$f;
}

sub rfc3339 {
    my $t = fields(shift // '');
    return POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(one($t, 1) // 0));
}

# a map<string, string> or map<string, Quantity>
sub map_of {
    my ($entries, $quantity) = @_;
    my %m;

    for my $e (@$entries) {
        my $f = fields($e);
        my $v = one($f, 2) // '';
        $m{ one($f, 1) // '' } = $quantity ? one(fields($v), 1) // '' : $v;
    }

    return \%m;
}

sub meta {
    my $f = fields(shift);
    my %m = (name => one($f, 1), creationTimestamp => rfc3339(one($f, 8)));
    my $ns = one($f, 3);
    $m{namespace} = $ns if defined $ns && length $ns;
    my $labels = map_of([all($f, 11)]);
    $m{labels} = $labels if %$labels;
    return \%m;
}

sub object {
    my ($raw, $pod) = @_;
    my $f = fields($raw);
    my %o = (metadata => meta(one($f, 1)),
             timestamp => rfc3339(one($f, 2)),
             window_ns => one(fields(one($f, 3)), 1) // 0);

    if ($pod) {
        $o{containers} = [map {
            my $c = fields($_);
            { name => one($c, 1), usage => map_of([all($c, 2)], 1) }
        } all($f, 4)];
    } else {
        $o{usage} = map_of([all($f, 4)], 1);
    }

    # a window as K8sMetricsCheck reads Go's durations
    $o{window} = sprintf '%.6fs', $o{window_ns} / 1e9;

    return \%o;
}

# the document an answer carries: {kind, apiVersion, ...} as in JSON, and
# the envelope's contentEncoding and contentType
sub decode {
    my $body = shift;

    die "no k8s\\0 prefix\n" unless substr($body, 0, 4) eq "k8s\0";

    my $u = fields(substr($body, 4));
    my $tm = fields(one($u, 1) // '');
    my $raw = one($u, 2) // '';
    my %doc = (kind => one($tm, 2), apiVersion => one($tm, 1),
               contentEncoding => one($u, 3), contentType => one($u, 4));
    my $kind = $doc{kind} // '';

    if ($kind =~ /^(Node|Pod)MetricsList$/) {
        my $f = fields($raw);
        $doc{items} = [map { object($_, $1 eq 'Pod') } all($f, 2)];

    } elsif ($kind =~ /^(Node|Pod)Metrics$/) {
        my $o = object($raw, $1 eq 'Pod');
        %doc = (%doc, %$o);

    } elsif ($kind eq 'Status') {
        my $f = fields($raw);
        %doc = (%doc, status => one($f, 2), message => one($f, 3),
                reason => one($f, 4), code => one($f, 6));
        if (defined(my $d = one($f, 5))) {
            my $df = fields($d);
            $doc{details} = { name => one($df, 1), group => one($df, 2),
                              kind => one($df, 3),
                              causes => [map { { message => one(fields($_), 2) } }
                                         all($df, 4)] };
        }
    }

    return \%doc;
}

# the answer as JSON, for K8sMetricsCheck::summary
sub to_json {
    my $body = shift;
    my $doc = eval { decode($body) } or return "not protobuf: $@";
    return JSON::PP->new->canonical->encode($doc);
}

1;
