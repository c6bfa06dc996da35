"""docker-compose.yml, Dockerfile and the entrypoint: what can be checked without a Docker engine."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.contract.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_server_envoy_and_optional_postgres(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"arrtheaudio", "envoy", "postgres"}
    assert services["postgres"]["profiles"] == ["postgres"]
    assert "profiles" not in services["arrtheaudio"] and "profiles" not in services["envoy"]
    assert "pgdata" in compose["volumes"]


def test_compose_server_has_config_and_media_volumes_and_puid(compose: dict) -> None:
    server = compose["services"]["arrtheaudio"]
    targets = {volume.rsplit(":", 1)[1] for volume in server["volumes"]}
    assert {"/config", "/media"} <= targets
    assert {"PUID", "PGID"} <= set(server["environment"])
    assert server["build"]["target"] == "server"


def test_envoy_service_fronts_the_server_with_the_same_descriptor(compose: dict) -> None:
    envoy = compose["services"]["envoy"]
    assert envoy["build"]["target"] == "envoy"
    assert envoy["depends_on"]["arrtheaudio"]["condition"] == "service_healthy"
    assert "8080:8080" in envoy["ports"]
    config = yaml.safe_load((REPO_ROOT / "envoy.yaml").read_text(encoding="utf-8"))
    cluster = config["static_resources"]["clusters"][0]
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
        "socket_address"
    ]
    assert address == {"address": "arrtheaudio", "port_value": 50051}  # the compose service name and port


def test_dockerfile_builds_both_images_from_one_descriptor() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.MULTILINE)
    assert stages == ["envoy", "server"]
    assert dockerfile.count("COPY descriptors/arrtheaudio.binpb /descriptors/arrtheaudio.binpb") == 2
    assert "COPY envoy.yaml /etc/envoy/envoy.yaml" in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/docker_entrypoint.sh"]' in dockerfile
    for path in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (REPO_ROOT / path).exists(), f"Dockerfile copies missing {path}"


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_entrypoint_drops_to_puid_pgid_and_owns_config(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.yaml").write_text("{}\n")
    (config_dir / "unrelated").write_text("keep my owner\n")
    os.chmod(tmp_path, 0o755)
    env = {"PATH": os.environ["PATH"], "PUID": "65534", "PGID": "65533", "CONFIG_DIR": str(config_dir)}
    result = subprocess.run(
        [
            "sh",
            str(REPO_ROOT / "scripts" / "docker_entrypoint.sh"),
            "sh",
            "-c",
            "id -u; id -g; id -G; echo $HOME",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["65534", "65533", "65533", str(config_dir)]
    assert (config_dir.stat().st_uid, config_dir.stat().st_gid) == (65534, 65533)
    assert (config_dir / "config.yaml").stat().st_uid == 65534
    assert (config_dir / "unrelated").stat().st_uid == 0


def test_entrypoint_rejects_non_numeric_ids() -> None:
    result = subprocess.run(
        ["sh", str(REPO_ROOT / "scripts" / "docker_entrypoint.sh"), "true"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PUID": "abc"},
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "must be numeric" in result.stderr
