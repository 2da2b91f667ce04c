"""Is a finished session billed? Decided once its cost is final, in the same transaction.

A session's cost is final when its connector is Available again (parking time ends there, see
`costs.SessionCosts.connector_available`), or, when the station never says so, once the billing
worker's sweep finds it stopped more than `billing_settle_after_h` ago (priced until its stop).
Then it becomes `pending` (an invoice will be issued) or `not_billable` with a note:

- `no_tariff`: no tariff applied when it started;
- `no_user`: nobody to bill (a badge nobody owns, accepted where access control is off);
- `below_minimum`: shorter than `billing_min_duration_s` or less than `billing_min_energy_wh`;
- `zero_cost`: priced, but nothing to pay.

Cheap on purpose: it runs on the OCPP ingest path, with no I/O of its own. Once settled, the
cost no longer changes (a later Available does not reprice it).
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.db.models import BillingNote, BillingState, ChargingSession, SessionStatus
from backend.settings import Settings, get_settings


@dataclass(frozen=True)
class BillingRules:
    min_duration_s: int = 60
    min_energy_wh: int = 50

    @classmethod
    def of(cls, settings: Settings) -> BillingRules:
        return cls(
            min_duration_s=settings.billing_min_duration_s,
            min_energy_wh=settings.billing_min_energy_wh,
        )


def decide(charging: ChargingSession, rules: BillingRules) -> tuple[BillingState, str | None]:
    """What billing does with this finished session (state, and why not when not billed)."""
    if charging.tariff_snapshot is None or charging.cost_currency is None:
        return BillingState.NOT_BILLABLE, BillingNote.NO_TARIFF.value
    if charging.user_id is None:
        return BillingState.NOT_BILLABLE, BillingNote.NO_USER.value
    end = charging.stopped_at or charging.started_at
    duration_s = (end - charging.started_at).total_seconds()
    if duration_s < rules.min_duration_s or charging.energy_wh < rules.min_energy_wh:
        return BillingState.NOT_BILLABLE, BillingNote.BELOW_MINIMUM.value
    if (charging.cost_incl_vat_minor or 0) <= 0:
        return BillingState.NOT_BILLABLE, BillingNote.ZERO_COST.value
    return BillingState.PENDING, None


def settle(charging: ChargingSession, rules: BillingRules | None = None) -> bool:
    """Decide on a completed session not invoiced yet. True when its state changed."""
    if (
        charging.status is not SessionStatus.COMPLETED
        or charging.billing_state is BillingState.INVOICED
    ):
        return False
    state, note = decide(charging, rules or BillingRules.of(get_settings()))
    if (charging.billing_state, charging.billing_note) == (state, note):
        return False
    charging.billing_state = state
    charging.billing_note = note
    return True


def settle_if_final(charging: ChargingSession) -> bool:
    """Called whenever a session is priced: settle it if its cost just became final."""
    if charging.status is not SessionStatus.COMPLETED or charging.available_at is None:
        return False
    return settle(charging)


__all__ = ["BillingRules", "decide", "settle", "settle_if_final"]
