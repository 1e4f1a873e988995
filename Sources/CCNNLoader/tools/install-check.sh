#!/bin/sh
# install-check.sh — installs libcnnm into a temporary PREFIX with `make install`, checks what
# was installed (static and shared library with its soname and symlinks, the header under
# include/cnnm/, no protobuf-c header, cnnm.pc), builds examples/top_class.c the way the README
# says (`cc app.c $(pkg-config --cflags --libs cnnm)`) against the installed files only — shared,
# then static — runs it on a folded fixture and checks its top class against the argmax of the
# Swift executor's output (`cnnconv run`), then `make uninstall` and checks nothing is left.
#
# usage: Sources/CCNNLoader/tools/install-check.sh [MODEL.cnnm]
#   MODEL defaults to fixtures/small_cnn.cnnm, folded first with the built cnnconv
#   (CNNCONV=path, else `swift build --show-bin-path`/cnnconv; build it with
#   `swift build --product cnnconv`). BLAS=openblas is passed on to make.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
model=${1:-$root/fixtures/small_cnn.cnnm}
cnnconv=${CNNCONV:-$(cd "$root" && swift build --show-bin-path)/cnnconv}
[ -x "$cnnconv" ] || { echo "install-check: $cnnconv not found — run 'swift build --product cnnconv' first" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnm-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
prefix="$work/prefix"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

echo "== make install PREFIX=$prefix ${BLAS:+BLAS=$BLAS}"
make -s -C "$here" BUILD="$work/build" PREFIX="$prefix" ${BLAS:+BLAS=$BLAS} install >/dev/null
version=$(sed -n 's/^#define CNNM_VERSION_STRING "\(.*\)"$/\1/p' "$here/include/cnnm.h")
major=${version%%.*}
for f in lib/libcnnm.a "lib/libcnnm.so.$version" include/cnnm/cnnm.h lib/pkgconfig/cnnm.pc bin/cnnm-run; do
    [ -f "$prefix/$f" ] || fail "not installed: $f"
done
[ "$(readlink "$prefix/lib/libcnnm.so.$major")" = "libcnnm.so.$version" ] || fail "libcnnm.so.$major is not a link to libcnnm.so.$version"
[ "$(readlink "$prefix/lib/libcnnm.so")" = "libcnnm.so.$major" ] || fail "libcnnm.so is not a link to libcnnm.so.$major"
soname=$(readelf -d "$prefix/lib/libcnnm.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libcnnm.so.$major" ] || fail "soname is '$soname', expected libcnnm.so.$major"
if find "$prefix/include" -name '*pb-c*' | grep -q .; then fail "protobuf-c's generated header was installed"; fi
if nm -D --defined-only "$prefix/lib/libcnnm.so" | grep -q -e ' T cnnconv__' -e ' T cnnm_fail'; then
    fail "libcnnm.so exports internal symbols"
fi

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --print-requires-private cnnm | grep -q libprotobuf-c || fail "cnnm.pc lacks Requires.private: libprotobuf-c"
[ "$(pkg-config --modversion cnnm)" = "$version" ] || fail "pkg-config --modversion cnnm is not $version"

echo "== build examples/top_class.c with pkg-config (shared, then static)"
cp "$here/examples/top_class.c" "$work/app.c"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$work/app.c" $(pkg-config --cflags --libs cnnm) -o "$work/top_class"
ldd "$work/top_class" | grep -q "libcnnm.so.$major => $prefix/lib" 2>/dev/null ||
    LD_LIBRARY_PATH="$prefix/lib" ldd "$work/top_class" | grep -q "libcnnm.so.$major => $prefix/lib" ||
    fail "top_class does not load libcnnm.so.$major from $prefix/lib"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$work/app.c" $(pkg-config --cflags cnnm) -L"$prefix/lib" -Wl,-Bstatic -lcnnm -Wl,-Bdynamic \
    $(pkg-config --static --libs cnnm | sed 's/-lcnnm//') -o "$work/top_class_static"
cat > "$work/version.c" <<'C'
#include <cnnm.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    printf("%s\n", cnnm_version());
    return strcmp(cnnm_version(), CNNM_VERSION_STRING) != 0 || cnnm_version_number() != CNNM_VERSION_NUMBER;
}
C
# shellcheck disable=SC2046
cc -std=c99 "$work/version.c" $(pkg-config --cflags --libs cnnm) -o "$work/version"
[ "$(LD_LIBRARY_PATH="$prefix/lib" "$work/version")" = "$version" ] || fail "cnnm_version() is not $version"

echo "== run on $(basename "$model") (folded) and compare with the Swift executor"
folded="$work/model.folded.cnnm"
"$cnnconv" fold "$model" -o "$folded" >/dev/null
"$cnnconv" run "$folded" --seed 7 --save-input "$work/x.npy" --output "$work/y.npy" >/dev/null
# .npy version 1: a 10-byte prefix whose bytes 8-9 are the header length, then the data.
npy_data_offset() { echo $((10 + $(od -A n -t u2 -j 8 -N 2 "$1"))); }
tail -c +$(($(npy_data_offset "$work/x.npy") + 1)) "$work/x.npy" > "$work/x.f32"
set -- $(od -A n -v -t f4 -j "$(npy_data_offset "$work/y.npy")" "$work/y.npy" |
    tr -s ' ' '\n' | grep -v '^$' | awk 'NR == 1 || $1 > best { best = $1; index_ = NR - 1 } END { print index_, best }')
swift_class=$1 swift_score=$2
for exe in top_class top_class_static; do
    out=$(LD_LIBRARY_PATH="$prefix/lib" "$work/$exe" "$folded" "$work/x.f32") || fail "$exe exited non-zero"
    echo "   $exe: $out; Swift executor: class $swift_class (score $swift_score)"
    case "$out" in "class $swift_class "*) ;; *) fail "$exe printed '$out', the Swift executor's top class is $swift_class" ;; esac
    score=$(echo "$out" | sed -n 's/.*(score \(.*\))/\1/p')
    awk -v c="$score" -v s="$swift_score" 'BEGIN { d = c - s; if (d < 0) d = -d; a = s < 0 ? -s : s; exit !(d <= 1e-5 * (1 + a)) }' ||
        fail "$exe's score $score differs from the Swift executor's $swift_score by more than 1e-5·(1 + |ref|)"
done

echo "== make uninstall"
make -s -C "$here" BUILD="$work/build" PREFIX="$prefix" uninstall >/dev/null
left=$(find "$prefix" ! -type d)
[ -z "$left" ] || fail "left after uninstall: $left"

if [ "$failures" -ne 0 ]; then echo "install-check: $failures failure(s)" >&2; exit 1; fi
echo "install-check: ok"
