"""Named crash points, for the tests that prove a crash loses nothing.

`PEERBOT_FAILPOINTS=intake.stored` makes the process die (as `kill -9` would: no clean-up, no
flushing) the first time it reaches that point; `intake.stored@3` the third time. In
production the variable is unset and `hit()` is a dictionary lookup.
"""

from __future__ import annotations

import os


def _parse(raw: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in raw.split(","):
        name, _, nth = item.strip().partition("@")
        if name:
            armed[name] = int(nth) if nth.isdigit() else 1
    return armed


_ARMED = _parse(os.environ.get("PEERBOT_FAILPOINTS", ""))
_HITS: dict[str, int] = {}


def hit(name: str) -> None:
    if name not in _ARMED:
        return
    _HITS[name] = _HITS.get(name, 0) + 1
    if _HITS[name] >= _ARMED[name]:
        os._exit(137)
