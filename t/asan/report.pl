#!/usr/bin/perl
# t/asan/report.pl DIR: judges the asan.PID files AddressSanitizer and
# LeakSanitizer wrote (log_path, see t/asan/nginx) while a suite ran.
#
# Fails (exit 1, the reports on stderr) on
#   - any AddressSanitizer error (heap-buffer-overflow, use-after-free...),
#     UBSan "runtime error:", or sanitizer failure in the file;
#   - any direct leak with a frame of the module in its allocation stack (a
#     function ngx_k8s_metrics_* or ngx_http_k8s_metrics_*, or the module's
#     .so): memory our code allocated, itself or through nginx (ngx_alloc,
#     ngx_create_pool), jansson, libcurl or OpenSSL, that nothing
#     references when the process exits, after nginx has destroyed its
#     cycle pool and with it run the module's pool cleanups;
#   - an indirect leak with a frame of ours (reachable only from other
#     leaks), unless the same process has a direct leak that is neither
#     ours nor nginx's: then it may hang off that one (an SSL session
#     OpenSSL leaked holds the CA certificates our configuration loaded),
#     and it is shown as a warning.
# Passes over the other leaks, and counts them: nginx frees neither its
# connection and event arrays (ngx_alloc()ed by ngx_event_process_init)
# nor some startup allocations at exit, by design; their stacks hold no
# frame of ours.
#
# Suppressions cannot make this cut: an LSan suppression drops a leak when
# any frame matches, and Debian's stripped nginx leaves the frames that
# would tell nginx's exit leaks apart unsymbolized (static functions).
# Known limitation: a reference our code forgets to drop on an object
# allocated outside our call chain (X509_free() missing after
# SSL_get1_peer_certificate()) leaks with a stack of nginx and OpenSSL
# frames only, and passes.

use strict;
use warnings;

my $dir = shift or die "usage: report.pl DIR\n";

my $ours_re = qr/\bngx_(?:http_)?k8s_metrics_\w+|ngx_http_k8s_metrics_module\.so/;

my (@errors, %leaks, %warnings);
my ($other_records, $other_bytes, $files) = (0, 0, 0);

opendir my $dh, $dir or die "report.pl: $dir: $!\n";
my @files = sort grep { /^asan\.\d+/ } readdir $dh;
closedir $dh;

for my $f (@files) {
    open my $fh, '<', "$dir/$f" or die "report.pl: $dir/$f: $!\n";
    my @lines = <$fh>;
    close $fh;
    $files++;

    my $text = join '', @lines;

    # an ASan error, UB, a sanitizer failure: the whole file is what to
    # show (LeakSanitizer's own "ERROR: LeakSanitizer" is judged below)
    if ($text =~ /ERROR: AddressSanitizer|runtime error:|Sanitizer has encountered a fatal error|CHECK failed/) {
        push @errors, "--- $dir/$f\n$text";
        next;
    }

    # LeakSanitizer: records are "Direct|Indirect leak of ..." then frames
    my @records;
    my $cur;

    for my $line (@lines) {
        if ($line =~ /^(Direct|Indirect) leak of (\d+) byte/) {
            $cur = { text => $line, direct => $1 eq 'Direct', bytes => $2 };
            push @records, $cur;
            next;
        }

        if ($cur && $line =~ /^\s+#\d+ /) {
            $cur->{text} .= $line;
            next;
        }

        undef $cur;
    }

    if (!@records && $text =~ /\S/
        && $text !~ /LeakSanitizer: detected memory leaks/)
    {
        # something else: a LeakSanitizer failure ("does not work under
        # ptrace"...), a CHECK failure: not a clean run either
        push @errors, "--- $dir/$f\n$text";
        next;
    }

    # a direct leak neither ours nor nginx's by-design ngx_alloc() (frame
    # #1 ngx_alloc in the nginx binary): indirect leaks may hang off it

    my $foreign = grep {
        $_->{direct} && $_->{text} !~ $ours_re
        && $_->{text} !~ /^\s+#1 0x[0-9a-f]+ in ngx_alloc \(\S*nginx\+/m
    } @records;

    for my $r (@records) {
        if ($r->{text} !~ $ours_re) {
            $other_records++;
            $other_bytes += $r->{bytes};

        } elsif ($r->{direct} || !$foreign) {
            group(\%leaks, $r, "$dir/$f");

        } else {
            group(\%warnings, $r, "$dir/$f");
        }
    }
}

printf "asan: %d report file(s) in %s; %d leak record(s), %d bytes, "
       . "without a module frame (nginx's own exit leaks: ignored)\n",
       $files, $dir, $other_records, $other_bytes;

# the same leak from many processes: grouped by the allocation site in the
# module (the first frame of ours) and the kind, one stack shown per group

sub group {
    my ($groups, $r, $file) = @_;
    my ($site) = $r->{text} =~ /^\s+#\d+ 0x[0-9a-f]+ in (.*$ours_re.*)$/m;
    my $key = ($r->{direct} ? 'direct' : 'indirect') . " leak from $site";
    my $g = $groups->{$key} //= { count => 0, bytes => 0, files => {},
                                 text => $r->{text}, file => $file };
    $g->{count}++;
    $g->{bytes} += $r->{bytes};
    $g->{files}{$file} = 1;
}

sub show {
    my ($groups) = @_;
    my $out = '';
    my @keys = sort { $groups->{$b}{count} <=> $groups->{$a}{count}
                      || $a cmp $b } keys %$groups;

    # direct leaks first: the others hang off them
    @keys = ((grep { /^direct/ } @keys), (grep { !/^direct/ } @keys));

    if (@keys > 12) {
        $out .= sprintf "(%d allocation sites; the first 12)\n", scalar @keys;
        splice @keys, 12;
    }

    for my $key (@keys) {
        my $g = $groups->{$key};
        $out .= sprintf "--- %d record(s), %d bytes, in %d process(es): %s\n"
                        . "    e.g. %s:\n%s\n",
                        $g->{count}, $g->{bytes}, scalar keys %{ $g->{files} },
                        $key, $g->{file}, $g->{text};
    }

    return $out;
}

if (%warnings) {
    print STDERR "asan: warning: indirect leak(s) with frames of ours, in a "
                 . "process that leaked something else first:\n",
                 show(\%warnings);
}

my $nleaks = 0;
$nleaks += $_->{count} for values %leaks;

if (@errors || %leaks) {
    print STDERR "asan: sanitizer error(s):\n", @errors if @errors;
    print STDERR "asan: leak(s) allocated under the module:\n", show(\%leaks)
        if %leaks;
    printf STDERR "asan: %d error report(s), %d leak record(s) of ours "
                  . "(%d allocation site(s))\n",
                  scalar @errors, $nleaks, scalar keys %leaks;
    exit 1;
}

exit 0;
