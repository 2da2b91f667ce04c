"""Commands to stations, version by version: a domain `Command` becomes the OCPP call of the
station's version, and its answer a version-independent `CommandAnswer`.

| command                | 1.6                     | 2.0.1                          |
| ---------------------- | ----------------------- | ------------------------------ |
| remote_start           | RemoteStartTransaction  | RequestStartTransaction        |
| remote_stop            | RemoteStopTransaction   | RequestStopTransaction         |
| reset (Hard / Soft)    | Reset                   | Reset (Immediate / OnIdle)     |
| unlock_connector       | UnlockConnector         | UnlockConnector (connector 1)  |
| change_availability    | ChangeAvailability      | ChangeAvailability             |
| get_configuration      | GetConfiguration        | GetVariables ("Component.Var") |
| change_configuration   | ChangeConfiguration     | SetVariables                   |
| trigger_message        | TriggerMessage          | TriggerMessage                 |
| clear_cache            | ClearCache              | ClearCache                     |
| update_firmware        | UpdateFirmware          | UpdateFirmware                 |
| set_charging_profile   | SetChargingProfile      | SetChargingProfile             |
| clear_charging_profile | ClearChargingProfile    | ClearChargingProfile           |
| get_composite_schedule | GetCompositeSchedule    | GetCompositeSchedule           |

The connector number of a command is the 1.6 connectorId and the 2.0.1 EVSE id (0: the whole
station). Calls go through the library's `ChargePoint.call`, which holds the station's call
lock: one call of ours in flight per station, the others wait their turn.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.v16 import call as c16
from ocpp.v201 import call as c201

from backend.domain.charging.commands import Command, CommandAnswer, CommandKind
from backend.domain.errors import InvalidInput
from ocpp_server.base import StationHandler, format_time

K = CommandKind

# 2.0.1 has no "all keys" in GetVariables: without keys, these standard ones are read.
DEFAULT_201_VARIABLES = (
    "OCPPCommCtrlr.HeartbeatInterval",
    "OCPPCommCtrlr.WebSocketPingInterval",
    "AuthCtrlr.Enabled",
    "AuthCtrlr.AuthorizeRemoteStart",
    "AuthCacheCtrlr.Enabled",
    "TxCtrlr.EVConnectionTimeOut",
    "SampledDataCtrlr.TxUpdatedInterval",
    "SecurityCtrlr.SecurityProfile",
)


def _time(value: str | None) -> str | None:
    return format_time(datetime.fromisoformat(value)) if value else None


def _periods(profile: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"start_period": start, "limit": limit, "number_phases": phases}
        for start, limit, phases in profile["periods"]
    ]


def _profile16(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "charging_profile_id": p["id"],
        "stack_level": p["stack_level"],
        "charging_profile_purpose": p["purpose"],
        "charging_profile_kind": p["kind"],
        "recurrency_kind": p.get("recurrency"),
        "transaction_id": int(p["transaction_id"]) if p.get("transaction_id") else None,
        "charging_schedule": {
            "duration": p.get("duration_s"),
            "start_schedule": _time(p.get("start_schedule")),
            "charging_rate_unit": p["rate_unit"],
            "charging_schedule_period": _periods(p),
            "min_charging_rate": p.get("min_charging_rate"),
        },
    }


def _profile201(p: dict[str, Any]) -> dict[str, Any]:
    purpose = p["purpose"]
    if purpose == "ChargePointMaxProfile":
        purpose = "ChargingStationMaxProfile"
    return {
        "id": p["id"],
        "stack_level": p["stack_level"],
        "charging_profile_purpose": purpose,
        "charging_profile_kind": p["kind"],
        "recurrency_kind": p.get("recurrency"),
        "transaction_id": p.get("transaction_id"),
        "charging_schedule": [
            {
                "id": p["id"],
                "start_schedule": _time(p.get("start_schedule")),
                "duration": p.get("duration_s"),
                "charging_rate_unit": p["rate_unit"],
                "charging_schedule_period": _periods(p),
                "min_charging_rate": p.get("min_charging_rate"),
            }
        ],
    }


def _prune(value: Any) -> Any:
    """Without None values, and JSON-ready (the library reads numbers as Decimal)."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _variable(key: str) -> dict[str, Any]:
    component, sep, variable = key.replace("/", ".").partition(".")
    if not sep or not component or not variable:
        raise InvalidInput(
            'A 2.0.1 key names a component and a variable: "Component.Variable".', field="keys"
        )
    return {"component": {"name": component}, "variable": {"name": variable}}


