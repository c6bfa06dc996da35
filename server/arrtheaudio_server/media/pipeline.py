"""The media pipeline: one file in, one ``ProcessResult`` out.

``Pipeline.process`` is the single entry point the queue's workers (and the local CLI)
call. It never raises for a bad file — every problem is a result with a ``ReasonCode`` —
and only ``asyncio.CancelledError`` propagates, after the running tool was killed and any
temp file removed. The whole file is bounded by ``processing.timeout_seconds``.

Steps: container by extension → safety checks (exists, readable, under a media root) →
probe → language plan (arr → tmdb → heuristic → priority) → choose the track → stop when
already correct or dry run → plan the write (method, hard links) → write → verify.

How a change is written (``ProcessResult.write_method`` / ``write_note`` say which and why):
MKV by one ``mkvpropedit`` run; MP4 in place (the audio tkhd flag bytes, ``mp4_inplace``),
or by the atomic remux only where ``mp4_read`` says the layout cannot be edited safely.
Verification re-reads in-process, so an in-place MP4 change runs no tool at all. Hard links follow ``execution.hardlinks``: ``edit`` changes the shared inode (every
name sees it), ``skip`` leaves the file alone, ``copy`` gives this name an edited copy
(``copy_edit``). Only a remux or a copy needs free space, so only they can end in
``insufficient_space`` (which the queue turns into ``waiting_for_space``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.copy_edit import copy_preflight, edit_a_copy
from arrtheaudio_server.media.mkv import set_default_audio_mkv
from arrtheaudio_server.media.mp4 import preflight, set_default_audio_mp4
from arrtheaudio_server.media.mp4_inplace import set_default_in_place
from arrtheaudio_server.media.mp4_read import Mp4Probe, read_mp4
from arrtheaudio_server.media.probe import FileRead, ProbeFailure, ProbeInfo, probe, read_file
from arrtheaudio_server.media.result import (
    AudioTrack,
    Container,
    LanguageSource,
    ProcessResult,
    ReasonCode,
    ResultStatus,
    SelectedTrack,
    WriteMethod,
)
from arrtheaudio_server.media.select import choose_track, is_already_correct
from arrtheaudio_server.media.tempfiles import FreeSpaceProbe, disk_free_bytes
from arrtheaudio_server.media.write import WriteFailure
from arrtheaudio_server.metadata.arr_catalog import ArrCatalog
from arrtheaudio_server.metadata.cache import MetadataCache
from arrtheaudio_server.metadata.hints import MediaHints
from arrtheaudio_server.metadata.plan import LanguagePlan
from arrtheaudio_server.metadata.resolver import LanguageResolver
from arrtheaudio_server.metadata.tmdb import TmdbClient
from arrtheaudio_server.paths import PathPolicy

log = structlog.get_logger(__name__)

CONTAINER_BY_SUFFIX: dict[str, Container] = {
    ".mkv": Container.MKV,
    ".mp4": Container.MP4,
    ".m4v": Container.MP4,
}


def container_of(path: Path | str) -> Container | None:
    """The container a file name says it is, or None when we do not handle it."""
    return CONTAINER_BY_SUFFIX.get(Path(path).suffix.lower())


@dataclass
class _Progress:
    """What is known so far, so a timeout's result still reports the tracks and the choice."""

    path: Path
    dry_run: bool
    container: Container | None = None
    tracks: tuple[AudioTrack, ...] = ()
    selected: SelectedTrack | None = None
    language: str | None = None
    source: LanguageSource = LanguageSource.NONE
    decision_key: str | None = None
    started: float = field(default_factory=time.monotonic)
    deadline: asyncio.Timeout | None = None
    write_method: WriteMethod = WriteMethod.NONE
    write_note: str | None = None

    def result(
        self, status: ResultStatus, code: ReasonCode, reason: str, *, changed: bool = False
    ) -> ProcessResult:
        return ProcessResult(
            status=status,
            reason_code=code,
            reason=reason,
            path=str(self.path),
            container=self.container,
            tracks=self.tracks,
            selected=self.selected,
            track_changed=changed,
            language=self.language,
            language_source=self.source,
            dry_run=self.dry_run,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            write_method=self.write_method,
            write_note=self.write_note,
            decision_key=self.decision_key,
        )


@dataclass(frozen=True, slots=True)
class WritePlan:
    """How a change will reach the file, decided before anything is written (and shown by dry runs)."""

    method: WriteMethod
    note: str | None = None
    copy_first: bool = False  # execution.hardlinks: copy on a hard-linked file


_METHOD_WORDS = {
    WriteMethod.IN_PLACE: "in place",
    WriteMethod.MKVPROPEDIT: "mkvpropedit",
    WriteMethod.REMUX: "remux",
}


