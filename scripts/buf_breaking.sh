#!/usr/bin/env bash
# Breaking-change check of proto/ against an earlier commit (default: the previous one), offline.
#   scripts/buf_breaking.sh            against HEAD~1
#   BUF_BREAKING_AGAINST=<ref> scripts/buf_breaking.sh
# The earlier proto/ is exported with `git archive` into a temporary workspace that gets the
# current buf.yaml and the same google/api deps (.build/buf_deps, from scripts/buf_deps.py):
# buf's own `.git#ref=` input cannot see the gitignored deps module. Skips (exit 0, with a
# message) when there is nothing to compare against: a shallow clone, no earlier commit, or an
# earlier commit without proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
against="${BUF_BREAKING_AGAINST:-HEAD~1}"
python="${PYTHON:-python}"
command -v "$python" >/dev/null || python=python3

if [[ "$(git rev-parse --is-shallow-repository 2>/dev/null || echo true)" == "true" ]]; then
  echo "buf breaking: skipped (shallow clone or not a git repository; fetch full history to compare)"
  exit 0
fi
if ! git rev-parse -q --verify "${against}^{commit}" >/dev/null; then
  echo "buf breaking: skipped (no commit ${against} to compare against)"
  exit 0
fi
if ! git cat-file -e "${against}:proto" 2>/dev/null; then
  echo "buf breaking: skipped (${against} has no proto/ directory)"
  exit 0
fi

"$python" scripts/buf_deps.py >/dev/null
old="$(mktemp -d)"
trap 'rm -rf "$old"' EXIT
git archive "$against" proto | tar -x -C "$old"
cp buf.yaml "$old/"
mkdir -p "$old/.build"
cp -R .build/buf_deps "$old/.build/"
echo "buf breaking: proto/ against $(git rev-parse --short "$against")"
buf breaking --against "$old"
echo "buf breaking: no breaking changes"
