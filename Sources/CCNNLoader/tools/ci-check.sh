#!/bin/sh
# ci-check.sh — builds the C loader standalone with -Wall -Wextra -Werror, builds the
# AddressSanitizer + UndefinedBehaviorSanitizer variant, and runs cnnm-run under the sanitizers on
#   1. MODEL (any model; folded or not) with INPUT.npy, or with a zero input of the model's input shape;
#   2. hostile files derived from MODEL: empty, a directory, a missing path, prefixes, flipped
#      bytes, trailing bytes, a bad magic, and malformed .npy inputs;
#   3. hostile files made by tools/make_hostile.c (issue 12): a decompression bomb (refused, with
#      a small peak RSS), a 200k-node chain (loads in seconds), names with terminal escapes
#      (escaped in the message), and tensor-op files (a sound one the executor refuses by name;
#      an unknown kind, a dangling constant, a repeated attribute, an over-long list refused);
#   4. the libFuzzer target (make fuzz) for FUZZ_SECONDS (default 30; 0 skips), when clang can
#      build it; a crash input lands in tools/fuzz-crashes/ and fails the check.
# Exits non-zero on a build failure, a sanitizer report, a crash, an accepted hostile file, or
# a failed run of MODEL.
#
# usage: Sources/CCNNLoader/tools/ci-check.sh MODEL [INPUT.npy]
#   CC=clang, PREFIX_STEP=N (prefix stride beyond the first 160 bytes), FLIP_STEP=N (byte stride),
#   FUZZ_SECONDS=N, FUZZ_CC=clang
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 MODEL [INPUT.npy]" >&2; exit 2; }
model=$1
input=${2:-}
[ -f "$model" ] || { echo "ci-check: $model: no such file" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnm-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "== build (-Wall -Wextra -Werror)"
make -s -C "$here" BUILD="$work/build" all
echo "== build (ASan + UBSan)"
make -s -C "$here" BUILD="$work/build" sanitize
run="$work/build/sanitize/cnnm-run"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=90
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=91
export ASAN_OPTIONS UBSAN_OPTIONS

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Runs cnnm-run with the given arguments; $1 is the exit status expected (0 or 3).
expect() {
    want=$1; shift
    set +e
    "$run" "$@" >"$work/out.txt" 2>"$work/err.txt"
    got=$?
    set -e
    if grep -q -e "Sanitizer" -e "runtime error" "$work/err.txt"; then
        fail "sanitizer report for cnnm-run $*"; cat "$work/err.txt" >&2
    elif [ "$got" -ne "$want" ]; then
        fail "cnnm-run $* exited $got, expected $want"; cat "$work/err.txt" >&2
    fi
}

# Like expect 3, and no file among them may be accepted.
expect_refused() {
    expect 3 --check "$@"
    if grep -q ': ok:' "$work/out.txt"; then fail "accepted: $(grep ': ok:' "$work/out.txt" | head -3)"; fi
}

echo "== run $model"
if [ -z "$input" ]; then
    shape=$("$work/build/cnnm-run" --input-shape "$model")
    count=1
    for d in $shape; do count=$((count * d)); done
    dict="{'descr': '<f4', 'fortran_order': False, 'shape': ($(echo "$shape" | sed 's/ /, /g'),), }"
    # Pad so that the 10-byte prefix + dict + newline is a multiple of 64.
    total=$((10 + ${#dict} + 1)); padded=$(( (total + 63) / 64 * 64 )); hlen=$((padded - 10))
    input="$work/input.npy"
    {
        printf '\223NUMPY\001\000'
        printf "$(printf '\\%03o\\%03o' $((hlen % 256)) $((hlen / 256)))"
        printf '%s' "$dict"
        printf '%*s\n' $((hlen - ${#dict} - 1)) ''
        head -c $((count * 4)) /dev/zero
    } >"$input"
fi
expect 0 "$model" "$input" "$work/output.npy"
[ -s "$work/output.npy" ] || fail "no output written for $model"

echo "== hostile inputs"
size=$(wc -c <"$model" | tr -d ' ')
: >"$work/empty.cnnm"
mkdir "$work/dir.cnnm"
expect_refused "$work/empty.cnnm" "$work/dir.cnnm" "$work/missing.cnnm"
cp "$model" "$work/trailing.cnnm"; printf '\000' >>"$work/trailing.cnnm"
expect_refused "$work/trailing.cnnm"
{ printf 'XCNN'; tail -c +5 "$model"; } >"$work/magic.cnnm"
expect_refused "$work/magic.cnnm"

# Prefixes: every length up to 160 bytes, then every PREFIX_STEP bytes.
step=${PREFIX_STEP:-509}
n=0
set --
while [ "$n" -lt "$size" ]; do
    head -c "$n" "$model" >"$work/prefix-$n.cnnm"
    set -- "$@" "$work/prefix-$n.cnnm"
    if [ "$n" -lt 160 ]; then n=$((n + 1)); else n=$((n + step)); fi
done
expect_refused "$@"
rm -f "$work"/prefix-*.cnnm

# Flipped bytes (xor 0x01 by rewriting one byte) every FLIP_STEP bytes, and the last one.
step=${FLIP_STEP:-97}
n=0
set --
while [ "$n" -lt "$size" ]; do
    cp "$model" "$work/flip-$n.cnnm"
    byte=$(od -An -tu1 -j "$n" -N1 "$model" | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$work/flip-$n.cnnm" bs=1 seek="$n" conv=notrunc 2>/dev/null
    set -- "$@" "$work/flip-$n.cnnm"
    if [ "$n" -lt 64 ]; then n=$((n + 1)); else n=$((n + step)); fi
done
expect_refused "$@"
rm -f "$work"/flip-*.cnnm

# Malformed .npy inputs: not an npy, wrong dtype, truncated data.
printf 'not an npy file' >"$work/bad.npy"
expect 3 "$model" "$work/bad.npy" "$work/o.npy"
sed 's/<f4/<f8/' "$input" >"$work/f8.npy"
expect 3 "$model" "$work/f8.npy" "$work/o.npy"
head -c $(( $(wc -c <"$input") - 4 )) "$input" >"$work/short.npy"
expect 3 "$model" "$work/short.npy" "$work/o.npy"

echo "== hostile files (issue 12)"
${CC:-cc} -std=c99 -O2 -I"$here/include" -I"$here/generated" -I"$here" "$here/tools/make_hostile.c" "$here/generated/cnnmodel.pb-c.c" -lprotobuf-c -lz \
    -o "$work/make_hostile"
plain="$work/build/cnnm-run"
# A decompression bomb: 8 f16+deflate tensors of 5 M zeros (~80 KB, 160 MB as floats). Refused by
# the decoded-bytes budget before any tensor is decoded: the peak RSS stays small.
"$work/make_hostile" bomb "$work/bomb.cnnm"
expect_refused "$work/bomb.cnnm"
grep -q CNNM_ERR_DECODED_TOO_LARGE "$work/err.txt" || fail "the bomb was not refused by the budget: $(cat "$work/err.txt")"
if [ -x /usr/bin/time ]; then
    set +e
    /usr/bin/time -f %M -o "$work/rss.txt" "$plain" --check "$work/bomb.cnnm" >/dev/null 2>&1
    set -e
    rss=$(tail -1 "$work/rss.txt")
    echo "   bomb refused at a peak RSS of $rss KB"
    [ "$rss" -lt 32768 ] || fail "refusing the bomb took $rss KB of memory"
fi
# A 200k-node chain: sorted name indexes keep validation n log n (a linear search took minutes).
"$work/make_hostile" chain 200000 "$work/chain.cnnm"
start=$(date +%s)
expect 0 --check "$work/chain.cnnm"
grep -q ': ok: 200000 nodes' "$work/out.txt" || fail "the 200k-node chain did not load"
"$plain" --check "$work/chain.cnnm" >/dev/null
seconds=$(( $(date +%s) - start ))
echo "   200k-node chain: loaded with and without sanitizers in $seconds s"
[ "$seconds" -le 30 ] || fail "the 200k-node chain took $seconds s"
# Names with ESC sequences, a bidi override, a newline and a C1 control: the message escapes them.
"$work/make_hostile" names "$work/names.cnnm"
expect_refused "$work/names.cnnm"
if LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$work/err.txt" || [ "$(wc -l <"$work/err.txt")" -ne 1 ] ||
   LC_ALL=C grep -q "$(printf '\342\200\256')" "$work/err.txt"; then
    fail "a control or bidi character reached the message: $(od -c "$work/err.txt" | head -5)"
fi
grep -q 'n\\x1b\[2J' "$work/err.txt" || fail "the hostile name is not shown escaped: $(cat "$work/err.txt")"
# Tensor ops: a sound one loads but the C executor refuses to run it, naming op and node; an
# unknown kind, a dangling constant operand, a repeated attribute and an over-long list are refused.
"$work/make_hostile" tensor_op valid "$work/tensor-op.cnnm"
expect 0 --check "$work/tensor-op.cnnm"
expect 3 "$work/tensor-op.cnnm" "$input" "$work/o.npy"
grep -q "op 'Transpose' (node 't') is not supported by the C executor" "$work/err.txt" ||
    fail "the C executor did not refuse the tensor op by name: $(cat "$work/err.txt")"
for case in "unknown:op kind 'NoSuchKind'" "dangling:tensor 'ghost'" "duplicate:'perm' appears twice" "oversized:has 1048577 values"; do
    "$work/make_hostile" tensor_op "${case%%:*}" "$work/tensor-op-${case%%:*}.cnnm"
    expect_refused "$work/tensor-op-${case%%:*}.cnnm"
    grep -q -e "${case#*:}" "$work/err.txt" || fail "tensor_op ${case%%:*}: the message lacks \"${case#*:}\": $(cat "$work/err.txt")"
done

fuzz_seconds=${FUZZ_SECONDS:-30}
fuzz_cc=${FUZZ_CC:-$(command -v clang || true)}
if [ "$fuzz_seconds" -gt 0 ] && [ -n "$fuzz_cc" ] &&
   echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
       "$fuzz_cc" -x c -fsanitize=fuzzer - -o "$work/fuzz-probe" 2>/dev/null; then
    echo "== fuzz the loader for $fuzz_seconds s ($fuzz_cc)"
    if ! make -s -C "$here" BUILD="$work/build" FUZZ_CC="$fuzz_cc" FUZZ_SECONDS="$fuzz_seconds" fuzz >"$work/fuzz.txt" 2>&1; then
        fail "the fuzzer found a crash (kept in tools/fuzz-crashes/): $(grep -E 'ERROR|SUMMARY' "$work/fuzz.txt" | head -3)"
    fi
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/fuzz.txt" | sed 's/^/   /'
else
    echo "== fuzzing skipped (FUZZ_SECONDS=$fuzz_seconds, no clang with -fsanitize=fuzzer)"
fi

if [ "$failures" -ne 0 ]; then
    echo "ci-check: $failures failure(s)" >&2
    exit 1
fi
echo "ci-check: ok (build -Werror, ASan+UBSan run of $(basename "$model"), hostile files refused cleanly, fuzzing)"
