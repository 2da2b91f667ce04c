"""A small graphql-transport-ws client over `websockets`, for subscription tests."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

_ids = itertools.count(1)


class GraphQLWs:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = str(next(_ids))
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
        return op_id

    async def receive(self, op_id: str, wait_s: float = 10) -> dict[str, Any]:
        """The next message of this operation: {"type": "next"|"error"|"complete", ...}."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = json.loads(await asyncio.wait_for(self.ws.recv(), max(left, 0.01)))
            if message.get("type") == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message.get("id") == op_id:
                return message  # type: ignore[no-any-return]

    async def next_data(self, op_id: str, wait_s: float = 10) -> dict[str, Any]:
        message = await self.receive(op_id, wait_s)
        assert message["type"] == "next", message
        assert not message["payload"].get("errors"), message
        return message["payload"]["data"]  # type: ignore[no-any-return]

    async def error_code(self, op_id: str, wait_s: float = 10) -> str:
        message = await self.receive(op_id, wait_s)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        return str(errors[0].get("extensions", {}).get("code", errors[0]["message"]))


@asynccontextmanager
async def graphql_ws(
    ws_url: str,
    *,
    token: str | None = None,
    cookie: str | None = None,
    origin: str | None = None,
) -> AsyncIterator[GraphQLWs]:
    headers = {}
    if cookie:
        headers["Cookie"] = f"vev_session={cookie}"
    async with websockets.connect(
        f"{ws_url}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
    ) as ws:
        init = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield GraphQLWs(ws)
