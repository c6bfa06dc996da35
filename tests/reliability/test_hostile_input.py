"""Scenario 6 — hostile input through the real Envoy (HTTP/JSON face) to the real server.

Hypothesis generates webhook bodies (malformed JSON, wrong types, deep nesting, unicode and
NUL in paths, ``..`` traversal, symlinks leading out of the media root, absolute paths
outside it, non-media files), batch bodies, random URL paths and methods, and wrong or
missing credentials. Huge bodies and very deep nesting are sent explicitly.

Pass, for every request: an answer below 500; a rejected request (any non-2xx) leaves the
queue's tables exactly as they were; an accepted one queues only files inside the media
root. For the whole run: canary files outside the root — reachable by traversal, absolute
paths and symlinks — are byte-identical with the same mtime, and the kernel (inotify)
reports that nothing opened, read or changed anything in their directory.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.harness import SERVER_TARGET_KEY, SIZES, Database, fingerprint, server_settings
from tests.reliability.results import record
from tests.support.envoy import make_envoy
from tests.support.media_files import AudioSpec, make_mkv
from tests.support.server import ServerProcess, make_server

pytestmark = [pytest.mark.slow, pytest.mark.envoy, pytest.mark.timeout(900)]

IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_OPEN = 0x1, 0x2, 0x4, 0x8, 0x20
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
WATCH_MASK = (
    IN_ACCESS
    | IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_OPEN
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
)


class Inotify:
    """The kernel's record of every open/read/write/attribute change in one directory."""

    def __init__(self, directory: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self._libc.inotify_add_watch(self.fd, str(directory).encode(), WATCH_MASK) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def events(self) -> list[tuple[int, str]]:
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode(errors="replace")
                found.append((mask, name))
                offset += 16 + length

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class Target:
    server: ServerProcess
    base_url: str
    root: Path
    outside: Path
    db: Database
    http: httpx.Client
    statuses: Counter[int] = field(default_factory=Counter)
    requests: int = 0

    def state(self) -> tuple[int, int, int]:
        row = self.db.query(
            "SELECT (SELECT COUNT(*) FROM jobs) AS j, (SELECT COUNT(*) FROM webhooks) AS w, "
            "(SELECT COUNT(*) FROM batches) AS b"
        )[0]
        return int(row["j"]), int(row["w"]), int(row["b"])

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        before = self.state()
        reply = self.http.request(
            method, self.base_url + path, content=body, headers=headers or {}, params=params
        )
        self.requests += 1
        self.statuses[reply.status_code] += 1
        assert reply.status_code < 500, f"{method} {path[:200]!r} -> {reply.status_code}: {reply.text[:500]}"
        if not 200 <= reply.status_code < 300:
            assert self.state() == before, f"a rejected request changed the queue: {method} {path[:200]!r}"
        else:
            self.assert_jobs_inside_root()
        return reply

    def assert_jobs_inside_root(self) -> None:
        root = os.path.realpath(self.root)
        for job in self.db.jobs():
            real = os.path.realpath(job["file_path"])
            assert os.path.commonpath([real, root]) == root, (
                f"queued a file outside the root: {job['file_path']}"
            )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Target]:
    failed_before = request.session.testsfailed
    base = tmp_path_factory.mktemp("hostile")
    root = base / "media"
    outside = base / "outside"
    outside.mkdir()
    make_mkv(outside / "secret.mkv", tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")], video=False)
    (outside / "passwd.txt").write_text("root:x:0:0\n")
    make_mkv(
        root / "tv" / "Show" / "Show - S01E01.mkv",
        tracks=[AudioSpec("eng", default=True), AudioSpec("jpn")],
        video=False,
    )
    (root / "tv" / "Show" / "notes.txt").write_text("not media\n")
    (root / "tv" / "evil-link.mkv").symlink_to(outside / "secret.mkv")
    (root / "tv" / "evil-dir").symlink_to(outside, target_is_directory=True)
    server = make_server(base, server_settings(root, worker_count=1))
    server.start()
    envoy = make_envoy(base, server.port)
    envoy.start()
    canaries = {p: fingerprint(p) for p in outside.iterdir()}
    watch = Inotify(outside)
    (outside / "passwd.txt").read_bytes()  # the watch must see a plain read, or its silence means nothing
    assert any(mask & IN_OPEN for mask, _ in watch.events()), "inotify does not report opens here"
    http = httpx.Client(timeout=60)
    tgt = Target(
        server=server,
        base_url=envoy.base_url,
        root=root,
        outside=outside,
        db=Database(sqlite_path=server.config_path.parent / "arrtheaudio.db"),
        http=http,
    )
    started = time.monotonic()
    try:
        yield tgt
    finally:
        http.close()
        events = watch.events()
        watch.close()
        envoy.stop()
        server.stop()
    assert events == [], f"something touched the files outside the media root: {events[:10]}"
    assert {p: fingerprint(p) for p in outside.iterdir()} == canaries
    assert server.process is not None and server.process.returncode == 0, server.log_text()[-3000:]
    # The module's tests share this fixture: its record must say whether any of them failed.
    outcome = "pass" if request.session.testsfailed == failed_before else "fail"
    record(
        "hostile-input",
        outcome=outcome,
        requests=tgt.requests,
        examples_per_property=SIZES.fuzz_examples,
        statuses=dict(sorted(tgt.statuses.items())),
        canaries=len(canaries),
        inotify_events=len(events),
        seconds=round(time.monotonic() - started, 1),
    )


FUZZ = settings(
    max_examples=SIZES.fuzz_examples,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def hostile_paths(target_root: str, outside: str) -> st.SearchStrategy[Any]:
    inside = f"{target_root}/tv/Show/Show - S01E01.mkv"
    fixed = st.sampled_from(
        [
            inside,
            f"{target_root}/tv/Show/notes.txt",
            f"{target_root}/tv/evil-link.mkv",
            f"{target_root}/tv/evil-dir/secret.mkv",
            f"{target_root}/tv/Show/../../../outside/secret.mkv",
            f"{target_root}/../outside/secret.mkv",
            f"{outside}/secret.mkv",
            f"{outside}/passwd.txt",
            "/etc/passwd",
            "../../../../etc/shadow",
            "secret.mkv",
            "",
            f"{target_root}/tv/Show/Show - S01E01.mkv\x00.txt",
            f"{target_root}/tv/Show/\u202eevil.mkv",
            f"{target_root}/tv/Show/" + "A" * 5000 + ".mkv",
            "/tv/Show/Show - S01E01.mkv",
            "\\\\server\\share\\x.mkv",
            f"file://{outside}/secret.mkv",
        ]
    )
    built = st.builds(
        lambda parts: "/".join(parts),
        st.lists(
            st.sampled_from(
                [
                    "..",
                    ".",
                    "tv",
                    "Show",
                    "evil-dir",
                    "evil-link.mkv",
                    "secret.mkv",
                    "",
                    "\x00",
                    "é",
                    target_root.strip("/"),
                    outside.strip("/"),
                ]
            ),
            min_size=1,
            max_size=8,
        ),
    )
    wrong_types = (
        st.integers()
        | st.lists(st.text(max_size=5), max_size=3)
        | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)
        | st.none()
        | st.booleans()
    )
    return fixed | built | st.text(max_size=60) | wrong_types


def credentials() -> st.SearchStrategy[tuple[dict[str, str], dict[str, str]]]:
    """(headers, query params): right, wrong, missing, malformed."""
    key = SERVER_TARGET_KEY
    return st.sampled_from(
        [
            ({}, {"apikey": key}),
            ({"X-Api-Key": key}, {}),
            ({}, {"token": key}),
            ({}, {}),
            ({"X-Api-Key": key[:-1]}, {}),
            ({"X-Api-Key": key + "x"}, {}),
            ({}, {"apikey": ""}),
            ({"Authorization": "Basic !!!notbase64"}, {}),
            ({"Authorization": "Bearer " + key.upper()}, {}),
            ({"Authorization": "Basic dXNlcjp3cm9uZw=="}, {}),
            ({}, {"apikey": key[:8]}),
        ]
    )


def _sonarr(path: Any, event: Any) -> dict[str, Any]:
    return {
        "eventType": event,
        "series": {"title": "Show", "originalLanguage": {"name": "Japanese"}},
        "episodeFile": {"path": path, "relativePath": "x"},
        "episodes": [{"episodeNumber": 1}],
    }


@FUZZ
@given(data=st.data())
def test_webhook_bodies_and_credentials(target: Target, data: st.DataObject) -> None:
    root, outside = str(target.root), str(target.outside)
    kind = data.draw(st.sampled_from(["sonarr", "radarr"]))
    shape = data.draw(st.sampled_from(["payload", "payload", "files", "json", "bytes"]))
    if shape == "payload":
        path = data.draw(hostile_paths(root, outside))
        event = data.draw(st.sampled_from(["Download", "Test", "Rename", "Grab", "Download"]) | json_scalars)
        body_obj: Any = (
            _sonarr(path, event)
            if kind == "sonarr"
            else {"eventType": event, "movie": {"title": "M"}, "movieFile": {"path": path}}
        )
        body = json.dumps(body_obj).encode()
    elif shape == "files":
        paths = data.draw(st.lists(hostile_paths(root, outside), min_size=1, max_size=4))
        body = json.dumps(
            {"eventType": "Download", "series": {"title": "S"}, "episodeFiles": [{"path": p} for p in paths]}
        ).encode()
    elif shape == "json":
        body = json.dumps(data.draw(json_values)).encode()
    else:
        body = data.draw(st.binary(max_size=300))
    headers, params = data.draw(credentials())
    headers = {
        "Content-Type": data.draw(st.sampled_from(["application/json", "text/plain", "x/garbage"])),
        **headers,
    }
    target.send("POST", f"/webhook/{kind}", body=body, headers=headers, params=params)


@FUZZ
@given(data=st.data())
def test_batch_bodies(target: Target, data: st.DataObject) -> None:
    root, outside = str(target.root), str(target.outside)
    body: dict[str, Any] = {"path": data.draw(hostile_paths(root, outside) | st.just(f"{root}/tv"))}
    for name, strategy in (
        ("recursive", st.booleans() | json_scalars),
        ("dry_run", st.just(True) | json_scalars),
        ("pattern", st.text(max_size=30) | st.sampled_from(["*.mkv", "[", "**/..", "\x00"])),
        ("exclude_patterns", st.lists(st.text(max_size=10), max_size=3) | json_scalars),
        ("min_size_mb", st.floats() | st.integers() | st.text(max_size=5)),
        ("priority", st.sampled_from(["PRIORITY_HIGH", "BOGUS", 7, -1])),
        ("unknown_field", json_scalars),
    ):
        if data.draw(st.booleans()):
            body[name] = data.draw(strategy)
    raw = json.dumps(body, allow_nan=True).encode()
    headers, _ = data.draw(credentials())
    reply = target.send("POST", "/batch", body=raw, headers=headers)
    if reply.status_code == 200:
        # Keep the queue from filling up with scans of the same tree: cancel what we started.
        batch_id = reply.json()["batch_id"]
        target.http.request(
            "DELETE", f"{target.base_url}/batch/{batch_id}", headers={"X-Api-Key": SERVER_TARGET_KEY}
        )


url_segment = st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=20) | st.sampled_from(
    ["..", "%2e%2e", "%00", "%2F..%2F..%2Fetc%2Fpasswd", "stats", ":watch", "x:watch", "%ZZ", "a" * 300]
)


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
    prefix=st.sampled_from(
        [
            "/jobs",
            "/batch",
            "/webhook",
            "/queue",
            "/stats",
            "/admin/cleanup",
            "/health",
            "",
            "/arrtheaudio.v1.JobService/GetJob",
        ]
    ),
    segments=st.lists(url_segment, max_size=3),
    query=st.dictionaries(
        st.sampled_from(["limit", "offset", "status", "order_by", "next_limit", "x", "job_id"]),
        st.text(max_size=12),
        max_size=3,
    ),
    auth=credentials(),
)
def test_paths_methods_and_queries(
    target: Target,
    method: str,
    prefix: str,
    segments: list[str],
    query: dict[str, str],
    auth: tuple[dict[str, str], dict[str, str]],
) -> None:
    from urllib.parse import quote

    path = prefix + "".join("/" + (s if s.startswith("%") else quote(s, safe=":")) for s in segments)
    if path.endswith(":watch") or "/:watch" in path:
        return  # streams never end by themselves; the contract tests cover them
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    target.send(method, path or "/", body=body, headers=auth[0], params=query)


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 17 * 1024 * 1024])
def test_huge_bodies(target: Target, size: int) -> None:
    payload = json.dumps(_sonarr(f"{target.root}/tv/Show/Show - S01E01.mkv", "Download"))
    body = (payload[:-1] + ', "pad": "' + "x" * size + '"}').encode()
    reply = target.send(
        "POST",
        "/webhook/sonarr",
        body=body,
        params={"apikey": SERVER_TARGET_KEY},
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code in (400, 413)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deep_nesting(target: Target, depth: int) -> None:
    body = ("[" * depth + "]" * depth).encode()
    for path in ("/webhook/sonarr", "/webhook/radarr"):
        reply = target.send(
            "POST",
            path,
            body=body,
            params={"apikey": SERVER_TARGET_KEY},
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= reply.status_code < 500
    nested = {"eventType": "Download", "episodeFile": {"path": json.loads("[" * 500 + "]" * 500)}}
    reply = target.send(
        "POST",
        "/webhook/sonarr",
        body=json.dumps(nested).encode(),
        params={"apikey": SERVER_TARGET_KEY},
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= reply.status_code < 500
    reply = target.send(
        "POST",
        "/batch",
        body=('{"path": ' + "[" * depth + "]" * depth + "}").encode(),
        headers={"X-Api-Key": SERVER_TARGET_KEY},
    )
    assert 400 <= reply.status_code < 500
