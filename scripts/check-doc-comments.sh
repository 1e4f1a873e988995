#!/usr/bin/env bash
# Lists the public declarations in Sources/ (generated *.pb.swift files aside) that have no `///`
# doc comment, and fails when there is any: a library a Swift runtime depends on says at each
# public name why it exists (issue #15). The finding comes from swift-format's own
# AllPublicDeclarationsHaveDocumentation rule (the one .swift-format turns on), run alone over the
# whole tree, so it sees declarations the way the compiler parses them rather than by pattern.
#   scripts/check-doc-comments.sh      exit 0 none missing, 1 some missing, 2 tool unavailable
set -euo pipefail
cd "$(dirname "$0")/.."
# Files to exempt while another branch rewrites them (their comments come with that rewrite);
# empty on main.
allow=()
swift format --version >/dev/null 2>&1 || { echo "check-doc-comments: 'swift format' is not available (Swift >= 6)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The committed configuration with every rule off but the documentation one (line length and the
# other settings stay, so the parse is the same as check-format.sh's).
python3 - .swift-format "$work/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["rules"] = {name: name == "AllPublicDeclarationsHaveDocumentation" for name in config["rules"]}
json.dump(config, open(sys.argv[2], "w"))
PY
mapfile -t files < <(git ls-files -co --exclude-standard -- 'Sources/*.swift' | grep -v '\.pb\.swift$' | sort)
filtered=()
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    skip=0
    for a in "${allow[@]}"; do [ "$f" = "$a" ] && skip=1; done
    [ $skip = 1 ] || filtered+=("$f")
done
swift format lint --configuration "$work/config.json" "${filtered[@]}" 2>"$work/lint.txt" || true
# A file swift-format cannot parse yields no finding at all: that is not a pass.
if grep -E ': error:' "$work/lint.txt" >&2; then echo "check-doc-comments: swift format could not read the files above" >&2; exit 2; fi
if grep -F '[AllPublicDeclarationsHaveDocumentation]' "$work/lint.txt" >"$work/missing.txt"; then
    sed -E 's/: warning: \[AllPublicDeclarationsHaveDocumentation\] add a documentation comment for/: no doc comment:/' "$work/missing.txt" >&2
    echo "check-doc-comments: $(wc -l <"$work/missing.txt") public declaration(s) without a /// doc comment (say why it exists, not what its name says)" >&2
    exit 1
fi
echo "check-doc-comments: every public declaration in ${#filtered[@]} files has a doc comment (${#allow[@]} files allowlisted)"
