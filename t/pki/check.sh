#!/usr/bin/env bash
# t/pki/check.sh OUTDIR -- assert that the PKI written by t/pki/gen.sh has every property the
# tests rely on (subject, issuer, chain, EKU / purpose, SAN, validity window, key match, modes).
# Prints failures only (VERBOSE=1: every assertion) and a summary; exits 1 if any failed.
# Any kubelet-NODE.crt issued with `gen.sh --kubelet` / `--kubelet-batch` is checked too
# (2-3 openssl processes per cert).

set -euo pipefail

OPENSSL=${OPENSSL:-openssl}
D=${1:?usage: check.sh OUTDIR}
cd -- "$D"

failed=0 passed=0
ok()  { passed=$((passed + 1)); [[ -n ${VERBOSE:-} ]] && echo "ok   - $*"; return 0; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }

# is DESC GOT WANT
is() { if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }

# load NAME: parse NAME.crt (one openssl process, cached for the last cert) into F[]:
#   F[subject] F[issuer] F[notBefore] F[notAfter] F[pubkey] F[oid] F[sigalg]
#   F[bc] F[ku] F[eku] F[san]  (extension values, lines joined) and F[bc.crit] F[ku.crit] ...
declare -A F=()
loaded=
load() {
    [[ $loaded == "$1" ]] && return 0
    F=() loaded=$1
    local line key='' inpub=''
    while IFS= read -r line; do
        if [[ -n $inpub ]]; then
            F[pubkey]+=$'\n'$line; [[ $line == '-----END PUBLIC KEY-----' ]] && inpub=
            continue
        fi
        case $line in
            subject=*|issuer=*|notBefore=*|notAfter=*) F[${line%%=*}]=${line#*=}; key= ;;
            'X509v3 '*:*)
                case $line in
                    'X509v3 Basic Constraints:'*) key='bc' ;;
                    'X509v3 Key Usage:'*) key='ku' ;;
                    'X509v3 Extended Key Usage:'*) key='eku' ;;
                    'X509v3 Subject Alternative Name:'*) key='san' ;;
                    *) key= ;;
                esac
                [[ -n $key && $line == *': critical' ]] && F[$key.crit]=1 ;;
            '-----BEGIN PUBLIC KEY-----') F[pubkey]=$line; inpub=1; key= ;;
            '    '[!\ ]*)
                [[ -n $key ]] && F[$key]+=${F[$key]:+ }${line#    } ;;
            *'ASN1 OID: '*) [[ -z ${F[oid]:-} ]] && F[oid]=${line#*ASN1 OID: } ;;
            *'Signature Algorithm: '*) [[ -z ${F[sigalg]:-} ]] && F[sigalg]=${line#*Algorithm: } ;;
        esac
    done < <("$OPENSSL" x509 -in "$1.crt" -noout -text -subject -issuer -startdate -enddate \
                 -ext basicConstraints,keyUsage,extendedKeyUsage,subjectAltName -pubkey 2>/dev/null)
    [[ -n ${F[subject]:-} ]] || bad "$1.crt: cannot parse"
}

# f NAME KEY: one parsed field of NAME.crt ('' if absent)
f() { load "$1"; printf '%s' "${F[$2]:-}"; }

# verify_ok NAME CAFILE PURPOSE [VERIFY-ARGS...]
verify_ok() {
    local n=$1 ca=$2 purpose=$3 out; shift 3
    if out=$("$OPENSSL" verify -x509_strict -CAfile "$ca.crt" -purpose "$purpose" "$@" "$n.crt" 2>&1) \
        && [[ $out == "$n.crt: OK" ]]; then
        ok "$n verifies against $ca ($purpose $*)"
    else
        bad "$n should verify against $ca ($purpose $*): $out"
    fi
}

# verify_fail NAME CAFILE PURPOSE PATTERN [VERIFY-ARGS...]: must fail with PATTERN in the output
verify_fail() {
    local n=$1 ca=$2 purpose=$3 pat=$4 out; shift 4
    if out=$("$OPENSSL" verify -CAfile "$ca.crt" -purpose "$purpose" "$@" "$n.crt" 2>&1); then
        bad "$n must NOT verify against $ca ($purpose $*): $out"
    elif [[ $out == *"$pat"* ]]; then
        ok "$n rejected by $ca ($purpose $*): $pat"
    else
        bad "$n rejected by $ca ($purpose $*) but not with '$pat': $out"
    fi
}

# cert NAME SUBJECT ISSUER: subject/issuer as printed by openssl x509 (default -nameopt)
cert() {
    load "$1"
    is "$1 subject" "${F[subject]:-}" "$2"
    is "$1 issuer" "${F[issuer]:-}" "$3"
}

