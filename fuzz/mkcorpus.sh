#!/usr/bin/env bash
# Writes the committed seed corpus, fuzz/corpus/<target>/ (run from
# anywhere; overwrites the seeds it names, leaves other files alone).
# The input formats are those of the targets (see their header comments):
#   parser     byte 0 buffer size class (0xff: 65536), byte 1 split seed,
#              then the body
#   selector   byte 0: bit 0 field selector, bits 1-7 allocation to fail
#              (0: none), then the raw query-string value
#   extra_key  the raw header key
#   quantity   8 bytes little-endian [+ 1 shaping byte]
#   emit       byte 0: bit 0 indented, bits 1-7 allocation to fail (0:
#              none), then the string

set -euo pipefail
cd "$(dirname "$0")"

c=corpus
mkdir -p $c/parser $c/selector $c/extra_key $c/quantity $c/emit

# --- parser ------------------------------------------------------------

# a kubelet v1.28 /metrics/resource body (client_golang expfmt), with
# escapes, label order and exponent spellings (as t/unit's payload)
kubelet() {
cat <<'EOF'
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-7xk2p"} 12.345678901 1700000000123
container_cpu_usage_seconds_total{container="etcd",namespace="kube-system",pod="etcd-node-1"} 1234.56789 1700000000456
container_cpu_usage_seconds_total{pod="web-0",container="nginx",namespace="default"} 4.56E-3 1700000000789
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-7xk2p"} 1.5609856e+07 1700000000123
container_memory_working_set_bytes{container="etcd",namespace="kube-system",pod="etcd-node-1"} 1.2e+09 1700000000456
container_memory_working_set_bytes{container="we\"ird\\c\n",namespace="default",pod="web-0",extra="x\\y"} 8192 1700000000789
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-7xk2p"} 1.6999920001234567e+09
container_start_time_seconds{container="etcd",namespace="kube-system",pod="etcd-node-1"} 1.699990000e+09
# HELP container_swap_usage_bytes [ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems
# TYPE container_swap_usage_bytes gauge
container_swap_usage_bytes{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-7xk2p"} 0 1700000000123
# HELP kubelet_container_log_filesystem_used_bytes [ALPHA] unknown
kubelet_container_log_filesystem_used_bytes{container="etcd"} 4096

# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 357.35491 1700000000999
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1.764917248e+09 1700000000999
# HELP node_swap_usage_bytes [ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems
# TYPE node_swap_usage_bytes gauge
node_swap_usage_bytes 1.048576e+06 1700000000999
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="kube-system",pod="etcd-node-1"} 1234.6 1700000000456
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="kube-system",pod="etcd-node-1"} 1.2e+09 1700000000456
# HELP pod_swap_usage_bytes [ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems
# TYPE pod_swap_usage_bytes gauge
pod_swap_usage_bytes{namespace="kube-system",pod="etcd-node-1"} 0 1700000000456
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
EOF
}

# what t/sim/kubelet.js writes: sorted families, fixed-point values
sim() {
cat <<'EOF'
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-7c9f-0"} 31.418000 1732838400123
container_cpu_usage_seconds_total{container="app",namespace="kube-system",pod="dns-5d78-1"} 2.000001 1732838400123
container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web-7c9f-0"} 0.000137 1732838400123
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web-7c9f-0"} 12582912 1732838400123
container_memory_working_set_bytes{container="app",namespace="kube-system",pod="dns-5d78-1"} 8392704 1732838400123
container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web-7c9f-0"} 8818688 1732838400123
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web-7c9f-0"} 1732838100.123
container_start_time_seconds{container="app",namespace="kube-system",pod="dns-5d78-1"} 1732837900.000
container_start_time_seconds{container="sidecar",namespace="default",pod="web-7c9f-0"} 1732838100.456
# HELP container_swap_usage_bytes [ALPHA] Current amount of the container swap usage in bytes.
# TYPE container_swap_usage_bytes gauge
container_swap_usage_bytes{container="app",namespace="default",pod="web-7c9f-0"} 0 1732838400123
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 8812.004000 1732838400123
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1073741824 1732838400123
node_swap_usage_bytes 0 1732838400123
pod_cpu_usage_seconds_total{namespace="default",pod="web-7c9f-0"} 31.418137 1732838400123
pod_memory_working_set_bytes{namespace="default",pod="web-7c9f-0"} 21401600 1732838400123
pod_swap_usage_bytes{namespace="default",pod="web-7c9f-0"} 0 1732838400123
resource_scrape_error 0
scrape_error 0
EOF
}

