"""The server's commands in the client's ``arrtheaudio`` CLI: ``process FILE``, ``scan DIR``, ``serve``.

``process`` and ``scan`` run the same media pipeline the server's workers run, in this process,
without a server. They reach the CLI through the ``arrtheaudio.commands`` entry point group
(server/pyproject.toml), so they exist exactly where this distribution is installed and a
client-only install has no command that cannot import. The CLI loads this module on every
start: the server's modules are imported inside the commands, keeping ``arrtheaudio --help``
and the remote commands fast.

Settings come from ``--config`` (or ``./config/config.yaml`` when it exists), else the
defaults plus ``ARRTHEAUDIO_*`` environment variables; no config file is created.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from arrtheaudio_server.config import Settings
    from arrtheaudio_server.media.result import ProcessResult

_STATUS_STYLE = {"success": "green", "skipped": "yellow", "failed": "red"}


def _load_settings(config: Path | None, languages: str | None) -> Settings:
    from arrtheaudio_server.config import (
        DEFAULT_CONFIG_DIR,
        DEFAULT_CONFIG_FILE,
        ConfigError,
        Settings,
        load_settings,
    )

    overrides: dict[str, Any] = {}
    if languages:
        overrides["language_priority"] = [code.strip() for code in languages.split(",") if code.strip()]
    try:
        default = DEFAULT_CONFIG_DIR / DEFAULT_CONFIG_FILE
        if config is not None:
            return load_settings(config, create_if_missing=False, **overrides)
        if default.exists():
            return load_settings(default, create_if_missing=False, **overrides)
        return Settings(**overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # pydantic ValidationError from Settings(**overrides)
        raise click.ClickException(f"invalid settings: {exc}") from exc


def _quiet_logging() -> None:
    # One JSON line per file belongs in the server's log; on a terminal the table says it.
    from arrtheaudio_server.logging_setup import configure_logging

    configure_logging("text", "WARNING")


def _line(result: ProcessResult) -> str:
    from rich.markup import escape

    style = _STATUS_STYLE.get(result.status.value, "white")
    selected = ""
    if result.selected is not None:
        selected = f" → track {result.selected.index} ({result.selected.language or 'und'}, {result.language_source.value})"
    return (
        f"[{style}]{result.status.value:<7}[/{style}] {escape(result.path)}{escape(selected)}\n"
        f"        {escape(result.reason)}"
    )


_METHOD_WORDS = {"in_place": "in place", "mkvpropedit": "mkvpropedit", "remux": "remux"}
_FLAG_WORDS = (
    ("forced", "forced"),
    ("commentary", "commentary"),
    ("visual_impaired", "visually impaired"),
    ("hearing_impaired", "hearing impaired"),
    ("original", "original"),
)


def _written(result: ProcessResult) -> str:
    """``written: mkvpropedit (why)``; a dry run says what it would write (as ``jobs show`` does)."""
    from rich.markup import escape

    note = f" ({escape(result.write_note)})" if result.write_note else ""
    method = _METHOD_WORDS.get(result.write_method.value)
    if method is None:
        return "written: nothing" + note
    return ("would write: " if result.dry_run else "written: ") + method + note


def _tracks(result: ProcessResult) -> Any:
    """The audio tracks as read, the default before -> after: the table ``jobs show`` prints.

    Built here from the domain result (the server never imports the client library, whose
    renderer draws the same table from the Job message).
    """
    from rich.markup import escape
    from rich.table import Table

    if not result.tracks:
        return _written(result)
    table = Table(title="Audio tracks", caption=_written(result))
    for column in ("#", "Lang", "Title", "Codec", "Ch", "Flags", "Default"):
        table.add_column(column, overflow="fold")
    for change in result.track_changes:
        track = change.track
        before, after = ("yes" if flag else "no" for flag in (track.default, change.default_after))
        table.add_row(
            str(track.index),
            escape(track.ietf or track.language or "und"),
            escape(track.title or ""),
            escape(track.codec or ""),
            str(track.channels or ""),
            ", ".join(word for name, word in _FLAG_WORDS if getattr(track, name)),
            before if before == after else f"[bold]{before} → {after}[/]",
        )
    return table


def _as_json(result: ProcessResult) -> str:
    from dataclasses import asdict

    data = asdict(result)
    data["default_after"] = [change.default_after for change in result.track_changes]
    return json.dumps(data, default=str)


async def _run_files(
    settings: Settings, files: list[Path], dry_run: bool, progress: bool, as_json: bool
) -> list[ProcessResult]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arrtheaudio_server.metadata.cache import InMemoryMetadataCache
    from arrtheaudio_server.runtime import build_pipeline

    console = Console(highlight=False)
    pipeline = build_pipeline(settings, InMemoryMetadataCache())
    results: list[ProcessResult] = []
    try:
        if not progress:
            for path in files:
                result = await pipeline.process(path, dry_run=dry_run)
                results.append(result)
                console.print(
                    _as_json(result) if as_json else _line(result), markup=not as_json, soft_wrap=as_json
                )
                if not as_json:
                    console.print(_tracks(result))
            return results
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[current]}"),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("scanning", total=len(files), current="")
            for path in files:
                bar.update(task, current=path.name)
                result = await pipeline.process(path, dry_run=dry_run)
                results.append(result)
                bar.console.print(
                    _as_json(result) if as_json else _line(result), markup=not as_json, soft_wrap=as_json
                )
                bar.advance(task)
            bar.update(task, current="")
    finally:
        await pipeline.aclose()
    return results


def find_media_files(directory: Path, recursive: bool) -> list[Path]:
    """Supported media files under ``directory`` in a stable order, skipping our own temp files."""
    from arrtheaudio_server.media.pipeline import container_of
    from arrtheaudio_server.media.tempfiles import is_temp_file

    candidates = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(
        path
        for path in candidates
        if path.is_file() and container_of(path) is not None and not is_temp_file(path.name)
    )


def _exit_code(results: list[ProcessResult]) -> int:
    return 1 if any(r.status.value == "failed" for r in results) else 0


_config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: ./config/config.yaml if present, else built-in defaults).",
)
_languages_option = click.option(
    "--languages",
    "-l",
    default=None,
    metavar="CODES",
    help="Priority list for this run, comma-separated (e.g. jpn,eng); replaces language_priority.",
)
_dry_run_option = click.option("--dry-run", is_flag=True, help="Decide and report; change nothing.")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON result per file.")


@click.command("process")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_dry_run_option
@_config_option
@_languages_option
@_json_option
def process_command(
    file: Path, dry_run: bool, config: Path | None, languages: str | None, as_json: bool
) -> None:
    """Set the default audio track of FILE (MKV in place, MP4 by remux), without a server."""
    settings = _load_settings(config, languages)
    _quiet_logging()
    results = asyncio.run(_run_files(settings, [file], dry_run, progress=False, as_json=as_json))
    sys.exit(_exit_code(results))


@click.command("scan")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_dry_run_option
@click.option("--recursive", "-r", is_flag=True, help="Descend into subdirectories.")
@_config_option
@_languages_option
@_json_option
def scan_command(
    directory: Path,
    dry_run: bool,
    recursive: bool,
    config: Path | None,
    languages: str | None,
    as_json: bool,
) -> None:
    """Process every MKV/MP4 file in DIRECTORY, with a progress bar and a summary."""
    settings = _load_settings(config, languages)
    _quiet_logging()
    files = find_media_files(directory, recursive)
    if not files:
        click.echo(f"no MKV/MP4 files in {directory}" + ("" if recursive else " (try --recursive)"))
        return
    results = asyncio.run(_run_files(settings, files, dry_run, progress=not as_json, as_json=as_json))
    counts = Counter(r.status.value for r in results)
    changed = sum(1 for r in results if r.track_changed)
    summary = ", ".join(f"{counts[s]} {s}" for s in ("success", "skipped", "failed") if counts[s])
    click.echo(f"{len(results)} files: {summary}; {changed} changed" + (" (dry run)" if dry_run else ""))
    sys.exit(_exit_code(results))


@click.command("serve")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Server YAML config (default: $ARRTHEAUDIO_CONFIG or ./config/config.yaml).",
)
def serve_command(config: Path | None) -> None:
    """Run the ArrTheAudio server in the foreground (same as arrtheaudio-server)."""
    from arrtheaudio_server.app import main as server_main

    server_main(["--config", str(config)] if config else [])
