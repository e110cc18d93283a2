#!/usr/bin/env bash
# t/pki/gen.sh -- generate the throwaway test PKI for ngx_metrics_module with the openssl CLI.
#
# Nothing generated here is ever committed: tests, `make run` and benchmarks call this script at
# run time into a scratch directory.  Needs bash >= 5.1 ($SRANDOM) and OpenSSL >= 3.0
# (`openssl req -CA`).  All keys are EC P-256 (fast); signatures ECDSA-SHA256; serials random.
#
# Usage
#   gen.sh OUTDIR                          full PKI (below); no-op if OUTDIR/.done exists, which is
#                                          written last, so an interrupted run is simply redone.
#   gen.sh --kubelet OUTDIR NODE IP [IP...]
#                                          kubelet serving cert kubelet-NODE.crt/.key (own key) for
#                                          a simulated kubelet; signed by OUTDIR/ca (must exist).
#   gen.sh --kubelet-batch OUTDIR FILE     FILE has lines "NODE IP" (blank lines and #comments
#                                          skipped).  Issues kubelet-NODE.crt for every line.
#                                          SHORTCUT: all batch certs share ONE key,
#                                          OUTDIR/kubelet-shared.key (created once), so there is no
#                                          kubelet-NODE.key; start each simulated kubelet with
#                                          kubelet-NODE.crt + kubelet-shared.key.  Fine for a
#                                          test (trust comes from the CA signature + SAN, not from
#                                          key uniqueness) and it makes thousands of certs cheap:
#                                          exactly one `openssl req` process per cert.
#                                          KUBELET_JOBS=N (default: nproc) runs N signers in
#                                          parallel.
#   Sourcing the script (`. gen.sh`) only defines the functions.
#
# Kubelet serving certs: subject CN=system:node:NODE, O=system:nodes (as kubelet serving certs
# issued through the CSR API), SAN DNS:NODE + IP:each IP, EKU serverAuth, signed by ca.
#
# Files in OUTDIR (X.crt certificate, X.key private key; PEM; keys mode 600)
# -- cluster CA: --client-ca-file of the module, --kubelet-certificate-authority, kubeconfig CA --
#   ca                      CN=kubernetes-ca.  Signs client certs, kubelet serving certs, the
#                           module's serving cert and the fake kube-apiserver's serving cert.
#   server                  the module's serving cert (ssl_certificate): CN=metrics-server, SAN
#                           localhost, metrics-server.kube-system.svc, 127.0.0.1, ::1; serverAuth.
#   apiserver               serving cert of the fake kube-apiserver / front proxy of `make run`
#                           (TokenReview/SAR target, kubectl endpoint): localhost, 127.0.0.1.
#   kubelet-client          client cert the module presents to kubelets
#                           (CN=system:metrics-server, no O); clientAuth.
# -- x509 client-cert authentication tests (SPEC 5, "x509") --
#   client-admin            CN=admin, O=system:masters -> authorized by group system:masters.
#   client-alice            CN=alice, O=dev, O=qa -> user alice, groups dev+qa (two O values).
#   client-nogroups         CN=bob, no O -> user bob, only system:authenticated.
#   client-expired          CN=alice, O=dev, validity 2020-01-01..02 -> 401.
#   client-serverauth       CN=alice, EKU serverAuth only -> fails the clientAuth purpose -> 401.
#   client-as-front-proxy   CN=front-proxy-client signed by the CLUSTER ca: must not be accepted
#                           as the front proxy (X-Remote-* ignored); authenticates as x509 user.
# -- requestheader (aggregator front proxy) tests (SPEC 5, "requestheader") --
#   front-proxy-ca          CN=front-proxy-ca: --requestheader-client-ca-file.
#   front-proxy-client      CN=front-proxy-client, clientAuth: the good proxy cert.
#   front-proxy-other       CN=not-allowed-proxy: valid, but not in the allowed names.
#   front-proxy-expired     CN=front-proxy-client, validity 2020-01-01..02 (nginx 495 -> 401).
#   front-proxy-notyet      CN=front-proxy-client, validity 2099-01-01..2100-01-01.
#   front-proxy-serverauth  CN=front-proxy-client, EKU serverAuth only (no clientAuth).
#   front-proxy-intermediate-ca   CA:TRUE pathlen:0, signed by front-proxy-ca.
#   front-proxy-chained     CN=front-proxy-client, clientAuth, signed by the intermediate.
#   front-proxy-chained-bundle.crt   leaf + intermediate: what the client presents.
#   front-proxy-selfsigned  CN=front-proxy-client, clientAuth, self-signed.
#   unknown-ca              CN=unknown-ca, trusted by nobody.
#   unknown-client          CN=front-proxy-client, O=system:masters, clientAuth, by unknown-ca:
#                           verifies against neither store -> 401, never anonymous.
# -- kubelet scrape TLS verification tests --
#   kubelet-expired-serving serving cert for 127.0.0.1 (DNS:localhost), ca, expired (2020).
#   kubelet-wrong-san       valid serving cert whose only SANs are IP:127.9.9.9, DNS:wrong.example.
#   kubelet-unknown-ca      serving cert for 127.0.0.1 (DNS:localhost) signed by unknown-ca.
#   kubelet-NODE            (--kubelet / --kubelet-batch) per simulated node.
# -- negative configuration tests --
#   ca-bundle-both.crt      ca.crt + front-proxy-ca.crt (one CA file trusting both).
#   empty.crt               text only, no certificate.
#   garbage.crt             a PEM CERTIFICATE block whose body is base64 of junk (not DER).
#
# Validity of the normal certs: DAYS (default 3650).  Dated certs (expired / not-yet-valid) are
# issued with `openssl ca -startdate/-enddate` and a throwaway config, because OpenSSL 3.0's
# x509/req have no -not_before/-not_after.