# the simulator's malformed_lines mode, and more of the same kind
malformed() {
cat <<'EOF'
container_cpu_usage_seconds_total{container="bad",namespace="default",pod="malformed-1"} not-a-number 1732838400123
container_memory_working_set_bytes{container="bad",namespace="default",pod="malformed-2" 12345 1732838400123
container_cpu_usage_seconds_total{container="bad,namespace="default",pod="malformed-3"} 1 1732838400123
container_memory_working_set_bytes{container="bad",namespace="default",pod="malformed-4"}
this is not a metric line at all
container_cpu_usage_seconds_total{container="bad",namespace="default",pod="malformed-6"} 1.5 12x34
{container="bad",namespace="default",pod="malformed-7"} 1 1732838400123
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} NaN
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} +Inf
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} 0x1p3
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} 1e400
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} 1 9223372036854775808
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"} 1 -9223372036854775808
container_cpu_usage_seconds_total{container="",namespace="default",pod="p"} 1
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p",} 1
container_cpu_usage_seconds_total{container="c" , namespace = "default",pod="p\q"} 1
container_cpu_usage_seconds_total{container="c",namespace="default",pod="p"}1
pod_cpu_usage_seconds_total{namespace="default"} 1
	  node_cpu_usage_seconds_total	 .5	 
node_cpu_usage_seconds_total 5.
node_cpu_usage_seconds_total -0.0e-0 +00017
EOF
}

# values the parser takes and the store cannot keep (Prometheus' NaN and
# infinities, negative, beyond 2^64 ns or bytes, 2^63 ms), and the largest
# that fit
values() {
cat <<'EOF'
node_cpu_usage_seconds_total NaN 1732838400123
node_cpu_usage_seconds_total +Inf 1732838400123
node_cpu_usage_seconds_total 1e30 1732838400123
node_cpu_usage_seconds_total 18446744073.70955 1732838400123
node_cpu_usage_seconds_total 18446744073.709553 1732838400123
node_memory_working_set_bytes -3.0e+10 1732838400123
node_memory_working_set_bytes -Inf 1732838400123
node_memory_working_set_bytes 18446744073709549568 1732838400123
node_memory_working_set_bytes 18446744073709551616 1732838400123
node_memory_working_set_bytes 1048576.75 1732838400123
node_swap_usage_bytes infinity 1732838400123
container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} -0.000001 1732838400123
container_memory_working_set_bytes{container="c",namespace="n",pod="p"} nan 1732838400123
container_start_time_seconds{container="c",namespace="n",pod="p"} 9223372036854774
container_start_time_seconds{container="c",namespace="n",pod="p"} 9223372036854776
container_start_time_seconds{container="c",namespace="n",pod="p"} -1.7e9
pod_cpu_usage_seconds_total{namespace="n",pod="p"} -INF
pod_memory_working_set_bytes{namespace="n",pod="p"} 1e400
node_cpu_usage_seconds_total infin
node_cpu_usage_seconds_total +nan
EOF
}

seed() {    # file, byte 0, byte 1, body on stdin
    { printf "\\x$2\\x$3"; cat; } > "$c/parser/$1"
}

