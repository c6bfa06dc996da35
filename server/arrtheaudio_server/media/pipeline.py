"""The media pipeline: one file in, one ``ProcessResult`` out.

``Pipeline.process`` is the single entry point the queue's workers (and the local CLI)
call. It never raises for a bad file — every problem is a result with a ``ReasonCode`` —
and only ``asyncio.CancelledError`` propagates, after the running tool was killed and any
temp file removed. The whole file is bounded by ``processing.timeout_seconds``.

Steps: container by extension → safety checks (exists, readable, under a media root) →
probe → language plan (arr → tmdb → heuristic → priority) → choose the track → stop when
already correct or dry run → write (MKV in place, MP4 by atomic remux) → verify.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from arrtheaudio_server.config import Settings
from arrtheaudio_server.media.mkv import set_default_audio_mkv
from arrtheaudio_server.media.mp4 import FreeSpaceProbe, disk_free_bytes, preflight, set_default_audio_mp4
from arrtheaudio_server.media.probe import ProbeFailure, ProbeInfo, probe
from arrtheaudio_server.media.result import (
    AudioTrack,
    Container,
    LanguageSource,
    ProcessResult,
    ReasonCode,
    ResultStatus,
    SelectedTrack,
)
from arrtheaudio_server.media.select import choose_track, is_already_correct
from arrtheaudio_server.media.write import WriteFailure
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
    started: float = field(default_factory=time.monotonic)
    deadline: asyncio.Timeout | None = None

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
        )


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
    strip = [replace(t, default=False, track_id=0) for t in before.tracks]
    if [replace(t, default=False, track_id=0) for t in after.tracks] != strip:
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
    ) -> None:
        self.settings = settings
        self._paths = PathPolicy.from_settings(settings)
        self._free_space = free_space or disk_free_bytes
        self._tmdb = tmdb if tmdb is not None else TmdbClient(settings.tmdb, cache)
        self._resolver = LanguageResolver(settings, self._tmdb)
        # Remuxes copy whole files: bound how many run at once (disk bandwidth, temp space).
        self._mp4_slots = asyncio.Semaphore(settings.processing.max_mp4_concurrent)

    async def aclose(self) -> None:
        await self._tmdb.aclose()

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

        budget = self.settings.processing.timeout_seconds
        info = await probe(path, container, mkvmerge=self.settings.tools.mkvmerge, timeout=budget)
        if isinstance(info, ProbeFailure):
            return progress.result(failed, info.reason_code, info.reason)
        progress.tracks = info.tracks
        if not info.tracks:
            return progress.result(skipped, ReasonCode.NO_AUDIO, "the file has no audio tracks")

        plan = await self._resolver.resolve(path, hints)
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
        if progress.dry_run:
            # Skipped, not success: nothing was changed, so a dry run must not count as a fix in
            # the stats; the reason code tells "would change" apart from "already correct".
            return progress.result(
                skipped, ReasonCode.DRY_RUN, f"dry run: would make {describe} the only default"
            )

        failure = await self._write(path, info, choice.index, budget, progress)
        if failure is not None:
            status = skipped if failure.reason_code is ReasonCode.HARDLINKED else failed
            return progress.result(status, failure.reason_code, failure.reason)
        return progress.result(
            ResultStatus.SUCCESS, ReasonCode.CHANGED, f"made {describe} the only default", changed=True
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

    async def _write(
        self, path: Path, info: ProbeInfo, target: int, budget: float, progress: _Progress
    ) -> WriteFailure | None:
        tools = self.settings.tools
        if info.container is Container.MKV:
            failure = await set_default_audio_mkv(
                path, len(info.tracks), target, timeout=budget, mkvpropedit=tools.mkvpropedit
            )
            if failure is None and self.settings.execution.verify_after_write:
                after = await probe(path, Container.MKV, mkvmerge=tools.mkvmerge, timeout=budget)
                failure = _verify(info, after, target)
            return failure

        failure = preflight(
            path, allow_hardlinks=self.settings.execution.allow_hardlinked_mp4, free_space=self._free_space
        )
        if failure is not None:
            return failure

        async def verify(tmp: Path) -> WriteFailure | None:
            # Always verified before the rename: it is the last chance to keep the original.
            return _verify(info, await probe(tmp, Container.MP4, timeout=budget), target)

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
                path, info, target, timeout=budget, verify=verify, ffmpeg=tools.ffmpeg
            )
