#!/usr/bin/env python3
"""One entry point for people and CI: `python3 tasks.py run` and `python3 tasks.py test`.

Both create `.venv` (if missing) and install the project into it whenever pyproject.toml has
changed, so a fresh machine with only Python 3.11+ and pip needs nothing else.

    python3 tasks.py run     install, apply migrations, run the bot (reads .env); on POSIX
                             this process becomes the bot, so signals reach it directly
    python3 tasks.py test    install with dev tools, then ruff, mypy, import-linter and pytest
    python3 tasks.py unit    only the unit tier (tests/unit: pure code, seconds), no checks
    python3 tasks.py lint    only the static checks
    python3 tasks.py i18n    the message catalogues (Babel): extract every key from the
                             English catalogue into a template, update each language's .po
                             from it, compile the .mo files; commit the .po and .mo files
    python3 tasks.py i18n add pt   the same, after starting an empty catalogue for "pt"
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"

# The message catalogues: bot/locales/<lang>/LC_MESSAGES/messages.po, English the source.
LOCALES = Path("bot") / "locales"


def _stamp(extra: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    return digest[:16]


def ensure_env(dev: bool) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs on whatever python3 the machine has
        sys.exit("peerbot needs Python 3.11 or newer")
    if not PYTHON.exists():
        print("tasks: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    extra = "dev" if dev else "run"
    stamp_file = VENV / f".peerbot-installed-{extra}"
    stamp = _stamp(extra)
    if stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return
    target = ".[dev]" if dev else "."
    print(f"tasks: installing {target} into .venv", flush=True)
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            target,
        ],
        cwd=ROOT,
        check=True,
    )
    stamp_file.write_text(stamp)


def run(cmd: list[str]) -> int:
    print("tasks: $", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode  # noqa: S603


def run_bot(args: list[str]) -> int:
    """Become the bot, so SIGTERM and SIGINT reach it directly (a wrapper waiting on a child
    would stop alone and leave the bot polling)."""
    peerbot = str(BIN / "peerbot")
    cmd = [peerbot, "run", *args]
    print("tasks: $", " ".join(cmd), flush=True)
    if os.name == "posix":
        sys.stderr.flush()
        os.chdir(ROOT)
        os.execv(peerbot, cmd)  # noqa: S606 - fixed program, replaces this process
    # Windows has no exec: Ctrl-C reaches the bot too; wait for it to finish stopping.
    proc = subprocess.Popen(cmd, cwd=ROOT)  # noqa: S603 - fixed program
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def lint() -> int:
    checks = [
        [str(BIN / "ruff"), "check", "bot", "training", "tests", "bench", "tasks.py"],
        [str(BIN / "ruff"), "format", "--check", "bot", "training", "tests", "bench", "tasks.py"],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
    ]
    return max(run(c) for c in checks)


def i18n(args: list[str]) -> int:
    """Extract, update and compile the message catalogues with Babel's pybabel; `add CODE`
    first starts an empty catalogue for a new language."""
    if args and (len(args) != 2 or args[0] != "add" or not args[1].isalpha()):
        sys.exit("usage: python3 tasks.py i18n [add LANGUAGE-CODE]")
    new_language = args[1].lower() if args else None
    pybabel = str(BIN / "pybabel")
    with tempfile.TemporaryDirectory() as scratch:
        template = str(Path(scratch) / "messages.pot")
        steps = [
            [pybabel, "--quiet", "extract", "--mapping-file", str(LOCALES / "babel.cfg"),
             # A plural English entry is reported under this keyword (bot/locales/extract.py).
             "--no-default-keywords", "--keyword=catalogue_plural:1,2", "--no-location",
             "--sort-output",
             "--width", "100", "--project", "peerbot", "--output-file", template, "bot"],
            *([[pybabel, "--quiet", "init", "--input-file", template, "--output-dir",
                str(LOCALES), "--domain", "messages", "--locale", new_language,
                "--width", "100"]] if new_language else []),
            # No fuzzy matching: a msgid is a key, and a similar key is not a similar text.
            [pybabel, "--quiet", "update", "--input-file", template, "--output-dir",
             str(LOCALES), "--domain", "messages", "--no-fuzzy-matching",
             "--ignore-pot-creation-date", "--width", "100"],
            [pybabel, "compile", "--directory", str(LOCALES), "--domain", "messages",
             "--statistics"],
        ]  # fmt: skip
        for step in steps:
            status = run(step)
            if status:
                return status
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "test"
    rest = argv[1:]
    if command == "run":
        ensure_env(dev=False)
        return run_bot(rest)
    if command in ("test", "lint"):
        ensure_env(dev=True)
        status = lint()
        if command == "lint":
            return status
        # Two workers: the suite is mostly waiting on I/O, and CI machines have two cores.
        workers = [] if any(a.startswith("-n") for a in rest) else ["-n", "2"]
        tests = run([str(PYTHON), "-m", "pytest", *workers, *rest])
        return tests or status
    if command == "unit":
        ensure_env(dev=True)
        return run([str(PYTHON), "-m", "pytest", "-n", "2", "tests/unit", *rest])
    if command == "i18n":
        ensure_env(dev=True)
        return i18n(rest)
    sys.exit(f"usage: python3 tasks.py run|test|unit|lint|i18n  (got {command!r})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
