"""What the 1.6 handlers share: error spellings, idTagInfo, meter values."""

from __future__ import annotations

from typing import Any, ClassVar

from ocpp.exceptions import OCPPError
from ocpp.v16.enums import Action

from backend.domain.charging import AuthorizationResult, AuthorizationStatus, Reading
from ocpp_server.base import StationHandler, guess_unique_id, parse_time
from ocpp_server.meter import reading

_1_6_CODES = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


class Handler16(StationHandler):
    FORMAT_VIOLATION: ClassVar[str] = "FormationViolation"
    # OCPP 1.6 spells it with one r.
    OCCURRENCE_VIOLATION: ClassVar[str] = "OccurenceConstraintViolation"
    NOT_ACCEPTED_CODE: ClassVar[str] = "SecurityError"
    ACTIONS: ClassVar[frozenset[str]] = frozenset(a.value for a in Action)

    def _framing_error(self, error: OCPPError, raw: Any) -> tuple[str, str]:
        code = _1_6_CODES.get(error.code, error.code)
        if code == "PropertyConstraintViolation":  # an unknown MessageTypeId
            code = "ProtocolError"
        return code, guess_unique_id(raw)


def id_tag_info(result: AuthorizationResult) -> dict[str, Any]:
    status = {
        AuthorizationStatus.ACCEPTED: "Accepted",
        AuthorizationStatus.BLOCKED: "Blocked",
        AuthorizationStatus.INVALID: "Invalid",
        # 1.6 has no "not at this location": the badge is not allowed here.
        AuthorizationStatus.NOT_AT_THIS_LOCATION: "Blocked",
    }[result.status]
    return {"status": status}


def readings(meter_values: Any) -> list[Reading]:
    found = []
    for meter_value in meter_values or []:
        if not isinstance(meter_value, dict) or "timestamp" not in meter_value:
            continue
        one = reading(parse_time(meter_value["timestamp"]), meter_value.get("sampled_value") or [])
        if one is not None:
            found.append(one)
    return found
