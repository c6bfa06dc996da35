"""Each file's last successful check, so a rescan of an unchanged library costs nothing.

After a job ends with a decision that will not change by itself (the track was set, was
already right, no wanted language, no audio), the worker records the file's ``size``,
``mtime_ns`` and ``inode`` as they are *after* the write, the outcome, and the decision's
fingerprint (``LanguagePlan.decision_key``: the original language and the priority list /
override in force). A later scan (without ``force``) that finds the same stat and the same
fingerprint does not queue a job: the file goes into the batch as a finished *skipped* row
with reason code ``unchanged``, written in bulk in the batch's own enqueue transaction —
never claimed, never probed. A file replaced behind our back (re-import: new inode; an
edit: new mtime or size) or one whose decision inputs moved (a new priority list, the Arr
now knows its language) is checked again.

Its own concern in the store: the table (schema.py) and these queries, one module.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from arrtheaudio_server.ids import new_id
from arrtheaudio_server.media.result import ReasonCode, ResultStatus
from arrtheaudio_server.queue.domain import JobStatus, Priority, Source
from arrtheaudio_server.queue.store.database import Database
from arrtheaudio_server.queue.store.schema import FILE_CHECKS

UNCHANGED = "unchanged"
"""The reason code of a file a rescan skipped because nothing it depends on changed."""

ANY_DECISION = "*"
"""Stored for outcomes that no decision input can change (a file without audio)."""

# Outcomes worth remembering: stable until the file or the decision inputs change.
# Failures, dry runs, hard-link refusals (a config switch) and disabled containers are not.
REMEMBERED = frozenset(
    {ReasonCode.CHANGED, ReasonCode.ALREADY_CORRECT, ReasonCode.NO_PREFERRED_LANGUAGE, ReasonCode.NO_AUDIO}
)

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FileStat:
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> FileStat:
        st = os.stat(path)
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


@dataclass(frozen=True, slots=True)
class FileCheck:
    path: str
    stat: FileStat
    decision_key: str
    outcome: str
    checked_at: datetime

    def matches(self, stat: FileStat, decision_key: str) -> bool:
        return self.stat == stat and self.decision_key in (ANY_DECISION, decision_key)


def remembered(status: JobStatus, reason_code: str | None, dry_run: bool) -> bool:
    """Whether a finished job's outcome is one a rescan may rely on."""
    return status == JobStatus.COMPLETED and not dry_run and reason_code in {c.value for c in REMEMBERED}


def unchanged_row(
    path: str, container: str | None, *, batch_id: str, priority: Priority, check: FileCheck, now: datetime
) -> dict[str, Any]:
    """A ``jobs`` row for a file a rescan skipped: already finished, never claimed."""
    return {
        "job_id": new_id(),
        "file_path": path,
        "status": JobStatus.COMPLETED.value,
        "priority": int(priority),
        "container": container,
        "source": Source.MANUAL.value,
        "webhook_id": None,
        "batch_id": batch_id,
        "hints": None,
        "dry_run": False,
        "created_at": now,
        "next_attempt_at": now,
        "started_at": None,
        "completed_at": now,
        "attempts": 0,
        "result": ResultStatus.SKIPPED.value,
        "reason": f"unchanged since its check at {check.checked_at:%Y-%m-%d %H:%M:%S} UTC ({check.outcome})",
        "reason_code": UNCHANGED,
        "duration_ms": 0,
        "track_changed": False,
        "cancel_requested": False,
    }


class FileChecks:
    """The ``file_checks`` table: read in bulk at scan time, written once per finished job."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, paths: Sequence[str]) -> dict[str, FileCheck]:
        """The recorded checks of ``paths`` (those that have one), one snapshot."""
        found: dict[str, FileCheck] = {}
        async with self.db.read() as conn:
            for start in range(0, len(paths), _CHUNK):
                rows = await conn.execute(
                    select(FILE_CHECKS).where(FILE_CHECKS.c.path.in_(paths[start : start + _CHUNK]))
                )
                for m in rows.mappings():
                    found[m["path"]] = FileCheck(
                        path=m["path"],
                        stat=FileStat(size=m["size"], mtime_ns=m["mtime_ns"], inode=m["inode"]),
                        decision_key=m["decision_key"],
                        outcome=m["outcome"],
                        checked_at=m["checked_at"],
                    )
        return found

    async def record(
        self, path: str, stat: FileStat, *, decision_key: str, outcome: str, job_id: str, now: datetime
    ) -> None:
        values = {
            "path": path,
            "size": stat.size,
            "mtime_ns": stat.mtime_ns,
            "inode": stat.inode,
            "decision_key": decision_key,
            "outcome": outcome,
            "job_id": job_id,
            "checked_at": now,
        }
        stmt = self.db.dialect.upsert(
            FILE_CHECKS, [values], keys=("path",), replace=[k for k in values if k != "path"]
        )
        async with self.db.write() as conn:
            await conn.execute(stmt)