# keypair NAME [KEYNAME]: KEYNAME.key (default NAME) holds the private key of NAME.crt
keypair() {
    local k=${2:-$1}
    load "$1"
    is "$1.crt matches $k.key" "${F[pubkey]:-}" "$("$OPENSSL" pkey -in "$k.key" -pubout)"
}

# valid_now NAME: inside its validity window for at least a year
valid_now() {
    if "$OPENSSL" x509 -in "$1.crt" -noout -checkend $((365 * 86400)) >/dev/null; then
        ok "$1 valid for >= 1 year"
    else bad "$1 expires within a year: $(f "$1" notAfter)"; fi
}

# dates NAME NOTBEFORE NOTAFTER (openssl's printed form)
dates() {
    load "$1"
    is "$1 notBefore" "${F[notBefore]:-}" "$2"
    is "$1 notAfter" "${F[notAfter]:-}" "$3"
}

CLIENT='TLS Web Client Authentication'
SERVER='TLS Web Server Authentication'
# x509ext NAME BASICCONSTRAINTS KEYUSAGE EKU: values as openssl prints them; basicConstraints and
# keyUsage must also be critical.
x509ext() {
    load "$1"
    is "$1 basicConstraints" "${F[bc]:-}" "$2"
    is "$1 keyUsage" "${F[ku]:-}" "$3"
    is "$1 extendedKeyUsage" "${F[eku]:-}" "$4"
    is "$1 basicConstraints critical" "${F[bc.crit]:-}" 1
    is "$1 keyUsage critical" "${F[ku.crit]:-}" 1
}
ca_ext()     { x509ext "$1" "${2:-CA:TRUE}" 'Certificate Sign, CRL Sign' ''; }
client_ext() { x509ext "$1" CA:FALSE 'Digital Signature' "$CLIENT"; }
server_ext() { x509ext "$1" CA:FALSE 'Digital Signature' "$SERVER"; }
san()        { is "$1 subjectAltName" "$(f "$1" san)" "$2"; }

FIXED=(ca server apiserver kubelet-client client-admin client-alice client-nogroups
       client-expired client-serverauth client-as-front-proxy front-proxy-ca front-proxy-client
       front-proxy-other front-proxy-expired front-proxy-notyet front-proxy-serverauth
       front-proxy-intermediate-ca front-proxy-chained front-proxy-selfsigned unknown-ca
       unknown-client kubelet-expired-serving kubelet-wrong-san kubelet-unknown-ca)

# ---- every fixed cert: present, key matches, key mode 600, ECDSA P-256 / SHA-256
for n in "${FIXED[@]}"; do
    if [[ ! -s $n.crt || ! -s $n.key ]]; then bad "$n.crt/.key missing"; continue; fi
    keypair "$n"
    is "$n.key mode" "$(stat -c %a "$n.key")" 600
    is "$n key curve" "$(f "$n" oid)" prime256v1
    is "$n signature algorithm" "$(f "$n" sigalg)" ecdsa-with-SHA256
done
if [[ -e .done ]]; then ok ".done present"; else bad ".done missing"; fi

# ---- cluster CA and what it signs
cert ca 'CN = kubernetes-ca' 'CN = kubernetes-ca'
ca_ext ca; valid_now ca; verify_ok ca ca any

cert server 'CN = metrics-server' 'CN = kubernetes-ca'
server_ext server; valid_now server
san server 'DNS:localhost, DNS:metrics-server.kube-system.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'
verify_ok server ca sslserver -verify_hostname localhost
verify_ok server ca sslserver -verify_hostname metrics-server.kube-system.svc
verify_ok server ca sslserver -verify_ip 127.0.0.1
verify_ok server ca sslserver -verify_ip ::1
verify_fail server ca sslclient 'unsuitable certificate purpose'

cert apiserver 'CN = kube-apiserver' 'CN = kubernetes-ca'
server_ext apiserver; valid_now apiserver
san apiserver 'DNS:localhost, IP Address:127.0.0.1'
verify_ok apiserver ca sslserver -verify_ip 127.0.0.1

cert kubelet-client 'CN = system:metrics-server' 'CN = kubernetes-ca'
client_ext kubelet-client; valid_now kubelet-client
verify_ok kubelet-client ca sslclient

# ---- x509 client certs
cert client-admin 'CN = admin, O = system:masters' 'CN = kubernetes-ca'
client_ext client-admin; valid_now client-admin; verify_ok client-admin ca sslclient

