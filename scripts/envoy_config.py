#!/usr/bin/env python3
"""Render the Envoy config that puts HTTP/JSON (and gRPC passthrough) in front of the server.

One template, two uses:
  render   a config for a given listener/upstream/descriptor (scripts/serve.sh, tests)
             python scripts/envoy_config.py render --listen-port 8080 --upstream-host 127.0.0.1 \\
               --upstream-port 50051 --descriptor descriptors/arrtheaudio.binpb -o /tmp/envoy.yaml
  docker   the top-level envoy.yaml used by docker-compose (same template, container values)
             python scripts/envoy_config.py docker            # rewrite envoy.yaml
             python scripts/envoy_config.py docker --check    # exit 1 if envoy.yaml drifted

What the config guarantees (each one is a test in tests/contract/):
  * one listener, HTTP/1.1 and HTTP/2 (h2c): gRPC requests pass through untouched, JSON
    requests are transcoded by the gRPC-JSON transcoder using the descriptor set;
  * unknown path or method → 404 with a JSON body (reject_unknown_method + local_reply_config),
    unknown query parameter → 400 (reject_unknown_query_parameters);
  * gRPC errors → the matching HTTP status with a JSON google.rpc.Status body (convert_grpc_status);
  * JSON uses the proto field names (snake_case), always prints primitive fields, enums as names;
  * server-streaming RPCs come out as newline-delimited JSON, with no route or idle timeout;
  * request bodies up to 16 MiB (Arr payloads are small, but batch bodies may carry long lists);
  * an access log line per request on stderr, naming the gRPC method a request reached;
  * ``/`` and ``/ui`` redirect to the dashboard at ``/ui/`` (DashboardService, same origin as the
    API); every answer carries SECURITY_HEADERS (CSP without inline script, nosniff, ...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import descriptor_pb2

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DESCRIPTOR = REPO_ROOT / "descriptors" / "arrtheaudio.binpb"
DOCKER_CONFIG = REPO_ROOT / "envoy.yaml"
API_PACKAGE = "arrtheaudio.v1"
MAX_BODY_BYTES = 16 * 1024 * 1024
UPSTREAM_CLUSTER = "arrtheaudio_grpc"

# Values for docker-compose: the server container is reachable as "arrtheaudio".
DOCKER_VALUES = {
    "listen_address": "0.0.0.0",
    "listen_port": 8080,
    "upstream_host": "arrtheaudio",
    "upstream_port": 50051,
    "descriptor": "/descriptors/arrtheaudio.binpb",
    "admin_address": "127.0.0.1",
    "admin_port": 9901,
}

# On every answer (pages and API alike): no script but the dashboard's own files, never framed,
# types as declared, no referrer leaking ids to other sites, and no caching of data or of a
# dashboard an upgrade replaced.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

# One JSON line per request; PATH is the gRPC path after transcoding, ORIGINAL_PATH the HTTP one.
ACCESS_LOG_FORMAT = (
    '{"time":"%START_TIME%","method":"%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%","path":"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",'
    '"grpc_path":"%REQ(:PATH)%","status":%RESPONSE_CODE%,"grpc_status":"%GRPC_STATUS%",'
    '"flags":"%RESPONSE_FLAGS%","bytes_in":%BYTES_RECEIVED%,"bytes_out":%BYTES_SENT%,'
    '"duration_ms":%DURATION%,"upstream":"%UPSTREAM_HOST%"}\n'
)


def api_services(descriptor: Path) -> list[str]:
    """Every service of our package in the descriptor set, so a new service needs no config edit."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes())
    services = sorted(
        f"{file.package}.{service.name}"
        for file in fds.file
        if file.package == API_PACKAGE
        for service in file.service
    )
    if not services:
        raise SystemExit(f"envoy_config: no {API_PACKAGE} services in {descriptor}")
    return services


