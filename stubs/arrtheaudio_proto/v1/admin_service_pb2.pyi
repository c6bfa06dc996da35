import datetime

from arrtheaudio_proto.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArrKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARR_KIND_UNSPECIFIED: _ClassVar[ArrKind]
    ARR_KIND_SONARR: _ClassVar[ArrKind]
    ARR_KIND_RADARR: _ClassVar[ArrKind]

class ConnectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTION_STATE_UNSPECIFIED: _ClassVar[ConnectionState]
    CONNECTION_STATE_OK: _ClassVar[ConnectionState]
    CONNECTION_STATE_ERROR: _ClassVar[ConnectionState]
    CONNECTION_STATE_UNKNOWN: _ClassVar[ConnectionState]
ARR_KIND_UNSPECIFIED: ArrKind
ARR_KIND_SONARR: ArrKind
ARR_KIND_RADARR: ArrKind
CONNECTION_STATE_UNSPECIFIED: ConnectionState
CONNECTION_STATE_OK: ConnectionState
CONNECTION_STATE_ERROR: ConnectionState
CONNECTION_STATE_UNKNOWN: ConnectionState

class ArrConnection(_message.Message):
    __slots__ = ("kind", "name", "url", "state", "title_count", "message", "checked_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TITLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    kind: ArrKind
    name: str
    url: str
    state: ConnectionState
    title_count: int
    message: str
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[ArrKind, str]] = ..., name: _Optional[str] = ..., url: _Optional[str] = ..., state: _Optional[_Union[ConnectionState, str]] = ..., title_count: _Optional[int] = ..., message: _Optional[str] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TestArrConnectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TestArrConnectionsResponse(_message.Message):
    __slots__ = ("connections",)
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    connections: _containers.RepeatedCompositeFieldContainer[ArrConnection]
    def __init__(self, connections: _Optional[_Iterable[_Union[ArrConnection, _Mapping]]] = ...) -> None: ...

class HealthDetail(_message.Message):
    __slots__ = ("component", "healthy", "message")
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    component: str
    healthy: bool
    message: str
    def __init__(self, component: _Optional[str] = ..., healthy: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("status", "version", "storage", "details")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    status: str
    version: str
    storage: str
    details: _containers.RepeatedCompositeFieldContainer[HealthDetail]
    def __init__(self, status: _Optional[str] = ..., version: _Optional[str] = ..., storage: _Optional[str] = ..., details: _Optional[_Iterable[_Union[HealthDetail, _Mapping]]] = ...) -> None: ...
