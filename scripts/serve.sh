#!/usr/bin/env bash
# Installs what the service needs, then runs the gRPC server (embedded SQLite) with Envoy in front.
#   ARRTHEAUDIO_CONFIG   config file (default ./config/config.yaml, created with commented defaults)
#   GRPC_PORT            server port (default 50051)
#   HTTP_PORT            Envoy's port for HTTP/JSON and gRPC (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
config="${ARRTHEAUDIO_CONFIG:-./config/config.yaml}"
grpc_port="${GRPC_PORT:-50051}"
http_port="${HTTP_PORT:-8080}"
mkdir -p "$(dirname "$config")"

envoy_cfg="$(mktemp --suffix=.yaml)"
python scripts/envoy_config.py render --listen-port "$http_port" --upstream-host 127.0.0.1 \
  --upstream-port "$grpc_port" --descriptor "$PWD/descriptors/arrtheaudio.binpb" -o "$envoy_cfg"

ARRTHEAUDIO_SERVER__PORT="$grpc_port" arrtheaudio-server --config "$config" &
server_pid=$!
envoy -c "$envoy_cfg" --disable-hot-restart --log-level warn &
envoy_pid=$!
trap 'kill -TERM $server_pid $envoy_pid 2>/dev/null; wait $server_pid $envoy_pid 2>/dev/null; rm -f "$envoy_cfg"' EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$http_port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
key_file="$(dirname "$config")/api_key"
echo
echo "ArrTheAudio is running"
echo "  gRPC (direct):        127.0.0.1:$grpc_port"
echo "  gRPC + HTTP/JSON:     http://127.0.0.1:$http_port   (Envoy)"
echo "  dashboard:            http://127.0.0.1:$http_port/   (sign in with the API key)"
echo "  Prometheus metrics:   http://127.0.0.1:$http_port/metrics   (bearer token: the API key)"
echo "  health:               http://127.0.0.1:$http_port/health"
echo "  Sonarr webhook URL:   http://<this-host>:$http_port/webhook/sonarr"
echo "  Radarr webhook URL:   http://<this-host>:$http_port/webhook/radarr"
[[ -f "$key_file" ]] && echo "  API key:              $(cat "$key_file")   (stored in $key_file)"
echo "  config:               $config"
wait -n $server_pid $envoy_pid
