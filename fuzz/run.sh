#!/usr/bin/env bash
# Runs the libFuzzer targets built by fuzz/fuzz.mk (make fuzz, fuzz-ci,
# fuzz-regress call it).
#
#   fuzz/run.sh regress TARGET...        every file of fuzz/regressions/T and
#                                        fuzz/corpus/T, once each
#   fuzz/run.sh fuzz SECONDS TARGET...   each target for SECONDS, one after
#                                        the other
#
# Fuzzing starts from the committed seeds (fuzz/corpus/T, read only) and a
# working corpus under $FUZZ_OUT/corpus/T, which is where new inputs go;
# crashes land in $FUZZ_OUT/artifacts/T/, logs in $FUZZ_OUT/logs/.  Exits
# non-zero when any target failed.

set -u
cd "$(dirname "$0")/.."

out=${FUZZ_OUT:-build/fuzz}
mode=${1:?usage: run.sh regress|fuzz [SECONDS] TARGET...}
shift

if [ "$mode" = fuzz ]; then
    seconds=${1:?seconds}
    shift
fi

# leaks too; UB is fatal (the targets are built -fno-sanitize-recover)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -A max_len=([parser]=32768 [selector]=4096 [extra_key]=4096
                    [quantity]=16 [emit]=8192 [accept]=2048)

mkdir -p "$out/logs"
failed=()
summary=()

for t in "$@"; do
    bin=$out/bin/fuzz_$t
    log=$out/logs/$t.$mode.log

    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin is not built" >&2
        failed+=("$t")
        continue
    fi

    if [ "$mode" = regress ]; then
        mapfile -t files < <(find "fuzz/regressions/$t" "fuzz/corpus/$t" \
                                  -type f ! -name 'README*' 2>/dev/null | sort)

        if [ ${#files[@]} -eq 0 ]; then
            summary+=("$(printf '%-10s %s' "$t" 'no inputs')")
            continue
        fi

        if "$bin" "${files[@]}" >"$log" 2>&1; then
            summary+=("$(printf '%-10s %5d inputs replayed, ok' "$t" \
                                "${#files[@]}")")
        else
            echo "=== fuzz_$t: an input of fuzz/regressions/$t or" \
                 "fuzz/corpus/$t fails; the end of $log:" >&2
            tail -40 "$log" >&2
            failed+=("$t")
            summary+=("$(printf '%-10s FAILED (%s)' "$t" "$log")")
        fi

        continue
    fi

    corpus=$out/corpus/$t
    artifacts=$out/artifacts/$t
    mkdir -p "$corpus" "$artifacts"

    args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10
          -rss_limit_mb=2048 -max_len="${max_len[$t]:-4096}"
          -use_value_profile=1 -artifact_prefix="$artifacts/")

    if [ -f "fuzz/dict/$t.dict" ]; then
        args+=(-dict="fuzz/dict/$t.dict")
    fi

    dirs=("$corpus")
    for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done

    echo "=== fuzz_$t: ${seconds}s, log $log"

    if "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        failed+=("$t")
        echo "=== fuzz_$t FAILED; the end of $log:" >&2
        tail -60 "$log" >&2
        echo "=== the input is in $artifacts/; once understood, copy it" \
             "to fuzz/regressions/$t/ (make fuzz-regress replays it)" >&2
    fi

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    units=$(find "$corpus" -type f | wc -l)

    summary+=("$(printf '%-10s %10s execs %7s/s  %-9s corpus %5d  %s' "$t" \
                        "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" \
                        "$units" "$result")")
done

echo "--- fuzz/run.sh $mode ${seconds:-}"
printf '%s\n' "${summary[@]}"

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
