"""Correction: people edit their own data, admins anyone's, and every change is in the audit
log — who, when, which fields — never the values (nor any secret)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import AuditEntry, RfidCard, Role, Vehicle
from tests.conftest import PASSWORD, Api


async def test_every_correction_is_audited_by_field_name(
    api: Api, sessionmaker: async_sessionmaker[AsyncSession], make_user: Any
) -> None:
    person = await make_user()
    admin = await make_user(Role.ADMIN)
    async with sessionmaker() as db:
        card = RfidCard(uid="CORR0001", user_id=person.id)
        first = Vehicle(user_id=person.id, plate="CO-111-RR", is_default=True)
        second = Vehicle(user_id=person.id, plate="CO-222-RR")
        db.add_all([card, first, second])
        await db.commit()
        card_id, first_id, second_id = card.id, first.id, second.id

    secret_values = [
        "+41 79 555 12 34",
        "Corrected Street 5",
        "Renamed",
        "renamed-person@example.net",
        "Tesla",
        "brand new password 77",
    ]
    # The person corrects their profile, vehicles and card, and changes their password.
    await api.ok(
        'mutation { updateProfile(input: {phone: "+41 79 555 12 34", '
        'address: {street: "Corrected Street 5"}}) { id } }',
        token=person.token,
    )
    await api.ok(
        'mutation($id: ID!) { updateVehicle(id: $id, input: {plate: "CO-111-RR", make: "Tesla"})'
        " { id } }",
        {"id": str(first_id)},
        token=person.token,
    )
    await api.ok(
        "mutation($id: ID!) { setDefaultVehicle(id: $id) { id } }",
        {"id": str(second_id)},
        token=person.token,
    )
    await api.ok(
        "mutation($id: ID!) { setRfidCardActive(id: $id, active: false) { id } }",
        {"id": str(card_id)},
        token=person.token,
    )
    await api.ok(
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, "
        "newPassword: $n) }",
        {"c": PASSWORD, "n": "brand new password 77"},
        token=person.token,
    )
    # An admin corrects the person's name and email.
    await api.ok(
        'mutation($id: ID!) { updateUser(id: $id, input: {email: "renamed-person@example.net", '
        'profile: {lastName: "Renamed"}}) { id } }',
        {"id": str(person.id)},
        token=admin.token,
    )

    async with sessionmaker() as db:
        entries = list(await db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    got = [
        (e.action, e.actor_user_id, e.target_id, e.details.get("fields"))
        for e in entries
        if e.action != "user.login"
    ]
    assert got == [
        ("user.update_profile", person.id, str(person.id), ["address.street", "phone"]),
        ("vehicle.update", person.id, str(first_id), ["make"]),
        ("vehicle.set_default", person.id, str(second_id), ["isDefault"]),
        ("card.set_active", person.id, str(card_id), ["active"]),
        ("user.password_changed", person.id, str(person.id), None),
        ("user.admin_update", admin.id, str(person.id), ["email", "lastName"]),
    ]
    assert all(e.at is not None for e in entries)
    stored = json.dumps([e.details for e in entries])
    assert [v for v in secret_values if v.lower() in stored.lower()] == []
