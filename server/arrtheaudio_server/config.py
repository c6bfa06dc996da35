"""The one validated settings object, built once at start and passed down.

Sources, strongest first: environment variables
(``ARRTHEAUDIO_<SECTION>__<KEY>``, e.g. ``ARRTHEAUDIO_PROCESSING__WORKER_COUNT=4``),
then the YAML file (with keyword overrides from the caller applied on top).
``${VAR}`` / ``${VAR:-default}`` in the YAML's string values are expanded from the
environment, so secrets can stay out of the file.

pydantic-settings does the layering and validation, so a bad value is reported with
the dotted key that holds it (``processing.worker_count: ...``) instead of a stack trace.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_DIR = Path("./config")
DEFAULT_CONFIG_FILE = "config.yaml"
ENV_PREFIX = "ARRTHEAUDIO_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


class _Section(BaseModel):
    # Unknown keys are errors: a typo in the YAML must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid")


class TmdbSettings(_Section):
    enabled: bool = False
    api_key: str = ""
    cache_ttl_days: int = Field(30, ge=0)
    base_url: str = "https://api.themoviedb.org/3"
    timeout_seconds: float = Field(10.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    # Exponential backoff between retries starts here; a 429's Retry-After wins when given,
    # capped so one slow answer cannot hold a job for minutes.
    retry_backoff_seconds: float = Field(1.0, ge=0)
    max_retry_after_seconds: float = Field(30.0, ge=0)


class _Renamed(_Section):
    """A section that names its removed keys' replacements instead of a bare "extra input"."""

    _removed: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _no_removed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, hint in cls._removed.items():
                if key in data:
                    raise ValueError(f"{key} is no longer a setting: {hint}")
        return data


