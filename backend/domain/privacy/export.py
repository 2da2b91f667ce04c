"""Access and portability: everything personal held about a person, as one JSON document.

`personal_data` gathers, for one person: the profile (with the picture, base64), restrictions
and objections, erasure state, consent history, site assignments, RFID cards, vehicles, the
payment method on file, charging sessions (each with its curve summary: energy, max and
average power, duration, inactivity, cost, number of meter samples), invoices with their lines
and refunds, notifications (none are stored by this version: mails are not kept) and the
audit entries about them or made by them (who acted is said as "you", "administrator",
"data protection officer", "system" or "another user": other people's identities are theirs).

The sessions alone, filtered by period and site, are the CSV of `backend.web.exports`
(`/export/my-sessions.csv`). Who may export whom: the person themself, admins and the data
protection officer (`require_self_or_data_rights_officer`); each export is audited.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    BillingAccount,
    ChargingSession,
    ChargingStation,
    Connector,
    Invoice,
    InvoiceLine,
    MeterSample,
    Refund,
    RfidCard,
    Role,
    Site,
    SiteMember,
    User,
    UserPicture,
    Vehicle,
)
from backend.domain import audit
from backend.domain.access import require_self_or_data_rights_officer
from backend.domain.errors import NotFound
from backend.domain.privacy import consent_history
from backend.domain.viewer import Viewer

FORMAT = "vev-iq.personal-data"
VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _profile(user: User, picture: UserPicture | None) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "phone": user.phone,
        "mobile": user.mobile,
        "language": user.language.value,
        "address": {
            "street": user.address_street,
            "postalCode": user.address_postal_code,
            "city": user.address_city,
            "region": user.address_region,
            "country": user.address_country,
        },
        "professionalId": user.professional_id,
        "costCenter": user.cost_center,
        "company": user.company,
        "department": user.department,
        "role": user.role.value,
        "status": user.status.value,
        "emailVerifiedAt": _time(user.email_verified_at),
        "lastLoginAt": _time(user.last_login_at),
        "createdAt": _time(user.created_at),
        "updatedAt": _time(user.updated_at),
        "picture": (
            {
                "contentType": picture.content_type,
                "base64": base64.b64encode(picture.data).decode(),
            }
            if picture is not None
            else None
        ),
    }


async def _sessions(db: AsyncSession, user_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    cs = ChargingSession
    rows = (
        await db.execute(
            select(cs, ChargingStation.ocpp_identity, Site.name, Connector.evse_id)
            .join(ChargingStation, ChargingStation.id == cs.station_id)
            .outerjoin(Site, Site.id == ChargingStation.site_id)
            .outerjoin(Connector, Connector.id == cs.connector_id)
            .where(cs.user_id == user_id)
            .order_by(cs.started_at, cs.id)
        )
    ).all()
    ids = [row[0].id for row in rows]
    curves: dict[uuid.UUID, tuple[int | None, int]] = {}
    if ids:
        for session_id, max_power, samples in await db.execute(
            select(MeterSample.session_id, func.max(MeterSample.power_w), func.count())
            .where(MeterSample.session_id.in_(ids))
            .group_by(MeterSample.session_id)
        ):
            curves[session_id] = (max_power, samples)
    out = []
    for charge, station, site, connector in rows:
        end = charge.stopped_at or now
        duration_s = max(0, int((end - charge.started_at).total_seconds()))
        max_power, samples = curves.get(charge.id, (None, 0))
        out.append(
            {
                "id": str(charge.id),
                "station": station,
                "site": site,
                "connector": connector,
                "transactionId": charge.ocpp_transaction_id,
                "status": charge.status.value,
                "startedAt": _time(charge.started_at),
                "stoppedAt": _time(charge.stopped_at),
                "idTag": charge.id_tag,
                "stopReason": charge.stop_reason,
                "departureAt": _time(charge.departure_at),
                "energyWantedWh": charge.energy_wanted_wh,
                "billingState": charge.billing_state.value,
                "invoiceId": str(charge.invoice_id) if charge.invoice_id else None,
                "curve": {
                    "energyWh": charge.energy_wh,
                    "durationS": duration_s,
                    "inactivityS": charge.inactivity_s,
                    "maxPowerW": max_power,
                    # The mean over the whole session: energy over duration.
                    "avgPowerW": round(charge.energy_wh * 3600 / duration_s) if duration_s else 0,
                    "samples": samples,
                },
                "cost": (
                    {
                        "currency": charge.cost_currency,
                        "exclVatMinor": charge.cost_excl_vat_minor,
                        "vatMinor": charge.cost_vat_minor,
                        "inclVatMinor": charge.cost_incl_vat_minor,
                    }
                    if charge.cost_currency
                    else None
                ),
            }
        )
    return out


async def _invoices(db: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    invoices = list(
        await db.scalars(
            select(Invoice)
            .where(Invoice.user_id == user_id)
            .order_by(Invoice.issued_at, Invoice.id)
        )
    )
    ids = [i.id for i in invoices]
    lines: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    refunds: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for line in await db.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        ):
            lines[line.invoice_id].append(
                {
                    "position": line.position,
                    "sessionId": str(line.session_id) if line.session_id else None,
                    "dimension": line.dimension,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "unitPrice": line.unit_price,
                    "amountExclVatMinor": line.amount_excl_vat_minor,
                    "vatPercent": line.vat_percent,
                    "vatMinor": line.vat_minor,
                    "amountInclVatMinor": line.amount_incl_vat_minor,
                }
            )
        for refund in await db.scalars(
            select(Refund).where(Refund.invoice_id.in_(ids)).order_by(Refund.created_at)
        ):
            refunds[refund.invoice_id].append(
                {
                    "id": str(refund.id),
                    "sessionId": str(refund.session_id) if refund.session_id else None,
                    "amountMinor": refund.amount_minor,
                    "reason": refund.reason,
                    "kind": refund.kind.value,
                    "state": refund.state.value,
                    "createdAt": _time(refund.created_at),
                    "doneAt": _time(refund.done_at),
                }
            )
    return [
        {
            "id": str(i.id),
            "number": i.number,
            "kind": i.kind.value,
            "issuedAt": _time(i.issued_at),
            "periodStart": _time(i.period_start),
            "periodEnd": _time(i.period_end),
            "currency": i.currency,
            "subtotalExclVatMinor": i.subtotal_excl_vat_minor,
            "vatMinor": i.vat_minor,
            "totalInclVatMinor": i.total_incl_vat_minor,
            "refundedMinor": i.refunded_minor,
            "paymentState": i.payment_state.value,
            "paidAt": _time(i.paid_at),
            "buyer": {
                "name": i.buyer_name,
                "email": i.buyer_email,
                "address": i.buyer_address,
                "language": i.buyer_language,
            },
            "lines": lines[i.id],
            "refunds": refunds[i.id],
        }
        for i in invoices
    ]


_ACTOR_ROLES = {
    Role.ADMIN: "administrator",
    Role.DPO: "data protection officer",
}


async def _audit(
    db: AsyncSession, user_id: uuid.UUID, card_ids: list[str], vehicle_ids: list[str]
) -> list[dict[str, Any]]:
    about_them = or_(
        AuditEntry.actor_user_id == user_id,
        (AuditEntry.target_type == "User") & (AuditEntry.target_id == str(user_id)),
        (AuditEntry.target_type == "RfidCard") & AuditEntry.target_id.in_(card_ids),
        (AuditEntry.target_type == "Vehicle") & AuditEntry.target_id.in_(vehicle_ids),
    )
    entries = list(
        await db.scalars(
            select(AuditEntry).where(about_them).order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    actors = {e.actor_user_id for e in entries if e.actor_user_id and e.actor_user_id != user_id}
    roles: dict[uuid.UUID, Role] = {}
    if actors:
        roles = dict(
            (await db.execute(select(User.id, User.role).where(User.id.in_(actors)))).all()
        )  # type: ignore[arg-type]
    out = []
    for e in entries:
        if e.actor_user_id is None:
            actor = "system"
        elif e.actor_user_id == user_id:
            actor = "you"
        else:
            actor = _ACTOR_ROLES.get(roles.get(e.actor_user_id, Role.BASIC), "another user")
        out.append(
            {
                "at": _time(e.at),
                "action": e.action,
                "actor": actor,
                "targetType": e.target_type,
                "targetId": e.target_id,
                "details": e.details,
            }
        )
    return out


async def personal_data(
    db: AsyncSession, user_id: uuid.UUID, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything personal held about the person (see the module's docstring)."""
    now = now or utcnow()
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", field="userId")
    picture = await db.get(UserPicture, user_id)
    cards = list(
        await db.scalars(
            select(RfidCard).where(RfidCard.user_id == user_id).order_by(RfidCard.created_at)
        )
    )
    vehicles = list(
        await db.scalars(
            select(Vehicle).where(Vehicle.user_id == user_id).order_by(Vehicle.created_at)
        )
    )
    memberships = (
        await db.execute(
            select(SiteMember.site_id, Site.name, SiteMember.role)
            .join(Site, Site.id == SiteMember.site_id)
            .where(SiteMember.user_id == user_id)
            .order_by(Site.name)
        )
    ).all()
    account = await db.get(BillingAccount, user_id)
    consents = await consent_history.history(db, user_id)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exportedAt": now.isoformat(),
        "profile": _profile(user, picture),
        "privacy": {
            "excludeFromAnalytics": user.exclude_from_analytics,
            "nonessentialNotifications": user.nonessential_notifications,
            "objections": list(user.objections or []),
            "erasureRequestedAt": _time(user.erasure_requested_at),
            "erasureWarningSentAt": _time(user.erasure_warning_sent_at),
            "erasedAt": _time(user.erased_at),
        },
        "consents": [
            {
                "policyVersion": c.policy_version,
                "givenAt": _time(c.given_at),
                "withdrawnAt": _time(c.withdrawn_at),
            }
            for c in consents
        ],
        "siteMemberships": [
            {"siteId": str(site_id), "site": name, "role": role.value}
            for site_id, name, role in memberships
        ],
        "rfidCards": [
            {
                "id": str(c.id),
                "uid": c.uid,
                "description": c.description,
                "active": c.active,
                "createdAt": _time(c.created_at),
            }
            for c in cards
        ],
        "vehicles": [
            {
                "id": str(v.id),
                "plate": v.plate,
                "vin": v.vin,
                "make": v.make,
                "model": v.model,
                "batteryCapacityWh": v.battery_capacity_wh,
                "maxAcPowerW": v.max_ac_power_w,
                "maxDcPowerW": v.max_dc_power_w,
                "acPhases": v.ac_phases,
                "isDefault": v.is_default,
            }
            for v in vehicles
        ],
        "paymentMethod": (
            {
                "provider": account.provider,
                "brand": account.payment_method_brand,
                "last4": account.payment_method_last4,
                "expMonth": account.payment_method_exp_month,
                "expYear": account.payment_method_exp_year,
            }
            if account is not None and account.payment_method_id
            else None
        ),
        "sessions": await _sessions(db, user_id, now),
        "invoices": await _invoices(db, user_id),
        # Notifications are mailed, not stored: there is nothing kept to export.
        "notifications": [],
        "auditLog": await _audit(
            db, user_id, [str(c.id) for c in cards], [str(v.id) for v in vehicles]
        ),
    }


async def export_for(
    db: AsyncSession, viewer: Viewer, user_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The document for the viewer (themself) or, for admins and the DPO, anyone. Audited."""
    target_id = user_id or viewer.user_id
    require_self_or_data_rights_officer(viewer, target_id)
    assert target_id is not None
    document = await personal_data(db, target_id)
    user = await db.get_one(User, target_id)
    audit.record(db, viewer.user_id, "user.data_exported", user)
    await db.commit()
    return document