def build_config(
    *,
    listen_port: int,
    upstream_host: str,
    upstream_port: int,
    descriptor: str,
    services: list[str],
    listen_address: str = "0.0.0.0",
    admin_address: str = "127.0.0.1",
    admin_port: int = 9901,
) -> dict[str, Any]:
    transcoder = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        "proto_descriptor": descriptor,
        "services": services,
        "print_options": {
            "add_whitespace": False,
            "always_print_primitive_fields": True,
            "always_print_enums_as_ints": False,
            "preserve_proto_field_names": True,
            "stream_newline_delimited": True,
        },
        "convert_grpc_status": True,
        # Form-style "+" in query strings means a space (?order_by=priority+desc), as browsers,
        # curl --data-urlencode and httpx send it.
        "query_param_unescape_plus": True,
        "request_validation_options": {
            "reject_unknown_method": True,
            "reject_unknown_query_parameters": True,
        },
        "max_request_body_size": MAX_BODY_BYTES,
        "max_response_body_size": MAX_BODY_BYTES,
    }
    # After transcoding, routes see the gRPC path. Watch streams live as long as the client
    # wants; everything else also has no route timeout (a client's grpc-timeout still applies).
    no_timeout_route = {
        "cluster": UPSTREAM_CLUSTER,
        "timeout": "0s",
        "max_stream_duration": {"grpc_timeout_header_max": "0s"},
    }
    routes = [
        # The dashboard lives under /ui/ (DashboardService.GetAsset); the bare origin goes there.
        # The transcoder is off there: it would refuse "/" (no such method) before the redirect.
        *(
            {
                "name": name,
                "match": {"path": path},
                "redirect": {"path_redirect": "/ui/", "response_code": "FOUND"},
                "typed_per_filter_config": {
                    "envoy.filters.http.grpc_json_transcoder": {
                        "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                        "disabled": True,
                    }
                },
            }
            for name, path in (("root", "/"), ("ui_bare", "/ui"))
        ),
        {
            "name": "watch_streams",
            "match": {"safe_regex": {"regex": r"^/arrtheaudio\.v1\.[A-Za-z]+Service/Watch[A-Za-z]+$"}},
            "route": {**no_timeout_route, "idle_timeout": "0s"},
        },
        {"name": "everything_else", "match": {"prefix": "/"}, "route": no_timeout_route},
    ]
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "arrtheaudio",
        "codec_type": "AUTO",
        "stream_idle_timeout": "0s",
        "access_log": [
            {
                "name": "envoy.access_loggers.stderr",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
                    "log_format": {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}},
                },
            }
        ],
        # Envoy's own replies (unknown path, upstream down, ...) get a JSON body like the
        # transcoded errors instead of plain text.
        "local_reply_config": {
            "body_format": {
                "json_format": {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"},
            }
        },
        "route_config": {
            "name": "arrtheaudio",
            "virtual_hosts": [
                {
                    "name": "arrtheaudio",
                    "domains": ["*"],
                    "routes": routes,
                    "response_headers_to_add": [
                        {
                            "header": {"key": key, "value": value},
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        }
                        for key, value in SECURITY_HEADERS.items()
                    ],
                }
            ],
        },
        "http_filters": [
            {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": transcoder},
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            },
        ],
    }
    cluster = {
        "name": UPSTREAM_CLUSTER,
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_ONLY",
        "connect_timeout": "5s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": UPSTREAM_CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": upstream_host, "port_value": upstream_port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    return {
        "admin": {"address": {"socket_address": {"address": admin_address, "port_value": admin_port}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "arrtheaudio",
                    "address": {"socket_address": {"address": listen_address, "port_value": listen_port}},
                    "per_connection_buffer_limit_bytes": MAX_BODY_BYTES,
                    # A second Envoy on the same port must fail to start, not silently share
                    # the port's connections with this one (Linux's SO_REUSEPORT).
                    "enable_reuse_port": False,
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                            ]
                        }
                    ],
                }
            ],
            "clusters": [cluster],
        },
    }


def render_text(config: dict[str, Any], header: str) -> str:
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=120)
    return f"{header}\n{body}"


def render(
    *,
    listen_port: int,
    upstream_host: str,
    upstream_port: int,
    descriptor: Path,
    listen_address: str = "0.0.0.0",
    admin_address: str = "127.0.0.1",
    admin_port: int = 9901,
    services_from: Path | None = None,
) -> str:
    """The config text. ``services_from`` is read for the service list (defaults to ``descriptor``)."""
    services = api_services(services_from or descriptor)
    config = build_config(
        listen_port=listen_port,
        upstream_host=upstream_host,
        upstream_port=upstream_port,
        descriptor=str(descriptor),
        services=services,
        listen_address=listen_address,
        admin_address=admin_address,
        admin_port=admin_port,
    )
    return render_text(config, "# Rendered by scripts/envoy_config.py — edit the script, not this file.")


def render_docker() -> str:
    values = dict(DOCKER_VALUES)
    return render(
        listen_port=int(values["listen_port"]),
        upstream_host=str(values["upstream_host"]),
        upstream_port=int(values["upstream_port"]),
        descriptor=Path(str(values["descriptor"])),
        listen_address=str(values["listen_address"]),
        admin_address=str(values["admin_address"]),
        admin_port=int(values["admin_port"]),
        services_from=DEFAULT_DESCRIPTOR,
    ).replace(
        "edit the script, not this file.",
        "edit the script, not this file.\n# docker-compose values; regenerate with: "
        "python scripts/envoy_config.py docker",
        1,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="render a config for the given ports and descriptor")
    r.add_argument("--listen-port", type=int, required=True)
    r.add_argument("--listen-address", default="0.0.0.0")
    r.add_argument("--upstream-host", required=True)
    r.add_argument("--upstream-port", type=int, required=True)
    r.add_argument("--descriptor", type=Path, default=DEFAULT_DESCRIPTOR)
    r.add_argument("--admin-address", default="127.0.0.1")
    r.add_argument("--admin-port", type=int, default=9901)
    r.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    d = sub.add_parser("docker", help="(re)write the top-level envoy.yaml for docker-compose")
    d.add_argument("--check", action="store_true", help="exit 1 if envoy.yaml differs from the template")
    args = parser.parse_args(argv)

    if args.command == "render":
        descriptor = args.descriptor.resolve()
        if not descriptor.is_file():
            raise SystemExit(f"envoy_config: descriptor not found: {descriptor} (run scripts/gen_proto.py)")
        text = render(
            listen_port=args.listen_port,
            upstream_host=args.upstream_host,
            upstream_port=args.upstream_port,
            descriptor=descriptor,
            listen_address=args.listen_address,
            admin_address=args.admin_address,
            admin_port=args.admin_port,
        )
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    text = render_docker()
    if args.check:
        current = DOCKER_CONFIG.read_text(encoding="utf-8") if DOCKER_CONFIG.exists() else ""
        if current != text:
            print(
                "envoy_config: envoy.yaml is stale; run `python scripts/envoy_config.py docker`",
                file=sys.stderr,
            )
            return 1
        print("envoy_config: envoy.yaml is up to date")
        return 0
    DOCKER_CONFIG.write_text(text, encoding="utf-8")
    print(f"envoy_config: wrote {DOCKER_CONFIG.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
