"""The sandbox app behind an in-process httpx client; each test module provides its own ``state``."""

from collections.abc import AsyncIterator

import httpx
import pytest

from carriers.sandbox import SandboxState, create_app


@pytest.fixture
async def client(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http
