"""1.6 Core: DataTransfer. No vendor extension is known to VEV-IQ yet: UnknownVendorId."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, DataTransferStatus

from ocpp_server.v16.common import Handler16

log = logging.getLogger("vev_iq.ocpp")


class DataTransfer16(Handler16):
    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: Any, **kwargs: Any) -> call_result.DataTransfer:
        self.require_station()
        log.info("%s: data transfer from vendor %r ignored", self.id, vendor_id)
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
