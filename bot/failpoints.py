"""Named crash points, for the tests that prove a crash loses nothing.

`PEERBOT_FAILPOINTS=intake.stored` makes the process die (as `kill -9` would: no clean-up, no
flushing) the first time it reaches that point. In production the variable is unset and
`hit()` is a dictionary lookup.
"""

from __future__ import annotations

import os

_ARMED = frozenset(p.strip() for p in os.environ.get("PEERBOT_FAILPOINTS", "").split(",") if p)


def hit(name: str) -> None:
    if name in _ARMED:
        os._exit(137)
