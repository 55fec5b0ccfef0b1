"""The shipped screener kept on disk, so that a restart loads it in milliseconds instead of
building it for seconds (compiling the lexicons' patterns and reading the learned model).

The file is named and checked by a key made of everything the screener is built from: the
lexicon and model files, the code that builds it, and the Python (and its regex engine) that
compiled the patterns. The code is the code this process runs: its modules' source as it was
when they were imported (`RUNNING_CODE`), not as it is on disk now, so that a process started
before an upgrade never keeps what its old code built under the new code's key, nor loads what
new code built. A data file that changes while the screener is built leaves nothing kept.

A file that is stale, corrupt, unreadable, not ours or refers to anything but the screener's own
classes is never used: the screener is built again and the file rewritten. It is kept where
Python keeps its compiled modules (`__pycache__` beside the lexicons) or, where that is not
writable, in the user's cache directory (`$XDG_CACHE_HOME/peerbot`, `~/.cache/peerbot`), or
beside the SQLite database; where none is, the screener is built at each start as before.

A compiled regex is normally pickled as its source and compiled again when loaded, which is
the very cost to avoid: its compiled code is kept instead, made as `re` makes it (and checked
to be identical) and handed back to the regex engine, which validates it, when loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import pickle
import re
import sys
import tempfile
import time
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.core import screening, screening_model
from bot.core.screening import COMPILER, LEXICON_DIR, Screener

log = logging.getLogger(__name__)

# The regex engine's internals (CPython's `re` is written on them): what `re.compile` does,
# done here so that the compiled code can be kept. Anything unexpected turns keeping off.
try:
    _sre: Any = importlib.import_module("_sre")
    _parser: Any = importlib.import_module("re._parser")
    _compiler: Any = importlib.import_module("re._compiler")
except ImportError:  # pragma: no cover - not CPython 3.11+
    _sre = _parser = _compiler = None

FORMAT = b"peerbot-screener-cache 1"
PREFIX = "peerbot-screener-"
SUFFIX = ".bin"
_CODE_TYPE = "I"  # the engine's code words, as stored

_PatternArgs = tuple[str, int, list[int], int, dict[str, int], tuple[str | None, ...]]


def cache_dirs() -> list[Path]:
    """Where the screener is kept, in the order tried."""
    dirs = [LEXICON_DIR / "__pycache__"]
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory
        return dirs
    return [*dirs, base / "peerbot"]


def _sources() -> list[Path]:
    """The data files the default screener is built from."""
    return [*sorted(LEXICON_DIR.glob("*.toml")), screening_model.MODEL_PATH]


# Every module that builds a screener or whose classes a kept one holds.
CODE_MODULES = (
    "bot.core.screening",
    "bot.core.screening.context",
    "bot.core.screening.lexicon",
    "bot.core.screening.matching",
    "bot.core.screening.normalise",
    "bot.core.screening.phrases",
    "bot.core.screening.results",
    "bot.core.screening_model",
    __name__,
)


def code_digest(modules: Iterable[str] = CODE_MODULES) -> str:
    """A digest of these (imported) modules' source files as they are on disk now."""
    digest = hashlib.sha256()
    for name in modules:
        data = Path(sys.modules[name].__file__ or "").read_bytes()
        digest.update(f"\n{name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


# The code this process runs: read as this module is imported, which the screening package
# does as it is imported itself (a moment after its modules were read).
RUNNING_CODE = code_digest()


def cache_key(sources: Iterable[Path] | None = None, code: str | None = None) -> str:
    """A digest of everything the default screener is made from: the data files (raises
    OSError if one is missing) and the code (default: the code this process runs)."""
    digest = hashlib.sha256(FORMAT)
    engine = (sys.version, sys.implementation.cache_tag, sys.byteorder,
              getattr(_sre, "MAGIC", None), getattr(_sre, "CODESIZE", None))  # fmt: skip
    digest.update(repr(engine).encode())
    digest.update(f"\ncode {RUNNING_CODE if code is None else code}\n".encode())
    for path in _sources() if sources is None else sources:
        data = path.read_bytes()
        digest.update(f"\n{path.name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- compiled regexes
def _compile_args(source: str) -> _PatternArgs:
    """What `re.compile(source)` hands the regex engine (as `re._compiler.compile` does)."""
    parsed = _parser.parse(source, 0)
    code: list[int] = _compiler._code(parsed, 0)
    groupindex: dict[str, int] = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    flags: int = parsed.state.flags
    return source, flags, code, parsed.state.groups - 1, groupindex, tuple(indexgroup)


def _pattern(
    source: str,
    flags: int,
    code: bytes,
    groups: int,
    groupindex: dict[str, int],
    indexgroup: tuple[str | None, ...],
) -> re.Pattern[str]:
    """A compiled regex from its kept code (the engine refuses code that is not well formed)."""
    words = array(_CODE_TYPE)
    words.frombytes(code)
    pattern: re.Pattern[str] = _sre.compile(
        source, flags, words.tolist(), groups, groupindex, indexgroup
    )
    return pattern


# Patterns like the lexicons' (look-behinds, alternations, optional and repeated groups,
# classes): made both ways, they must be identical, or the code is not kept.
_PROBES = (
    r"(?<!\S)(?:(?:want|wanna) )(?:to )(?:(?:just|really) )?(?:die |end it )",
    r" (?:k(?:(?:ill) (?:(?:myself|me) ))|t(?:(?:ook) (?:##? (?:pills )?)))",
    r"(?:#{1,2} )?(?:\S+ ){0,3}(?:#{1,2} )?|(?<!\S)kind of(?!\S)|[^a-z# ]+",
)


def _engine_agrees() -> bool:
    """Whether patterns made here are the ones `re.compile` makes (checked before keeping)."""
    try:
        if array(_CODE_TYPE).itemsize != _sre.CODESIZE:
            return False
        for probe in _PROBES:
            source, flags, code, groups, groupindex, indexgroup = _compile_args(probe)
            kept = array(_CODE_TYPE, code).tobytes()
            made = _pattern(source, flags, kept, groups, groupindex, indexgroup)
            if made != re.compile(probe):  # (equal: same source, flags and compiled code)
                return False
    except Exception:
        return False
    return True


class _Recorder:
    """Compiles as `re.compile` does, keeping each pattern's code (while a screener is built)."""

    def __init__(self) -> None:
        self.codes: dict[int, tuple[re.Pattern[str], _PatternArgs]] = {}

    def __call__(self, source: str) -> re.Pattern[str]:
        args = _compile_args(source)
        source, flags, code, groups, groupindex, indexgroup = args
        pattern: re.Pattern[str] = _sre.compile(source, flags, code, groups, groupindex, indexgroup)
        self.codes[id(pattern)] = (pattern, args)  # (kept alive: the id stays its own)
        return pattern


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, recorder: _Recorder) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.recorder = recorder

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, re.Pattern):
            return NotImplemented
        recorded = self.recorder.codes.get(id(obj))
        if recorded is None or recorded[0] is not obj:
            raise pickle.PicklingError("a pattern compiled without its code kept")
        source, flags, code, groups, groupindex, indexgroup = recorded[1]
        kept = array(_CODE_TYPE, code).tobytes()
        return _pattern, (source, flags, kept, groups, groupindex, indexgroup)


