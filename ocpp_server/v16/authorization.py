"""1.6 Core: Authorize."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from ocpp_server.v16.common import Handler16, id_tag_info


class Authorization16(Handler16):
    @on(Action.authorize)
    async def on_authorize(self, id_tag: Any, **kwargs: Any) -> call_result.Authorize:
        station = self.require_station()
        async with self.domain() as charging:
            result = await charging.authorize(station.id, str(id_tag))
        return call_result.Authorize(id_tag_info=id_tag_info(result))
