"""Credential checks for API calls and for what Sonarr/Radarr can send."""

from __future__ import annotations

import base64

import pytest

from arrtheaudio_server.api.auth import Credentials

KEY = "s3cret-key"


def basic(user: str, password: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


@pytest.mark.parametrize(
    ("metadata", "allowed"),
    [
        ([("x-api-key", KEY)], True),
        ([("authorization", f"Bearer {KEY}")], True),
        ([("authorization", f"bearer {KEY}")], True),
        ([("x-api-key", KEY + "x")], False),
        ([("x-api-key", "")], False),
        ([("authorization", f"Basic {KEY}")], False),
        ([], False),
        (None, False),
    ],
)
def test_api_calls_need_the_key(metadata: list[tuple[str, str]] | None, allowed: bool) -> None:
    assert Credentials(api_key=KEY).api_call_allowed(metadata) is allowed


def test_webhook_accepts_each_way_the_arrs_can_send_the_key() -> None:
    creds = Credentials(api_key=KEY)
    assert creds.webhook_allowed([], token=KEY)
    assert creds.webhook_allowed([], apikey=KEY)
    assert creds.webhook_allowed([("x-api-key", KEY)])
    assert creds.webhook_allowed([basic("sonarr", KEY)])
    assert not creds.webhook_allowed([], token="wrong")
    assert not creds.webhook_allowed([basic("sonarr", "wrong")])
    assert not creds.webhook_allowed([("authorization", "Basic !!notbase64")])
    assert not creds.webhook_allowed([("authorization", "Basic " + base64.b64encode(b"nocolon").decode())])
    assert not creds.webhook_allowed([])


def test_configured_basic_credentials_and_custom_header() -> None:
    creds = Credentials(api_key=KEY, webhook_username="arr", webhook_password="pw", webhook_header="X-Token")
    assert creds.webhook_allowed([basic("arr", "pw")])
    assert not creds.webhook_allowed([basic("arr", "other")])
    assert not creds.webhook_allowed([basic("other", "pw")])
    assert creds.webhook_allowed([("x-token", KEY)])
    assert creds.webhook_allowed([(b"x-token".decode(), KEY.encode())])  # type: ignore[list-item]
