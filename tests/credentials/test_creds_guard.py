"""The environment guard: live keys only to production, dev/test keys never there."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from creds_helpers import DEV_ID, DEV_KEY, LIVE_ID, LIVE_KEY

from console.boop.client import BoopClient
from console.config import EnvironmentConfig, SafetyConfig
from console.credentials import (
    EnvironmentMismatch,
    ProductionConfirmation,
    ProductionNotConfirmed,
    credential_problems,
    format_problems,
    make_guard,
)

DEV = EnvironmentConfig(
    base_url="https://dev.app.boop.it", ws_url="wss://dev.app.boop.it/ws"
)
PROD_BY_HOST = EnvironmentConfig(
    base_url="https://app.boop.it", ws_url="wss://app.boop.it/ws"
)
PROD_BY_FLAG = EnvironmentConfig(
    base_url="http://127.0.0.1:8001", ws_url="ws://127.0.0.1:8001/ws", production=True
)
SAFETY = SafetyConfig()  # production_hosts = ["app.boop.it"]


def test_live_key_never_goes_to_dev() -> None:
    guard = make_guard(DEV, SAFETY)
    with pytest.raises(EnvironmentMismatch) as info:
        guard("https://dev.app.boop.it/api/v1/status", LIVE_ID, LIVE_KEY)
    assert info.value.message == (
        "Refused before sending: vendor id ven_live_…osks is a live credential and "
        "dev.app.boop.it is not production; API key sk_live_…9f3a is a live "
        "credential and dev.app.boop.it is not production."
    )
    guard("https://dev.app.boop.it/api/v1/status", DEV_ID, DEV_KEY)  # allowed


@pytest.mark.parametrize("env", [PROD_BY_HOST, PROD_BY_FLAG])
def test_dev_or_test_key_never_goes_to_production(env: EnvironmentConfig) -> None:
    guard = make_guard(env, SAFETY)
    url = env.base_url + "/api/v1/auth/create"
    with pytest.raises(EnvironmentMismatch, match="sk_dev_…7e7e is a dev credential"):
        guard(url, DEV_ID, DEV_KEY)
    with pytest.raises(EnvironmentMismatch, match="is not a sk_live_ key"):
        guard(url, "ven_someone", "plainkey1234567890")
    guard(url, LIVE_ID, LIVE_KEY)
    guard(env.base_url + "/health", "", "")  # unauthenticated: nothing to check


def test_production_host_wins_over_a_missing_flag() -> None:
    # An environment not flagged production but pointing at a production host.
    mislabelled = EnvironmentConfig(base_url="https://app.boop.it", ws_url="wss://x/ws")
    assert credential_problems(
        "https://app.boop.it/api/v1/status", DEV_ID, DEV_KEY, mislabelled, SAFETY
    ) == [
        "vendor id ven_dev_…osks is a dev credential and app.boop.it is production",
        "API key sk_dev_…7e7e is a dev credential and app.boop.it is production",
    ]


def test_format_problems() -> None:
    assert format_problems(LIVE_ID, LIVE_KEY) == []
    assert format_problems(DEV_ID, LIVE_KEY) == [
        "vendor id is a dev id but the API key is a live key"
    ]
    assert format_problems("acme", "sk_live_ab cd\n") == [
        "vendor id does not look like ven_<kind>_<id>",
        "API key does not look like sk_live_/sk_dev_/sk_test_<key>",
        "a value contains whitespace (a pasted newline?)",
    ]


def test_first_production_call_is_confirmed_once_per_host() -> None:
    asked: list[str] = []

    def ask(host: str) -> bool:
        asked.append(host)
        return True

    confirmation = ProductionConfirmation(ask)
    guard = make_guard(PROD_BY_HOST, SAFETY, confirmation)
    guard("https://app.boop.it/health", LIVE_ID, LIVE_KEY)
    guard("https://app.boop.it/api/v1/status", LIVE_ID, LIVE_KEY)
    assert asked == ["app.boop.it"]

    declined = make_guard(PROD_BY_HOST, SAFETY, ProductionConfirmation(lambda h: False))
    with pytest.raises(ProductionNotConfirmed) as info:
        declined("https://app.boop.it/health", LIVE_ID, LIVE_KEY)
    assert info.value.message == (
        "Call to production host app.boop.it not confirmed; nothing was sent."
    )
    nobody = make_guard(PROD_BY_HOST, SAFETY, ProductionConfirmation())
    with pytest.raises(ProductionNotConfirmed, match="nobody was asked"):
        nobody("https://app.boop.it/health", LIVE_ID, LIVE_KEY)


def test_client_refuses_before_any_request_leaves() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"status": "ok", "version": "x"})

    async def run() -> None:
        async with BoopClient(
            DEV.base_url,
            LIVE_ID,
            LIVE_KEY,
            guard=make_guard(DEV, SAFETY),
            transport=httpx.MockTransport(handler),
        ) as client:
            with pytest.raises(EnvironmentMismatch):
                await client.health()

    asyncio.run(run())
    assert sent == []
