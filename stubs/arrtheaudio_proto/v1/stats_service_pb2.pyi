import datetime

from arrtheaudio_proto.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ContainerStats(_message.Message):
    __slots__ = ("container", "stats")
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    container: _common_pb2.Container
    stats: _common_pb2.OutcomeStats
    def __init__(self, container: _Optional[_Union[_common_pb2.Container, str]] = ..., stats: _Optional[_Union[_common_pb2.OutcomeStats, _Mapping]] = ...) -> None: ...

class SourceStats(_message.Message):
    __slots__ = ("source", "stats")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    source: _common_pb2.Source
    stats: _common_pb2.OutcomeStats
    def __init__(self, source: _Optional[_Union[_common_pb2.Source, str]] = ..., stats: _Optional[_Union[_common_pb2.OutcomeStats, _Mapping]] = ...) -> None: ...

class ReasonCount(_message.Message):
    __slots__ = ("reason_code", "count")
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    reason_code: str
    count: int
    def __init__(self, reason_code: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("queue", "workers", "today", "lifetime", "containers", "sources")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    TODAY_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    queue: _common_pb2.JobCounts
    workers: _common_pb2.WorkerCounts
    today: _common_pb2.OutcomeStats
    lifetime: _common_pb2.OutcomeStats
    containers: _containers.RepeatedCompositeFieldContainer[ContainerStats]
    sources: _containers.RepeatedCompositeFieldContainer[SourceStats]
    def __init__(self, queue: _Optional[_Union[_common_pb2.JobCounts, _Mapping]] = ..., workers: _Optional[_Union[_common_pb2.WorkerCounts, _Mapping]] = ..., today: _Optional[_Union[_common_pb2.OutcomeStats, _Mapping]] = ..., lifetime: _Optional[_Union[_common_pb2.OutcomeStats, _Mapping]] = ..., containers: _Optional[_Iterable[_Union[ContainerStats, _Mapping]]] = ..., sources: _Optional[_Iterable[_Union[SourceStats, _Mapping]]] = ...) -> None: ...

class GetJobStatsRequest(_message.Message):
    __slots__ = ("batch_id", "webhook_id", "source", "container", "created_after")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    webhook_id: str
    source: _common_pb2.Source
    container: _common_pb2.Container
    created_after: _timestamp_pb2.Timestamp
    def __init__(self, batch_id: _Optional[str] = ..., webhook_id: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.Source, str]] = ..., container: _Optional[_Union[_common_pb2.Container, str]] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetJobStatsResponse(_message.Message):
    __slots__ = ("counts", "outcomes", "containers", "sources", "reasons")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    counts: _common_pb2.JobCounts
    outcomes: _common_pb2.OutcomeStats
    containers: _containers.RepeatedCompositeFieldContainer[ContainerStats]
    sources: _containers.RepeatedCompositeFieldContainer[SourceStats]
    reasons: _containers.RepeatedCompositeFieldContainer[ReasonCount]
    def __init__(self, counts: _Optional[_Union[_common_pb2.JobCounts, _Mapping]] = ..., outcomes: _Optional[_Union[_common_pb2.OutcomeStats, _Mapping]] = ..., containers: _Optional[_Iterable[_Union[ContainerStats, _Mapping]]] = ..., sources: _Optional[_Iterable[_Union[SourceStats, _Mapping]]] = ..., reasons: _Optional[_Iterable[_Union[ReasonCount, _Mapping]]] = ...) -> None: ...

class GetDailyStatsRequest(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: int
    def __init__(self, days: _Optional[int] = ...) -> None: ...

class DailyStats(_message.Message):
    __slots__ = ("date", "total", "success", "failed", "skipped", "track_changes", "avg_duration_ms")
    DATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    TRACK_CHANGES_FIELD_NUMBER: _ClassVar[int]
    AVG_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    date: str
    total: int
    success: int
    failed: int
    skipped: int
    track_changes: int
    avg_duration_ms: float
    def __init__(self, date: _Optional[str] = ..., total: _Optional[int] = ..., success: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., track_changes: _Optional[int] = ..., avg_duration_ms: _Optional[float] = ...) -> None: ...

class GetDailyStatsResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[DailyStats]
    def __init__(self, days: _Optional[_Iterable[_Union[DailyStats, _Mapping]]] = ...) -> None: ...
