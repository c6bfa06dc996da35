"""Every benchmark script runs end to end at a tiny size, so none of them can rot.

Each script is started the way the README says (``python -m bench.<name>``) in its own
process, with TMPDIR pointed at the test's directory so leftovers would show. The test
checks the one JSON line's shape and that its numbers agree with each other and with what
the script was asked to do (counts, 0 lost, same files as ``find``). No timing is asserted:
the machines are shared, and speed is what the benchmarks report, not what tests judge.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.media_files import tools_available

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(not tools_available(), reason="ffmpeg/mkvtoolnix not installed"),
    pytest.mark.timeout(120),
]


def run_bench(name: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("ARRTHEAUDIO_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, (
        f"bench.{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    )
    lines = proc.stdout.strip().splitlines()
    json_lines = [line for line in lines if line.startswith("{")]
    assert len(json_lines) == 1, f"expected exactly one JSON line:\n{proc.stdout}"
    assert lines[-1] == json_lines[0], "the JSON line must be the last line"
    assert len(lines) > 1, "a human summary comes before the JSON line"
    data = json.loads(json_lines[0])
    assert data["bench"] == name
    assert set(data) == {"bench", "params", "results", "targets", "machine"}
    assert data["machine"]["cores"] >= 1
    for item in data["targets"]:
        assert set(item) == {"name", "measured", "target", "met"}
        assert isinstance(item["met"], bool)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("ata-bench-")]
    assert leftovers == [], f"work directories left behind: {leftovers}"
    return data


def _positive(*values: float) -> None:
    for value in values:
        assert value > 0, values


def test_batch_load_mkv(tmp_path: Path) -> None:
    data = run_bench(
        "batch_load", tmp_path, "--files", "4", "--workers", "2", "--rounds", "2", "--enqueue-files", "40"
    )
    r = data["results"]
    assert r["files"] == 4 and r["rounds"] == 2
    assert r["bare_ok"] == 4
    assert r["pipeline_reason_codes"] == {"changed": 4}
    assert set(r["cpu_ms_per_file"]) == {"bare", "pipeline", "service"}
    assert r["cpu_ms_per_file"]["service"]["process"] > 0
    service = r["service"]
    assert service["jobs"] == service["total"] == service["success"] == service["track_changes"] == 4
    assert service["batches"] == 2 and service["failed"] == 0
    assert service["reason_codes"] == {"changed": 4}
    _positive(r["bare_files_per_s"], r["pipeline_files_per_s"], r["service_files_per_s"])
    assert r["service_over_bare"] == pytest.approx(r["service_files_per_s"] / r["bare_files_per_s"], rel=0.01)
    assert r["enqueue"]["files"] == r["enqueue"]["discovered"] == r["enqueue"]["jobs"] == 40
    assert [t["name"] for t in data["targets"]] == [
        "service / bare mkvpropedit loop (MKV needing a change, verification on)"
    ]


@pytest.mark.postgres
def test_batch_load_mp4_already_correct_on_postgres(tmp_path: Path) -> None:
    if not shutil.which("initdb") and not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL binaries not installed")
    data = run_bench(
        "batch_load",
        tmp_path,
        "--files",
        "2",
        "--workers",
        "1",
        "--container",
        "mp4",
        "--already-correct",
        "--db",
        "postgres",
        "--enqueue-files",
        "0",
        "--rounds",
        "1",
    )
    r = data["results"]
    assert r["bare_ok"] == 2
    assert r["pipeline_reason_codes"] == {"already_correct": 2}
    assert r["service"]["reason_codes"] == {"already_correct": 2}
    assert r["service"]["skipped"] == 2 and r["service"]["track_changes"] == 0
    assert "enqueue" not in r
    assert r["service_over_bare"] > 0
    assert [t["name"] for t in data["targets"]] == ["service / in-process reader loop (already-correct MP4)"]


@pytest.mark.envoy
def test_webhook_flood(tmp_path: Path) -> None:
    data = run_bench("webhook_flood", tmp_path, "--count", "20", "--concurrency", "4", "--latency-count", "5")
    r = data["results"]
    assert r["sent"] == r["planned"] == 20
    assert r["statuses"] == {"200": 20}
    check = r["db_check"]
    # 10 single-file + 10 three-file flood webhooks, 5 three-file ones one at a time.
    assert check["accepted_webhooks"] == check["webhook_rows"] == 25
    assert check["accepted_files"] == check["job_rows"] == 10 + 30 + 15
    assert check["lost"] == check["duplicated"] == check["wrong_job_id"] == 0
    assert check["unacknowledged"] == check["stray"] == 0
    assert r["flood_latency_1_file"]["n"] == r["flood_latency_3_files"]["n"] == 10
    assert r["accept_latency_3_files_sequential"]["n"] == 5
    lost = next(t for t in data["targets"] if t["name"] == "lost + duplicated jobs")
    assert lost["met"] is True and lost["measured"] == 0
    _positive(r["requests_per_s"])
    assert r["cpu"]["server"]["cpu_s"] > 0


def test_api_latency(tmp_path: Path) -> None:
    data = run_bench("api_latency", tmp_path, "--calls", "10", "--history", "3", "--load-files", "12")
    r = data["results"]
    for rpc in ("GetQueue", "GetStats", "GetJob", "ListJobs"):
        assert r["idle"][rpc]["n"] == 10
        assert 1 <= r["load"][rpc]["n"] <= 10
        assert 0 < r["idle"][rpc]["p50_ms"] <= r["idle"][rpc]["p95_ms"] <= r["idle"][rpc]["max_ms"]
    assert r["idle"]["HealthCheck"]["n"] == 10  # the no-database control
    assert 0.0 <= r["busy_fraction"] <= 1.0
    assert r["server_cpu_under_load"]["cpu_s"] >= 0


def test_scan(tmp_path: Path) -> None:
    data = run_bench("scan", tmp_path, "--files", "1500", "--repeat", "2")
    r = data["results"]
    assert r["tree"]["files"] == 1500
    assert r["same_files"] is True
    assert r["found_discover"] == r["found_find"] == r["tree"]["wanted"] > 0
    assert len(r["discover_ms"]["all"]) == len(r["find_ms"]["all"]) == 2
    _positive(r["discover_over_find"])
    # What the tree holds and what a scan must find agree with the filters.
    tree = r["tree"]
    assert tree["wanted"] + tree["excluded"] + tree["too_small"] + tree["other"] == tree["files"]
    assert tree["excluded"] > 0 and tree["too_small"] > 0


def test_scan_without_sidecars(tmp_path: Path) -> None:
    r = run_bench("scan", tmp_path, "--files", "500", "--repeat", "1", "--no-sidecars")["results"]
    assert r["tree"]["other"] < r["tree"]["wanted"]
    assert r["same_files"] is True and r["found_discover"] == r["tree"]["wanted"]


def test_mp4_remux(tmp_path: Path) -> None:
    data = run_bench("mp4_remux", tmp_path, "--size-mb", "2", "--repeat", "1")
    r = data["results"]
    assert r["reason_codes"] == ["changed"]
    assert set(r["mb_per_s"]) == {"cp", "cp_fsync", "bare_remux", "service_job", "service_wall"}
    _positive(*r["mb_per_s"].values())
    assert r["bytes"] > 1024 * 1024


def test_mp4_inplace(tmp_path: Path) -> None:
    r = run_bench("mp4_inplace", tmp_path, "--big-mib", "64", "--small-mib", "2", "--repeat", "3")["results"]
    assert r["bytes"] == {"small": 2 * 1024 * 1024, "big": 64 * 1024 * 1024}
    assert r["allocated_bytes"]["big"] < 1024 * 1024  # sparse: the hole takes no blocks
    assert r["extra_st_blocks"] == {"small": 0, "big": 0}
    assert r["final_default"] == [1]  # three changes: 1, 0, 1
    assert all(len(v) == 3 for v in r["seconds"].values())
    _positive(*r["median_ms"].values(), r["change_big_over_small"])


def test_rescan(tmp_path: Path) -> None:
    data = run_bench("rescan", tmp_path, "--files", "6", "--workers", "2")
    r = data["results"]
    assert r["consistent"] is True
    assert r["first"]["jobs_claimed"] == r["first"]["track_changes"] == 6
    assert r["rescan"]["jobs_claimed"] == 0 and r["rescan"]["reason_codes"] == {"unchanged": 6}
    assert r["rescan"]["skipped"] == r["rescan"]["total"] == 6
    assert r["one_touched"]["jobs_claimed"] == 1 and r["one_touched"]["reason_codes"]["unchanged"] == 5
    _positive(r["first_scan_s"], r["rescan_s"])
    assert r["speedup"] == pytest.approx(r["first_scan_s"] / r["rescan_s"], rel=0.05)
    assert [t["name"] for t in data["targets"]] == ["rescan speed-up over the first scan"]


def test_growth(tmp_path: Path) -> None:
    data = run_bench(
        "growth",
        tmp_path,
        *(
            "--sizes",
            "120,240",
            "--samples",
            "2",
            "--batch-files",
            "50",
            "--deep-offset",
            "20",
            "--db",
            "sqlite",
        ),
    )
    r = data["results"]["sqlite"]
    # What was seeded is what the server answers (the bench checks it, the JSON records it).
    # The history, the 50-file batch and the 200 queued jobs.
    assert r["120"]["checked"] == {"jobs": 370, "batch_jobs": 50, "list_total": 370}
    assert r["240"]["checked"] == {"jobs": 490, "batch_jobs": 50, "list_total": 490}
    ops = set(r["120"]["ops"])
    assert {"GetStats", "GetQueue", "ListJobs", "GetJobStats", "GetBatch (10k files)", "claim (store)"} <= ops
    assert sum(name.startswith("ListJobs ") for name in ops) == 6
    assert sum(name.startswith("GetJobStats ") for name in ops) == 5
    for name in ops:
        small, large = r["120"]["ops"][name], r["240"]["ops"][name]
        assert small["n"] == large["n"] == 2
        _positive(small["p50_ms"], large["p50_ms"])
        assert r["p50_ratio"][name] == pytest.approx(large["p50_ms"] / small["p50_ms"], rel=0.01, abs=0.001)
    assert sorted(t["name"] for t in data["targets"]) == sorted(
        f"sqlite {name} p50 ratio" for name in r["p50_ratio"]
    )
