#!/usr/bin/perl
# t/asan/valgrind-report.pl DIR: judges the vg.PID files memcheck wrote
# (t/asan/valgrind-nginx) while a suite ran.
#
# Fails (exit 1, the records on stderr) on
#   - any memcheck error (invalid read or write, use of uninitialised
#     memory, bad free, overlapping copy, bad syscall argument) whose stack
#     is not entirely the test helpers' njs (ngx_http_js_module.so: the
#     runner's /wait location and the fake peers, not ours);
#   - a "definitely lost" block with a frame of the module in its
#     allocation stack: as t/asan/report.pl, nginx's own exit leaks (no
#     frame of ours) are counted, not failed.

use strict;
use warnings;

my $dir = shift or die "usage: valgrind-report.pl DIR\n";

my $ours_re = qr/\bngx_(?:http_)?k8s_metrics_\w+|ngx_http_k8s_metrics_module\.so/;
my $njs_re = qr/ngx_http_js_module\.so|\bnjs_\w+/;

my (@errors, %seen);
my ($files, $other_leaks, $njs) = (0, 0, 0);

opendir my $dh, $dir or die "valgrind-report.pl: $dir: $!\n";
my @files = sort grep { /^vg\.\d+$/ } readdir $dh;
closedir $dh;

for my $f (@files) {
    open my $fh, '<', "$dir/$f" or die "valgrind-report.pl: $dir/$f: $!\n";
    $files++;

    # records are runs of "==PID== ..." lines between "==PID== " blank ones
    my @records;
    my $open = 0;

    while (my $line = <$fh>) {
        next unless $line =~ s/^==\d+== ?//;

        if ($line =~ /^\s*$/) {
            $open = 0;
            next;
        }

        push @records, '' unless $open;
        $open = 1;
        $records[-1] .= $line;
    }

    close $fh;

    for my $r (@records) {

        # the heading of a run, the summaries: not errors
        next if $r =~ /^(Memcheck|HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|Use --track-origins|For lists|For counts|Rerun with|Reachable blocks|Warning: )/;
        next if $r =~ /^\s+(in use at exit|total heap usage|definitely lost|indirectly lost|possibly lost|still reachable|suppressed):/;

        # the stack of the error itself, before "Address ... was alloc'd"
        my ($stack) = split /^\s*(?:Address 0x|Block was|Uninitialised value was created)/m, $r;

        if ($r =~ /definitely lost in loss record/) {
            if ($r !~ $ours_re) {
                $other_leaks++;
                next;
            }

        } elsif ($stack =~ $njs_re && $stack !~ $ours_re) {
            $njs++;
            next;
        }

        # the same error from many processes once, by its first frames
        my ($key) = $r =~ /^((?:.*\n){1,4})/;
        $key =~ s/0x[0-9A-Fa-f]+//g;
        $key =~ s/\d+ bytes|loss record [\d,]+ of [\d,]+|[\d,]+ \([\d,]+ direct, [\d,]+ indirect\) bytes//g;

        if (!$seen{$key}++) {
            push @errors, "--- $dir/$f\n$r";
        }
    }
}

printf "valgrind: %d report file(s) in %s; %d leak record(s) without a "
       . "module frame (nginx's own exit leaks: ignored); %d njs record(s) "
       . "(test helpers: ignored)\n", $files, $dir, $other_leaks, $njs;

if (@errors) {
    print STDERR "valgrind: ", scalar @errors, " distinct error(s):\n",
                 join("\n", @errors), "\n";
    exit 1;
}

exit 0;
