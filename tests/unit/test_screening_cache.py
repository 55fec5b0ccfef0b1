"""The screener kept on disk: loaded, it screens exactly as a freshly built one; a kept file
that is stale, damaged, not ours or refers to anything but the screener is never used."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from pathlib import Path

import pytest

from bot.core import screening, screening_cache
from bot.core.screening import (
    LEXICON_DIR,
    Lexicon,
    Screener,
    load_lexicons,
)
from bot.core.screening_cache import PREFIX, SUFFIX, cache_key, cached_screener

ROOT = Path(__file__).resolve().parents[2]

SMALL_LEXICON = """
version = "test-1"
fillers = ["just", "kind of"]
idioms = ["killing me"]
past_or_others = ["my friend said"]
softeners = ["lol"]

[[rule]]
category = "intent"
level = "urgent"
lowerable = true
patterns = ["(want|going) to die", "kill myself"]

[[rule]]
category = "hopeless"
level = "concern"
patterns = ["no point [in] living"]
"""
TEXTS = [
    "i want to just die",
    "this homework is killing me",
    "my friend said she wants to die",
    "no point living lol",
    "going to kind of kill myself",
    "nothing here",
]


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The kept screener made from a small lexicon (fast to build); yields how many builds."""
    lexicons = tmp_path / "lexicons"
    lexicons.mkdir()
    source = lexicons / "en.toml"
    source.write_text(SMALL_LEXICON, encoding="utf-8")
    builds: list[int] = []

    def build() -> Screener:
        builds.append(1)
        return Screener(load_lexicons(lexicons))

    monkeypatch.setattr(screening, "build_default_screener", build)
    monkeypatch.setattr(screening_cache, "_sources", lambda: [source])
    return builds


def _results(screener: Screener, texts: list[str]) -> list[dict[str, object]]:
    return [screener.screen(text, "en").as_dict() for text in texts]


