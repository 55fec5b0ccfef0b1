"""What storage reports to the layers above without them knowing SQLAlchemy."""

from __future__ import annotations


class Conflict(Exception):
    """The change collides with a row stored meanwhile (a unique value already taken)."""
