import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_WAITING_FOR_SPACE: _ClassVar[JobStatus]
    JOB_STATUS_COMPLETED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]

class JobResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_RESULT_UNSPECIFIED: _ClassVar[JobResult]
    JOB_RESULT_SUCCESS: _ClassVar[JobResult]
    JOB_RESULT_FAILED: _ClassVar[JobResult]
    JOB_RESULT_SKIPPED: _ClassVar[JobResult]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]

class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_UNSPECIFIED: _ClassVar[Source]
    SOURCE_SONARR: _ClassVar[Source]
    SOURCE_RADARR: _ClassVar[Source]
    SOURCE_MANUAL: _ClassVar[Source]

class Container(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTAINER_UNSPECIFIED: _ClassVar[Container]
    CONTAINER_MKV: _ClassVar[Container]
    CONTAINER_MP4: _ClassVar[Container]

class LanguageSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LANGUAGE_SOURCE_UNSPECIFIED: _ClassVar[LanguageSource]
    LANGUAGE_SOURCE_ARR: _ClassVar[LanguageSource]
    LANGUAGE_SOURCE_TMDB: _ClassVar[LanguageSource]
    LANGUAGE_SOURCE_HEURISTIC: _ClassVar[LanguageSource]
    LANGUAGE_SOURCE_PRIORITY: _ClassVar[LanguageSource]
    LANGUAGE_SOURCE_NONE: _ClassVar[LanguageSource]
    LANGUAGE_SOURCE_ARR_LIBRARY: _ClassVar[LanguageSource]

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_STATUS_SCANNING: _ClassVar[BatchStatus]
    BATCH_STATUS_RUNNING: _ClassVar[BatchStatus]
    BATCH_STATUS_COMPLETED: _ClassVar[BatchStatus]
    BATCH_STATUS_CANCELLED: _ClassVar[BatchStatus]
    BATCH_STATUS_FAILED: _ClassVar[BatchStatus]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_SNAPSHOT: _ClassVar[EventType]
    EVENT_TYPE_UPDATE: _ClassVar[EventType]
    EVENT_TYPE_HEARTBEAT: _ClassVar[EventType]
    EVENT_TYPE_ERROR: _ClassVar[EventType]

class WriteMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WRITE_METHOD_UNSPECIFIED: _ClassVar[WriteMethod]
    WRITE_METHOD_NONE: _ClassVar[WriteMethod]
    WRITE_METHOD_IN_PLACE: _ClassVar[WriteMethod]
    WRITE_METHOD_MKVPROPEDIT: _ClassVar[WriteMethod]
    WRITE_METHOD_REMUX: _ClassVar[WriteMethod]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_WAITING_FOR_SPACE: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_RESULT_UNSPECIFIED: JobResult
JOB_RESULT_SUCCESS: JobResult
JOB_RESULT_FAILED: JobResult
JOB_RESULT_SKIPPED: JobResult
PRIORITY_UNSPECIFIED: Priority
PRIORITY_LOW: Priority
PRIORITY_NORMAL: Priority
PRIORITY_HIGH: Priority
SOURCE_UNSPECIFIED: Source
SOURCE_SONARR: Source
SOURCE_RADARR: Source
SOURCE_MANUAL: Source
CONTAINER_UNSPECIFIED: Container
CONTAINER_MKV: Container
CONTAINER_MP4: Container
LANGUAGE_SOURCE_UNSPECIFIED: LanguageSource
LANGUAGE_SOURCE_ARR: LanguageSource
LANGUAGE_SOURCE_TMDB: LanguageSource
LANGUAGE_SOURCE_HEURISTIC: LanguageSource
LANGUAGE_SOURCE_PRIORITY: LanguageSource
LANGUAGE_SOURCE_NONE: LanguageSource
LANGUAGE_SOURCE_ARR_LIBRARY: LanguageSource
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_STATUS_SCANNING: BatchStatus
BATCH_STATUS_RUNNING: BatchStatus
BATCH_STATUS_COMPLETED: BatchStatus
BATCH_STATUS_CANCELLED: BatchStatus
BATCH_STATUS_FAILED: BatchStatus
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_SNAPSHOT: EventType
EVENT_TYPE_UPDATE: EventType
EVENT_TYPE_HEARTBEAT: EventType
EVENT_TYPE_ERROR: EventType
WRITE_METHOD_UNSPECIFIED: WriteMethod
WRITE_METHOD_NONE: WriteMethod
WRITE_METHOD_IN_PLACE: WriteMethod
WRITE_METHOD_MKVPROPEDIT: WriteMethod
WRITE_METHOD_REMUX: WriteMethod

class SelectedTrack(_message.Message):
    __slots__ = ("index", "language")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    language: str
    def __init__(self, index: _Optional[int] = ..., language: _Optional[str] = ...) -> None: ...

class AudioTrack(_message.Message):
    __slots__ = ("index", "language", "ietf", "title", "codec", "channels", "forced", "commentary", "visual_impaired", "hearing_impaired", "original", "default_before", "default_after")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    IETF_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    FORCED_FIELD_NUMBER: _ClassVar[int]
    COMMENTARY_FIELD_NUMBER: _ClassVar[int]
    VISUAL_IMPAIRED_FIELD_NUMBER: _ClassVar[int]
    HEARING_IMPAIRED_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_AFTER_FIELD_NUMBER: _ClassVar[int]
    index: int
    language: str
    ietf: str
    title: str
    codec: str
    channels: int
    forced: bool
    commentary: bool
    visual_impaired: bool
    hearing_impaired: bool
    original: bool
    default_before: bool
    default_after: bool
    def __init__(self, index: _Optional[int] = ..., language: _Optional[str] = ..., ietf: _Optional[str] = ..., title: _Optional[str] = ..., codec: _Optional[str] = ..., channels: _Optional[int] = ..., forced: _Optional[bool] = ..., commentary: _Optional[bool] = ..., visual_impaired: _Optional[bool] = ..., hearing_impaired: _Optional[bool] = ..., original: _Optional[bool] = ..., default_before: _Optional[bool] = ..., default_after: _Optional[bool] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "file_path", "status", "priority", "container", "source", "webhook_id", "batch_id", "created_at", "started_at", "completed_at", "attempts", "result", "reason", "reason_code", "duration_ms", "track_changed", "selected_track", "language", "language_source", "worker_id", "dry_run", "audio_tracks", "write_method", "write_note")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TRACK_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SELECTED_TRACK_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    AUDIO_TRACKS_FIELD_NUMBER: _ClassVar[int]
    WRITE_METHOD_FIELD_NUMBER: _ClassVar[int]
    WRITE_NOTE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    file_path: str
    status: JobStatus
    priority: Priority
    container: Container
    source: Source
    webhook_id: str
    batch_id: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    attempts: int
    result: JobResult
    reason: str
    reason_code: str
    duration_ms: int
    track_changed: bool
    selected_track: SelectedTrack
    language: str
    language_source: LanguageSource
    worker_id: str
    dry_run: bool
    audio_tracks: _containers.RepeatedCompositeFieldContainer[AudioTrack]
    write_method: WriteMethod
    write_note: str
    def __init__(self, job_id: _Optional[str] = ..., file_path: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., container: _Optional[_Union[Container, str]] = ..., source: _Optional[_Union[Source, str]] = ..., webhook_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., result: _Optional[_Union[JobResult, str]] = ..., reason: _Optional[str] = ..., reason_code: _Optional[str] = ..., duration_ms: _Optional[int] = ..., track_changed: _Optional[bool] = ..., selected_track: _Optional[_Union[SelectedTrack, _Mapping]] = ..., language: _Optional[str] = ..., language_source: _Optional[_Union[LanguageSource, str]] = ..., worker_id: _Optional[str] = ..., dry_run: _Optional[bool] = ..., audio_tracks: _Optional[_Iterable[_Union[AudioTrack, _Mapping]]] = ..., write_method: _Optional[_Union[WriteMethod, str]] = ..., write_note: _Optional[str] = ...) -> None: ...

class JobCounts(_message.Message):
    __slots__ = ("total", "queued", "running", "waiting_for_space", "completed", "failed", "cancelled")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    WAITING_FOR_SPACE_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    total: int
    queued: int
    running: int
    waiting_for_space: int
    completed: int
    failed: int
    cancelled: int
    def __init__(self, total: _Optional[int] = ..., queued: _Optional[int] = ..., running: _Optional[int] = ..., waiting_for_space: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class ResultCounts(_message.Message):
    __slots__ = ("success", "failed", "skipped", "track_changes")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    TRACK_CHANGES_FIELD_NUMBER: _ClassVar[int]
    success: int
    failed: int
    skipped: int
    track_changes: int
    def __init__(self, success: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., track_changes: _Optional[int] = ...) -> None: ...

class WorkerCounts(_message.Message):
    __slots__ = ("total", "active", "idle")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    IDLE_FIELD_NUMBER: _ClassVar[int]
    total: int
    active: int
    idle: int
    def __init__(self, total: _Optional[int] = ..., active: _Optional[int] = ..., idle: _Optional[int] = ...) -> None: ...

class OutcomeStats(_message.Message):
    __slots__ = ("total", "success", "failed", "skipped", "track_changes", "success_rate", "avg_duration_ms")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    TRACK_CHANGES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    AVG_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    total: int
    success: int
    failed: int
    skipped: int
    track_changes: int
    success_rate: float
    avg_duration_ms: float
    def __init__(self, total: _Optional[int] = ..., success: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., track_changes: _Optional[int] = ..., success_rate: _Optional[float] = ..., avg_duration_ms: _Optional[float] = ...) -> None: ...
