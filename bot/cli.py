"""`peerbot` command line: run, migrate, keygen."""

from __future__ import annotations

import argparse
import asyncio
import sys

from dotenv import load_dotenv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peerbot", description="Peer support group bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="apply migrations, then run the bot (default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("keygen", help="print a new PEERBOT_SECRET_KEY")
    args = parser.parse_args(argv)
    command = args.command or "run"

    if command == "keygen":
        from bot.storage.crypto import generate_key

        print(generate_key())
        return 0

    load_dotenv(override=False)
    from bot.logging_setup import configure_logging
    from bot.settings import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"peerbot: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)

    if command == "migrate":
        return asyncio.run(_migrate(settings))
    from bot.runtime import run_until_stopped

    try:
        asyncio.run(run_until_stopped(settings))
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"peerbot: {error}", file=sys.stderr)
        return 1
    return 0


async def _migrate(settings: object) -> int:
    from bot.app import resolve_secret_key
    from bot.settings import Settings
    from bot.storage.crypto import install_keyring
    from bot.storage.db import create_engine
    from bot.storage.migrate import upgrade_to_head

    assert isinstance(settings, Settings)
    install_keyring(resolve_secret_key(settings))
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    print("peerbot: database is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
