#!/usr/bin/env bash
# t/asan/run.sh MODULE SUITE...: the Test::Nginx suites against the ASan +
# UBSan build of the module (make test-asan), or, with MEMCHECK=valgrind,
# against the module as `make` builds it with nginx under valgrind's
# memcheck (make test-valgrind).  See README.md here.
#
# Environment: MEMCHECK (asan | valgrind), ASAN_PORT (5984; every other
# port derives from it), ASAN_SERVROOT (/tmp/asan-servroot), ASAN_WORKERS
# (2: master + 2 workers; 0: single process), ASAN_TIMEOUT
# (TEST_NGINX_TIMEOUT: 10, 30 under valgrind), ASAN_STRICT (set: any
# failed assertion fails the run), PROVE (prove).
#
# - Everything goes under $ASAN_SERVROOT: the suites run from a copy of t/
#   in tree/ (the servroots and unit tests left out), taken when the run
#   starts; nginx's server root is servroot/ (the runner's alone: it must
#   be empty once its own directories are removed), its peers and PKI go
#   next to it (K8sMetricsTest::peer_dir).
# - ASan: nginx is t/asan/nginx (TEST_NGINX_BINARY): Debian's binary with
#   gcc's ASan runtime and keep_modules.so (dlclose() a no-op) preloaded.
#   UBSan reports go to stderr, i.e. the error log, where the runner fails
#   the block on "runtime error:"; ASan and LeakSanitizer write
#   $ASAN_SERVROOT/asan-logs/asan.PID (abort_on_error: an ASan error also
#   kills the process, which fails the block), and after each suite
#   t/asan/report.pl fails the run on any ASan error and on any leak whose
#   allocation stack holds a frame of the module (nginx's own by-design
#   exit leaks hold none).
# - valgrind: nginx is t/asan/valgrind-nginx; memcheck writes
#   $ASAN_SERVROOT/asan-logs/vg.PID and t/asan/valgrind-report.pl fails
#   the run on any memcheck error outside the test helpers' njs, and on
#   definite leaks with a frame of the module.
# - The verdict is the tools': a suite fails on what the report finds
#   and on the tests the runner failed for memory-checker evidence (a
#   "runtime error:" or an [alert] in the error log, a hang at exit); its
#   other assertions failing (the instrumented build's timing: a stretched
#   window, or a race make test never meets; the window check is relaxed
#   to "positive", K8S_METRICS_TEST_MIN_WINDOW) are listed as warnings,
#   fatal with ASAN_STRICT=1.

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

memcheck=${MEMCHECK:-asan}

case $memcheck in
asan)
    asan=$(gcc -print-file-name=libasan.so)
    ubsan=$(gcc -print-file-name=libubsan.so)

    for f in "$asan" "$ubsan"; do
        if [ ! -e "$f" ]; then
            echo "run.sh: $f not found (gcc's sanitizer runtimes:" \
                 "libasan8, libubsan1)" >&2
            exit 1
        fi
    done

    # dlclose() made a no-op, so that the module is still mapped when
    # LeakSanitizer symbolizes at exit (see keep_modules.c)
    keep=$servroot/keep_modules.so
    gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$keep" \
        "$root/t/asan/keep_modules.c" || exit 1

    export TEST_NGINX_BINARY=$root/t/asan/nginx
    export ASAN_PRELOAD="$asan $keep"
    export ASAN_LOG_DIR=$logs
    what="ASan+UBSan module"
    report=$root/t/asan/report.pl
    reports='asan.*'
    timeout=10
    ;;
valgrind)
    if ! command -v valgrind >/dev/null; then
        echo "run.sh: valgrind is not installed (make deps)" >&2
        exit 1
    fi

    export TEST_NGINX_BINARY=$root/t/asan/valgrind-nginx
    export VALGRIND_LOG_DIR=$logs
    what="nginx under valgrind memcheck"
    report=$root/t/asan/valgrind-report.pl
    reports='vg.*'
    timeout=30
    ;;
*)
    echo "run.sh: MEMCHECK=$memcheck: asan or valgrind" >&2
    exit 1
    ;;
esac

export TEST_NGINX_MODULE=$module
export TEST_NGINX_SERVER_PORT=$port
export TEST_NGINX_SERVROOT=$servroot/servroot
export K8S_METRICS_TEST_WORKERS=$workers
export TEST_NGINX_LITE=1
# the sanitized module is several times slower: the runner's patience for
# a response (blocks that need more set their own --- timeout)
export TEST_NGINX_TIMEOUT=${ASAN_TIMEOUT:-$timeout}
# the first scrape's slow handshakes shorten the window to the second one
# (t/lib/K8sMetricsCheck.pm): positive is what remains to check
export K8S_METRICS_TEST_MIN_WINDOW=${K8S_METRICS_TEST_MIN_WINDOW:-0.01}
unset TEST_NGINX_PKI

cd "$tree" || exit 1

failed=()
results=()
warnings=()

# failed tests that are sanitizer findings (see t/lib/Test/Nginx/Lite.pm:
# log patterns per request and after shutdown, exit and hang checks)
san_re='runtime error|Sanitizer|\[alert\]|\[emerg\]|exited on signal'
san_re="$san_re|nginx exited normally|nginx exited within|open socket"

for suite in "$@"; do
    name=$(basename "$suite" .t)
    t0=$(date +%s)

    echo "=== $suite ($what, K8S_METRICS_TEST_WORKERS=$workers," \
         "port $port)"

    out=$logs/$name.prove.log
    "$prove" "$suite" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}

    # what the runner failed: sanitizer evidence (UBSan's "runtime error:"
    # in the error log, an [alert] for a process killed by ASan's abort, a
    # hang at exit), or the suite's own assertions
    san=$(grep "Failed test '" "$out" | grep -cE "$san_re")
    func=$(grep "Failed test '" "$out" | grep -cvE "$san_re")

    if [ "$san" -gt 0 ]; then
        status="FAILED ($san sanitizer finding(s) seen by the runner)"

    elif [ "$rc" -ne 0 ] && [ "$func" -eq 0 ]; then
        status="FAILED (prove exited $rc)"

    elif [ "$func" -gt 0 ] && [ -n "${ASAN_STRICT:-}" ]; then
        status="FAILED ($func functional failure(s), ASAN_STRICT)"

    elif [ "$func" -gt 0 ]; then
        status="ok ($func functional failure(s) under $memcheck, not fatal)"
        warnings+=("$suite: $func assertion(s) failed with no $memcheck report: no memory finding, but look at them: the slower build changes timing, which can stretch a window or expose a race that make test's timing hides (ASAN_STRICT=1 makes them fatal)")

    else
        status=ok
    fi

    # what the memory checker wrote while this suite ran
    mkdir -p "$logs/$name"
    find "$logs" -maxdepth 1 -type f -name "$reports" \
         -exec mv -t "$logs/$name" {} +

    if ! perl "$report" "$logs/$name"; then
        status="${status/#ok*/FAILED}; $memcheck reports in $logs/$name"
    fi

    case "$status" in
    ok*) ;;
    *) failed+=("$suite") ;;
    esac

    results+=("$(printf '%-26s %4ss  %s' "$suite" $(( $(date +%s) - t0 )) \
                        "$status")")
done

echo "--- make test-$memcheck: $(( $(date +%s) - start ))s"
printf '%s\n' "${results[@]}"

if [ ${#warnings[@]} -gt 0 ]; then
    printf 'warning: %s\n' "${warnings[@]}"
fi

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
