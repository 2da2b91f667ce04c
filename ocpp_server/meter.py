"""OCPP sampled values (1.6 and 2.0.1 share measurand names) into version-independent readings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from backend.domain.charging import Reading

_PHASES = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}
_ENERGY = "Energy.Active.Import.Register"
_SCALE = {"wh": 1.0, "kwh": 1000.0, "w": 1.0, "kw": 1000.0, "a": 1.0, "v": 1.0, "percent": 1.0}


def reading(at: datetime, sampled_values: Iterable[dict[str, Any]]) -> Reading | None:
    """One instant: values of the same measurand per phase are summed (power) or kept per phase."""
    energy: float | None = None
    power: float | None = None
    power_phases = 0.0
    has_power_phases = False
    current: list[float | None] = [None, None, None]
    voltage: list[float | None] = [None, None, None]
    soc: float | None = None
    for sampled in sampled_values:
        if not isinstance(sampled, dict):
            continue
        measurand = sampled.get("measurand") or _ENERGY
        if sampled.get("location") not in (None, "Outlet", "Cable", "EV"):
            continue  # Inlet and Body are the station's own supply or temperature
        try:
            value = float(sampled["value"])
        except (KeyError, TypeError, ValueError):
            continue
        unit_info = sampled.get("unit_of_measure") or {}
        unit = str(sampled.get("unit") or unit_info.get("unit") or "").lower()
        multiplier = unit_info.get("multiplier") or 0
        value *= _SCALE.get(unit, 1.0) * (10 ** int(multiplier))
        phase = _PHASES.get(sampled.get("phase") or "")
        if measurand == _ENERGY:
            if phase is None:
                energy = value
        elif measurand == "Power.Active.Import":
            if phase is None:
                power = value
            else:
                power_phases += value
                has_power_phases = True
        elif measurand == "Current.Import":
            current[0 if phase is None else phase] = value
        elif measurand == "Voltage":
            voltage[0 if phase is None else phase] = value
        elif measurand == "SoC":
            soc = value
    if power is None and has_power_phases:
        power = power_phases
    if (
        energy is None
        and power is None
        and soc is None
        and all(v is None for v in (*current, *voltage))
    ):
        return None
    return Reading(
        at=at,
        energy_wh=round(energy) if energy is not None else None,
        power_w=round(power) if power is not None else None,
        current_a=(current[0], current[1], current[2]),
        voltage_v=(voltage[0], voltage[1], voltage[2]),
        soc_percent=round(soc) if soc is not None else None,
    )