set -euo pipefail

OPENSSL=${OPENSSL:-openssl}
DAYS=${DAYS:-3650}
OUT=

die() { echo "gen.sh: $*" >&2; exit 1; }

# new_serial: sets $SERIAL to a random positive 128-bit serial (no process spawned).
new_serial() {
    printf -v SERIAL '0x%08x%08x%08x%08x' \
        $(( (SRANDOM & 0x7fffffff) | 0x10000000 )) "$SRANDOM" "$SRANDOM" "$SRANDOM"
}

# genkey NAME: EC P-256 key OUT/NAME.key, mode 600 (openssl creates new key files 0600).
genkey() {
    local key=$OUT/$1.key
    [[ -e $key ]] && rm -f -- "$key"
    "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key"
}

# sign CERTNAME KEYNAME CA SUBJECT EXT...: one `openssl req` process writes OUT/CERTNAME.crt for
# the existing key OUT/KEYNAME.key.  CA is "self" or the name of a CA in OUT.  EXT are
# "name=value" extension strings (openssl x509v3_config syntax).  With -CA, req also adds
# subjectKeyIdentifier and authorityKeyIdentifier.  -config /dev/null keeps the system
# openssl.cnf (and its v3_ca defaults) out.
sign() {
    local crt=$1 key=$2 ca=$3 subj=$4; shift 4
    local -a args=(req -new -config /dev/null -key "$OUT/$key.key" -subj "$subj"
                   -sha256 -days "$DAYS" -out "$OUT/$crt.crt")
    local e
    new_serial
    args+=(-set_serial "$SERIAL")
    if [[ $ca == self ]]; then
        args+=(-x509)
    else
        args+=(-CA "$OUT/$ca.crt" -CAkey "$OUT/$ca.key")
    fi
    for e in "$@"; do args+=(-addext "$e"); done
    "$OPENSSL" "${args[@]}"
}

# issue_cert NAME CA SUBJECT EXT...: new key + cert NAME.
issue_cert() {
    genkey "$1"
    sign "$1" "$1" "${@:2}"
}

# issue_dated NAME CA SUBJECT STARTDATE ENDDATE EXT...: like issue_cert but with a fixed validity
# window (YYYYMMDDHHMMSSZ), via a CSR and `openssl ca` with a throwaway config.
issue_dated() {
    local name=$1 ca=$2 subj=$3 start=$4 end=$5; shift 5
    local tmp e
    local -a addext=()
    for e in "$@"; do addext+=(-addext "$e"); done
    tmp=$(mktemp -d "$OUT/.ca.XXXXXX")
    : >"$tmp/index.txt"
    cat >"$tmp/ca.cnf" <<EOF
[ca]
default_ca = throwaway
[throwaway]
dir = $tmp
database = \$dir/index.txt
new_certs_dir = \$dir
rand_serial = yes
unique_subject = no
default_md = sha256
policy = anything
copy_extensions = copyall
email_in_dn = no
x509_extensions = ext
[ext]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[anything]
commonName = supplied
organizationName = optional
EOF
    genkey "$name"
    "$OPENSSL" req -new -config /dev/null -key "$OUT/$name.key" -subj "$subj" "${addext[@]}" \
        -out "$tmp/req.csr"
    "$OPENSSL" ca -batch -notext -preserveDN -config "$tmp/ca.cnf" \
        -cert "$OUT/$ca.crt" -keyfile "$OUT/$ca.key" \
        -startdate "$start" -enddate "$end" -in "$tmp/req.csr" -out "$OUT/$name.crt" 2>"$tmp/log" \
        || { cat "$tmp/log" >&2; return 1; }
    rm -rf -- "$tmp"
}

