"""Generated code and descriptor: fresh, importable, and the freshness check really detects drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from tests.contract.conftest import REPO_ROOT, load_script

SERVICES = (
    "AdminService",
    "BatchService",
    "DashboardService",
    "JobService",
    "StatsService",
    "WebhookService",
)


def test_committed_generated_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_proto.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


@pytest.fixture
def repo_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """gen_proto pointed at a copy of the repo's proto/, stubs/arrtheaudio_proto/v1 and descriptors/."""
    shutil.copytree(REPO_ROOT / "proto", tmp_path / "proto")
    shutil.copytree(
        REPO_ROOT / "stubs" / "arrtheaudio_proto" / "v1", tmp_path / "stubs" / "arrtheaudio_proto" / "v1"
    )
    shutil.copytree(REPO_ROOT / "descriptors", tmp_path / "descriptors")
    gen = load_script("gen_proto")
    monkeypatch.setattr(gen, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(gen, "PROTO_DIR", tmp_path / "proto")
    return gen, tmp_path


def test_check_names_stale_files_and_regeneration_fixes_them(
    repo_copy, capsys: pytest.CaptureFixture[str]
) -> None:
    gen, root = repo_copy
    assert gen.main(["--check"]) == 0

    common = root / "proto" / "arrtheaudio" / "v1" / "common.proto"
    common.write_text(
        common.read_text().replace("  bool dry_run = 22;\n", "  bool dry_run = 22;\n  string note = 99;\n")
    )
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "out of date: stubs/arrtheaudio_proto/v1/common_pb2.py" in err
    assert "out of date: stubs/arrtheaudio_proto/v1/common_pb2.pyi" in err
    assert "out of date: descriptors/arrtheaudio.binpb" in err
    # Files of other protos are untouched by the change.
    assert "job_service_pb2_grpc.py" not in err

    assert gen.main([]) == 0
    assert "note" in (root / "stubs" / "arrtheaudio_proto" / "v1" / "common_pb2.pyi").read_text()
    assert gen.main(["--check"]) == 0


def test_check_reports_missing_and_leftover_files(repo_copy, capsys: pytest.CaptureFixture[str]) -> None:
    gen, root = repo_copy
    pkg = root / "stubs" / "arrtheaudio_proto" / "v1"
    (pkg / "stats_service_pb2_grpc.py").unlink()
    (pkg / "old_service_pb2.py").write_text("# from a deleted proto\n")
    assert gen.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "missing: stubs/arrtheaudio_proto/v1/stats_service_pb2_grpc.py" in err
    assert "no longer generated (delete it): stubs/arrtheaudio_proto/v1/old_service_pb2.py" in err
    assert gen.main([]) == 0
    assert not (pkg / "old_service_pb2.py").exists()
    assert gen.main(["--check"]) == 0


def test_generation_is_deterministic(repo_copy) -> None:
    gen, root = repo_copy
    before = {p: p.read_bytes() for p in (root / "stubs").rglob("*_pb2*")}
    before[root / "descriptors" / "arrtheaudio.binpb"] = (
        root / "descriptors" / "arrtheaudio.binpb"
    ).read_bytes()
    assert gen.main([]) == 0
    assert gen.main([]) == 0
    after = {p: p.read_bytes() for p in before}
    assert after == before


def test_generated_modules_import_as_package_and_use_no_vendored_google_protos() -> None:
    pkg = REPO_ROOT / "stubs" / "arrtheaudio_proto" / "v1"
    job_pb2 = (pkg / "job_service_pb2.py").read_text()
    assert "from arrtheaudio_proto.v1 import common_pb2" in job_pb2
    assert "from google.api import annotations_pb2" in job_pb2
    assert not (REPO_ROOT / "proto" / "google").exists(), "third-party protos must come from the wheel"

    from arrtheaudio_proto.v1 import admin_service_pb2_grpc, common_pb2, job_service_pb2

    job = job_service_pb2.GetJobResponse(job=common_pb2.Job(job_id="j", status=common_pb2.JOB_STATUS_RUNNING))
    assert (
        job_service_pb2.GetJobResponse.FromString(job.SerializeToString()).job.status
        == common_pb2.JOB_STATUS_RUNNING
    )
    assert hasattr(admin_service_pb2_grpc, "AdminServiceStub")


def test_descriptor_set_has_our_services_imports_and_error_details() -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString(
        (REPO_ROOT / "descriptors" / "arrtheaudio.binpb").read_bytes()
    )
    names = {f.name for f in fds.file}
    assert {
        "google/api/annotations.proto",
        "google/api/http.proto",
        "google/api/httpbody.proto",
        "google/rpc/status.proto",
        "google/rpc/error_details.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/descriptor.proto",
    } <= names
    services = {s.name for f in fds.file if f.package == "arrtheaudio.v1" for s in f.service}
    assert services == set(SERVICES)


def test_stubs_import_without_loading_the_client_library() -> None:
    """The stubs are their own package: the server imports them without the client's modules."""
    code = (
        "import sys, arrtheaudio_proto.v1.job_service_pb2_grpc, arrtheaudio_proto.v1.common_pb2\n"
        "loaded = sorted(m for m in sys.modules if m == 'arrtheaudio' or m.startswith('arrtheaudio.'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
