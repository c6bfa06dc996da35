"""The rendered Envoy config and the docker envoy.yaml: valid for the real Envoy, and in sync."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.contract.conftest import REPO_ROOT, load_script, tool

envoy_config = load_script("envoy_config")


def _validate(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("envoy"),
            "--mode",
            "validate",
            "-c",
            str(config),
            "--disable-hot-restart",
            "--log-level",
            "error",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rendered_config_validates(tmp_path: Path) -> None:
    out = tmp_path / "envoy.yaml"
    result = subprocess.run(
        [
            "python",
            str(REPO_ROOT / "scripts" / "envoy_config.py"),
            "render",
            "--listen-port",
            "18080",
            "--upstream-host",
            "127.0.0.1",
            "--upstream-port",
            "50051",
            "--descriptor",
            str(REPO_ROOT / "descriptors" / "arrtheaudio.binpb"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={"PATH": str(Path(tool("envoy")).parent)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    validated = _validate(out)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "OK" in validated.stdout


def test_rendered_config_has_the_transcoder_guarantees() -> None:
    text = envoy_config.render(
        listen_port=1,
        upstream_host="h",
        upstream_port=2,
        descriptor=REPO_ROOT / "descriptors" / "arrtheaudio.binpb",
    )
    config = yaml.safe_load(text)
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    transcoder = hcm["http_filters"][0]["typed_config"]
    assert transcoder["services"] == [
        f"arrtheaudio.v1.{s}"
        for s in (
            "AdminService",
            "BatchService",
            "DashboardService",
            "JobService",
            "StatsService",
            "WebhookService",
        )
    ]
    assert transcoder["print_options"]["preserve_proto_field_names"] is True
    assert transcoder["print_options"]["stream_newline_delimited"] is True
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["request_validation_options"] == {
        "reject_unknown_method": True,
        "reject_unknown_query_parameters": True,
    }
    assert transcoder["max_request_body_size"] >= 8 * 1024 * 1024
    host = hcm["route_config"]["virtual_hosts"][0]
    forwarded = [route for route in host["routes"] if "route" in route]
    assert all(route["route"]["timeout"] == "0s" for route in forwarded)
    # The bare origin and /ui go to the dashboard (redirects, with the transcoder off there).
    redirects = {route["match"]["path"]: route for route in host["routes"] if "redirect" in route}
    assert set(redirects) == {"/", "/ui"}
    for route in redirects.values():
        assert route["redirect"]["path_redirect"] == "/ui/"
        assert route["typed_per_filter_config"]["envoy.filters.http.grpc_json_transcoder"]["disabled"] is True
    headers = {item["header"]["key"]: item["header"]["value"] for item in host["response_headers_to_add"]}
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_docker_envoy_yaml_matches_the_template() -> None:
    assert (REPO_ROOT / "envoy.yaml").read_text(encoding="utf-8") == envoy_config.render_docker(), (
        "envoy.yaml drifted from scripts/envoy_config.py: run `python scripts/envoy_config.py docker`"
    )
    assert envoy_config.main(["docker", "--check"]) == 0


def test_docker_envoy_yaml_validates(tmp_path: Path) -> None:
    # In the container the descriptor lives at /descriptors; point at the repo's copy to validate here.
    text = (REPO_ROOT / "envoy.yaml").read_text(encoding="utf-8")
    assert "/descriptors/arrtheaudio.binpb" in text
    local = tmp_path / "envoy.yaml"
    local.write_text(
        text.replace("/descriptors/arrtheaudio.binpb", str(REPO_ROOT / "descriptors" / "arrtheaudio.binpb"))
    )
    validated = _validate(local)
    assert validated.returncode == 0, validated.stdout + validated.stderr