cert client-alice 'CN = alice, O = dev, O = qa' 'CN = kubernetes-ca'
is "client-alice has two O values" \
    "$("$OPENSSL" x509 -in client-alice.crt -noout -subject -nameopt multiline |
       grep -c '^ *organizationName *= ')" 2
client_ext client-alice; valid_now client-alice; verify_ok client-alice ca sslclient

cert client-nogroups 'CN = bob' 'CN = kubernetes-ca'
client_ext client-nogroups; valid_now client-nogroups; verify_ok client-nogroups ca sslclient

cert client-expired 'CN = alice, O = dev' 'CN = kubernetes-ca'
client_ext client-expired
dates client-expired 'Jan  1 00:00:00 2020 GMT' 'Jan  2 00:00:00 2020 GMT'
verify_fail client-expired ca sslclient 'certificate has expired'

cert client-serverauth 'CN = alice' 'CN = kubernetes-ca'
server_ext client-serverauth; valid_now client-serverauth
verify_fail client-serverauth ca sslclient 'unsuitable certificate purpose'

cert client-as-front-proxy 'CN = front-proxy-client' 'CN = kubernetes-ca'
client_ext client-as-front-proxy
verify_ok client-as-front-proxy ca sslclient
verify_fail client-as-front-proxy front-proxy-ca sslclient 'unable to get local issuer certificate'

# ---- front-proxy (requestheader) CA and clients
cert front-proxy-ca 'CN = front-proxy-ca' 'CN = front-proxy-ca'
ca_ext front-proxy-ca; valid_now front-proxy-ca

cert front-proxy-client 'CN = front-proxy-client' 'CN = front-proxy-ca'
client_ext front-proxy-client; valid_now front-proxy-client
verify_ok front-proxy-client front-proxy-ca sslclient
verify_fail front-proxy-client ca sslclient 'unable to get local issuer certificate'

cert front-proxy-other 'CN = not-allowed-proxy' 'CN = front-proxy-ca'
client_ext front-proxy-other; verify_ok front-proxy-other front-proxy-ca sslclient

cert front-proxy-expired 'CN = front-proxy-client' 'CN = front-proxy-ca'
client_ext front-proxy-expired
dates front-proxy-expired 'Jan  1 00:00:00 2020 GMT' 'Jan  2 00:00:00 2020 GMT'
verify_fail front-proxy-expired front-proxy-ca sslclient 'certificate has expired'

cert front-proxy-notyet 'CN = front-proxy-client' 'CN = front-proxy-ca'
client_ext front-proxy-notyet
dates front-proxy-notyet 'Jan  1 00:00:00 2099 GMT' 'Jan  1 00:00:00 2100 GMT'
verify_fail front-proxy-notyet front-proxy-ca sslclient 'certificate is not yet valid'

cert front-proxy-serverauth 'CN = front-proxy-client' 'CN = front-proxy-ca'
server_ext front-proxy-serverauth
verify_ok front-proxy-serverauth front-proxy-ca sslserver
verify_fail front-proxy-serverauth front-proxy-ca sslclient 'unsuitable certificate purpose'

cert front-proxy-intermediate-ca 'CN = front-proxy-intermediate-ca' 'CN = front-proxy-ca'
ca_ext front-proxy-intermediate-ca 'CA:TRUE, pathlen:0'; valid_now front-proxy-intermediate-ca
verify_ok front-proxy-intermediate-ca front-proxy-ca any

cert front-proxy-chained 'CN = front-proxy-client' 'CN = front-proxy-intermediate-ca'
client_ext front-proxy-chained; valid_now front-proxy-chained
verify_ok front-proxy-chained front-proxy-ca sslclient -untrusted front-proxy-intermediate-ca.crt
verify_ok front-proxy-chained front-proxy-ca sslclient -untrusted front-proxy-chained-bundle.crt
verify_fail front-proxy-chained front-proxy-ca sslclient 'unable to get local issuer certificate'
is "front-proxy-chained-bundle.crt = leaf + intermediate" \
    "$(cat front-proxy-chained-bundle.crt)" "$(cat front-proxy-chained.crt front-proxy-intermediate-ca.crt)"

cert front-proxy-selfsigned 'CN = front-proxy-client' 'CN = front-proxy-client'
client_ext front-proxy-selfsigned; valid_now front-proxy-selfsigned
verify_fail front-proxy-selfsigned front-proxy-ca sslclient 'self-signed certificate'