kubelet   | seed kubelet-v1.28          ff 00
kubelet   | sed 's/$/\r/' | seed kubelet-crlf  ff 07
kubelet   | seed kubelet-buf-100        64 2a
sim       | seed sim                    ff 11
sim       | seed sim-buf-160            a0 5c
malformed | seed malformed              ff 03
malformed | seed malformed-buf-64       40 99
values    | seed values                 ff 05
{ kubelet | head -c 1500; } | seed truncated ff 21
printf 'scrape_error 1\nnode_cpu_usage_seconds_total 1.7e3\n' \
          | seed old-kubelet            ff 00
printf '1.6999920001234567e+09 1700000000123\n' | seed number-exp ff 00
printf '0.000000000000000000000000000000001 -1\n' | seed number-small ff 00
printf '123456789012345678901234567890 +1\n' | seed number-long ff 00

# --- selector ------------------------------------------------------------

sel() {     # file, byte 0 (hex), text
    { printf "\\x$2"; printf '%s' "$3"; } > "$c/selector/$1"
}

# labels (kubernetes.io/docs/concepts/overview/working-with-objects/labels)
sel l-equals            00 'environment+%3D+production'
sel l-not-equals        00 'tier+!%3D+frontend'
sel l-and               00 'environment%3Dproduction,tier%3Dfrontend'
sel l-in                00 'environment+in+(production,+qa)'
sel l-notin             00 'tier+notin+(frontend,+backend)'
sel l-exists            00 'partition'
sel l-not-exists        00 '!partition'
sel l-set-and           00 'environment+in+(production),tier+in+(qa)'
sel l-mixed             00 'partition,environment+notin+(qa)'
sel l-double-equals     00 'app==web'
sel l-prefix            00 'app.kubernetes.io/name=nginx,kubernetes.io/hostname!=node-1'
sel l-gt-lt             00 'version>5,version<10'
sel l-empty-values      00 'x+in+(,a,,b),y%3D,z+notin+()'
sel l-in-keyword        00 'in=notin,notin+in+(in)'
sel l-bad-key           00 'k8s.io/a/b=c'
sel l-bad-value         00 'a=-x,b+in+(Ü,_y)'
sel l-bad-syntax        00 'a+b'
sel l-bad-gt            00 'a>x,b<1.5'
sel l-bad-open          00 'a+in+b'
sel l-semicolon         00 'a=b;c'
sel l-bad-escape        00 'a=%zz'
printf '\x00a=b\x00c,d' > $c/selector/l-nul     # the lexer stops at NUL
sel l-fail-2            04 'environment+in+(production,+qa),tier!=x'
sel l-fail-error        0a 'a=b,c++d'
# fields (kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors)
sel f-name              01 'metadata.name%3Dmy-service'
sel f-namespace         01 'metadata.namespace!%3Ddefault'
sel f-double            01 'metadata.name==web-0,metadata.namespace=default'
sel f-escapes           01 'metadata.name=a\,b\=c\\d'
sel f-bad-escape        01 'metadata.name=a\x'
sel f-unescaped         01 'metadata.name=a=b'
sel f-unknown           01 'status.phase%3DRunning'
sel f-no-op             01 'metadata.name'
sel f-empty-terms       01 ',,metadata.name=,'
sel f-utf8              01 'metadata.name=%C3%BC%FF%E2%82'
sel f-fail-1            03 'metadata.name=a\,b,spec.nodeName=x'

# --- extra_key -----------------------------------------------------------

key() { printf '%s' "$2" > "$c/extra_key/$1"; }

key scopes              'scopes'
key pod-name            'authentication.kubernetes.io%2fpod-name'
key upper-escape        'Acme.COM%2FProject'
key mixed               'Foo%41%zz'
key trailing-percent    'key%'
key short-escape        'key%4'
key utf8                '%E2%9C%93check'
key plus                'a+b%20c'
key credential-id       'authentication.kubernetes.io/credential-id'

# --- quantity ------------------------------------------------------------

