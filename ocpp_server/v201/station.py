"""An OCPP 2.0.1 station: the functional blocks over the library's 2.0.1 ChargePoint."""

from __future__ import annotations

from ocpp.v201 import ChargePoint as ChargePoint201

from ocpp_server.v201.authorization import Authorization201
from ocpp_server.v201.availability import Availability201
from ocpp_server.v201.firmware import Firmware201
from ocpp_server.v201.meter_values import MeterValues201
from ocpp_server.v201.provisioning import Provisioning201
from ocpp_server.v201.reporting import Reporting201
from ocpp_server.v201.security import Security201
from ocpp_server.v201.transactions import Transactions201


class V201Station(
    Provisioning201,
    Availability201,
    Authorization201,
    Transactions201,
    MeterValues201,
    Firmware201,
    Reporting201,
    Security201,
    ChargePoint201,
):
    pass
