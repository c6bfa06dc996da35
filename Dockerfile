# Two images from one tree, so Envoy's descriptor always matches the server it fronts:
#   docker build --target server -t arrtheaudio .       the gRPC server (default target)
#   docker build --target envoy  -t arrtheaudio-envoy .  Envoy with envoy.yaml + the descriptor
# docker-compose.yml builds both.

FROM envoyproxy/envoy:v1.40.0 AS envoy
COPY descriptors/arrtheaudio.binpb /descriptors/arrtheaudio.binpb
COPY envoy.yaml /etc/envoy/envoy.yaml
EXPOSE 8080
CMD ["envoy", "-c", "/etc/envoy/envoy.yaml", "--log-level", "warn"]

FROM python:3.11-slim-bookworm AS server
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PUID=1000 \
    PGID=1000 \
    ARRTHEAUDIO_CONFIG=/config/config.yaml
# ffmpeg/ffprobe for MP4 remux and probing, mkvtoolnix for in-place MKV edits,
# util-linux for setpriv (privilege drop in the entrypoint).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg mkvtoolnix util-linux \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY stubs ./stubs
COPY client ./client
COPY server ./server
# Both distributions: the client (stubs, CLI) and the server, which depends on it.
RUN pip install . ./server
COPY descriptors/arrtheaudio.binpb /descriptors/arrtheaudio.binpb
COPY scripts/docker_entrypoint.sh /usr/local/bin/docker_entrypoint.sh
VOLUME ["/config"]
EXPOSE 50051
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import grpc,sys; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; \
sys.exit(g.HealthStub(grpc.insecure_channel('127.0.0.1:50051')).Check(h.HealthCheckRequest(), timeout=3).status != 1)"
ENTRYPOINT ["/usr/local/bin/docker_entrypoint.sh"]
CMD ["arrtheaudio-server", "--config", "/config/config.yaml"]