def _verify(before: ProbeInfo, after: ProbeInfo | ProbeFailure, target: int) -> WriteFailure | None:
    """The written file has the same streams as before and exactly one default audio: ``target``."""
    if isinstance(after, ProbeFailure):
        return WriteFailure(ReasonCode.VERIFY_FAILED, f"cannot re-read the written file: {after.reason}")
    problems: list[str] = []
    if after.default_indexes != [target]:
        problems.append(f"default audio tracks are {after.default_indexes}, expected [{target}]")
    if (after.stream_count, after.chapters) != (before.stream_count, before.chapters):
        problems.append(
            f"streams/chapters changed from {before.stream_count}/{before.chapters} "
            f"to {after.stream_count}/{after.chapters}"
        )
    # The default flag is what changed; the in-place MP4 writer may also put the audio tracks
    # into one alternate group. Everything else must be as before.
    strip = [replace(t, default=False, track_id=0, alternate_group=None) for t in before.tracks]
    if [replace(t, default=False, track_id=0, alternate_group=None) for t in after.tracks] != strip:
        problems.append("audio track languages, titles or codecs changed")
    if problems:
        return WriteFailure(ReasonCode.VERIFY_FAILED, "verification failed: " + "; ".join(problems))
    return None


class Pipeline:
    """Built once from Settings at start; ``process`` may run concurrently for different files."""

    def __init__(
        self,
        settings: Settings,
        cache: MetadataCache | None = None,
        *,
        free_space: FreeSpaceProbe | None = None,
        tmdb: TmdbClient | None = None,
        arr: ArrCatalog | None = None,
    ) -> None:
        self.settings = settings
        self._paths = PathPolicy.from_settings(settings)
        self._free_space = free_space or disk_free_bytes
        self._tmdb = tmdb if tmdb is not None else TmdbClient(settings.tmdb, cache)
        self.arr = (
            arr if arr is not None else ArrCatalog(settings.arr, cache, map_path=self._paths.map_arr_path)
        )
        self._resolver = LanguageResolver(settings, self._tmdb, self.arr)
        # Remuxes copy whole files: bound how many run at once (disk bandwidth, temp space).
        self._mp4_slots = asyncio.Semaphore(settings.processing.max_mp4_concurrent)

    async def aclose(self) -> None:
        await self._tmdb.aclose()
        await self.arr.aclose()

    async def decision_key(self, path: Path) -> str:
        """The fingerprint a check of ``path`` would record now (no webhook hints: a scan)."""
        return (await self._resolver.resolve(Path(path))).decision_key

    async def process(
        self, path: Path, hints: MediaHints | None = None, *, dry_run: bool | None = None
    ) -> ProcessResult:
        """Decide and (unless dry-run) set the default audio track of one file."""
        path = Path(path)
        progress = _Progress(
            path=path, dry_run=self.settings.execution.dry_run if dry_run is None else dry_run
        )
        timeout = self.settings.processing.timeout_seconds
        try:
            async with asyncio.timeout(timeout) as deadline:
                progress.deadline = deadline
                result = await self._process(path, hints, progress)
        except TimeoutError:
            progress.write_method, progress.write_note = WriteMethod.NONE, None
            result = progress.result(
                ResultStatus.FAILED,
                ReasonCode.TIMEOUT,
                f"processing took longer than {timeout:g} s and was stopped",
            )
        except asyncio.CancelledError:
            log.warning(
                "media.cancelled",
                path=str(path),
                duration_ms=progress.result(ResultStatus.FAILED, ReasonCode.CANCELLED, "").duration_ms,
            )
            raise
        except Exception as exc:  # a bug must not take the worker down; the job records it
            log.exception("media.internal_error", path=str(path))
            progress.write_method, progress.write_note = WriteMethod.NONE, None
            result = progress.result(ResultStatus.FAILED, ReasonCode.INTERNAL, f"internal error: {exc!r}")
        self._log(result)
        return result

    def _log(self, result: ProcessResult) -> None:
        # A fresh logger per line: a module-level one freezes the structlog configuration
        # of its first use (cache_logger_on_first_use), which embedders may change later.
        structlog.get_logger(__name__).info(
            "media.processed",
            path=result.path,
            status=result.status.value,
            reason_code=result.reason_code.value,
            reason=result.reason,
            container=result.container.value if result.container else None,
            audio_tracks=len(result.tracks),
            selected_index=result.selected.index if result.selected else None,
            language=result.language,
            language_source=result.language_source.value,
            track_changed=result.track_changed,
            dry_run=result.dry_run,
            duration_ms=result.duration_ms,
        )

    def _where_is(self, path: Path) -> tuple[ReasonCode, str] | None:
        """Why ``path`` cannot be processed, if it cannot: blocking stats, run in a thread.

        The roots are only enforced when configured, so the local CLI works anywhere.
        """
        if self._paths.roots and not self._paths.is_inside_roots(Path(os.path.realpath(path))):
            return ReasonCode.OUTSIDE_MEDIA_ROOTS, "the file is outside the configured media roots"
        if not path.exists():
            return ReasonCode.NOT_FOUND, "the file does not exist"
        if not path.is_file():
            return ReasonCode.UNSUPPORTED, "not a regular file"
        return None

    async def _process(self, path: Path, hints: MediaHints | None, progress: _Progress) -> ProcessResult:
        failed, skipped = ResultStatus.FAILED, ResultStatus.SKIPPED
        container = container_of(path)
        progress.container = container
        if container is None:
            return progress.result(
                skipped,
                ReasonCode.UNSUPPORTED,
                f"not a supported container ({path.suffix or 'no extension'})",
            )
        if not getattr(self.settings.containers, container.value):
            return progress.result(
                skipped, ReasonCode.CONTAINER_DISABLED, f"{container.value} processing is disabled"
            )
        problem = await asyncio.to_thread(self._where_is, path)
        if problem is not None:
            return progress.result(failed, *problem)

        read = await asyncio.to_thread(read_file, path, container)
        if isinstance(read, ProbeFailure):
            return progress.result(failed, read.reason_code, read.reason)
        info = read.info
        progress.tracks = info.tracks
        if not info.tracks:
            return progress.result(skipped, ReasonCode.NO_AUDIO, "the file has no audio tracks")

        plan = await self._resolver.resolve(path, hints)
        progress.decision_key = plan.decision_key
        choice = self._choose(info, plan, progress)
        if choice is None:
            wanted = ", ".join(([str(plan.original)] if plan.original else []) + list(plan.priority))
            return progress.result(
                skipped,
                ReasonCode.NO_PREFERRED_LANGUAGE,
                f"no preferred language: no audio track in {wanted or 'any wanted language'}",
            )
        describe = f"audio track {choice.index} ({choice.language or 'und'}, {progress.source.value})"

        if self.settings.execution.skip_if_correct and is_already_correct(
            info.tracks, info.tracks[choice.index]
        ):
            return progress.result(
                skipped, ReasonCode.ALREADY_CORRECT, f"already correct: {describe} is the only default"
            )
        plan = await asyncio.to_thread(self._plan, path, read)
        if isinstance(plan, WriteFailure):
            return progress.result(skipped, plan.reason_code, plan.reason)
        progress.write_method, progress.write_note = plan.method, plan.note
        how = _METHOD_WORDS[plan.method] + (f"; {plan.note}" if plan.note else "")
        if progress.dry_run:
            # Skipped, not success: nothing was changed, so a dry run must not count as a fix in
            # the stats; the reason code tells "would change" apart from "already correct".
            return progress.result(
                skipped, ReasonCode.DRY_RUN, f"dry run: would make {describe} the only default ({how})"
            )

        failure = await self._write(path, read, choice.index, plan, progress)
        if failure is not None:
            progress.write_method, progress.write_note = WriteMethod.NONE, None
            return progress.result(failed, failure.reason_code, failure.reason)
        return progress.result(
            ResultStatus.SUCCESS,
            ReasonCode.CHANGED,
            f"made {describe} the only default ({how})",
            changed=True,
        )

    def _choose(self, info: ProbeInfo, plan: LanguagePlan, progress: _Progress) -> SelectedTrack | None:
        if plan.original is not None:
            choice = choose_track(info.tracks, [plan.original])
            if choice is not None:
                progress.source = plan.original_source
                progress.language = choice.wanted.code
                progress.selected = SelectedTrack(index=choice.track.index, language=choice.track.language)
                return progress.selected
        choice = choose_track(info.tracks, plan.priority)
        if choice is None:
            progress.source = LanguageSource.NONE
            progress.language = plan.original.code if plan.original else None
            return None
        progress.source = LanguageSource.PRIORITY
        progress.language = choice.wanted.code
        progress.selected = SelectedTrack(index=choice.track.index, language=choice.track.language)
        return progress.selected

    def _plan(self, path: Path, read: FileRead) -> WritePlan | WriteFailure:
        """The write method and the hard-link handling (blocking stat: run in a thread)."""
        info = read.info
        if info.not_editable:
            return WriteFailure(ReasonCode.UNSUPPORTED, info.not_editable)
        links = os.stat(path).st_nlink
        policy = self.settings.execution.hardlinks
        if info.container is Container.MKV:
            method, fallback = WriteMethod.MKVPROPEDIT, None
        elif read.mp4 is not None and read.mp4.fallback_reason is None:
            method, fallback = WriteMethod.IN_PLACE, None
        else:
            method = WriteMethod.REMUX
            fallback = read.mp4.fallback_reason if read.mp4 is not None else "the MP4 layout is unknown"
        notes = [f"fallback: {fallback}"] if fallback else []
        copy_first = False
        if links > 1:
            others = "other name keeps" if links == 2 else f"{links - 1} other names keep"
            if policy == "skip":
                return WriteFailure(
                    ReasonCode.HARDLINKED,
                    f"the file has {links} hard links and execution.hardlinks is skip",
                )
            if policy == "edit" and method is WriteMethod.REMUX:
                return WriteFailure(
                    ReasonCode.HARDLINKED,
                    f"the file has {links} hard links and can only be remuxed ({fallback}), which "
                    "would break them; set execution.hardlinks: copy to allow that",
                )
            if policy == "edit":
                notes.append(f"hard links kept: all {links} names see the change")
            else:
                # A remux writes a new file anyway; any other method edits a copy first.
                copy_first = method is not WriteMethod.REMUX
                notes.append(f"hard link broken: this name got a new file, the {others} the old bytes")
        return WritePlan(method=method, note="; ".join(notes) or None, copy_first=copy_first)

    async def _write(
        self, path: Path, read: FileRead, target: int, plan: WritePlan, progress: _Progress
    ) -> WriteFailure | None:
        info = read.info
        if plan.method is WriteMethod.REMUX:
            return await self._remux(path, info, target, progress)
        edit = (
            self._mkv_editor(info, target)
            if plan.method is WriteMethod.MKVPROPEDIT
            else self._mp4_editor(info, target, path, read.mp4)
        )
        if not plan.copy_first:
            return await edit(path)
        failure = await asyncio.to_thread(copy_preflight, path, free_space=self._free_space)
        if failure is not None:
            return failure
        return await edit_a_copy(path, edit)

    def _mkv_editor(self, info: ProbeInfo, target: int) -> Callable[[Path], Awaitable[WriteFailure | None]]:
        budget = self.settings.processing.timeout_seconds

        async def edit(where: Path) -> WriteFailure | None:
            # One mkvpropedit run; the verification re-reads in-process (no second tool run).
            failure = await set_default_audio_mkv(
                where, len(info.tracks), target, timeout=budget, mkvpropedit=self.settings.tools.mkvpropedit
            )
            if failure is None and self.settings.execution.verify_after_write:
                failure = _verify(info, await probe(where, Container.MKV), target)
            return failure

        return edit

    def _mp4_editor(
        self, info: ProbeInfo, target: int, original: Path, probed: Mp4Probe | None
    ) -> Callable[[Path], Awaitable[WriteFailure | None]]:
        async def edit(where: Path) -> WriteFailure | None:
            # The layout of the very file to be written: the first read's for the original (the
            # writer checks it is unchanged since), a fresh read for a hard-link copy.
            def write() -> WriteFailure | None:
                current = probed if where == original and probed is not None else read_mp4(where)
                if isinstance(current, ProbeFailure):
                    return WriteFailure(ReasonCode.TOOL_FAILED, f"cannot re-read the file: {current.reason}")
                if current.fallback_reason is not None:
                    return WriteFailure(
                        ReasonCode.TOOL_FAILED, f"the file changed: {current.fallback_reason}"
                    )
                return set_default_in_place(where, current, target)

            failure = await asyncio.to_thread(write)
            if failure is None and self.settings.execution.verify_after_write:
                failure = _verify(info, await probe(where, Container.MP4), target)
            return failure

        return edit

    async def _remux(
        self, path: Path, info: ProbeInfo, target: int, progress: _Progress
    ) -> WriteFailure | None:
        budget = self.settings.processing.timeout_seconds
        failure = await asyncio.to_thread(preflight, path, free_space=self._free_space)
        if failure is not None:
            return failure

        async def verify(tmp: Path) -> WriteFailure | None:
            # Always verified before the rename: it is the last chance to keep the original.
            return _verify(info, await probe(tmp, Container.MP4), target)

        loop = asyncio.get_running_loop()
        deadline = progress.deadline
        remaining = (
            deadline.when() - loop.time() if deadline is not None and deadline.when() is not None else None
        )
        async with self._mp4_slots:
            # Waiting for a remux slot is queueing, not work: it does not eat the file's time.
            if deadline is not None and remaining is not None:
                deadline.reschedule(loop.time() + remaining)
            return await set_default_audio_mp4(
                path, info, target, timeout=budget, verify=verify, ffmpeg=self.settings.tools.ffmpeg
            )
