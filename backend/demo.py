"""`vev-iq demo`: the server on the embedded defaults, demo data, and simulated stations charging.

Seeding is idempotent: every object is looked up by its natural key (site name, station
identity, e-mail, card uid, plate) and created only when missing, so a rerun changes nothing and
never resets a password someone changed. The demo accounts' first passwords are kept in
`DATA_DIR/demo-logins.txt` (like the first admin's in `initial-admin.txt`). Station passwords are
derived from the deployment's secret key, so the simulator finds them again on every run
without keeping them anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import (
    ChargingStation,
    Connector,
    Language,
    RegistrationStatus,
    RfidCard,
    Role,
    Site,
    SiteArea,
    SiteMember,
    SiteRole,
    Tariff,
    TariffScope,
    User,
    UserStatus,
    Vehicle,
)
from backend.domain import passwords
from backend.domain.billing import ocpi
from backend.domain.charging.registration import hash_station_password
from backend.settings import Settings
from backend.simulator import Behaviour, Scenario, StationSpec

log = logging.getLogger("vev_iq.demo")

DEMO_USER_EMAIL = "demo@vev-iq.example"


@dataclass(frozen=True)
class DemoSite:
    name: str
    street: str
    postal_code: str
    city: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    # name, max power (W), access control, smart charging
    areas: tuple[tuple[str, int, bool, bool], ...]
    # the site's tariff: name, currency, VAT %, OCPI price components
    tariff: tuple[str, str, str, tuple[dict[str, Any], ...]]


@dataclass(frozen=True)
class DemoStation:
    identity: str
    site: str
    area: str
    version: str
    connectors: int
    max_power_w: int
    vendor: str
    model: str
    simulated: bool = True


@dataclass(frozen=True)
class DemoDriver:
    email: str
    first_name: str
    last_name: str
    language: Language
    sites: tuple[tuple[str, SiteRole], ...]
    card: str
    plate: str
    make: str
    model: str
    battery_wh: int


SITES = (
    DemoSite(
        "Grenoble Presqu'île",
        "5 avenue des Martyrs",
        "38000",
        "Grenoble",
        "France",
        45.2036,
        5.7035,
        "Europe/Paris",
        # Five 22 kW connectors behind 33 kW: smart charging shares it (see a session's plan).
        (("Parking P1", 33_000, True, True), ("Visitors", 22_000, False, False)),
        (
            "Grenoble standard",
            "EUR",
            "20",
            (
                {"type": "ENERGY", "price": "0.32", "step_size": 1},
                # Parking once the car has charged, by the minute.
                {"type": "PARKING_TIME", "price": "2.40", "step_size": 60},
            ),
        ),
    ),
    DemoSite(
        "München Werksviertel",
        "Atelierstraße 10",
        "81671",
        "München",
        "Germany",
        48.1223,
        11.6031,
        "Europe/Berlin",
        (("Tiefgarage", 44_000, True, False),),
        (
            "Werksviertel Tarif",
            "EUR",
            "19",
            (
                {"type": "FLAT", "price": "0.50"},
                {"type": "ENERGY", "price": "0.39", "step_size": 1},
            ),
        ),
    ),
)

STATIONS = (
    DemoStation(
        "GRE-01", SITES[0].name, "Parking P1", "1.6", 2, 22_000, "Schneider", "EVlink Pro AC"
    ),
    DemoStation("GRE-02", SITES[0].name, "Parking P1", "2.0.1", 2, 22_000, "ABB", "Terra AC"),
    DemoStation("GRE-03", SITES[0].name, "Parking P1", "1.6", 1, 22_000, "Wallbox", "Commander 2"),
    DemoStation("GRE-04", SITES[0].name, "Visitors", "2.0.1", 1, 22_000, "Alfen", "Eve Single"),
    DemoStation("MUC-01", SITES[1].name, "Tiefgarage", "2.0.1", 2, 22_000, "Mennekes", "AMTRON"),
    # Declared and accepted, never connected: shows as offline.
    DemoStation(
        "MUC-02", SITES[1].name, "Tiefgarage", "1.6", 2, 22_000, "KEBA", "P30", simulated=False
    ),
)

DRIVERS = (
    DemoDriver(
        "alice.martin@vev-iq.example",
        "Alice",
        "Martin",
        Language.FR,
        ((SITES[0].name, SiteRole.MEMBER),),
        "DEMO0001",
        "FG-123-AB",
        "Renault",
        "Megane E-Tech",
        60_000,
    ),
    DemoDriver(
        "bruno.rossi@vev-iq.example",
        "Bruno",
        "Rossi",
        Language.EN,
        ((SITES[0].name, SiteRole.MEMBER),),
        "DEMO0002",
        "GH-456-CD",
        "Peugeot",
        "e-208",
        50_000,
    ),
    DemoDriver(
        "claire.dubois@vev-iq.example",
        "Claire",
        "Dubois",
        Language.FR,
        ((SITES[0].name, SiteRole.SITE_ADMIN),),
        "DEMO0003",
        "JK-789-EF",
        "Tesla",
        "Model 3",
        75_000,
    ),
    DemoDriver(
        "katrin.weber@vev-iq.example",
        "Katrin",
        "Weber",
        Language.DE,
        ((SITES[1].name, SiteRole.MEMBER),),
        "DEMO0004",
        "M-KW-2042",
        "Volkswagen",
        "ID.4",
        77_000,
    ),
    DemoDriver(
        "jonas.schmidt@vev-iq.example",
        "Jonas",
        "Schmidt",
        Language.DE,
        ((SITES[1].name, SiteRole.MEMBER), (SITES[0].name, SiteRole.MEMBER)),
        "DEMO0005",
        "M-JS-7310",
        "BMW",
        "i4",
        81_000,
    ),
)


def station_password(secret_key: str, identity: str) -> str:
    """A demo station's password: derived from the secret key, never stored in clear."""
    digest = hmac.new(secret_key.encode(), f"demo-station:{identity}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode()


@dataclass
class SeedResult:
    created: int = 0  # objects created by this run (0 on a rerun)
    logins: dict[str, str] = field(default_factory=dict)  # email → first password, when known
    badges: dict[str, tuple[str, ...]] = field(default_factory=dict)  # site → card uids


class _Seeder:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.created = 0
        self.new_logins: dict[str, str] = {}

    async def one(self, model: type[Any], defaults: dict[str, Any], **key: Any) -> Any:
        stmt = select(model).filter_by(**key)
        found = await self.session.scalar(stmt)
        if found is not None:
            return found
        obj = model(**key, **defaults)
        self.session.add(obj)
        await self.session.flush()
        self.created += 1
        return obj

    async def user(self, email: str, first: str, last: str, role: Role, language: Language) -> User:
        existing = await self.session.scalar(select(User).where(User.email == email))
        if existing is not None:
            return existing
        password = secrets.token_urlsafe(9)
        self.new_logins[email] = password
        user: User = await self.one(
            User,
            {
                "first_name": first,
                "last_name": last,
                "role": role,
                "language": language,
                "status": UserStatus.ACTIVE,
                "email_verified_at": utcnow(),
                "password_hash": passwords.hash_password(password),
            },
            email=email,
        )
        return user


async def seed(settings: Settings) -> SeedResult:
    """Create what is missing of the demo world; return the logins and each site's badges."""
    engine = create_engine(settings.resolved_database_url())
    secret = settings.resolved_secret_key()
    try:
        async with create_sessionmaker(engine)() as session:
            seeder = _Seeder(session, settings)
            sites: dict[str, Site] = {}
            areas: dict[tuple[str, str], SiteArea] = {}
            for spec in SITES:
                site = await seeder.one(
                    Site,
                    {
                        "address_street": spec.street,
                        "address_postal_code": spec.postal_code,
                        "address_city": spec.city,
                        "address_country": spec.country,
                        "latitude": spec.latitude,
                        "longitude": spec.longitude,
                        "timezone": spec.timezone,
                    },
                    name=spec.name,
                )
                sites[spec.name] = site
                for area_name, max_power, access_control, smart in spec.areas:
                    areas[(spec.name, area_name)] = await seeder.one(
                        SiteArea,
                        {
                            "max_power_w": max_power,
                            "phases": 3,
                            "voltage": 230,
                            "access_control": access_control,
                            "smart_charging": smart,
                        },
                        site_id=site.id,
                        name=area_name,
                    )
                tariff_name, currency, vat, components = spec.tariff
                priced = ocpi.tariff_from_json(
                    currency, vat, [{"price_components": list(components)}]
                )
                await seeder.one(
                    Tariff,
                    {
                        "currency": priced.currency,
                        "vat_percent": str(priced.vat_percent),
                        "elements": ocpi.elements_to_json(priced.elements),
                        "scope": TariffScope.SITE,
                        "target_id": site.id,
                    },
                    site_id=site.id,
                    name=tariff_name,
                )
            for st in STATIONS:
                area = areas[(st.site, st.area)]
                station = await seeder.one(
                    ChargingStation,
                    {
                        "site_area_id": area.id,
                        "site_id": area.site_id,
                        "description": f"{st.area}, {st.vendor} {st.model}",
                        "vendor": st.vendor,
                        "model": st.model,
                        "ocpp_version": st.version,
                        "registration_status": RegistrationStatus.ACCEPTED,
                        "password_hash": hash_station_password(
                            station_password(secret, st.identity)
                        ),
                    },
                    ocpp_identity=st.identity,
                )
                for n in range(1, st.connectors + 1):
                    await seeder.one(
                        Connector,
                        {"type": "Type2", "max_power_w": st.max_power_w, "phases": 3},
                        station_id=station.id,
                        evse_id=n,
                        connector_id=1,
                    )
            badges: dict[str, list[str]] = {name: [] for name in sites}
            for d in DRIVERS:
                user = await seeder.user(d.email, d.first_name, d.last_name, Role.BASIC, d.language)
                for site_name, role in d.sites:
                    await seeder.one(
                        SiteMember, {"role": role}, site_id=sites[site_name].id, user_id=user.id
                    )
                    badges[site_name].append(d.card)
                await seeder.one(
                    RfidCard,
                    {"user_id": user.id, "description": f"{d.first_name}'s badge"},
                    uid=d.card,
                )
                await seeder.one(
                    Vehicle,
                    {
                        "make": d.make,
                        "model": d.model,
                        "battery_capacity_wh": d.battery_wh,
                        "max_ac_power_w": 11_000,
                        "ac_phases": 3,
                        "is_default": True,
                    },
                    user_id=user.id,
                    plate=d.plate,
                )
            await seeder.user(DEMO_USER_EMAIL, "Demo", "Visitor", Role.DEMO, Language.EN)
            await session.commit()
    finally:
        await engine.dispose()
    logins = _remember_logins(settings.data_dir, seeder.new_logins)
    return SeedResult(
        created=seeder.created,
        logins=logins,
        badges={name: tuple(uids) for name, uids in badges.items()},
    )


def _logins_file(data_dir: Path) -> Path:
    return data_dir / "demo-logins.txt"


def _remember_logins(data_dir: Path, new: dict[str, str]) -> dict[str, str]:
    """Append new accounts' first passwords to the logins file; return everything it holds."""
    path = _logins_file(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if new:
        if not path.exists():
            path.touch(mode=0o600)
        with path.open("a") as out:
            for email, password in new.items():
                out.write(f"{email} {password}\n")
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            email, _, password = line.partition(" ")
            if email and password:
                known[email] = password
    return known


def scenario_for(settings: Settings, result: SeedResult, url: str, **behaviour: Any) -> Scenario:
    secret = settings.resolved_secret_key()
    specs = [
        StationSpec(
            identity=st.identity,
            version=st.version,
            password=station_password(secret, st.identity),
            connectors=st.connectors,
            max_power_w=st.max_power_w,
            vendor=st.vendor,
            model=st.model,
            badges=result.badges.get(st.site, ()),
        )
        for st in STATIONS
        if st.simulated
    ]
    return Scenario(specs, Behaviour(server_url=url, one_car_per_badge=True, **behaviour))


# --- running it ---------------------------------------------------------------------------


def _print_banner(url: str, result: SeedResult, settings: Settings) -> None:
    def login(email: str) -> str:
        password = result.logins.get(email)
        return f"{email} / {password}" if password else f"{email} (password changed since)"

    admin_file = settings.data_dir / "initial-admin.txt"
    print("=" * 64)
    print(f"VEV-IQ demo on {url}")
    if admin_file.exists():
        print(
            "  admin:  "
            + " / ".join(
                line.split(": ", 1)[1]
                for line in admin_file.read_text().splitlines()
                if ": " in line
            )
        )
    print(f"  driver: {login(DRIVERS[0].email)}")
    print(f"  site admin (Grenoble): {login(DRIVERS[2].email)}")
    print(f"  demo (anonymized): {login(DEMO_USER_EMAIL)}")
    print(f"  every demo login: {_logins_file(settings.data_dir)}")
    print("Simulated stations are charging; Ctrl-C stops everything.")
    print("=" * 64, flush=True)


def _server_class() -> Any:
    import uvicorn

    class DemoServer(uvicorn.Server):
        """Signals are ours: stop the stations first, then the server."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return DemoServer


async def run_demo(
    settings: Settings,
    result: SeedResult,
    *,
    host: str,
    port: int,
    speed: float = 20.0,
    interval_s: float = 3.0,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the app and run the simulated stations until Ctrl-C (or `stop` is set)."""
    import uvicorn

    from backend.app import create_app

    url = f"http://{host}:{port}"
    settings = settings.model_copy(update={"public_url": settings.public_url or url})
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ws_per_message_deflate=False,
    )
    server = _server_class()(config)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # it failed to start: say why
            return
        await asyncio.sleep(0.05)
    scenario = scenario_for(
        settings, result, f"ws://{host}:{port}/ocpp", speed=speed, interval_s=interval_s
    )
    simulating = asyncio.create_task(scenario.run())
    _print_banner(url, result, settings)
    if ready is not None:
        ready.set()
    try:
        await asyncio.wait(
            [asyncio.create_task(stop.wait()), serving], return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        print("Stopping the simulated stations and the server…", flush=True)
        simulating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await simulating
        await scenario.stop()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        print("Stopped.", flush=True)