def _status(result: Any) -> str:
    status = getattr(result, "status", None)
    return str(getattr(status, "value", status) or "Accepted")


def _as_json(result: Any) -> dict[str, Any]:
    is_instance = dataclasses.is_dataclass(result) and not isinstance(result, type)
    data = dataclasses.asdict(result) if is_instance else {}
    return _prune(snake_to_camel_case(data))  # type: ignore[no-any-return]


# --- 1.6 -------------------------------------------------------------------------------------


def request16(command: Command) -> Any:
    p = command.params
    match command.kind:
        case K.REMOTE_START:
            profile = p.get("profile")
            return c16.RemoteStartTransaction(
                id_tag=p["id_tag"],
                connector_id=p["connector"],
                charging_profile=_prune(_profile16(profile)) if profile else None,
            )
        case K.REMOTE_STOP:
            try:
                transaction_id = int(p["transaction_id"])
            except ValueError as error:
                raise InvalidInput("Not a 1.6 transaction.", field="sessionId") from error
            return c16.RemoteStopTransaction(transaction_id=transaction_id)
        case K.RESET:
            return c16.Reset(type=p["type"])
        case K.UNLOCK_CONNECTOR:
            return c16.UnlockConnector(connector_id=p["connector"])
        case K.CHANGE_AVAILABILITY:
            kind = "Operative" if p["operative"] else "Inoperative"
            return c16.ChangeAvailability(connector_id=p["connector"], type=kind)
        case K.GET_CONFIGURATION:
            return c16.GetConfiguration(key=p.get("keys") or None)
        case K.CHANGE_CONFIGURATION:
            return c16.ChangeConfiguration(key=p["key"], value=p["value"])
        case K.TRIGGER_MESSAGE:
            return c16.TriggerMessage(
                requested_message=p["message"], connector_id=p.get("connector")
            )
        case K.CLEAR_CACHE:
            return c16.ClearCache()
        case K.UPDATE_FIRMWARE:
            return c16.UpdateFirmware(
                location=p["location"],
                retrieve_date=_time(p["retrieve_at"]),
                retries=p.get("retries"),
            )
        case K.SET_CHARGING_PROFILE:
            return c16.SetChargingProfile(
                connector_id=p["connector"], cs_charging_profiles=_prune(_profile16(p["profile"]))
            )
        case K.CLEAR_CHARGING_PROFILE:
            return c16.ClearChargingProfile(
                id=p.get("id"),
                connector_id=p.get("connector"),
                charging_profile_purpose=p.get("purpose"),
                stack_level=p.get("stack_level"),
            )
        case K.GET_COMPOSITE_SCHEDULE:
            return c16.GetCompositeSchedule(
                connector_id=p["connector"],
                duration=p["duration_s"],
                charging_rate_unit=p.get("rate_unit"),
            )
    raise InvalidInput(f"Unknown command {command.kind}.")


def answer16(command: Command, result: Any) -> CommandAnswer:
    if command.kind is K.GET_CONFIGURATION:
        keys = [
            {"key": k.get("key"), "value": k.get("value"), "readonly": bool(k.get("readonly"))}
            for k in result.configuration_key or []
        ]
        return CommandAnswer("Accepted", {"keys": keys, "unknown_keys": result.unknown_key or []})
    if command.kind is K.GET_COMPOSITE_SCHEDULE:
        return CommandAnswer(_status(result), {"schedule": _as_json(result)})
    return CommandAnswer(_status(result))


# --- 2.0.1 -----------------------------------------------------------------------------------


