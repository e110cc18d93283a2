package K8sMetricsOps;

# The helpers of the reliability suites under their former name: they are
# K8sMetricsTest's now (t/lib/K8sMetricsTest.pm, "nginx from the outside",
# requests to the test's own server, TLSConnection).  Kept so that files
# written with K8sMetricsOps::... run unchanged; new code calls
# K8sMetricsTest:: directly.

use strict;
use warnings;

use K8sMetricsTest ();

sub root { $K8sMetricsTest::Root }

# started once per file, not per block
sub fake_apiserver { K8sMetricsTest::fake_apiserver(per_block => 0, @_) }

sub workers { K8sMetricsTest::running_workers(@_) }

for my $name (qw(servroot peer_dir server_port kubelet_sim restart_apiserver
                 slurp master_pid children title exiting_workers
                 tcp_inodes_to socket_inodes scraping_worker
                 wait_scraping_worker vm_kb get prom metrics wait_until
                 wait_cycles json))
{
    no strict 'refs';
    *{"K8sMetricsOps::$name"} = \&{"K8sMetricsTest::$name"};
}

package K8sMetricsOps::TLSConnection;

our @ISA = ('K8sMetricsTest::TLSConnection');

1;