# Extension sets.
CA_EXT=('basicConstraints=critical,CA:TRUE' 'keyUsage=critical,keyCertSign,cRLSign'
        'subjectKeyIdentifier=hash')
CLIENT_EXT=('basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature'
            'extendedKeyUsage=clientAuth')
SERVER_EXT=('basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature'
            'extendedKeyUsage=serverAuth')

issue_ca()     { issue_cert "$1" "$2" "$3" "${CA_EXT[@]}" "${@:4}"; }   # NAME CA SUBJECT [EXT...]
issue_client() { issue_cert "$1" "$2" "$3" "${CLIENT_EXT[@]}"; }        # NAME CA SUBJECT
issue_server() { issue_cert "$1" "$2" "$3" "${SERVER_EXT[@]}" "subjectAltName=$4"; } # ... SAN

# kubelet_san NODE IP...: sets $SAN to "DNS:NODE,IP:a,IP:b".  Validates NODE and IPs so that a
# line from a batch file cannot smuggle extra extension syntax or clobber a fixed file.
kubelet_san() {
    local node=$1 ip; shift
    [[ $node =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || die "bad node name: '$node'"
    case $node in
        client|shared|expired-serving|wrong-san|unknown-ca)
            die "node name '$node' would clobber kubelet-$node.crt of the fixed PKI" ;;
    esac
    (( $# > 0 )) || die "node $node: at least one IP needed"
    SAN="DNS:$node"
    for ip in "$@"; do
        [[ $ip =~ ^[0-9a-fA-F:.]+$ && $ip == *[.:]* ]] || die "node $node: bad IP '$ip'"
        SAN+=",IP:$ip"
    done
}

# issue_kubelet NODE IP...: kubelet-NODE.crt with its own key kubelet-NODE.key.
issue_kubelet() {
    local node=$1
    kubelet_san "$@"
    genkey "kubelet-$node"
    sign "kubelet-$node" "kubelet-$node" ca "/CN=system:node:$node/O=system:nodes" \
        "${SERVER_EXT[@]}" "subjectAltName=$SAN"
}

# sign_kubelet_batch_lines LINE...: "NODE IP" lines, signed with the shared key.
sign_kubelet_batch_lines() {
    local line node ip rest
    for line in "$@"; do
        read -r node ip rest <<<"$line"
        [[ -z $rest ]] || die "batch line has more than 'NODE IP': '$line'"
        kubelet_san "$node" "$ip"
        sign "kubelet-$node" kubelet-shared ca "/CN=system:node:$node/O=system:nodes" \
            "${SERVER_EXT[@]}" "subjectAltName=$SAN"
    done
}

# kubelet_batch FILE: see usage.  Lines are dealt round-robin to KUBELET_JOBS background
# subshells (forks of this shell, no exec) so only the openssl processes themselves are spawned.
kubelet_batch() {
    local file=$1 line jobs i n=0
    local -a lines=()
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        [[ $line =~ ^[[:space:]]*$ ]] && continue
        lines+=("$line")
    done <"$file"
    [[ -e $OUT/kubelet-shared.key ]] || genkey kubelet-shared
    jobs=${KUBELET_JOBS:-$(nproc 2>/dev/null || echo 1)}
    (( jobs >= 1 )) || jobs=1
    (( jobs <= ${#lines[@]} )) || jobs=${#lines[@]}
    (( jobs > 0 )) || return 0
    local -a pids=()
    for (( i = 0; i < jobs; i++ )); do
        local -a mine=()
        for (( n = i; n < ${#lines[@]}; n += jobs )); do mine+=("${lines[n]}"); done
        sign_kubelet_batch_lines "${mine[@]}" &
        pids+=($!)
    done
    local rc=0 pid
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    (( rc == 0 )) || die "kubelet batch failed"
}

gen_all() {
    rm -rf -- "$OUT"/.ca.*      # leftovers of an interrupted issue_dated
    local past=(20200101000000Z 20200102000000Z) future=(20990101000000Z 21000101000000Z)

    # Cluster CA and what it signs.
    issue_ca ca self /CN=kubernetes-ca
    issue_server server ca /CN=metrics-server \
        DNS:localhost,DNS:metrics-server.kube-system.svc,IP:127.0.0.1,IP:::1
    issue_server apiserver ca /CN=kube-apiserver DNS:localhost,IP:127.0.0.1
    issue_client kubelet-client ca /CN=system:metrics-server
    issue_client client-admin ca /CN=admin/O=system:masters
    issue_client client-alice ca /CN=alice/O=dev/O=qa
    issue_client client-nogroups ca /CN=bob
    issue_dated client-expired ca /CN=alice/O=dev "${past[@]}" "${CLIENT_EXT[@]}"
    issue_server client-serverauth ca /CN=alice DNS:alice
    issue_client client-as-front-proxy ca /CN=front-proxy-client

    # Front-proxy (requestheader) CA and its clients.
    issue_ca front-proxy-ca self /CN=front-proxy-ca
    issue_client front-proxy-client front-proxy-ca /CN=front-proxy-client
    issue_client front-proxy-other front-proxy-ca /CN=not-allowed-proxy
    issue_dated front-proxy-expired front-proxy-ca /CN=front-proxy-client "${past[@]}" \
        "${CLIENT_EXT[@]}"
    issue_dated front-proxy-notyet front-proxy-ca /CN=front-proxy-client "${future[@]}" \
        "${CLIENT_EXT[@]}"
    issue_cert front-proxy-serverauth front-proxy-ca /CN=front-proxy-client "${SERVER_EXT[@]}"
    issue_cert front-proxy-intermediate-ca front-proxy-ca /CN=front-proxy-intermediate-ca \
        'basicConstraints=critical,CA:TRUE,pathlen:0' 'keyUsage=critical,keyCertSign,cRLSign'
    issue_client front-proxy-chained front-proxy-intermediate-ca /CN=front-proxy-client
    cat "$OUT/front-proxy-chained.crt" "$OUT/front-proxy-intermediate-ca.crt" \
        >"$OUT/front-proxy-chained-bundle.crt"
    issue_cert front-proxy-selfsigned self /CN=front-proxy-client "${CLIENT_EXT[@]}" \
        subjectKeyIdentifier=hash

    # A CA nobody trusts.
    issue_ca unknown-ca self /CN=unknown-ca
    issue_client unknown-client unknown-ca /CN=front-proxy-client/O=system:masters

    # Kubelet serving-cert failure cases.
    issue_dated kubelet-expired-serving ca /CN=system:node:expired "${past[@]}" \
        "${SERVER_EXT[@]}" subjectAltName=DNS:localhost,IP:127.0.0.1
    issue_server kubelet-wrong-san ca /CN=system:node:wrong DNS:wrong.example,IP:127.9.9.9
    issue_server kubelet-unknown-ca unknown-ca /CN=system:node:unknown DNS:localhost,IP:127.0.0.1

    # Negative configuration files.
    cat "$OUT/ca.crt" "$OUT/front-proxy-ca.crt" >"$OUT/ca-bundle-both.crt"
    printf '%s\n' '# This file intentionally contains no certificate (negative test).' \
        >"$OUT/empty.crt"
    printf '%s\n' '-----BEGIN CERTIFICATE-----' \
        'VGhpcyBpcyBub3QgYSBjZXJ0aWZpY2F0ZSwganVzdCBqdW5rIGZvciBhIG5lZ2F0aXZlIHRlc3Qu' \
        'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' \
        '-----END CERTIFICATE-----' >"$OUT/garbage.crt"

    chmod 600 "$OUT"/*.key
    rm -f -- "$OUT"/*.srl
}

main() {
    local mode=full
    case ${1:-} in
        --kubelet) mode='kubelet'; shift ;;
        --kubelet-batch) mode='batch'; shift ;;
        -h|--help|'') sed -n '2,/^# Kubelet serving/s/^# \{0,1\}//p' "$0" | sed '$d' >&2; exit 2 ;;
    esac
    OUT=${1:?OUTDIR missing}; shift
    case $mode in
        full)
            (( $# == 0 )) || die "usage: gen.sh OUTDIR"
            [[ -e $OUT/.done ]] && exit 0
            mkdir -p -- "$OUT"
            gen_all
            : >"$OUT/.done"
            ;;
        kubelet)
            (( $# >= 2 )) || die "usage: gen.sh --kubelet OUTDIR NODENAME IP [IP...]"
            [[ -e $OUT/ca.crt && -e $OUT/ca.key ]] || die "$OUT/ca.crt/.key missing: run gen.sh $OUT first"
            issue_kubelet "$@"
            ;;
        batch)
            (( $# == 1 )) || die "usage: gen.sh --kubelet-batch OUTDIR FILE"
            [[ -e $OUT/ca.crt && -e $OUT/ca.key ]] || die "$OUT/ca.crt/.key missing: run gen.sh $OUT first"
            kubelet_batch "$1"
            ;;
    esac
}

# When sourced, only define the functions (callers set OUT themselves).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
