import datetime

from arrtheaudio_proto.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WebhookStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEBHOOK_STATUS_UNSPECIFIED: _ClassVar[WebhookStatus]
    WEBHOOK_STATUS_ACCEPTED: _ClassVar[WebhookStatus]
    WEBHOOK_STATUS_IGNORED: _ClassVar[WebhookStatus]
WEBHOOK_STATUS_UNSPECIFIED: WebhookStatus
WEBHOOK_STATUS_ACCEPTED: WebhookStatus
WEBHOOK_STATUS_IGNORED: WebhookStatus

class SonarrWebhookRequest(_message.Message):
    __slots__ = ("body", "token", "apikey")
    BODY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    APIKEY_FIELD_NUMBER: _ClassVar[int]
    body: _httpbody_pb2.HttpBody
    token: str
    apikey: str
    def __init__(self, body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ..., token: _Optional[str] = ..., apikey: _Optional[str] = ...) -> None: ...

class RadarrWebhookRequest(_message.Message):
    __slots__ = ("body", "token", "apikey")
    BODY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    APIKEY_FIELD_NUMBER: _ClassVar[int]
    body: _httpbody_pb2.HttpBody
    token: str
    apikey: str
    def __init__(self, body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ..., token: _Optional[str] = ..., apikey: _Optional[str] = ...) -> None: ...

class WebhookFileResult(_message.Message):
    __slots__ = ("path", "job_id", "accepted", "deduplicated", "error")
    PATH_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    path: str
    job_id: str
    accepted: bool
    deduplicated: bool
    error: str
    def __init__(self, path: _Optional[str] = ..., job_id: _Optional[str] = ..., accepted: _Optional[bool] = ..., deduplicated: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class SonarrWebhookResponse(_message.Message):
    __slots__ = ("status", "webhook_id", "job_ids", "file_count", "message", "files")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    status: WebhookStatus
    webhook_id: str
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    file_count: int
    message: str
    files: _containers.RepeatedCompositeFieldContainer[WebhookFileResult]
    def __init__(self, status: _Optional[_Union[WebhookStatus, str]] = ..., webhook_id: _Optional[str] = ..., job_ids: _Optional[_Iterable[str]] = ..., file_count: _Optional[int] = ..., message: _Optional[str] = ..., files: _Optional[_Iterable[_Union[WebhookFileResult, _Mapping]]] = ...) -> None: ...

class RadarrWebhookResponse(_message.Message):
    __slots__ = ("status", "webhook_id", "job_ids", "file_count", "message", "files")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    status: WebhookStatus
    webhook_id: str
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    file_count: int
    message: str
    files: _containers.RepeatedCompositeFieldContainer[WebhookFileResult]
    def __init__(self, status: _Optional[_Union[WebhookStatus, str]] = ..., webhook_id: _Optional[str] = ..., job_ids: _Optional[_Iterable[str]] = ..., file_count: _Optional[int] = ..., message: _Optional[str] = ..., files: _Optional[_Iterable[_Union[WebhookFileResult, _Mapping]]] = ...) -> None: ...

class Webhook(_message.Message):
    __slots__ = ("webhook_id", "source", "event_type", "title", "created_at", "file_count", "job_ids", "counts", "results", "original_language")
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    source: _common_pb2.Source
    event_type: str
    title: str
    created_at: _timestamp_pb2.Timestamp
    file_count: int
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    counts: _common_pb2.JobCounts
    results: _common_pb2.ResultCounts
    original_language: str
    def __init__(self, webhook_id: _Optional[str] = ..., source: _Optional[_Union[_common_pb2.Source, str]] = ..., event_type: _Optional[str] = ..., title: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., file_count: _Optional[int] = ..., job_ids: _Optional[_Iterable[str]] = ..., counts: _Optional[_Union[_common_pb2.JobCounts, _Mapping]] = ..., results: _Optional[_Union[_common_pb2.ResultCounts, _Mapping]] = ..., original_language: _Optional[str] = ...) -> None: ...

class ListWebhooksRequest(_message.Message):
    __slots__ = ("source", "limit", "offset")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    source: _common_pb2.Source
    limit: int
    offset: int
    def __init__(self, source: _Optional[_Union[_common_pb2.Source, str]] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListWebhooksResponse(_message.Message):
    __slots__ = ("webhooks", "total_size")
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    webhooks: _containers.RepeatedCompositeFieldContainer[Webhook]
    total_size: int
    def __init__(self, webhooks: _Optional[_Iterable[_Union[Webhook, _Mapping]]] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetWebhookRequest(_message.Message):
    __slots__ = ("webhook_id",)
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    def __init__(self, webhook_id: _Optional[str] = ...) -> None: ...

class GetWebhookResponse(_message.Message):
    __slots__ = ("webhook", "jobs")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    webhook: Webhook
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    def __init__(self, webhook: _Optional[_Union[Webhook, _Mapping]] = ..., jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ...) -> None: ...

class WatchWebhookRequest(_message.Message):
    __slots__ = ("webhook_id",)
    WEBHOOK_ID_FIELD_NUMBER: _ClassVar[int]
    webhook_id: str
    def __init__(self, webhook_id: _Optional[str] = ...) -> None: ...

class WebhookEvent(_message.Message):
    __slots__ = ("sequence", "type", "time", "webhook", "job", "final", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: _common_pb2.EventType
    time: _timestamp_pb2.Timestamp
    webhook: Webhook
    job: _common_pb2.Job
    final: bool
    error: _status_pb2.Status
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[_common_pb2.EventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., webhook: _Optional[_Union[Webhook, _Mapping]] = ..., job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ..., final: _Optional[bool] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
