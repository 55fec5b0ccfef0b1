"""Encryption at rest for free text (names, anything a member wrote).

Values are Fernet tokens in the database (see `types.EncryptedText`). The key ring is a
MultiFernet so keys can be rotated: the first key encrypts, every key decrypts.
`PEERBOT_SECRET_KEY` holds one key or several separated by commas.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

_keyring: MultiFernet | None = None
# The newest key alone: what `is_current` checks a token against (see `rotate`).
_primary: Fernet | None = None
# One pseudonym key per Fernet key, newest first (see `pseudonym`).
_pseudonym_keys: tuple[bytes, ...] = ()
# HKDF's `info` label: it makes the derived key independent of the Fernet key it comes from
# and of any other key derived from the same material with another label.
_PSEUDONYM_INFO = b"peerbot/pseudonym/v1"


class CryptoError(RuntimeError):
    """No key ring is installed, or a stored value cannot be decrypted with any key."""


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def validate_key_list(raw: str) -> str | None:
    """Return a problem description, or None when every comma-separated key is valid."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        return "is empty"
    for key in keys:
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return "is not a valid Fernet key (32 url-safe base64-encoded bytes)"
    return None


def install_keyring(raw: str) -> None:
    """Make these keys the process-wide key ring used by `EncryptedText`."""
    global _keyring, _primary, _pseudonym_keys
    raw_keys = [k.strip() for k in raw.split(",") if k.strip()]
    fernets = [Fernet(k.encode("ascii")) for k in raw_keys]
    _keyring = MultiFernet(fernets)
    _primary = fernets[0]
    _pseudonym_keys = tuple(_derive_pseudonym_key(k) for k in raw_keys)


def _derive_pseudonym_key(fernet_key: str) -> bytes:
    """The HMAC key for pseudonyms, derived from one Fernet key, so no second secret has to be
    kept and backed up: HKDF-SHA256 (RFC 5869) over the Fernet key's 32 raw bytes, with its own
    `info` label. Knowing a pseudonym key reveals nothing of the Fernet key (HKDF is one-way),
    and the encryption never uses the derived key."""
    material = base64.urlsafe_b64decode(fernet_key.encode("ascii"))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PSEUDONYM_INFO).derive(
        material
    )


def _hmac(key: bytes, telegram_id: int) -> str:
    return hmac.new(key, str(int(telegram_id)).encode("ascii"), hashlib.sha256).hexdigest()


def pseudonym(telegram_id: int) -> str:
    """A keyed pseudonym of a Telegram id (HMAC-SHA256 under the newest key's pseudonym key,
    64 hex characters): rows that must point at a person without naming them store this. The
    same id always gives the same pseudonym, so a person's rows are found by an indexed lookup
    instead of decrypting a whole table; without the key it cannot be turned back into the id
    (or recomputed from a guessed id)."""
    if not _pseudonym_keys:
        raise CryptoError("no encryption key installed; call install_keyring() first")
    return _hmac(_pseudonym_keys[0], telegram_id)


def pseudonyms(telegram_id: int) -> tuple[str, ...]:
    """The id's pseudonym under every installed key, newest first: rows written before a key
    rotation still match while the older key is installed."""
    if not _pseudonym_keys:
        raise CryptoError("no encryption key installed; call install_keyring() first")
    return tuple(dict.fromkeys(_hmac(key, telegram_id) for key in _pseudonym_keys))


def load_or_create_key_file(path: Path) -> tuple[str, bool]:
    """Read the key kept beside the SQLite database, creating it (mode 0600) if absent.

    Returns the key and whether it was created now.
    """
    if path.exists():
        return path.read_text(encoding="ascii").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key, True


def _ring() -> MultiFernet:
    if _keyring is None:
        raise CryptoError("no encryption key installed; call install_keyring() first")
    return _keyring


def encrypt(value: str) -> str:
    # Nothing is stored as nothing: an erased or expired text is "" in the database, which
    # the retention job and erasure can then tell apart in SQL without decrypting anything.
    if value == "":
        return ""
    return _ring().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if token == "":
        return ""  # never a Fernet token: see `encrypt`
    try:
        return _ring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise CryptoError("a stored value cannot be decrypted with the configured keys") from None


def is_current(token: str) -> bool:
    """The stored value is encrypted under the newest key (or is empty): nothing to rotate."""
    if token == "":
        return True
    if _primary is None:
        raise CryptoError("no encryption key installed; call install_keyring() first")
    try:
        _primary.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same value encrypted under the newest key (its original timestamp kept)."""
    if token == "":
        return ""
    try:
        return _ring().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise CryptoError("a stored value cannot be decrypted with the configured keys") from None
