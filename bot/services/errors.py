"""The errors a service raises, translated once into catalogue text at the handler edge.

    ServiceError            base; `key` names the catalogue text, `params` fill it
     ├── NotAllowed         the person may not do this (their role, or not their group)
     ├── NotFound           the thing asked for does not exist (or is not theirs to see)
     ├── InvalidInput       the input was refused; nothing was changed
     └── NeedsOnboarding    the person has not finished /start yet

Anything else escaping a service is a bug or an outage: the handler edge logs its class and
the update id, and tells the person that nothing was changed.
"""

from __future__ import annotations


class ServiceError(Exception):
    key = "common.error"

    def __init__(self, key: str | None = None, **params: object) -> None:
        super().__init__(key or self.key)
        if key is not None:
            self.key = key
        self.params = params


class NotAllowed(ServiceError):
    key = "common.not_allowed"


class NotFound(ServiceError):
    key = "common.stale_button"


class InvalidInput(ServiceError):
    key = "common.error"


class NeedsOnboarding(ServiceError):
    key = "common.start_first"
