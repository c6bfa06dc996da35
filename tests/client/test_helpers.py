"""The client's pure helpers: enum names, durations, paging, error mapping, options."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from arrtheaudio import enums, errors
from arrtheaudio._requests import http_body, timestamp
from arrtheaudio.durations import days, parse_duration, whole_days
from arrtheaudio.options import ClientOptions
from arrtheaudio.paging import Page, awalk_pages, walk_pages


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("completed", 4),
        ("COMPLETED", 4),
        ("waiting-for-space", 3),
        ("JOB_STATUS_FAILED", 5),
        (2, 2),
        (None, 0),
        ("", 0),
    ],
)
def test_enum_names_to_values(value: Any, expected: int) -> None:
    assert enums.to_value(enums.JobStatus, value) == expected


def test_enum_errors_and_labels() -> None:
    with pytest.raises(ValueError, match="unknown Priority 'urgent'; expected one of: low, normal, high"):
        enums.to_value(enums.Priority, "urgent")
    with pytest.raises(ValueError, match="not a valid Container"):
        enums.to_value(enums.Container, 9)
    assert enums.label(enums.BatchStatus, 3) == "completed"
    assert enums.label(enums.BatchStatus, 0) == ""
    assert enums.label(enums.BatchStatus, 42) == "42"
    assert enums.choices(enums.WebhookStatus) == ["accepted", "ignored"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d 6h", timedelta(days=1, hours=6)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("7", timedelta(days=7)),
        (" 2D ", timedelta(days=2)),
        ("1.5d", timedelta(hours=36)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "d", "30x", "30d later", "soon30d", "0d", "0"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_whole_days_and_fractional_days() -> None:
    assert whole_days(timedelta(weeks=2)) == 14
    with pytest.raises(ValueError, match="whole number of days"):
        whole_days(timedelta(hours=36))
    assert days(timedelta(hours=6)) == 0.25


def _pages(items: list[int], shift_after_first: bool = False) -> Any:
    calls: list[tuple[int, int]] = []
    data = list(items)

    def fetch(offset: int, limit: int) -> Page[int]:
        calls.append((offset, limit))
        page = Page(data[offset : offset + limit], len(data))
        if shift_after_first and len(calls) == 1:
            data.insert(0, 100)  # a new newest item arrives while we walk
        return page

    return fetch, calls


def test_walk_pages_stops_at_total() -> None:
    fetch, calls = _pages(list(range(5)))
    assert list(walk_pages(fetch, page_size=2)) == [0, 1, 2, 3, 4]
    assert calls == [(0, 2), (2, 2), (4, 2)]


def test_walk_pages_drops_items_shifted_into_the_next_page() -> None:
    fetch, _ = _pages(list(range(4)), shift_after_first=True)
    assert list(walk_pages(fetch, page_size=2, key=lambda i: i)) == [0, 1, 2, 3]


def test_walk_pages_empty_and_limits() -> None:
    fetch, calls = _pages([])
    assert list(walk_pages(fetch)) == []
    assert calls == [(0, 100)]
    with pytest.raises(ValueError):
        list(walk_pages(fetch, page_size=101))
    fetch, calls = _pages(list(range(10)))
    assert list(walk_pages(fetch, page_size=3, max_items=4)) == [0, 1, 2, 3]
    assert list(walk_pages(fetch, max_items=0)) == []


async def test_awalk_pages() -> None:
    fetch, _ = _pages(list(range(5)), shift_after_first=True)

    async def afetch(offset: int, limit: int) -> Page[int]:
        return fetch(offset, limit)

    assert [i async for i in awalk_pages(afetch, page_size=2, key=lambda i: i)] == [0, 1, 2, 3, 4]
    assert [i async for i in awalk_pages(afetch, page_size=2, max_items=1)] == [100]
    with pytest.raises(ValueError):
        [i async for i in awalk_pages(afetch, page_size=0)]


def _bad_request_status(code: int = 3) -> status_pb2.Status:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="path", description="outside the media roots"
                )
            ]
        )
    )
    other = any_pb2.Any()
    other.Pack(error_details_pb2.ErrorInfo(reason="X"))
    return status_pb2.Status(code=code, message="bad path", details=[other, detail])


def test_error_from_status_maps_codes_and_details() -> None:
    error = errors.error_from_status(_bad_request_status())
    assert isinstance(error, errors.InvalidArgument)
    assert error.field_violations == (errors.FieldViolation("path", "outside the media roots"),)
    assert str(error) == "INVALID_ARGUMENT: bad path (path: outside the media roots)"
    unknown = errors.error_from_status(status_pb2.Status(code=99, message="?"))
    assert type(unknown) is errors.ArrTheAudioError and unknown.code is grpc.StatusCode.UNKNOWN
    data_loss = errors.error_from_status(status_pb2.Status(code=15))
    assert type(data_loss) is errors.ArrTheAudioError and str(data_loss) == "DATA_LOSS"
    for code, cls in [
        (1, errors.Cancelled),
        (4, errors.DeadlineExceeded),
        (8, errors.ResourceExhausted),
        (12, errors.Unimplemented),
        (13, errors.Internal),
        (16, errors.Unauthenticated),
    ]:
        assert type(errors.error_from_status(status_pb2.Status(code=code))) is cls
    assert str(errors.FieldViolation("", "whole request")) == "whole request"


class _FakeCall(grpc.RpcError):
    """A failed call whose rich status disagrees with its own code (a misbehaving proxy)."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.NOT_FOUND

    def details(self) -> str:
        return "gone"

    def trailing_metadata(self) -> Any:
        return (("grpc-status-details-bin", _bad_request_status(3).SerializeToString()),)


def test_error_from_rpc_trusts_the_call_when_rich_status_disagrees() -> None:
    error = errors.error_from_rpc(_FakeCall())
    assert isinstance(error, errors.NotFound) and error.status is None and error.details == "gone"


def test_options_precedence_and_requests() -> None:
    env = {"ARRTHEAUDIO_TARGET": "h:1", "ARRTHEAUDIO_API_KEY": "env-key"}
    assert ClientOptions.resolve(env=env) == ClientOptions(target="h:1", api_key="env-key")
    assert ClientOptions.resolve("x:2", "k", env=env).metadata() == (("x-api-key", "k"),)
    assert ClientOptions.resolve(env={}).metadata() == ()
    assert http_body("é").data == "é".encode()
    assert timestamp(timestamp(__import__("datetime").datetime(2025, 1, 31))).seconds > 0


def test_tls_channels_are_built_lazily() -> None:
    from arrtheaudio import AsyncClient, Client

    with Client("localhost:1", tls=True, timeout=1) as client, pytest.raises(errors.Unavailable):
        client.health()

    async def run() -> None:
        async with AsyncClient("localhost:1", tls=True, timeout=1) as aclient:
            with pytest.raises(errors.Unavailable):
                await aclient.health()

    import asyncio

    asyncio.run(run())
