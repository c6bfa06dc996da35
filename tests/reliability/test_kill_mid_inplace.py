"""Scenario 8 — ``kill -9`` between the two phases of the in-place MP4 write.

A real child process (``python -c``) reads a real MP4 and calls ``set_default_in_place``
with a ``between_writes`` pause that prints a marker and sleeps; the test SIGKILLs it the
moment the marker arrives, i.e. after the new default's bit is on disk and before the old
default is cleared — the widest window a crash can hit.

Pass: the file is playable (ffprobe reads every stream), the enabled audio tracks are the old
default(s) and the target — one or two for a file that had one default, never none — and they
already share one alternate group, only tkhd flag/alternate_group bytes differ from the original (``cmp -l``), the
inode is the same; and the next run (a fresh process, no pause) ends with exactly one default
audio track, the chosen one, byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.results import record
from tests.support.mp4_files import EDITABLE, audio_tkhds, ffprobe_json

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "BETWEEN-WRITES"

CHILD = """
import sys, time
from pathlib import Path
from arrtheaudio_server.media.mp4_inplace import set_default_in_place
from arrtheaudio_server.media.mp4_read import read_mp4

path, target, pause = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "pause"

def between() -> None:
    print("{marker}", flush=True)
    time.sleep(120)

probe = read_mp4(path)
failure = set_default_in_place(path, probe, target, between_writes=between if pause else None)
print("RESULT", failure, flush=True)
sys.exit(0 if failure is None else 1)
""".replace("{marker}", MARKER)


def _child(path: Path, target: int, *, pause: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(target), "pause" if pause else "run"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at_marker(proc: subprocess.Popen[str]) -> float:
    """SIGKILL the child as soon as it prints the marker; returns seconds from start to kill."""
    start = time.monotonic()
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the child is inside between_writes
    assert line.strip() == MARKER, (line, proc.stderr.read() if proc.stderr else "")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return time.monotonic() - start


def _cmp_offsets(a: Path, b: Path) -> set[int]:
    out = subprocess.run(["cmp", "-l", str(a), str(b)], capture_output=True, text=True, check=False).stdout
    return {int(line.split()[0]) - 1 for line in out.splitlines()}


def _audio_defaults(path: Path) -> list[int]:
    audio = [s for s in ffprobe_json(path)["streams"] if s["codec_type"] == "audio"]
    return [i for i, s in enumerate(audio) if s["disposition"]["default"]]


@pytest.mark.parametrize("name", ["faststart.mp4", "groups.mp4", "tkhd_v1.mp4"])
def test_sigkill_between_the_in_place_writes(tmp_path: Path, name: str) -> None:
    started = time.monotonic()
    layout = next(item for item in EDITABLE if item.name == name)
    path = layout.make(tmp_path)
    original = tmp_path / "original.mp4"
    original.write_bytes(path.read_bytes())
    reference = tmp_path / "reference.mp4"
    reference.write_bytes(path.read_bytes())
    target = len(layout.tracks) - 1
    inode = os.stat(path).st_ino
    before_defaults = _audio_defaults(path)

    killed_after = _kill_at_marker(_child(path, target, pause=True))

    # Right after the kill: playable, one or two enabled, only flag/group bytes changed.
    streams = ffprobe_json(path)["streams"]
    assert len(streams) == len(ffprobe_json(original)["streams"])
    defaults = _audio_defaults(path)
    # The old default(s) and the target, nothing else: two for a file that had one default.
    assert target in defaults and set(defaults) <= {target, *before_defaults}, defaults
    assert len(defaults) <= len(set(before_defaults) | {target})
    groups = {group for enabled, group, _ in audio_tkhds(path) if enabled}
    assert len(groups) == 1, "the enabled tracks must already share one alternate group"
    assert os.stat(path).st_ino == inode
    changed_at_kill = _cmp_offsets(original, path)
    assert changed_at_kill

    # The next run, a fresh process without a pause, completes it.
    finish = _child(path, target, pause=False)
    out, err = finish.communicate(timeout=60)
    assert finish.returncode == 0, (out, err)
    assert _audio_defaults(path) == [target]
    done = _child(reference, target, pause=False)
    assert done.wait(timeout=60) == 0
    assert path.read_bytes() == reference.read_bytes(), "the resumed file differs from an uninterrupted run"
    assert changed_at_kill <= _cmp_offsets(original, path)
    assert os.stat(path).st_ino == inode
    record(
        "kill-mid-inplace",
        variant=name.removesuffix(".mp4"),
        defaults_at_kill=len(defaults),
        bytes_changed=len(_cmp_offsets(original, path)),
        kill_after_s=round(killed_after, 3),
        seconds=round(time.monotonic() - started, 2),
    )