class ArrConnection(_Section):
    """One Sonarr or Radarr instance whose library (titles, paths, original languages) we read."""

    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1)  # e.g. http://sonarr:8989 (with its URL base, if any)
    api_key: str = Field(min_length=1)
    # None: arr.timeout_seconds.
    timeout_seconds: float | None = Field(None, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class ArrSettings(_Section):
    """The user's Sonarr/Radarr instances: each title's path tells a file's original language."""

    sonarr: list[ArrConnection] = Field(default_factory=list)
    radarr: list[ArrConnection] = Field(default_factory=list)
    timeout_seconds: float = Field(10.0, gt=0)
    # Titles are kept in the database this long, so a restart (or an Arr that is down)
    # still finds them; the background refresh replaces them much sooner.
    cache_ttl_hours: float = Field(24.0, gt=0)
    refresh_interval_seconds: float = Field(900.0, gt=0)

    @field_validator("sonarr", "radarr")
    @classmethod
    def _unique_names(cls, value: list[ArrConnection]) -> list[ArrConnection]:
        names = [connection.name for connection in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"connection names must be unique, repeated: {', '.join(duplicates)}")
        return value


class ScheduleSettings(_Section):
    """A library scan started by the server on a cron schedule, with StartBatch's options."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    path: str = Field(min_length=1)
    # Five fields (minute hour day month weekday), or six with seconds last (croniter's form).
    cron: str = Field(min_length=1)
    recursive: bool = True
    pattern: str | None = None
    dry_run: bool = False
    priority: Literal["low", "normal", "high"] = "normal"
    min_size_mb: float | None = Field(None, ge=0)
    max_age_days: float | None = Field(None, ge=0)
    exclude_patterns: list[str] = Field(default_factory=list)
    force: bool = False

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value


class ExecutionSettings(_Renamed):
    _removed: ClassVar[dict[str, str]] = {
        "allow_hardlinked_mp4": "use execution.hardlinks: edit | skip | copy (edit is the default)",
    }

    dry_run: bool = False
    skip_if_correct: bool = True
    verify_after_write: bool = True
    # A file with several names (hard links; a torrent client seeding the download): edit the
    # shared bytes in place, leave the file alone, or copy it first so the other names keep
    # the old bytes (README: what each means for seeding).
    hardlinks: Literal["edit", "skip", "copy"] = "edit"


class ToolSettings(_Renamed):
    """Executables the media pipeline runs (names on PATH, or absolute paths)."""

    _removed: ClassVar[dict[str, str]] = {
        "mkvmerge": "tracks are read in-process now; remove tools.mkvmerge",
    }

    ffmpeg: str = "ffmpeg"
    mkvpropedit: str = "mkvpropedit"


class ContainerSettings(_Section):
    mkv: bool = True
    mp4: bool = True


class ProcessingSettings(_Section):
    worker_count: int = Field(2, ge=0, le=8)
    max_mp4_concurrent: int = Field(1, ge=1, le=8)
    # Large enough for a full library scan (tens of thousands of files) in one batch.
    max_queue_size: int = Field(100_000, ge=1)
    timeout_seconds: float = Field(300, gt=0)
    retry_attempts: int = Field(2, ge=0, le=20)
    retry_delay_seconds: float = Field(60, ge=0)
    job_history_days: int = Field(30, ge=0)
    failed_job_days: int = Field(90, ge=0)
    cleanup_interval_hours: float = Field(24, gt=0)
    lease_seconds: float = Field(60, gt=0)
    heartbeat_seconds: float = Field(10, gt=0)
    recovery_interval_seconds: float = Field(15, gt=0)
    space_recheck_seconds: float = Field(60, gt=0)
    shutdown_grace_seconds: float = Field(30, ge=0)
    poll_interval_seconds: float = Field(1.0, gt=0)


class StorageSettings(_Section):
    # None means: a SQLite file inside the config directory.
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value


class ApiSettings(_Section):
    # None: generated at first start and stored in <config_dir>/api_key.
    api_key: str | None = None
    webhook_username: str | None = None
    webhook_password: str | None = None
    # The header Sonarr/Radarr users add under "Headers" in the webhook connection.
    webhook_header: str = "X-Api-Key"


class ServerSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(50051, ge=0, le=65535)
    instance_id: str | None = None


class LoggingSettings(_Section):
    format: Literal["json", "text"] = "json"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class PathMapping(_Section):
    """An Arr-side path prefix and where the same tree lives on this machine."""

    remote: str
    local: str


class PathOverride(_Section):
    """A glob (``**`` allowed) and the priority list for files it matches."""

    pattern: str
    languages: list[str] = Field(min_length=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    config_dir: Path = DEFAULT_CONFIG_DIR
    language_priority: list[str] = Field(default_factory=lambda: ["eng"])
    path_overrides: list[PathOverride] = Field(default_factory=list)
    path_mappings: list[PathMapping] = Field(default_factory=list)
    media_roots: list[Path] = Field(default_factory=list)
    tmdb: TmdbSettings = Field(default_factory=TmdbSettings)
    arr: ArrSettings = Field(default_factory=ArrSettings)
    schedules: list[ScheduleSettings] = Field(default_factory=list)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    containers: ContainerSettings = Field(default_factory=ContainerSettings)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @field_validator("path_overrides", mode="before")
    @classmethod
    def _overrides_from_mapping(cls, value: Any) -> Any:
        # YAML users write `"/tv/anime/**": [jpn, eng]`; order is kept, first match wins.
        if isinstance(value, dict):
            return [{"pattern": k, "languages": v} for k, v in value.items()]
        return value

    @field_validator("path_mappings", mode="before")
    @classmethod
    def _mappings_from_mapping(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [{"remote": k, "local": v} for k, v in value.items()]
        return value

    @field_validator("schedules")
    @classmethod
    def _unique_schedule_names(cls, value: list[ScheduleSettings]) -> list[ScheduleSettings]:
        names = [schedule.name for schedule in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"schedule names must be unique, repeated: {', '.join(duplicates)}")
        return value

    @field_validator("language_priority")
    @classmethod
    def _non_empty_codes(cls, value: list[str]) -> list[str]:
        if any(not code.strip() for code in value):
            raise ValueError("language codes must not be empty")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file's values are passed as init kwargs by load_settings(); the
        # environment must win over the file, so it goes first.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        if self.storage.url:
            return self.storage.url
        return f"sqlite+aiosqlite:///{(self.config_dir / 'arrtheaudio.db').resolve()}"

    @property
    def resolved_media_roots(self) -> list[Path]:
        return [Path(os.path.realpath(root)) for root in self.media_roots]


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; an unset variable without default is an error."""
    env = os.environ if environ is None else environ

    def _sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name!r} referenced in the config is not set")

    return _ENV_REF.sub(_sub, text)


