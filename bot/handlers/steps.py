"""Flows as declared data. Each feature declares, beside its handlers, two small tables:

- `TextSteps`: for each thing the bot may be waiting for a member to type (`Awaiting`), the
  handler of their answer, and what /skip does there (if it may be skipped);
- `ButtonSteps`: for each kind of button it makes (bot.core.callbacks), the handler of a press
  and how the press is acknowledged.

The routers only look these tables up (text_input for typed answers and /skip; each feature's
`ButtonSteps` is itself the handler of its presses). A new button flow is: declare its kind in
bot.core.callbacks, write its handler, add one row to its feature's `ButtonSteps`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.context import BotContext
from bot.core.callbacks import Decoded, Kind
from bot.handlers.common import Buttons, edge, settle_query
from bot.services.members import Awaiting, Profile

OnText = Callable[[Update, BotContext, Profile, str], Coroutine[Any, Any, None]]
OnSkip = Callable[[Update, BotContext, Profile], Coroutine[Any, Any, None]]
OnPress = Callable[[Update, BotContext, Decoded], Coroutine[Any, Any, None]]


# ------------------------------------------------------------------------- typed answers
@dataclass(frozen=True)
class TextStep:
    """While the bot waits for `awaiting`, the member's text goes to `answer`; /skip runs
    `skip` (None: there is nothing to skip at this step)."""

    awaiting: Awaiting
    answer: OnText
    skip: OnSkip | None = None


class TextSteps:
    """A table of typed-answer steps, at most one per `Awaiting`."""

    def __init__(self, *steps: TextStep) -> None:
        self._steps: dict[Awaiting, TextStep] = {}
        for step in steps:
            self.add(step)

    def add(self, step: TextStep) -> None:
        known = self._steps.get(step.awaiting)
        # The same table registered again (another Application in one process) is harmless.
        assert known is None or known == step, f"two steps answer {step.awaiting}"
        self._steps[step.awaiting] = step

    def include(self, other: TextSteps) -> None:
        for step in other:
            self.add(step)

    def get(self, awaiting: Awaiting | None) -> TextStep | None:
        return None if awaiting is None else self._steps.get(awaiting)

    def __iter__(self) -> Iterator[TextStep]:
        return iter(self._steps.values())


# One table per Application: a feature's steps are live once its register() has run.
_TEXT_STEPS: weakref.WeakKeyDictionary[Application, TextSteps] = (  # type: ignore[type-arg]
    weakref.WeakKeyDictionary()
)


def text_steps(application: Application) -> TextSteps:  # type: ignore[type-arg]
    """The typed-answer steps every feature registered on this application."""
    table = _TEXT_STEPS.get(application)
    if table is None:
        table = _TEXT_STEPS[application] = TextSteps()
    return table


# ------------------------------------------------------------------------- button presses
class Settle(Enum):
    """How a press is acknowledged before its handler runs."""

    REMOVE_BUTTONS = "remove"  # answered, and its message's buttons go (it is pressed once)
    KEEP_BUTTONS = "keep"  # answered; the buttons stay (they may be pressed again)
    BY_HANDLER = "handler"  # the handler answers it (with a notice, or only once it acted)


@dataclass(frozen=True)
class ButtonStep:
    kind: Kind
    on_press: OnPress
    settle: Settle = Settle.REMOVE_BUTTONS


class ButtonSteps(Buttons):
    """A feature's buttons: handles presses of its kinds (decoded, pressed where they may be),
    each by its row's handler. Register it with `application.add_handler`."""

    def __init__(self, *steps: ButtonStep) -> None:
        self.steps = {step.kind: step for step in steps}
        assert len(self.steps) == len(steps), "a kind of button has two rows"
        super().__init__(self.steps, edge(self._dispatch))

    async def _dispatch(self, update: Update, context: BotContext, pressed: Decoded) -> None:
        step = self.steps[pressed.kind]
        if step.settle is not Settle.BY_HANDLER:
            await settle_query(update, keep_buttons=step.settle is Settle.KEEP_BUTTONS)
        await step.on_press(update, context, pressed)