# What a kept screener is made of: nothing else is ever unpickled from the file.
_ALLOWED = {
    ("bot.core.screening.matching", "Screener"),
    *(("bot.core.screening.lexicon", name) for name in ("Lexicon", "Rule", "Combination")),
    ("bot.core.screening.results", "Level"),
    ("bot.core.screening.results", "Sensitivity"),
    ("bot.core.screening.phrases", "_Phrases"),
    ("bot.core.screening.phrases", "_Phrase"),
    ("bot.core.screening_model", "LearnedStage"),
    ("bot.core.screening_model", "LinearScore"),
    (__name__, "_pattern"),
    ("builtins", "complex"),
    ("builtins", "frozenset"),
    ("builtins", "set"),
}  # fmt: skip


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a screener")
        return super().find_class(module, name)


# ----------------------------------------------------------------------------- the file
def _file_name(key: str) -> str:
    return f"{PREFIX}{key[:32]}{SUFFIX}"


def _trusted(path: Path) -> bool:
    """Ours (or root's, installed with the package) and writable by no one else."""
    if os.name != "posix":
        return True
    status = path.stat()
    return status.st_uid in (os.getuid(), 0) and not status.st_mode & 0o022


def load(path: Path, key: str) -> Screener | None:
    """The screener kept in `path`, or None if it is missing or cannot be trusted to be the
    one `key` describes."""
    try:
        if not path.is_file() or not _trusted(path):
            return None
        with path.open("rb") as handle:
            magic, stored_key, checksum = (handle.readline().rstrip(b"\n") for _ in range(3))
            if magic != FORMAT or stored_key != key.encode():
                return None
            payload = handle.read()
        if hashlib.sha256(payload).hexdigest().encode() != checksum:
            log.warning("the crisis screener kept in %s is damaged; building it again", path)
            return None
        screener = _Unpickler(io.BytesIO(payload)).load()
    except Exception as error:
        log.warning(
            "the crisis screener kept in %s could not be read (%s); building it again",
            path,
            type(error).__name__,
        )
        return None
    return screener if isinstance(screener, Screener) else None