def _expand_tree(node: Any, environ: dict[str, str] | None) -> Any:
    """Expand references in parsed string values only, so comments may mention ``${VAR}``."""
    if isinstance(node, str):
        return expand_env(node, environ)
    if isinstance(node, list):
        return [_expand_tree(item, environ) for item in node]
    if isinstance(node, dict):
        return {key: _expand_tree(value, environ) for key, value in node.items()}
    return node


def _format_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(root)"
        lines.append(f"{key}: {item['msg']}")
    return "invalid configuration: " + "; ".join(lines)


DEFAULT_CONFIG_TEMPLATE = """\
# ArrTheAudio configuration. Every key is optional; the values shown are the defaults.
# ${VAR} and ${VAR:-default} are expanded from the environment, and any key can be
# overridden with ARRTHEAUDIO_<SECTION>__<KEY>, e.g. ARRTHEAUDIO_PROCESSING__WORKER_COUNT=4.

# Audio languages to prefer when the original language is unknown, best first.
# ISO 639-1/2B/2T codes, IETF tags (pt-BR) or English names all work.
language_priority: [eng]

# Per-path priority lists; the first matching glob wins, ** crosses directories.
# path_overrides:
#   "/media/tv/anime/**": [jpn, eng]

# Arr's view of a path -> this machine's view; the longest matching prefix wins.
# path_mappings:
#   /tv: /media/tv
#   /movies: /media/movies

# The only trees the server reads or changes. Files elsewhere are refused.
media_roots: []

tmdb:
  enabled: false
  api_key: ""            # e.g. ${TMDB_API_KEY}
  cache_ttl_days: 30

# Your Sonarr/Radarr instances: each title's path and original language decide the
# language of library scans (webhooks carry it themselves). Paths go through path_mappings.
# arr:
#   sonarr:
#     - {name: sonarr, url: "http://sonarr:8989", api_key: "${SONARR_API_KEY}"}
#   radarr:
#     - {name: radarr, url: "http://radarr:7878", api_key: "${RADARR_API_KEY}"}
#     - {name: radarr-4k, url: "http://radarr4k:7878", api_key: "${RADARR4K_API_KEY}"}
#   timeout_seconds: 10
#   cache_ttl_hours: 24
#   refresh_interval_seconds: 900

# Library scans the server starts by itself (cron: minute hour day month weekday).
# schedules:
#   - {name: nightly-tv, path: /media/tv, cron: "0 3 * * *"}

execution:
  dry_run: false          # decide and report, change nothing
  skip_if_correct: true
  verify_after_write: true
  hardlinks: edit         # hard-linked files: edit (in place, every name) | skip | copy (break the link)

containers:
  mkv: true
  mp4: true

# tools:                  # executables, if not on PATH
#   ffmpeg: ffmpeg
#   mkvpropedit: mkvpropedit

processing:
  worker_count: 2         # 0 = no queue workers: webhooks are processed before answering
  max_mp4_concurrent: 1
  max_queue_size: 100000
  timeout_seconds: 300
  retry_attempts: 2
  retry_delay_seconds: 60
  job_history_days: 30
  failed_job_days: 90
  cleanup_interval_hours: 24

storage:
  url: null               # null = SQLite file in the config dir; or postgresql+asyncpg://user:pw@host/db

api:
  api_key: null           # null = generated at first start, stored in <config dir>/api_key
  webhook_username: null  # Sonarr/Radarr "Username" / "Password" (HTTP Basic)
  webhook_password: null
  webhook_header: X-Api-Key

server:
  host: 0.0.0.0
  port: 50051

logging:
  format: json            # json | text
  level: INFO
"""


def load_settings(
    path: Path | str | None = None,
    *,
    create_if_missing: bool = True,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read, expand and validate the YAML config; write the commented default on first start."""
    config_path = Path(path) if path is not None else DEFAULT_CONFIG_DIR / DEFAULT_CONFIG_FILE
    if not config_path.exists():
        if not create_if_missing:
            raise ConfigError(f"config file {config_path} does not exist")
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(DEFAULT_CONFIG_TEMPLATE, encoding="utf-8")
    try:
        raw = _expand_tree(yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}, environ)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: the top level must be a mapping of keys")
    raw.setdefault("config_dir", str(config_path.parent))
    raw.update(overrides)
    try:
        return Settings(**raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from exc