def request201(command: Command) -> Any:
    p = command.params
    match command.kind:
        case K.REMOTE_START:
            profile = p.get("profile")
            return c201.RequestStartTransaction(
                id_token={"id_token": p["id_tag"], "type": "ISO14443"},
                remote_start_id=p["remote_start_id"],
                evse_id=p["connector"],
                charging_profile=_prune(_profile201(profile)) if profile else None,
            )
        case K.REMOTE_STOP:
            return c201.RequestStopTransaction(transaction_id=p["transaction_id"])
        case K.RESET:
            return c201.Reset(type="Immediate" if p["type"] == "Hard" else "OnIdle")
        case K.UNLOCK_CONNECTOR:
            return c201.UnlockConnector(evse_id=p["connector"], connector_id=1)
        case K.CHANGE_AVAILABILITY:
            status = "Operative" if p["operative"] else "Inoperative"
            evse = {"id": p["connector"]} if p["connector"] else None
            return c201.ChangeAvailability(operational_status=status, evse=evse)
        case K.GET_CONFIGURATION:
            keys = p.get("keys") or list(DEFAULT_201_VARIABLES)
            return c201.GetVariables(get_variable_data=[_variable(k) for k in keys])
        case K.CHANGE_CONFIGURATION:
            data = {**_variable(p["key"]), "attribute_value": p["value"]}
            return c201.SetVariables(set_variable_data=[data])
        case K.TRIGGER_MESSAGE:
            message = p["message"]
            if message == "DiagnosticsStatusNotification":
                message = "LogStatusNotification"
            connector = p.get("connector")
            return c201.TriggerMessage(
                requested_message=message, evse={"id": connector} if connector else None
            )
        case K.CLEAR_CACHE:
            return c201.ClearCache()
        case K.UPDATE_FIRMWARE:
            return c201.UpdateFirmware(
                request_id=random.randint(1, 2_000_000_000),
                firmware={
                    "location": p["location"],
                    "retrieve_date_time": _time(p["retrieve_at"]),
                },
                retries=p.get("retries"),
            )
        case K.SET_CHARGING_PROFILE:
            return c201.SetChargingProfile(
                evse_id=p["connector"], charging_profile=_prune(_profile201(p["profile"]))
            )
        case K.CLEAR_CHARGING_PROFILE:
            purpose = p.get("purpose")
            if purpose == "ChargePointMaxProfile":
                purpose = "ChargingStationMaxProfile"
            criteria = _prune(
                {
                    "evse_id": p.get("connector"),
                    "charging_profile_purpose": purpose,
                    "stack_level": p.get("stack_level"),
                }
            )
            return c201.ClearChargingProfile(
                charging_profile_id=p.get("id"), charging_profile_criteria=criteria or None
            )
        case K.GET_COMPOSITE_SCHEDULE:
            return c201.GetCompositeSchedule(
                duration=p["duration_s"],
                evse_id=p["connector"],
                charging_rate_unit=p.get("rate_unit"),
            )
    raise InvalidInput(f"Unknown command {command.kind}.")


def _key(result: dict[str, Any]) -> str:
    return f"{result['component']['name']}.{result['variable']['name']}"


def answer201(command: Command, result: Any) -> CommandAnswer:
    if command.kind is K.GET_CONFIGURATION:
        keys, unknown = [], []
        for item in result.get_variable_result or []:
            if item.get("attribute_status") == "Accepted":
                keys.append(
                    {"key": _key(item), "value": item.get("attribute_value"), "readonly": False}
                )
            else:
                unknown.append(_key(item))
        return CommandAnswer("Accepted", {"keys": keys, "unknown_keys": unknown})
    if command.kind is K.CHANGE_CONFIGURATION:
        results = result.set_variable_result or [{}]
        return CommandAnswer(str(results[0].get("attribute_status", "Rejected")))
    if command.kind is K.GET_COMPOSITE_SCHEDULE:
        return CommandAnswer(_status(result), {"schedule": _as_json(result)})
    return CommandAnswer(_status(result))


ADAPTERS: dict[str, tuple[Callable[[Command], Any], Callable[[Command, Any], CommandAnswer]]] = {
    "1.6": (request16, answer16),
    "2.0.1": (request201, answer201),
}


async def execute(handler: StationHandler, command: Command) -> CommandAnswer:
    """Send the command to this connected station and wait for its answer. A CALLERROR
    answer raises the library's OCPPError; a silent station, asyncio.TimeoutError."""
    request, answer = ADAPTERS[handler._ocpp_version]
    result = await handler.call(request(command), suppress=False)
    return answer(command, result)
