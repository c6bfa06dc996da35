import datetime

from arrtheaudio_proto.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScheduleRunOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_RUN_OUTCOME_UNSPECIFIED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_STARTED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_SKIPPED: _ClassVar[ScheduleRunOutcome]
    SCHEDULE_RUN_OUTCOME_FAILED: _ClassVar[ScheduleRunOutcome]
SCHEDULE_RUN_OUTCOME_UNSPECIFIED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_STARTED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_SKIPPED: ScheduleRunOutcome
SCHEDULE_RUN_OUTCOME_FAILED: ScheduleRunOutcome

class BatchProgress(_message.Message):
    __slots__ = ("total", "completed", "running", "queued", "failed", "skipped", "cancelled", "percent", "eta_seconds")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    total: int
    completed: int
    running: int
    queued: int
    failed: int
    skipped: int
    cancelled: int
    percent: float
    eta_seconds: float
    def __init__(self, total: _Optional[int] = ..., completed: _Optional[int] = ..., running: _Optional[int] = ..., queued: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., cancelled: _Optional[int] = ..., percent: _Optional[float] = ..., eta_seconds: _Optional[float] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("batch_id", "status", "path", "recursive", "pattern", "dry_run", "priority", "min_size_mb", "max_age_days", "exclude_patterns", "created_at", "completed_at", "estimated_files", "progress", "results", "error")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_MB_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FILES_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    status: _common_pb2.BatchStatus
    path: str
    recursive: bool
    pattern: str
    dry_run: bool
    priority: _common_pb2.Priority
    min_size_mb: float
    max_age_days: float
    exclude_patterns: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    estimated_files: int
    progress: BatchProgress
    results: _common_pb2.ResultCounts
    error: str
    def __init__(self, batch_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.BatchStatus, str]] = ..., path: _Optional[str] = ..., recursive: _Optional[bool] = ..., pattern: _Optional[str] = ..., dry_run: _Optional[bool] = ..., priority: _Optional[_Union[_common_pb2.Priority, str]] = ..., min_size_mb: _Optional[float] = ..., max_age_days: _Optional[float] = ..., exclude_patterns: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimated_files: _Optional[int] = ..., progress: _Optional[_Union[BatchProgress, _Mapping]] = ..., results: _Optional[_Union[_common_pb2.ResultCounts, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class StartBatchRequest(_message.Message):
    __slots__ = ("path", "recursive", "pattern", "dry_run", "priority", "min_size_mb", "max_age_days", "exclude_patterns", "force")
    PATH_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_MB_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    path: str
    recursive: bool
    pattern: str
    dry_run: bool
    priority: _common_pb2.Priority
    min_size_mb: float
    max_age_days: float
    exclude_patterns: _containers.RepeatedScalarFieldContainer[str]
    force: bool
    def __init__(self, path: _Optional[str] = ..., recursive: _Optional[bool] = ..., pattern: _Optional[str] = ..., dry_run: _Optional[bool] = ..., priority: _Optional[_Union[_common_pb2.Priority, str]] = ..., min_size_mb: _Optional[float] = ..., max_age_days: _Optional[float] = ..., exclude_patterns: _Optional[_Iterable[str]] = ..., force: _Optional[bool] = ...) -> None: ...

class StartBatchResponse(_message.Message):
    __slots__ = ("batch_id", "estimated_files", "status", "message")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FILES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    estimated_files: int
    status: _common_pb2.BatchStatus
    message: str
    def __init__(self, batch_id: _Optional[str] = ..., estimated_files: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.BatchStatus, str]] = ..., message: _Optional[str] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_id", "limit", "offset")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    limit: int
    offset: int
    def __init__(self, batch_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class GetBatchResponse(_message.Message):
    __slots__ = ("batch", "jobs", "total_jobs")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_JOBS_FIELD_NUMBER: _ClassVar[int]
    batch: Batch
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    total_jobs: int
    def __init__(self, batch: _Optional[_Union[Batch, _Mapping]] = ..., jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ..., total_jobs: _Optional[int] = ...) -> None: ...

class ListBatchesRequest(_message.Message):
    __slots__ = ("status", "limit", "offset")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.BatchStatus
    limit: int
    offset: int
    def __init__(self, status: _Optional[_Union[_common_pb2.BatchStatus, str]] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListBatchesResponse(_message.Message):
    __slots__ = ("batches", "total_size")
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    batches: _containers.RepeatedCompositeFieldContainer[Batch]
    total_size: int
    def __init__(self, batches: _Optional[_Iterable[_Union[Batch, _Mapping]]] = ..., total_size: _Optional[int] = ...) -> None: ...

class CancelBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class CancelBatchResponse(_message.Message):
    __slots__ = ("batch", "cancelled_jobs")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_JOBS_FIELD_NUMBER: _ClassVar[int]
    batch: Batch
    cancelled_jobs: int
    def __init__(self, batch: _Optional[_Union[Batch, _Mapping]] = ..., cancelled_jobs: _Optional[int] = ...) -> None: ...

class RetryBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class RetryBatchResponse(_message.Message):
    __slots__ = ("batch", "retried_jobs", "skipped_jobs")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    RETRIED_JOBS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_JOBS_FIELD_NUMBER: _ClassVar[int]
    batch: Batch
    retried_jobs: int
    skipped_jobs: int
    def __init__(self, batch: _Optional[_Union[Batch, _Mapping]] = ..., retried_jobs: _Optional[int] = ..., skipped_jobs: _Optional[int] = ...) -> None: ...

class WatchBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class BatchEvent(_message.Message):
    __slots__ = ("sequence", "type", "time", "batch", "job", "final", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: _common_pb2.EventType
    time: _timestamp_pb2.Timestamp
    batch: Batch
    job: _common_pb2.Job
    final: bool
    error: _status_pb2.Status
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[_common_pb2.EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., batch: _Optional[_Union[Batch, _Mapping]] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ..., final: _Optional[bool] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("name", "cron", "options", "next_run_at", "last_run_at", "last_outcome", "last_batch_id", "last_message")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    cron: str
    options: StartBatchRequest
    next_run_at: _timestamp_pb2.Timestamp
    last_run_at: _timestamp_pb2.Timestamp
    last_outcome: ScheduleRunOutcome
    last_batch_id: str
    last_message: str
    def __init__(self, name: _Optional[str] = ..., cron: _Optional[str] = ..., options: _Optional[_Union[StartBatchRequest, _Mapping]] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_outcome: _Optional[_Union[ScheduleRunOutcome, str]] = ..., last_batch_id: _Optional[str] = ..., last_message: _Optional[str] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ...) -> None: ...
