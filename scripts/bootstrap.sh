#!/usr/bin/env bash
# Installs everything ArrTheAudio needs on a fresh Debian machine (run as root) and is cheap to
# re-run: apt only runs when a tool is missing, pip only when pyproject.toml changed.
#   scripts/bootstrap.sh            server + client (ffmpeg, mkvtoolnix, venv with both
#                                   distributions editable: -e .[dev] (client) and -e ./server)
#   scripts/bootstrap.sh --test     also PostgreSQL and the test extras
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v mkvpropedit >/dev/null || need_apt+=(mkvtoolnix)
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if (( want_test )); then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
  # The dashboard tests drive Debian's Chromium through the playwright wheel (no browser download);
  # the Noto CJK fonts let them render file names in any script as written.
  [[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
  [[ -d /usr/share/fonts/opentype/noto ]] || need_apt+=(fonts-noto-cjk)
  command -v node >/dev/null || need_apt+=(nodejs)  # runs the dashboard's JS unit test
fi
if (( ${#need_apt[@]} )); then
  echo "bootstrap: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

extras="dev"
(( want_test )) && extras="dev,test"
stamp=".venv/.installed-client-server-${extras//,/-}"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" || server/pyproject.toml -nt "$stamp" ]]; then
  # One pip run for both: the server's requirement on `arrtheaudio` is met by the local client.
  echo "bootstrap: pip install -e .[$extras] -e ./server"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]" -e ./server
  touch "$stamp"
fi
