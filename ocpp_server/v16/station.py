"""An OCPP 1.6J station: the functional blocks over the library's 1.6 ChargePoint."""

from __future__ import annotations

from ocpp.v16 import ChargePoint as ChargePoint16

from ocpp_server.v16.authorization import Authorization16
from ocpp_server.v16.availability import Availability16
from ocpp_server.v16.data_transfer import DataTransfer16
from ocpp_server.v16.firmware import Firmware16
from ocpp_server.v16.meter_values import MeterValues16
from ocpp_server.v16.provisioning import Provisioning16
from ocpp_server.v16.transactions import Transactions16


class V16Station(
    Provisioning16,
    Availability16,
    Authorization16,
    Transactions16,
    MeterValues16,
    Firmware16,
    DataTransfer16,
    ChargePoint16,
):
    pass