# ---- untrusted CA
cert unknown-ca 'CN = unknown-ca' 'CN = unknown-ca'
ca_ext unknown-ca
cert unknown-client 'CN = front-proxy-client, O = system:masters' 'CN = unknown-ca'
client_ext unknown-client
verify_ok unknown-client unknown-ca sslclient
verify_fail unknown-client front-proxy-ca sslclient 'unable to get local issuer certificate'
verify_fail unknown-client ca sslclient 'unable to get local issuer certificate'

# ---- kubelet serving-cert failure cases
cert kubelet-expired-serving 'CN = system:node:expired' 'CN = kubernetes-ca'
server_ext kubelet-expired-serving
san kubelet-expired-serving 'DNS:localhost, IP Address:127.0.0.1'
dates kubelet-expired-serving 'Jan  1 00:00:00 2020 GMT' 'Jan  2 00:00:00 2020 GMT'
verify_fail kubelet-expired-serving ca sslserver 'certificate has expired' -verify_ip 127.0.0.1

cert kubelet-wrong-san 'CN = system:node:wrong' 'CN = kubernetes-ca'
server_ext kubelet-wrong-san; valid_now kubelet-wrong-san
san kubelet-wrong-san 'DNS:wrong.example, IP Address:127.9.9.9'
verify_ok kubelet-wrong-san ca sslserver -verify_ip 127.9.9.9
verify_fail kubelet-wrong-san ca sslserver 'IP address mismatch' -verify_ip 127.0.0.1
verify_fail kubelet-wrong-san ca sslserver 'hostname mismatch' -verify_hostname localhost

cert kubelet-unknown-ca 'CN = system:node:unknown' 'CN = unknown-ca'
server_ext kubelet-unknown-ca
san kubelet-unknown-ca 'DNS:localhost, IP Address:127.0.0.1'
verify_ok kubelet-unknown-ca unknown-ca sslserver -verify_ip 127.0.0.1
verify_fail kubelet-unknown-ca ca sslserver 'unable to get local issuer certificate' -verify_ip 127.0.0.1

# ---- negative configuration files
is "ca-bundle-both.crt = ca.crt + front-proxy-ca.crt" \
    "$(cat ca-bundle-both.crt)" "$(cat ca.crt front-proxy-ca.crt)"
verify_ok client-admin ca-bundle-both sslclient
verify_ok front-proxy-client ca-bundle-both sslclient
for n in empty garbage; do
    if [[ -s $n.crt ]] && ! "$OPENSSL" x509 -in "$n.crt" -noout 2>/dev/null; then
        ok "$n.crt is non-empty and holds no certificate"
    else
        bad "$n.crt should be a non-empty file without a parseable certificate"
    fi
done
if grep -q -- '-----BEGIN CERTIFICATE-----' garbage.crt; then ok "garbage.crt has a PEM header"
else bad "garbage.crt lacks a PEM header"; fi
if grep -q -- '-----BEGIN' empty.crt; then bad "empty.crt contains a PEM block"
else ok "empty.crt has no PEM block"; fi

# ---- per-node kubelet serving certs from --kubelet / --kubelet-batch
shopt -s nullglob
nodes=0 shared_pub=
[[ -e kubelet-shared.key ]] && shared_pub=$("$OPENSSL" pkey -in kubelet-shared.key -pubout)
for f in kubelet-*.crt; do
    n=${f%.crt} node=${n#kubelet-}
    case $node in client|expired-serving|wrong-san|unknown-ca) continue ;; esac
    nodes=$((nodes + 1))
    key=$n; [[ -e $n.key ]] || key=kubelet-shared
    if [[ $key == kubelet-shared ]]; then want_pub=$shared_pub
    else want_pub=$("$OPENSSL" pkey -in "$key.key" -pubout); fi
    load "$n"
    san=${F[san]:-} ip=
    [[ $san =~ IP\ Address:([^,]+) ]] && ip=${BASH_REMATCH[1]}
    vargs=(-verify_hostname "$node")
    [[ -n $ip ]] && vargs+=(-verify_ip "$ip")
    if [[ ${F[subject]:-} == "CN = system:node:$node, O = system:nodes" &&
          ${F[issuer]:-} == 'CN = kubernetes-ca' &&
          $san == "DNS:$node, IP Address:"* &&
          ${F[eku]:-} == "$SERVER" && ${F[bc]:-} == CA:FALSE &&
          ${F[pubkey]:-} == "$want_pub" ]]; then
        ok "$n: subject, issuer, SAN, EKU, key ($key)"
    else
        bad "$n: unexpected content (key $key): $(declare -p F)"
    fi
    verify_ok "$n" ca sslserver "${vargs[@]}"
done
(( nodes == 0 )) || echo "checked $nodes per-node kubelet certs"

echo "$passed passed, $failed failed"
(( failed == 0 ))
