#!/bin/sh
# Container entrypoint: run the command as PUID:PGID (like linuxserver.io images), so files the
# server writes in /config and the media it changes keep the owner the host user expects.
#   PUID / PGID   numeric ids to run as (default 1000 / 1000)
#   CONFIG_DIR    directory made writable for that user (default /config)
#   UMASK         optional umask for files the server creates (e.g. 002)
# Started as non-root (docker run --user ...), it just runs the command as that user.
set -eu
PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
CONFIG_DIR="${CONFIG_DIR:-/config}"

case "$PUID$PGID" in
  *[!0-9]*) echo "docker_entrypoint: PUID and PGID must be numeric (got '$PUID' / '$PGID')" >&2; exit 2 ;;
esac
[ -n "${UMASK:-}" ] && umask "$UMASK"

if [ "$(id -u)" != "0" ]; then
  exec "$@"
fi

mkdir -p "$CONFIG_DIR"
# Only the config dir itself and what we created in it: never chown the user's media.
chown "$PUID:$PGID" "$CONFIG_DIR"
find "$CONFIG_DIR" -xdev -mindepth 1 -maxdepth 1 \( -name 'arrtheaudio.db*' -o -name config.yaml -o -name api_key \) \
  -exec chown "$PUID:$PGID" {} +
export HOME="$CONFIG_DIR"
exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups -- "$@"
