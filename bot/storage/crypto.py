"""Encryption at rest for free text (names, anything a member wrote).

Values are Fernet tokens in the database (see `types.EncryptedText`). The key ring is a
MultiFernet so keys can be rotated: the first key encrypts, every key decrypts.
`PEERBOT_SECRET_KEY` holds one key or several separated by commas.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

_keyring: MultiFernet | None = None


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
    global _keyring
    keys = [Fernet(k.strip().encode("ascii")) for k in raw.split(",") if k.strip()]
    _keyring = MultiFernet(keys)


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
    return _ring().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _ring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise CryptoError("a stored value cannot be decrypted with the configured keys") from None
