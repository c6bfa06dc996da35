import datetime

from arrtheaudio_proto.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("status", "webhook_id", "batch_id", "source", "container", "limit", "offset", "order_by")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.JobStatus
    webhook_id: str
    batch_id: str
    source: _common_pb2.Source
    container: _common_pb2.Container
    limit: int
    offset: int
    order_by: str
    def __init__(self, status: _Optional[_Union[_common_pb2.JobStatus, str]] = ..., webhook_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.Source, str]] = ..., container: _Optional[_Union[_common_pb2.Container, str]] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "total_size")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    total_size: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ..., total_size: _Optional[int] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class RetryJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class GetQueueRequest(_message.Message):
    __slots__ = ("next_limit",)
    NEXT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    next_limit: int
    def __init__(self, next_limit: _Optional[int] = ...) -> None: ...

class QueuedJob(_message.Message):
    __slots__ = ("position", "job")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    position: int
    job: _common_pb2.Job
    def __init__(self, position: _Optional[int] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class GetQueueResponse(_message.Message):
    __slots__ = ("counts", "workers", "current_jobs", "next_jobs")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_JOBS_FIELD_NUMBER: _ClassVar[int]
    counts: _common_pb2.JobCounts
    workers: _common_pb2.WorkerCounts
    current_jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    next_jobs: _containers.RepeatedCompositeFieldContainer[QueuedJob]
    def __init__(self, counts: _Optional[_Union[_common_pb2.JobCounts, _Mapping]] = ..., workers: _Optional[_Union[_common_pb2.WorkerCounts, _Mapping]] = ..., current_jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ..., next_jobs: _Optional[_Iterable[_Union[QueuedJob, _Mapping]]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("sequence", "type", "time", "job", "final", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: _common_pb2.EventType
    time: _timestamp_pb2.Timestamp
    job: _common_pb2.Job
    final: bool
    error: _status_pb2.Status
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[_common_pb2.EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ..., final: _Optional[bool] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class WatchQueueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueueEvent(_message.Message):
    __slots__ = ("sequence", "type", "time", "counts", "workers", "job", "final", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: _common_pb2.EventType
    time: _timestamp_pb2.Timestamp
    counts: _common_pb2.JobCounts
    workers: _common_pb2.WorkerCounts
    job: _common_pb2.Job
    final: bool
    error: _status_pb2.Status
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[_common_pb2.EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Union[_common_pb2.JobCounts, _Mapping]] = ..., workers: _Optional[_Union[_common_pb2.WorkerCounts, _Mapping]] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ..., final: _Optional[bool] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