def save(screener: Screener, recorder: _Recorder, key: str, dirs: Iterable[Path]) -> Path | None:
    """Keep `screener` in the first of `dirs` that can be written; where, or None."""
    buffer = io.BytesIO()
    _Pickler(buffer, recorder).dump(screener)
    payload = buffer.getvalue()
    checksum = hashlib.sha256(payload).hexdigest()
    name = _file_name(key)
    for directory in dirs:
        temporary: str | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{PREFIX}")
            with os.fdopen(handle, "wb") as out:
                out.write(b"\n".join([FORMAT, key.encode(), checksum.encode(), payload]))
            # Readable by all, as compiled modules are (nothing in it is secret: it is made
            # from the shipped files), so that one built at install serves the bot's user.
            os.chmod(temporary, 0o644)
            os.replace(temporary, directory / name)
        except OSError:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            continue
        for old in directory.glob(f"{PREFIX}*{SUFFIX}"):  # earlier lexicons' screeners
            if old.name != name:
                old.unlink(missing_ok=True)
        return directory / name
    return None


def cached_screener(dirs: list[Path] | None = None) -> Screener:
    """The default screener: loaded from the first of `dirs` (default: `cache_dirs()`) that
    keeps an up-to-date one, else built, and kept in the first of them that can be written."""
    dirs = cache_dirs() if dirs is None else dirs
    try:
        key = cache_key()
    except OSError:  # a file is missing: building says which, and fails as it always has
        return screening.build_default_screener()
    for directory in dirs:
        screener = load(directory / _file_name(key), key)
        if screener is not None:
            return screener
    if not _engine_agrees():
        return screening.build_default_screener()
    began = time.perf_counter()
    recorder = _Recorder()
    token = COMPILER.set(recorder)
    try:
        screener = screening.build_default_screener()
    finally:
        COMPILER.reset(token)
    took = time.perf_counter() - began
    try:
        # A data file that changed meanwhile (an upgrade): what was built may be either's.
        if cache_key() != key:
            log.warning("the crisis screener's files changed while it was built; not kept")
            return screener
        kept = save(screener, recorder, key, dirs)
    except OSError:
        return screener
    except (pickle.PicklingError, RecursionError) as error:
        log.warning("the crisis screener could not be kept (%s)", type(error).__name__)
        kept = None
    if kept is None:
        log.warning(
            "built the crisis screener in %.1f s; nowhere to keep it for the next start (%s)",
            took,
            ", ".join(str(d) for d in dirs),
        )
    else:
        log.info("built the crisis screener in %.1f s; kept in %s", took, kept)
    return screener