def _kept(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{PREFIX}*{SUFFIX}"))


def _fresh_results(texts: list[str]) -> list[dict[str, object]]:
    return _results(screening.build_default_screener(), texts)


def test_built_once_then_loaded(tmp_path: Path, small: list[int]) -> None:
    cache = tmp_path / "cache"
    first = cached_screener([cache])
    assert len(small) == 1 and len(_kept(cache)) == 1
    if os.name == "posix":
        assert _kept(cache)[0].stat().st_mode & 0o777 == 0o644
    again = cached_screener([cache])
    assert len(small) == 1, "loaded, not built again"
    assert again is not first
    assert _results(again, TEXTS) == _results(first, TEXTS) == _fresh_results(TEXTS)
    assert _results(again, TEXTS)[0]["level"] == "urgent"


def test_loaded_patterns_are_the_ones_re_compiles(tmp_path: Path, small: list[int]) -> None:
    cached_screener([tmp_path])
    loaded = cached_screener([tmp_path])
    lexicon = loaded.lexicons["en"]
    assert lexicon.idiom_phrases.anchored is not None
    patterns = [
        lexicon.idiom_phrases.scan,
        lexicon.idiom_phrases.anchored,
        lexicon.filler_phrases,
        *(rule.phrases.scan for rule in lexicon.rules),
    ]
    for pattern in patterns:
        assert pattern is not None
        # Equal patterns have the same source, flags and compiled code.
        assert pattern == re.compile(pattern.pattern)


def test_a_stale_one_is_built_again_and_replaced(
    tmp_path: Path, small: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_screener([tmp_path])
    old = _kept(tmp_path)
    changed = tmp_path / "lexicons" / "en.toml"
    changed.write_text(SMALL_LEXICON.replace("kill myself", "end my life"), encoding="utf-8")
    screener = cached_screener([tmp_path])
    assert len(small) == 2
    assert screener.screen("i will end my life", "en").level.label == "urgent"
    assert screener.screen("kill myself", "en").level.label == "none"
    assert _kept(tmp_path) != old and len(_kept(tmp_path)) == 1, "the stale one is removed"


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "header"])
def test_a_damaged_one_is_never_used(tmp_path: Path, small: list[int], damage: str) -> None:
    cached_screener([tmp_path])
    (path,) = _kept(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-100] ^= 0x01
    elif damage == "truncate":
        del data[len(data) // 2 :]
    elif damage == "empty":
        data.clear()
    else:
        data[:5] = b"xxxxx"
    path.write_bytes(bytes(data))
    os.chmod(path, 0o600)
    screener = cached_screener([tmp_path])
    assert len(small) == 2, "built again"
    cached_screener([tmp_path])
    assert len(small) == 2, "and kept again"
    assert _results(screener, TEXTS) == _fresh_results(TEXTS)


class _Harmful:
    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (os.getpid, ())


def test_only_the_screeners_own_classes_are_unpickled(tmp_path: Path, small: list[int]) -> None:
    """A file with the right key and checksum that refers to anything else is refused, and
    nothing it names is ever called."""
    key = cache_key()
    payload = pickle.dumps(_Harmful())
    checksum = hashlib.sha256(payload).hexdigest()
    path = tmp_path / screening_cache._file_name(key)
    path.write_bytes(b"\n".join([screening_cache.FORMAT, key.encode(), checksum.encode(), payload]))
    os.chmod(path, 0o600)
    assert screening_cache.load(path, key) is None
    cached_screener([tmp_path])
    assert len(small) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_file_others_may_write_is_not_trusted(tmp_path: Path, small: list[int]) -> None:
    cached_screener([tmp_path])
    (path,) = _kept(tmp_path)
    os.chmod(path, 0o620)
    assert screening_cache.load(path, cache_key()) is None
    os.chmod(path, 0o600)
    assert screening_cache.load(path, cache_key()) is not None


def test_an_unwritable_place_is_skipped(tmp_path: Path, small: list[int]) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    fallback = tmp_path / "fallback"
    cached_screener([blocked / "cache", fallback])
    assert len(_kept(fallback)) == 1
    cached_screener([blocked / "cache", fallback])
    assert len(small) == 1


def test_with_nowhere_to_keep_it_it_is_built_each_time(tmp_path: Path, small: list[int]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    first = cached_screener([not_a_dir / "cache"])
    second = cached_screener([not_a_dir / "cache"])
    assert len(small) == 2
    assert _results(first, TEXTS) == _results(second, TEXTS)


def test_the_key_follows_every_file_it_is_made_from(tmp_path: Path) -> None:
    files = [tmp_path / "en.toml", tmp_path / "model.json"]
    for path in files:
        path.write_text("a")
    key = cache_key(files)
    assert cache_key(files) == key
    files[1].write_text("b")
    assert cache_key(files) != key
    real = cache_key()
    assert len(real) == 64
    sources = {path.name for path in screening_cache._sources()}
    assert {"en.toml", "es.toml", "screening_model.json"} <= sources
    # The code too: every module of the screener package, the model and this cache.
    package = {f"bot.core.screening.{p.stem}" for p in Path(screening.__file__).parent.glob("*.py")}
    package = {name.removesuffix(".__init__") for name in package}
    assert package | {"bot.core.screening_model", "bot.core.screening_cache"} == set(
        screening_cache.CODE_MODULES
    )


def test_a_change_in_the_code_misses_the_cache(
    tmp_path: Path, small: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process running other code (before or after an upgrade) never loads what this one
    kept, even with the same data files."""
    cached_screener([tmp_path])
    monkeypatch.setattr(screening_cache, "RUNNING_CODE", "other code")
    cached_screener([tmp_path])
    assert len(small) == 2, "built again"
    assert cache_key(code="other code") != cache_key(code=screening_cache.code_digest())


def test_the_key_is_the_running_codes_not_what_is_on_disk_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Source files replaced by an upgrade under a running process do not change its key: it
    still runs (and would build with) the code it imported."""
    module = tmp_path / "screener_part.py"
    module.write_text("WORDS = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("screener_part")
    before = screening_cache.code_digest(["screener_part"])
    module.write_text("WORDS = 2\n", encoding="utf-8")
    assert screening_cache.code_digest(["screener_part"]) != before, "the digest reads the code"
    # The screener's own: taken when its modules were imported (unchanged since, here), and
    # not read again for the key.
    assert screening_cache.code_digest() == screening_cache.RUNNING_CODE
    key = cache_key()
    monkeypatch.setattr(screening_cache, "code_digest", lambda *_: "changed on disk")
    assert cache_key() == key


def test_data_changed_while_building_keeps_nothing(
    tmp_path: Path, small: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "lexicons" / "en.toml"
    build = screening.build_default_screener

    def build_during_an_upgrade() -> Screener:
        screener = build()
        changed.write_text(SMALL_LEXICON.replace("kill myself", "end my life"), encoding="utf-8")
        return screener

    monkeypatch.setattr(screening, "build_default_screener", build_during_an_upgrade)
    cache = tmp_path / "cache"
    cached_screener([cache])
    assert _kept(cache) == []


def test_extending_a_loaded_lexicon_still_works(tmp_path: Path, small: list[int]) -> None:
    cached_screener([tmp_path])
    loaded = cached_screener([tmp_path]).lexicons["en"]
    assert isinstance(loaded, Lexicon)
    loaded.extend({"rule": [{"category": "means", "level": "urgent", "patterns": ["rope"]}]})
    screener = Screener({"en": loaded})
    assert screener.screen("bought a rope", "en").level.label == "urgent"
    assert screener.screen("i want to die", "en").level.label == "urgent"


def test_the_shipped_lexicons_are_where_the_key_looks() -> None:
    assert sorted(p.name for p in LEXICON_DIR.glob("*.toml")) == ["en.toml", "es.toml"]


def test_this_python_makes_patterns_as_re_does() -> None:
    assert screening_cache._engine_agrees(), "else nothing is ever kept"


def test_a_python_whose_regex_engine_differs_keeps_nothing(
    tmp_path: Path, small: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screening_cache, "_engine_agrees", lambda: False)
    screener = cached_screener([tmp_path])
    assert _kept(tmp_path) == []
    assert screener.screen("i want to die", "en").level.label == "urgent"
