"""Every ORM model, imported here so that `Base.metadata` knows all tables."""

from backend.db.models.audit import AuditEntry
from backend.db.models.auth import AuthSession, EmailToken, EmailTokenPurpose, ThrottleWindow
from backend.db.models.billing import (
    BillingAccount,
    BillingNote,
    BillingState,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    PaymentEvent,
    Refund,
    RefundKind,
    RefundState,
    SyncState,
)
from backend.db.models.charging import (
    ChargingSession,
    MeterSample,
    OcppTransactionId,
    SessionStatus,
    UnknownBadge,
)
from backend.db.models.connections import ServerProcess, StationConnection
from backend.db.models.sites import (
    Site,
    SiteArea,
    SiteAreaRegistrationToken,
    SiteMember,
    SiteRole,
)
from backend.db.models.smart_charging import (
    SessionPlan,
    SmartChargingLease,
    StationSmartCharging,
)
from backend.db.models.stations import ChargingStation, Connector, RegistrationStatus
from backend.db.models.system_logs import LogCategory, LogLevel, SystemLogEntry
from backend.db.models.tariffs import Tariff, TariffScope
from backend.db.models.users import (
    ConsentRecord,
    Language,
    Purpose,
    RfidCard,
    Role,
    User,
    UserPicture,
    UserStatus,
    Vehicle,
)

__all__ = [
    "AuditEntry",
    "AuthSession",
    "BillingAccount",
    "BillingNote",
    "BillingState",
    "ChargingSession",
    "ChargingStation",
    "Connector",
    "ConsentRecord",
    "EmailToken",
    "EmailTokenPurpose",
    "Invoice",
    "InvoiceCounter",
    "InvoiceKind",
    "InvoiceLine",
    "Language",
    "LogCategory",
    "LogLevel",
    "MeterSample",
    "OcppTransactionId",
    "PaymentEvent",
    "Purpose",
    "Refund",
    "RefundKind",
    "RefundState",
    "RegistrationStatus",
    "RfidCard",
    "Role",
    "ServerProcess",
    "SessionPlan",
    "SessionStatus",
    "Site",
    "SiteArea",
    "SiteAreaRegistrationToken",
    "SiteMember",
    "SiteRole",
    "SmartChargingLease",
    "StationConnection",
    "StationSmartCharging",
    "SyncState",
    "SystemLogEntry",
    "Tariff",
    "TariffScope",
    "ThrottleWindow",
    "UnknownBadge",
    "User",
    "UserPicture",
    "UserStatus",
    "Vehicle",
]
