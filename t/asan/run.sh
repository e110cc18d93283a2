#!/usr/bin/env bash
# t/asan/run.sh MODULE SUITE...: the Test::Nginx suites against the ASan +
# UBSan build of the module (make test-asan calls it; see README.md here).
#
# Environment: ASAN_PORT (5984; every other port derives from it),
# ASAN_SERVROOT (/tmp/asan-servroot), ASAN_WORKERS (2: master + 2 workers;
# 0: single process), ASAN_TIMEOUT (10: TEST_NGINX_TIMEOUT), PROVE (prove).
#
# - The suites run from a fresh copy of t/ under $ASAN_SERVROOT/tree (the
#   servroots and unit tests left out): the kubelet simulator's directory
#   (t/servroot-sim) and the PKI are per checkout in K8sMetricsTest.pm, and
#   another run of the suites in this checkout must not share them.
# - nginx is t/asan/nginx (TEST_NGINX_BINARY): Debian's binary with gcc's
#   ASan runtime and keep_modules.so (dlclose() a no-op) preloaded.  UBSan reports go to stderr, i.e. the error log, where the runner fails the block on
#   "runtime error:"; ASan and LeakSanitizer write $ASAN_SERVROOT/asan-logs/
#   asan.PID (abort_on_error: an ASan error also kills the process, which
#   fails the block), and after each suite t/asan/report.pl fails the run
#   on any ASan error and on any leak whose allocation stack holds a frame
#   of the module (nginx's own by-design exit leaks hold none).

set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
module=$(cd "$(dirname "${1:?usage: run.sh MODULE SUITE...}")" && pwd)/$(basename "$1")
shift

servroot=${ASAN_SERVROOT:-/tmp/asan-servroot}
port=${ASAN_PORT:-5984}
workers=${ASAN_WORKERS:-2}
prove=${PROVE:-prove}
tree=$servroot/tree
logs=$servroot/asan-logs

if [ ! -f "$module" ]; then
    echo "run.sh: $module is not built" >&2
    exit 1
fi

start=$(date +%s)

rm -rf "$tree" "$logs"
mkdir -p "$tree/t" "$logs"

tar -C "$root/t" --exclude='./servroot*' --exclude=./unit -cf - . \
    | tar -C "$tree/t" -xf - || exit 1

asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)

for f in "$asan" "$ubsan"; do
    if [ ! -e "$f" ]; then
        echo "run.sh: $f not found (gcc's sanitizer runtimes: libasan8," \
             "libubsan1)" >&2
        exit 1
    fi
done

# dlclose() made a no-op, so that the module is still mapped when
# LeakSanitizer symbolizes at exit (see keep_modules.c)
keep=$servroot/keep_modules.so
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$keep" \
    "$root/t/asan/keep_modules.c" || exit 1

export TEST_NGINX_BINARY=$root/t/asan/nginx
export TEST_NGINX_MODULE=$module
export TEST_NGINX_SERVER_PORT=$port
export TEST_NGINX_SERVROOT=$servroot
export K8S_METRICS_TEST_WORKERS=$workers
export TEST_NGINX_LITE=1
# the sanitized module is several times slower: the runner's patience for
# a response (blocks that need more set their own --- timeout)
export TEST_NGINX_TIMEOUT=${ASAN_TIMEOUT:-10}
export ASAN_PRELOAD="$asan $keep"
export ASAN_LOG_DIR=$logs
unset TEST_NGINX_PKI

cd "$tree" || exit 1

failed=()
results=()

for suite in "$@"; do
    name=$(basename "$suite" .t)
    t0=$(date +%s)

    echo "=== $suite (ASan+UBSan module, K8S_METRICS_TEST_WORKERS=$workers," \
         "port $port)"

    if "$prove" "$suite"; then
        status=ok
    else
        status="FAILED (prove)"
    fi

    # what the sanitizers wrote while this suite ran
    mkdir -p "$logs/$name"
    find "$logs" -maxdepth 1 -type f -name 'asan.*' \
         -exec mv -t "$logs/$name" {} +

    if ! perl "$root/t/asan/report.pl" "$logs/$name"; then
        status="${status/#ok/FAILED}; sanitizer reports in $logs/$name"
    fi

    [ "$status" = ok ] || failed+=("$suite")

    results+=("$(printf '%-26s %4ss  %s' "$suite" $(( $(date +%s) - t0 )) \
                        "$status")")
done

echo "--- make test-asan: $(( $(date +%s) - start ))s"
printf '%s\n' "${results[@]}"

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
