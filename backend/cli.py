"""The `vev-iq` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import secrets
import sys

from sqlalchemy import select

from backend.db import migrations
from backend.db.base import utcnow
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Language, Role, User, UserStatus
from backend.domain import passwords
from backend.domain.accounts import normalize_email
from backend.domain.errors import DomainError
from backend.settings import Settings, get_settings

DEFAULT_ADMIN_EMAIL = "admin@vev-iq.example"


async def upsert_admin(settings: Settings, email: str, password: str) -> bool:
    """Create the admin account, or reset its password and rights. True when created."""
    email = normalize_email(email)
    passwords.check_strength(password, email=email)
    engine = create_engine(settings.resolved_database_url())
    try:
        async with create_sessionmaker(engine)() as session:
            user = await session.scalar(select(User).where(User.email == email))
            created = user is None
            if user is None:
                user = User(
                    email=email, first_name="Admin", last_name="VEV-IQ", language=Language.EN
                )
                session.add(user)
            user.role = Role.ADMIN
            user.status = UserStatus.ACTIVE
            user.email_verified_at = user.email_verified_at or utcnow()
            user.failed_login_count = 0
            user.locked_until = None
            user.password_hash = passwords.hash_password(password)
            await session.commit()
            return created
    finally:
        await engine.dispose()


async def _has_admin(settings: Settings) -> bool:
    engine = create_engine(settings.resolved_database_url())
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.scalar(select(User.id).where(User.role == Role.ADMIN)) is not None
    finally:
        await engine.dispose()


def ensure_first_admin(settings: Settings) -> None:
    """On a fresh embedded install, create an admin and say how to log in."""
    credentials = settings.data_dir / "initial-admin.txt"
    if asyncio.run(_has_admin(settings)):
        if credentials.exists():
            print(f"Initial admin credentials: {credentials} (change the password after login)")
        return
    password = secrets.token_urlsafe(12)
    asyncio.run(upsert_admin(settings, DEFAULT_ADMIN_EMAIL, password))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    credentials.touch(mode=0o600)
    credentials.write_text(f"email: {DEFAULT_ADMIN_EMAIL}\npassword: {password}\n")
    print("=" * 64)
    print("An administrator account was created:")
    print(f"  email:    {DEFAULT_ADMIN_EMAIL}")
    print(f"  password: {password}")
    print(f"(also kept in {credentials}; change the password after login)")
    print("=" * 64)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrations.upgrade(settings.resolved_database_url(), args.revision)
    print(f"Database migrated to {args.revision}.")
    return 0


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass("Password (at least 10 characters): ")
    try:
        created = asyncio.run(upsert_admin(settings, args.email, password))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(("Created" if created else "Updated") + f" administrator {args.email}.")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers > 1 and settings.broadcast_url.startswith("memory://"):
        # Each worker would have its own in-process bus: commands and live updates would not
        # reach a station or a browser held by another worker.
        print(
            "vev-iq serve: several workers need a shared event bus; set BROADCAST_URL to "
            "redis://host:6379/0 (the default memory:// bus reaches one process only).",
            file=sys.stderr,
        )
        return 2
    if not args.no_migrate:
        migrations.upgrade(settings.resolved_database_url())
        ensure_first_admin(settings)
    print(f"VEV-IQ is serving on http://{args.host}:{args.port}/")
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level=args.log_level,
        # Stations send small JSON frames; per-message compression costs ~20 KiB per socket.
        ws_per_message_deflate=False,
    )
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from backend.simulator.scenario import run_from_arguments

    return run_from_arguments(args)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from backend import demo

    migrations.upgrade(settings.resolved_database_url())
    ensure_first_admin(settings)
    result = asyncio.run(demo.seed(settings))
    if result.created:
        print(f"Demo data created ({result.created} objects).")
    asyncio.run(
        demo.run_demo(
            settings,
            result,
            host=args.host,
            port=args.port,
            speed=args.speed,
            interval_s=args.interval,
        )
    )
    return 0


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vev-iq", description="VEV-IQ charging station manager")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (web app, GraphQL API)")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not migrate the database at start-up"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("create-admin", help="create an administrator (or reset one)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="prompted for when omitted")
    admin.set_defaults(func=cmd_create_admin)

    from backend.simulator.scenario import add_arguments

    simulate = sub.add_parser(
        "simulate", help="run simulated charging stations (OCPP 1.6J and 2.0.1) against a server"
    )
    add_arguments(simulate)
    simulate.set_defaults(func=cmd_simulate)

    demo = sub.add_parser(
        "demo",
        help="serve on the embedded defaults with demo sites, users and simulated stations",
    )
    demo.add_argument("--host", default=settings.host)
    demo.add_argument("--port", type=int, default=settings.port)
    demo.add_argument(
        "--speed", type=float, default=20.0, help="time acceleration of the simulated cars"
    )
    demo.add_argument("--interval", type=float, default=3.0, help="seconds between meter values")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    args = build_parser(settings).parse_args(argv)
    return int(args.func(args, settings))


if __name__ == "__main__":
    sys.exit(main())
