"""The one place that decides who may see each field of the schema.

Every field of every type is listed here with its rule (from `backend.domain.access`). A field
without an entry is refused at run time, and the permission matrix test fails on it, so a new
field cannot ship without a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from backend.domain import access
from backend.domain.access import ANONYMIZE, DENY, Decision
from backend.domain.anonymize import anonymized_value
from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.viewer import Viewer

Rule = Callable[[Viewer, Any], Decision]


def reached_through_parent(viewer: Viewer, obj: Any) -> Decision:
    """Value objects and connection plumbing: whoever could read the parent field reads these."""
    return Decision.ALLOW


_USER_PERSONAL = access.person_personal
_USER_CONTACT = access.person_contact
_USER_ACCOUNT = access.person_account

FIELD_RULES: dict[str, Rule] = {
    # --- root queries ---
    "Query.me": access.public,
    "Query.privacyPolicy": access.public,
    "Query.user": access.authenticated,
    "Query.users": access.user_reader,
    "Query.rfidCards": access.authenticated,
    "Query.vehicles": access.authenticated,
    "Query.site": access.authenticated,
    "Query.sites": access.authenticated,
    "Query.siteArea": access.authenticated,
    "Query.station": access.authenticated,
    "Query.stations": access.authenticated,
    "Query.session": access.authenticated,
    "Query.sessions": access.authenticated,
    "Query.unknownBadges": access.admin_or_demo,
    # --- system logs: administrators only (demo users neither: ids of people and stations,
    # security events); backend.domain.system_logs keeps secrets out of them ---
    "Query.systemLogs": access.admin_only,
    **{
        f"SystemLogEntry.{name}": reached_through_parent
        for name in (
            "id",
            "source",
            "at",
            "level",
            "category",
            "event",
            "message",
            "stationId",
            "ocppIdentity",
            "userId",
            "details",
        )
    },
    "Query.tariffs": access.authenticated,
    "Query.tariff": access.authenticated,
    # --- subscriptions (rows of the viewer's reach are filtered event by event) ---
    "Subscription.stationStatus": access.authenticated,
    "Subscription.sessionCurve": access.authenticated,
    # --- root mutations (the domain services check rights on the object itself) ---
    "Mutation.signUp": access.public,
    "Mutation.verifyEmail": access.public,
    "Mutation.logIn": access.public,
    "Mutation.logOut": access.public,
    "Mutation.requestPasswordReset": access.public,
    "Mutation.resetPassword": access.public,
    "Mutation.changePassword": access.authenticated,
    "Mutation.updateProfile": access.authenticated,
    "Mutation.uploadPicture": access.authenticated,
    "Mutation.removePicture": access.authenticated,
    "Mutation.createUser": access.admin_only,
    "Mutation.updateUser": access.admin_only,
    "Mutation.addRfidCard": access.authenticated,
    "Mutation.setRfidCardActive": access.authenticated,
    "Mutation.deleteRfidCard": access.authenticated,
    "Mutation.createVehicle": access.authenticated,
    "Mutation.updateVehicle": access.authenticated,
    "Mutation.deleteVehicle": access.authenticated,
    "Mutation.setDefaultVehicle": access.authenticated,
    "Mutation.createSite": access.admin_only,
    "Mutation.updateSite": access.site_manager_or_admin,
    "Mutation.deleteSite": access.admin_only,
    "Mutation.setSiteMember": access.site_manager_or_admin,
    "Mutation.removeSiteMember": access.site_manager_or_admin,
    "Mutation.addSiteMemberByEmail": access.site_manager_or_admin,
    "Mutation.createSiteArea": access.site_manager_or_admin,
    "Mutation.updateSiteArea": access.site_manager_or_admin,
    "Mutation.deleteSiteArea": access.site_manager_or_admin,
    "Mutation.createStation": access.site_manager_or_admin,
    "Mutation.updateStation": access.site_manager_or_admin,
    "Mutation.updateConnector": access.site_manager_or_admin,
    "Mutation.deleteStation": access.admin_only,
    # --- tariffs (backend.domain.billing.tariffs checks the scope: admins anywhere, site
    # admins for their sites, areas and stations; a preview is a computation for anyone) ---
    "Mutation.createTariff": access.site_manager_or_admin,
    "Mutation.updateTariff": access.authenticated,
    "Mutation.retireTariff": access.authenticated,
    "Mutation.previewTariff": access.authenticated,
    # --- smart charging (backend.domain.load_management.goals checks the session: its
    # driver, or an admin / site admin of its site) ---
    "Mutation.updateSessionGoal": access.authenticated,
    # --- payment methods: always the viewer's own (no argument names another user);
    # backend.domain.billing.payment_methods refuses demo accounts a setup ---
    "Query.myPaymentMethod": access.authenticated,
    "Mutation.startPaymentMethodSetup": access.authenticated,
    "Mutation.refreshPaymentMethod": access.authenticated,
    **{
        f"MyPaymentMethod.{name}": reached_through_parent
        for name in ("billingEnabled", "required", "publishableKey", "paymentMethod")
    },
    **{
        f"PaymentCard.{name}": reached_through_parent
        for name in ("brand", "last4", "expMonth", "expYear")
    },
    **{
        f"PaymentMethodSetup.{name}": reached_through_parent
        for name in ("setupIntentId", "clientSecret", "hostedUrl", "publishableKey")
    },
    # --- invoices and refunds (backend.domain.billing: the buyer, admins and demo users, and
    # the administrators of a site where one of its sessions took place; who the buyer is
    # follows the person rules; refunds are checked by backend.domain.billing.refunds) ---
    "Query.myInvoices": access.authenticated,
    "Query.invoices": access.invoice_reader,
    "Query.invoice": access.authenticated,
    "Mutation.refundSession": access.authenticated,
    **{
        f"Invoice.{name}": access.invoice_read
        for name in (
            "id",
            "number",
            "kind",
            "issuedAt",
            "periodStart",
            "periodEnd",
            "currency",
            "subtotalExclVatMinor",
            "vatMinor",
            "totalInclVatMinor",
            "refundedMinor",
            "paymentState",
            "paidAt",
            "syncState",
            "emailedAt",
            "pdfUrl",
            "buyer",
            "lines",
            "refunds",
        )
    },
    # The provider's page shows the buyer; the provider's error messages are for operators.
    "Invoice.hostedUrl": _USER_PERSONAL,
    "Invoice.user": access.session_driver,
    "Invoice.lastError": access.admin_or_demo,
    **{f"InvoiceBuyer.{name}": _USER_PERSONAL for name in ("name", "email", "address")},
    **{
        f"InvoiceLine.{name}": reached_through_parent
        for name in (
            "id",
            "position",
            "dimension",
            "description",
            "quantity",
            "unit",
            "unitPrice",
            "amountExclVatMinor",
            "vatPercent",
            "vatMinor",
            "amountInclVatMinor",
            "sessionId",
        )
    },
    **{
        f"Refund.{name}": reached_through_parent
        for name in (
            "id",
            "amountMinor",
            "reason",
            "kind",
            "state",
            "createdAt",
            "doneAt",
            "lastError",
            "sessionId",
            "invoiceId",
        )
    },
    # --- data rights (backend.domain.privacy checks who acts on whom: the person themself;
    # admins and the data protection officer for anyone; demo users see none of it) ---
    "User.privacy": access.person_privacy,
    "Query.userPrivacy": access.data_rights_officer,
    "Query.erasureRequests": access.data_rights_officer,
    "Mutation.setPrivacyPreferences": access.authenticated,
    "Mutation.objectTo": access.authenticated,
    "Mutation.requestErasure": access.authenticated,
    "Mutation.cancelErasureRequest": access.authenticated,
    "Mutation.confirmErasure": access.data_rights_officer,
    "Mutation.withdrawConsent": access.authenticated,
    **{
        f"Privacy.{name}": reached_through_parent
        for name in (
            "userId",
            "excludeFromAnalytics",
            "nonessentialNotifications",
            "objections",
            "erasureRequestedAt",
            "erasureWarningSentAt",
            "inactivityErasureDays",
            "consentHistory",
            "exportUrls",
            "personalData",
        )
    },
    **{
        f"ConsentEvent.{name}": reached_through_parent
        for name in ("policyVersion", "givenAt", "withdrawnAt", "standing")
    },
    **{f"ExportUrls.{name}": reached_through_parent for name in ("personalData", "sessionsCsv")},
    **{
        f"ErasureRequest.{name}": reached_through_parent
        for name in ("userId", "firstName", "lastName", "email", "requestedAt", "blockedReason")
    },
    **{
        f"ErasureResult.{name}": reached_through_parent
        for name in ("userId", "pseudonym", "sessionsKept", "invoicesKept", "providerCustomer")
    },
    # --- statistics and demand prediction (backend.domain.statistics counts the sessions in
    # the viewer's scope, leaves out people who objected, and names drivers only for admins,
    # pseudonyms for demo users; backend.domain.prediction.demand lets admins, demo users and
    # the site's administrators see a site's forecast, which holds nothing personal) ---
    "Query.statistics": access.authenticated,
    "Query.demandForecast": access.authenticated,
    **{
        f"Statistics.{name}": reached_through_parent
        for name in ("groupBy", "period", "rows", "total")
    },
    **{
        f"{type_name}.{name}": reached_through_parent
        for type_name in ("StatisticsRow", "StatisticsTotal")
        for name in (
            "sessions",
            "energyWh",
            "connectedS",
            "chargingS",
            "inactivityS",
            "costs",
        )
    },
    **{
        f"StatisticsRow.{name}": reached_through_parent
        for name in ("periodStart", "periodEnd", "groupId", "label")
    },
    **{
        f"CurrencyAmount.{name}": reached_through_parent
        for name in ("currency", "sessions", "exclVatMinor", "inclVatMinor")
    },
    **{
        f"DemandForecast.{name}": reached_through_parent
        for name in (
            "siteId",
            "timezone",
            "generatedAt",
            "historyFrom",
            "weeksWithData",
            "excludedDays",
            "hours",
            "recent",
        )
    },
    **{f"DemandHour.{name}": reached_through_parent for name in ("at", "sessions", "energyWh")},
    # --- people ---
    "User.id": _USER_ACCOUNT,
    "User.email": _USER_CONTACT,
    "User.firstName": _USER_CONTACT,
    "User.lastName": _USER_CONTACT,
    "User.phone": _USER_PERSONAL,
    "User.mobile": _USER_PERSONAL,
    "User.pictureUrl": _USER_PERSONAL,
    "User.address": _USER_PERSONAL,
    "User.professionalId": _USER_PERSONAL,
    "User.costCenter": _USER_PERSONAL,
    "User.company": _USER_PERSONAL,
    "User.department": _USER_PERSONAL,
    "User.language": _USER_ACCOUNT,
    "User.role": _USER_ACCOUNT,
    "User.status": _USER_ACCOUNT,
    "User.emailVerified": _USER_ACCOUNT,
    "User.lastLoginAt": _USER_ACCOUNT,
    "User.createdAt": _USER_ACCOUNT,
    "User.rfidCards": access.own_records,
    "User.vehicles": access.own_records,
    "User.siteMemberships": _USER_ACCOUNT,
    "SiteMembership.role": access.membership_read,
    "SiteMembership.site": access.membership_read,
    "SiteMembership.user": access.membership_read,
    "RfidCard.id": access.own_records,
    "RfidCard.uid": _USER_PERSONAL,
    "RfidCard.description": _USER_PERSONAL,
    "RfidCard.active": access.own_records,
    "RfidCard.createdAt": access.own_records,
    "RfidCard.user": access.own_records,
    "Vehicle.id": access.own_records,
    "Vehicle.plate": _USER_PERSONAL,
    "Vehicle.vin": _USER_PERSONAL,
    "Vehicle.make": access.own_records,
    "Vehicle.model": access.own_records,
    "Vehicle.batteryCapacityWh": access.own_records,
    "Vehicle.maxAcPowerW": access.own_records,
    "Vehicle.maxDcPowerW": access.own_records,
    "Vehicle.acPhases": access.own_records,
    "Vehicle.isDefault": access.own_records,
    "Vehicle.user": access.own_records,
    # --- infrastructure ---
    **{
        f"Site.{name}": access.site_read
        for name in (
            "id",
            "name",
            "address",
            "latitude",
            "longitude",
            "timezone",
            "siteAreas",
            "stationCount",
        )
    },
    "Site.members": access.site_manage_read,
    **{
        f"SiteArea.{name}": access.site_read
        for name in (
            "id",
            "name",
            "site",
            "maxPowerW",
            "phases",
            "voltage",
            "accessControl",
            "smartCharging",
            "stations",
            "parentAreaId",
        )
    },
    # The live load of an area: its site's managers (and admins, demo), like operations.
    "SiteArea.load": access.site_manage_read,
    "SiteArea.registrationTokens": access.site_manage_read,
    **{
        f"AreaLoad.{name}": reached_through_parent
        for name in ("perPhaseA", "limitPerPhaseA", "activeSessions")
    },
    **{
        f"ChargingStation.{name}": access.site_read
        for name in (
            "id",
            "ocppIdentity",
            "description",
            "siteArea",
            "vendor",
            "model",
            "online",
            "connectors",
        )
    },
    **{
        f"ChargingStation.{name}": access.site_manage_read
        for name in (
            "serialNumber",
            "firmwareVersion",
            "ocppVersion",
            "registrationStatus",
            "lastSeenAt",
            "lenient",
            "hasPassword",
        )
    },
    **{
        f"Connector.{name}": reached_through_parent
        for name in (
            "id",
            "connectorId",
            "evseId",
            "type",
            "maxPowerW",
            "phases",
            "status",
            "errorCode",
        )
    },
    "Connector.currentSession": reached_through_parent,  # filtered by visible_sessions
    # --- charging sessions ---
    **{
        f"ChargingSession.{name}": access.session_read
        for name in (
            "id",
            "station",
            "connector",
            "connectorId",
            "transactionId",
            "status",
            "startedAt",
            "stoppedAt",
            "durationS",
            "energyWh",
            "instantPowerW",
            "inactivityS",
            "stopReason",
            "curve",
            # The cost is the session's (its driver's, its site managers'); the frozen tariff
            # is the one published at the site when it started.
            "tariff",
            "cost",
            "costCurve",
            # The smart charging plan: what the driver sees beside the live curve, and the goal
            # it plans towards (set by the driver or the site's managers).
            "plannedSchedule",
            "departureAt",
            "energyWantedWh",
            # Billing: where the session stands, its invoice (whose own rules then apply) and
            # its refunds (site admins may refund their sites' sessions).
            "billingState",
            "billingNote",
            "invoice",
            "refundedMinor",
            "refunds",
        )
    },
    **{f"PlannedPeriod.{name}": reached_through_parent for name in ("at", "currentA")},
    "ChargingSession.user": access.session_driver,
    "ChargingSession.idTag": _USER_PERSONAL,
    **{
        f"CurvePoint.{name}": reached_through_parent
        for name in (
            "at",
            "powerW",
            "energyWh",
            "currentL1",
            "currentL2",
            "currentL3",
            "voltageL1",
            "voltageL2",
            "voltageL3",
            "soc",
        )
    },
    # --- commands to stations and station administration (backend.domain.charging.commands
    # decides who may send what; these answers reach only who was allowed to ask) ---
    **{
        f"Mutation.{name}": access.authenticated
        for name in (
            "remoteStart",
            "remoteStop",
            "resetStation",
            "unlockConnector",
            "changeAvailability",
            "getConfiguration",
            "changeConfiguration",
            "triggerMessage",
            "clearCache",
            "updateFirmware",
            "setChargingProfile",
            "clearChargingProfile",
            "getCompositeSchedule",
            "setStationPassword",
            "createRegistrationToken",
            "revokeRegistrationToken",
        )
    },
    "Mutation.acceptStation": access.admin_only,
    "Mutation.rejectStation": access.admin_only,
    **{f"CommandResult.{name}": reached_through_parent for name in ("status", "accepted")},
    **{
        f"ConfigurationResult.{name}": reached_through_parent
        for name in ("status", "accepted", "keys", "unknownKeys")
    },
    **{f"ConfigurationKey.{name}": reached_through_parent for name in ("key", "value", "readonly")},
    **{
        f"CompositeScheduleResult.{name}": reached_through_parent
        for name in ("status", "accepted", "schedule")
    },
    **{
        f"RegistrationToken.{name}": reached_through_parent
        for name in ("id", "siteAreaId", "description", "createdAt", "expiresAt", "revokedAt")
    },
    "CreatedRegistrationToken.token": reached_through_parent,
    "CreatedRegistrationToken.registrationToken": reached_through_parent,
    **{
        f"UnknownBadge.{name}": access.admin_or_demo
        for name in ("id", "firstSeenAt", "lastSeenAt", "count", "station")
    },
    # A badge's number may be a person's: demo users see none.
    "UnknownBadge.uid": _USER_PERSONAL,
    # --- live events (subscriptions filter them by the viewer's sites first) ---
    **{
        f"StationStatusEvent.{name}": access.site_read
        for name in (
            "kind",
            "stationId",
            "siteId",
            "ocppIdentity",
            "connected",
            "lastSeenAt",
            "status",
            "errorCode",
            "connectorId",
            "evseId",
            "connectorNumber",
            "at",
        )
    },
    "StationStatusEvent.registrationStatus": access.site_manage_read,
    **{
        f"SessionCurveEvent.{name}": reached_through_parent
        for name in (
            "kind",
            "sessionId",
            "stationId",
            "energyWh",
            "instantPowerW",
            "inactivityS",
            "points",
            "rebuilt",
            "startedAt",
            "stoppedAt",
            "stopReason",
        )
    },
    **{
        f"LiveCurvePoint.{name}": reached_through_parent
        for name in ("at", "energyWh", "powerW", "currentA", "voltageV", "socPercent")
    },
    # Live costs: the rule of ChargingSession.cost (the events keep the session's driver and
    # site for it); the parts of a cost, like Price's, go with it.
    "SessionCurveEvent.cost": access.session_read,
    "LiveCurvePoint.costExclVatMinor": access.session_read,
    "LiveCurvePoint.costInclVatMinor": access.session_read,
    **{
        f"RunningCost.{name}": reached_through_parent
        for name in (
            "currency",
            "totalExclVatMinor",
            "totalVatMinor",
            "totalInclVatMinor",
            "final",
        )
    },
    # --- tariffs and prices ---
    **{
        f"Tariff.{name}": access.tariff_read
        for name in (
            "id",
            "name",
            "currency",
            "vatPercent",
            "scope",
            "targetId",
            "siteId",
            "validFrom",
            "validUntil",
            "retiredAt",
            "createdAt",
            "elements",
        )
    },
    **{
        f"TariffElement.{name}": reached_through_parent
        for name in ("priceComponents", "restrictions")
    },
    **{
        f"TariffPriceComponent.{name}": reached_through_parent
        for name in ("type", "price", "stepSize", "vatPercent")
    },
    **{
        f"TariffRestrictions.{name}": reached_through_parent
        for name in (
            "startTime",
            "endTime",
            "startDate",
            "endDate",
            "minKwh",
            "maxKwh",
            "minCurrent",
            "maxCurrent",
            "minPower",
            "maxPower",
            "minDuration",
            "maxDuration",
            "dayOfWeek",
        )
    },
    **{
        f"Price.{name}": reached_through_parent
        for name in (
            "currency",
            "totalExclVat",
            "totalVat",
            "totalInclVat",
            "lines",
            "pricedUntil",
            "final",
        )
    },
    **{
        f"PriceLine.{name}": reached_through_parent
        for name in (
            "dimension",
            "quantity",
            "unit",
            "unitPrice",
            "stepSize",
            "amountExclVat",
            "vatPercent",
            "vat",
            "amountInclVat",
        )
    },
    **{
        f"CostPoint.{name}": reached_through_parent
        for name in ("at", "totalExclVat", "totalInclVat")
    },
    # --- value objects ---
    **{
        f"Address.{name}": reached_through_parent
        for name in ("street", "postalCode", "city", "region", "country")
    },
    "PrivacyPolicy.version": access.public,
    "PrivacyPolicy.text": access.public,
    "LogInPayload.token": reached_through_parent,
    "LogInPayload.expiresAt": reached_through_parent,
    "LogInPayload.user": reached_through_parent,
}

# Connection plumbing, for every paginated type.
CONNECTION_TYPES = (
    "User",
    "RfidCard",
    "Vehicle",
    "Site",
    "ChargingStation",
    "SiteMembership",
    "ChargingSession",
    "Tariff",
    "Invoice",
    "SystemLogEntry",
)
for _name in CONNECTION_TYPES:
    for _field in ("edges", "pageInfo", "totalCount"):
        FIELD_RULES[f"{_name}Connection.{_field}"] = reached_through_parent
    for _field in ("cursor", "node"):
        FIELD_RULES[f"{_name}Edge.{_field}"] = reached_through_parent
for _field in ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"):
    FIELD_RULES[f"PageInfo.{_field}"] = reached_through_parent


def decide(viewer: Viewer, type_name: str, field_name: str, root: Any) -> Decision:
    rule = FIELD_RULES.get(f"{type_name}.{field_name}")
    if rule is None:
        return DENY  # fail closed: a field nobody decided about is nobody's
    return rule(viewer, root)


class FieldPolicy(SchemaExtension):
    """Applies FIELD_RULES to every field as it is resolved."""

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        field_name = info.field_name
        # Introspection (__typename, __schema and the fields of __Schema, __Type…) describes the
        # schema, which is public: it is what GraphiQL and code generators read.
        if field_name.startswith("__") or info.parent_type.name.startswith("__"):
            return _next(root, info, *args, **kwargs)
        viewer: Viewer = info.context.viewer
        decision = decide(viewer, info.parent_type.name, field_name, root)
        if decision is DENY:
            if not viewer.authenticated:
                raise Unauthenticated()
            raise Forbidden(f"You may not see {info.parent_type.name}.{field_name}.")
        if decision is ANONYMIZE:
            # The real value is never computed, so it cannot leak through a resolver's error.
            secret = info.context.services.secret_key
            owner = root.id if info.parent_type.name == "User" else getattr(root, "user_id", None)
            return anonymized_value(secret, field_name, owner)
        return _next(root, info, *args, **kwargs)
