#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what it needs, checks the contract
# (generated code fresh, buf lint, buf breaking against the previous commit), then runs pytest
# with line coverage of server/ and client/ (fails under 85%). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff format --check, ruff check"
ruff format --check .
ruff check .
echo "== generated code is fresh"
python scripts/gen_proto.py --check
python scripts/gen_client.py --check
echo "== envoy.yaml matches its template"
python scripts/envoy_config.py docker --check
echo "== buf lint"
python scripts/buf_deps.py
buf lint
echo "== buf breaking (against the previous commit)"
bash scripts/buf_breaking.sh

echo "== pytest"
rm -f .coverage .coverage.*
export COVERAGE_RCFILE="$PWD/pyproject.toml"
set +e
python -m pytest -p no:cacheprovider --cov --cov-report=term "$@"
rc=$?
set -e
if (( rc == 5 )); then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit $rc
