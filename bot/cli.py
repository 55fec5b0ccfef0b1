"""`peerbot` command line: run, migrate, deadletters, keygen, rotate-key, screen.

(Training the screener is not part of the bot: `python -m training` from the project's root.)"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import load_dotenv

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.storage.uow import Database


# `bot.core.screening.Sensitivity`'s values (not imported here: the command line starts fast).
SENSITIVITY_CHOICES = ["cautious", "balanced", "quiet"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="peerbot", description="Peer support group bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="apply migrations, then run the bot (default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("keygen", help="print a new PEERBOT_SECRET_KEY")
    sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored value under the newest key (safe while the bot runs)",
    )
    screen = sub.add_parser(
        "screen", help="screen lines from standard input for crisis language (JSON out)"
    )
    screen.add_argument("--jsonl", action="store_true", help='input lines are {"text", "lang"}')
    screen.add_argument("--lang", default="en", help="language of plain-text lines")
    screen.add_argument(
        "--eval", type=Path, action="append", default=[], metavar="FILE.jsonl",
        help='print figures for a labelled file of {"text", "lang", "label"} lines (label: '
        "urgent, concern or none; optional source, orig_label); may repeat",
    )  # fmt: skip
    screen.add_argument(
        "--lexicon", action="append", type=Path, default=[],
        help="an organisation's own lexicon file (may repeat)",
    )  # fmt: skip
    screen.add_argument(
        "--sensitivity", choices=[*SENSITIVITY_CHOICES, "all"], default=None,
        help="how readily a coordinator is paged (default: PEERBOT_SCREEN_SENSITIVITY, else "
        "balanced); with --eval, 'all' prints the figures at each setting",
    )  # fmt: skip
    dead = sub.add_parser(
        "deadletters", help="list updates kept as dead letters (or --replay one after a fix)"
    )
    dead.add_argument("--replay", type=int, metavar="UPDATE_ID",
                      help="have the bot handle this dead letter again")  # fmt: skip
    args = parser.parse_args(argv)
    command = args.command or "run"

    if command == "screen":
        from bot.core.screening import Screener, load_lexicons
        from bot.core.screening_model import LearnedStage

        sensitivity = args.sensitivity or (
            os.environ.get("PEERBOT_SCREEN_SENSITIVITY", "").strip().lower() or "balanced"
        )
        if sensitivity not in [*SENSITIVITY_CHOICES, "all"] or (
            sensitivity == "all" and not args.eval
        ):
            choices = ", ".join(SENSITIVITY_CHOICES)
            print(f"peerbot: unknown sensitivity {sensitivity!r} (one of {choices}; 'all' with "
                  "--eval)", file=sys.stderr)  # fmt: skip
            return 2
        screener = Screener(load_lexicons(extra=args.lexicon), learned=LearnedStage.load())
        if args.eval:
            status = 0
            chosen = SENSITIVITY_CHOICES if sensitivity == "all" else [sensitivity]
            for setting in chosen:
                if len(chosen) > 1:
                    print(f"{'' if setting == chosen[0] else chr(10)}sensitivity: {setting}")
                status = evaluate_files(screener.at(setting), args.eval) or status
            return status
        screener = screener.at(sensitivity)
        for line in sys.stdin:
            print(json.dumps(screen_line(screener, line, args.jsonl, args.lang),
                             ensure_ascii=False), flush=True)  # fmt: skip
        return 0

    if command == "keygen":
        from bot.storage.crypto import generate_key

        print(generate_key())
        return 0

    # `.env` in the directory peerbot is started from (python-dotenv would otherwise search
    # upwards from this file, i.e. beside the installed code).
    load_dotenv(Path.cwd() / ".env", override=False)
    from bot.logging_setup import configure_logging
    from bot.settings import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"peerbot: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        # Loaded before logging is set up: alembic announces its plugins at INFO as it is
        # imported, which tells an operator nothing.
        importlib.import_module("bot.runtime")
    except KeyboardInterrupt:
        return 130
    configure_logging(settings.log_level, token=settings.bot_token)

    if command == "migrate":
        return asyncio.run(_migrate(settings))
    if command == "deadletters":
        return asyncio.run(_deadletters(settings, args.replay))
    if command == "rotate-key":
        return asyncio.run(_rotate_key(settings))
    status = _run(settings)
    # Everything the bot opened is closed by now. Leave without the interpreter's teardown of
    # this large module graph (half a second and more on a busy machine), so that SIGTERM or
    # SIGINT ends the process within 2 s.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _run(settings: Settings) -> int:
    """Run the bot; whatever stops it for good is told in one line, never a traceback."""
    try:
        from bot.runtime import FatalError, run_until_stopped
        from bot.settings import ConfigError

        try:
            asyncio.run(run_until_stopped(settings))
        except (ConfigError, FatalError) as error:
            print(f"peerbot: {error}", file=sys.stderr)
            return 2
        except RuntimeError as error:
            print(f"peerbot: {error}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:  # Ctrl-C before the bot's own signal handling is in place
        return 130
    return 0


def screen_line(screener: Any, line: str, jsonl: bool, default_lang: str) -> dict[str, Any]:
    """One output object per input line; a bad line gets an "error" and the run goes on."""
    text, lang = line.rstrip("\n"), default_lang
    if jsonl:
        try:
            item = json.loads(line)
            text, lang = item["text"], item.get("lang", default_lang)
            if not isinstance(text, str) or not isinstance(lang, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return {"error": 'not a JSON object with a "text" string'}
    if not text.strip():
        return {"error": "empty line"}
    result: dict[str, Any] = screener.screen(text, lang).as_dict()
    return result


def evaluate_files(screener: Any, paths: list[Path]) -> int:
    """Figures for labelled files, per file, per source and per original label: never a text."""
    from bot.core.screening_model import tally_by_group

    results: list[tuple[list[str], str, str]] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            print(f"peerbot: cannot read {path}: {error.strerror}", file=sys.stderr)
            return 2
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
                if not isinstance(text, str) or label not in ("urgent", "concern", "none"):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                print(f'peerbot: {path}:{number}: not a JSON object with a "text" and a "label" '
                      "(urgent, concern or none)", file=sys.stderr)  # fmt: skip
                return 2
            got = screener.screen(text, str(row.get("lang", "en"))).level.label
            source = f"{path.name} / {row.get('source', '-')}"
            groups = [path.name, source]
            if "orig_label" in row:
                groups.append(f"{source} / {row['orig_label']}")
            results.append((groups, label, got))
    print(evaluation_table(tally_by_group(results)))
    return 0


def evaluation_table(tallies: dict[str, Any]) -> str:
    """Rows of: items, ordinary items paged (urgent) and sent to review (concern), crisis recall
    (urgent or concern found at either) and urgent recall (urgent found at urgent)."""
    width = max([len(name) for name in tallies] + [10])
    header = (f"{'set':<{width}}  {'items':>6}  {'paged':>7}  {'review':>7}  "
              f"{'crisis recall':>13}  {'urgent recall':>13}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for name, tally in tallies.items():
        rates = tally.rates()
        cells = [
            f"{rates[key]:.1%}" if key in rates else "-"
            for key in ("paged", "review")
        ] + [f"{rates[key]:.3f}" if key in rates else "-"
             for key in ("crisis_recall", "urgent_recall")]  # fmt: skip
        lines.append(f"{name:<{width}}  {tally.size:>6}  {cells[0]:>7}  {cells[1]:>7}  "
                     f"{cells[2]:>13}  {cells[3]:>13}")  # fmt: skip
    return "\n".join(lines)


async def _open_database(settings: Settings) -> Database:
    """The database as the bot opens it: the key installed, the schema brought up to date."""
    from bot.app import resolve_secret_key
    from bot.storage.crypto import install_keyring
    from bot.storage.migrate import upgrade_to_head
    from bot.storage.uow import Database

    install_keyring(resolve_secret_key(settings))
    db = Database.connect(settings.database_url)
    try:
        await upgrade_to_head(db.engine)
    except BaseException:
        await db.dispose()
        raise
    return db


async def _migrate(settings: Settings) -> int:
    db = await _open_database(settings)
    await db.dispose()
    print("peerbot: database is up to date")
    return 0


async def _rotate_key(settings: Settings) -> int:
    """Re-encrypt under the newest key (the first in PEERBOT_SECRET_KEY); resumable."""
    from bot.storage.rotation import rotate_keys, stale_values

    db = await _open_database(settings)
    try:
        done = await rotate_keys(
            db, progress=lambda table, count: print(f"  {table}: {count}", flush=True)
        )
        stale = await stale_values(db)
    finally:
        await db.dispose()
    print(
        f"peerbot: {sum(done.rotated.values())} values re-encrypted, {done.current} already current"
    )
    if stale:
        print(
            f"peerbot: {stale} values still need an older key (written meanwhile by a process "
            "started before the new key): run rotate-key again",
            file=sys.stderr,
        )
        return 1
    print("peerbot: nothing needs the older keys any more; they can be removed")
    return 0


async def _deadletters(settings: Settings, replay: int | None) -> int:
    """List dead letters (id, kind, error class, time: never their content), or ask for one
    to be handled again, e.g. after an upgrade that fixed what stopped it."""
    from bot.intake import REPLAY_SWEEP_SECONDS
    from bot.services.intake import IntakeService

    db = await _open_database(settings)
    try:
        intake = IntakeService(db)
        if replay is not None:
            if not await intake.request_replay(replay):
                print(f"peerbot: no dead letter with update id {replay}", file=sys.stderr)
                return 1
            print(
                f"peerbot: update {replay} will be handled again: within "
                f"{REPLAY_SWEEP_SECONDS:.0f} s if the bot is running, else soon after it starts"
            )
            return 0
        letters = await intake.dead_letters()
    finally:
        await db.dispose()
    if not letters:
        print("peerbot: no dead letters")
        return 0
    print(f"{'update id':>12}  {'kind':<22} {'error':<26} {'kept at (UTC)':<16} replay")
    for d in letters:
        print(
            f"{d.update_id:>12}  {d.kind:<22} {d.error:<26} {d.at:%Y-%m-%d %H:%M}  "
            f"{'asked' if d.replay_requested else ''}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
