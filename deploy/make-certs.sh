#!/usr/bin/env bash
# The serving certificate of ngx-metrics and the APIService's caBundle, with
# openssl and kubectl: a private CA, a certificate for the Service's names
# signed by it, the Secret the pods mount, and the CA in the APIService.
#
#   deploy/make-certs.sh [--dry-run] [--out DIR] [--days N] [--ca-days N]
#                        [--namespace NS] [--service NAME] [--secret NAME]
#                        [--apiservice NAME] [--new-ca]
#
# Without --dry-run, after writing the files:
#   kubectl apply -f DIR/secret.yaml          (Secret ngx-metrics-tls)
#   kubectl patch apiservice v1beta1.metrics.k8s.io --type=merge \
#       -p "$(cat DIR/apiservice-patch.json)"  (caBundle = base64 of the CA)
# With --dry-run only the files are written (no kubectl, no cluster).
#
# DIR (default ~/ngx-metrics-certs, out of the repository) keeps the CA:
# run again to renew the serving certificate under the same CA (the caBundle
# does not change); --new-ca makes a new CA too.  DIR holds the CA's private
# key: keep it out of version control.  Without it a later run makes a new
# CA and patches the caBundle, and the APIService is unavailable for the
# minute the pods take to see the new Secret.
#
# The pods read tls.crt and tls.key at each TLS handshake: a renewed Secret
# is served once the kubelet has updated the volume (about a minute), with
# no restart.

set -euo pipefail

dry_run=0
out="${HOME:-.}/ngx-metrics-certs"
days=365
ca_days=3650
namespace=kube-system
service=ngx-metrics
secret=ngx-metrics-tls
apiservice=v1beta1.metrics.k8s.io
new_ca=0

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
    exit "${1:-2}"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --dry-run)     dry_run=1 ;;
    --out)         out=${2:?--out needs a directory}; shift ;;
    --days)        days=${2:?--days needs a number}; shift ;;
    --ca-days)     ca_days=${2:?--ca-days needs a number}; shift ;;
    --namespace)   namespace=${2:?--namespace needs a name}; shift ;;
    --service)     service=${2:?--service needs a name}; shift ;;
    --secret)      secret=${2:?--secret needs a name}; shift ;;
    --apiservice)  apiservice=${2:?--apiservice needs a name}; shift ;;
    --new-ca)      new_ca=1 ;;
    -h|--help)     usage 0 ;;
    *)             echo "make-certs.sh: unknown argument: $1" >&2; usage ;;
    esac
    shift
done

command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found" >&2; exit 1; }
if [ "$dry_run" = 0 ]; then
    command -v kubectl >/dev/null \
        || { echo "make-certs.sh: kubectl not found (--dry-run writes the files only)" >&2; exit 1; }
fi

umask 077
mkdir -p "$out"
cd "$out"

b64() { openssl base64 -A <"$1"; }

# the CA: kept across runs unless --new-ca
if [ "$new_ca" = 1 ] || [ ! -s ca.key ] || [ ! -s ca.crt ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -sha256 -key ca.key -days "$ca_days" \
        -subj "/CN=${service}-ca" -out ca.crt -config /dev/stdin <<EOF
[req]
distinguished_name = dn
x509_extensions = ca
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    echo "make-certs.sh: new CA $(pwd)/ca.crt" >&2
fi

# the serving certificate: the aggregator dials SERVICE.NAMESPACE.svc and
# checks that name against the SANs (Go ignores the CN)
cat >serving.cnf <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${service}.${namespace}.svc
[serving]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:${service}.${namespace}.svc, DNS:${service}.${namespace}.svc.cluster.local, DNS:${service}.${namespace}, DNS:${service}
EOF
openssl ecparam -name prime256v1 -genkey -noout -out tls.key.new
openssl req -new -sha256 -key tls.key.new -config serving.cnf -out tls.csr
openssl x509 -req -sha256 -in tls.csr -CA ca.crt -CAkey ca.key \
    -CAcreateserial -days "$days" -extfile serving.cnf -extensions serving \
    -out tls.crt.new 2>/dev/null
openssl verify -CAfile ca.crt -purpose sslserver tls.crt.new >/dev/null
mv tls.key.new tls.key
mv tls.crt.new tls.crt
rm -f tls.csr

# what goes to the cluster
cat >secret.yaml <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: ${secret}
  namespace: ${namespace}
  labels:
    app.kubernetes.io/name: ngx-metrics
type: kubernetes.io/tls
data:
  tls.crt: $(b64 tls.crt)
  tls.key: $(b64 tls.key)
  ca.crt: $(b64 ca.crt)
EOF

b64 ca.crt >ca-bundle.b64
printf '{"spec":{"caBundle":"%s","insecureSkipTLSVerify":false}}\n' \
    "$(cat ca-bundle.b64)" >apiservice-patch.json

chmod 600 ca.key tls.key secret.yaml
chmod 644 ca.crt tls.crt ca-bundle.b64 apiservice-patch.json

if [ "$dry_run" = 1 ]; then
    cat >&2 <<EOF
make-certs.sh: --dry-run: files in $(pwd); to install them:
  kubectl apply -f $(pwd)/secret.yaml
  kubectl patch apiservice ${apiservice} --type=merge -p "\$(cat $(pwd)/apiservice-patch.json)"
EOF
    exit 0
fi

kubectl apply -f secret.yaml

if ! kubectl get apiservice "$apiservice" >/dev/null 2>&1; then
    cat >&2 <<EOF
make-certs.sh: APIService ${apiservice} not found: apply the manifests
(kubectl apply -k deploy/ha), then patch it:
  kubectl patch apiservice ${apiservice} --type=merge -p "\$(cat $(pwd)/apiservice-patch.json)"
EOF
    exit 1
fi
kubectl patch apiservice "$apiservice" --type=merge -p "$(cat apiservice-patch.json)"