q() {       # file, 64-bit value (decimal, two's complement), [shaping byte]
    local v=$2 i out=''
    for i in 0 1 2 3 4 5 6 7; do
        out+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))
    done
    [ -n "${3:-}" ] && out+="\\x$3"
    printf "$out" > "$c/quantity/$1"
}

q zero          0
q one           1
q k             1000
q below-ki      1023
q ki            1024
q above-ki      1025
q second        1000000000
q window        15003000000
q hour          3600000000000
q int64-max     9223372036854775807
q int64-min     -9223372036854775808
q minus-one     -1
q year-9999     253402300799
q kilo-shape    7 03
q kibi-shape    3 0c

# --- emit ----------------------------------------------------------------

printf '\x00pod-00001-000' > $c/emit/name
printf '\x01kube-system' > $c/emit/name-indented
printf '\x00app.kubernetes.io/name' > $c/emit/label-key
printf '\x01q"uo\\te\n\t\x01\x1f\x7f' > $c/emit/escapes
printf '\x00caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80' > $c/emit/utf8
printf '\x01\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82' > $c/emit/not-utf8
printf '\x06a' > $c/emit/fail-alloc-2

# --- regressions ---------------------------------------------------------
# Edge inputs every run of `make fuzz-regress` / `make fuzz-ci` replays;
# crashes that fuzzing finds go here too (fuzz/regressions/README.md).

r=regressions
mkdir -p $r/parser $r/selector $r/extra_key $r/quantity

# lines of exactly the buffer size (23 bytes), one and two bytes more (CR)
printf '\x17\x05node_swap_usage_bytes 1\nnode_swap_usage_bytes 1 \nnode_swap_usage_bytes 12\r\nscrape_error 1' > $r/parser/line-at-buffer-size
# an escaped label value longer than the 512-byte scratch area
{ printf '\xff\x09container_cpu_usage_seconds_total{namespace="n",pod="p",container="'
  for i in $(seq 120); do printf 'ab\\"c'; done
  printf '"} 1\n'; } > $r/parser/escapes-over-scratch
# NUL and high bytes inside lines, an unterminated last line
printf '\x40\x33node_cpu_usage_seconds_total\x00 1\n\xffnode_cpu_usage_seconds_total 1\n{}\x00\npod_cpu_usage_seconds_total{namespace="a",pod="b"} 1e-400 -0' > $r/parser/nul-and-high-bytes
# three samples, the handler failing at the third (byte 1 mod 3 = 2)
printf '\xff\x02scrape_error 0\nnode_cpu_usage_seconds_total 1\nnode_memory_working_set_bytes 2\n' > $r/parser/handler-error

printf '\x00a+in+(c,b,a,b,c,,),b+notin+(),!c' > $r/selector/sort-unique-values
printf '\x2ax+in+(a,b),y!%%3Dz,k8s.io/name>5,bad/key/x=1' > $r/selector/fail-alloc-20
printf '\x02a=b' > $r/selector/fail-alloc-0
printf '\x0bmetadata.name=a\\,b\\=c,metadata.namespace!=%%E2%%82' > $r/selector/field-fail-alloc-4
printf '\x00ke\x00y=v' > $r/selector/nul-in-key
printf '\x01=,!=,==' > $r/selector/field-empty-keys

printf '' > $r/extra_key/empty
printf 'abc%%' > $r/extra_key/percent-last
printf 'abc%%4' > $r/extra_key/percent-one-digit
printf '%%%%41' > $r/extra_key/percent-percent
printf '%%41%%zz' > $r/extra_key/good-then-bad

q() {       # as above, into regressions
    local v=$2 i out=''
    for i in 0 1 2 3 4 5 6 7; do
        out+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))
    done
    printf "$out" > "$r/quantity/$1"
}

q uint64-max        -1
q two-pow-63        -9223372036854775808
q time-beyond-gmtime 9223372036854775807
q time-negative-year -62198755200
q ei-boundary       1152921504606846976
