from arrtheaudio_proto.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CleanupRequest(_message.Message):
    __slots__ = ("older_than_days", "statuses")
    OLDER_THAN_DAYS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    older_than_days: int
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.JobStatus]
    def __init__(self, older_than_days: _Optional[int] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.JobStatus, str]]] = ...) -> None: ...

class CleanupResponse(_message.Message):
    __slots__ = ("jobs_removed", "batches_removed", "webhooks_removed")
    JOBS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    BATCHES_REMOVED_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    jobs_removed: int
    batches_removed: int
    webhooks_removed: int
    def __init__(self, jobs_removed: _Optional[int] = ..., batches_removed: _Optional[int] = ..., webhooks_removed: _Optional[int] = ...) -> None: ...

class GetHealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetHealthResponse(_message.Message):
    __slots__ = ("status", "version", "storage")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    status: str
    version: str
    storage: str
    def __init__(self, status: _Optional[str] = ..., version: _Optional[str] = ..., storage: _Optional[str] = ...) -> None: ...
