"""What the 2.0.1 handlers share: error spellings, idTokenInfo, meter values."""

from __future__ import annotations

from typing import Any, ClassVar

from ocpp.exceptions import OCPPError
from ocpp.v201.enums import Action

from backend.domain.charging import AuthorizationResult, Reading
from ocpp_server.base import StationHandler, guess_unique_id, parse_time
from ocpp_server.meter import reading


class Handler201(StationHandler):
    FORMAT_VIOLATION: ClassVar[str] = "FormatViolation"
    OCCURRENCE_VIOLATION: ClassVar[str] = "OccurrenceConstraintViolation"
    NOT_ACCEPTED_CODE: ClassVar[str] = "SecurityError"
    ACTIONS: ClassVar[frozenset[str]] = frozenset(a.value for a in Action)

    def _framing_error(self, error: OCPPError, raw: Any) -> tuple[str, str]:
        unique_id = guess_unique_id(raw)
        if error.code == "PropertyConstraintViolation":  # an unknown MessageTypeId
            return "MessageTypeNotSupported", unique_id
        if error.code == "ProtocolError" or unique_id == "-1":
            return "RpcFrameworkError", unique_id
        return "FormatViolation", unique_id


def id_token_info(result: AuthorizationResult) -> dict[str, Any]:
    return {"status": result.status.value}


def id_token_of(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    token = value.get("id_token")
    if not token or value.get("type") == "NoAuthorization":
        return None
    return str(token)


def readings(meter_values: Any) -> list[Reading]:
    found = []
    for meter_value in meter_values or []:
        if not isinstance(meter_value, dict) or "timestamp" not in meter_value:
            continue
        one = reading(parse_time(meter_value["timestamp"]), meter_value.get("sampled_value") or [])
        if one is not None:
            found.append(one)
    return found
