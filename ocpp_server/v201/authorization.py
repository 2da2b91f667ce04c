"""2.0.1 Authorization: Authorize."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from ocpp_server.base import CallError
from ocpp_server.v201.common import Handler201, id_token_info, id_token_of


class Authorization201(Handler201):
    @on(Action.authorize)
    async def on_authorize(self, id_token: Any, **kwargs: Any) -> call_result.Authorize:
        station = self.require_station()
        token = id_token_of(id_token)
        if token is None:
            raise CallError(self.OCCURRENCE_VIOLATION, "idToken.idToken is required.")
        async with self.domain() as charging:
            result = await charging.authorize(station.id, token)
        return call_result.Authorize(id_token_info=id_token_info(result))
