"""Anonymous questions: /ask (members), the moderation card and /questions (facilitators), and
replies to a posted question carried back to whoever asked it."""

from __future__ import annotations

import contextlib

from telegram import Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.core.questions import MAX_QUESTION_CHARS
from bot.handlers.common import (
    answer_query,
    button,
    buttons,
    edge,
    for_a_managed_group,
    language,
    only_for,
    say,
    settle_query,
    wake_delivery,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, Settle, TextStep, TextSteps, text_steps
from bot.services.errors import NotFound
from bot.services.members import Awaiting, Profile
from bot.services.questions import Decision, QuestionSettings


def _label(context: BotContext, lang: str, key: str, **params: object) -> str:
    """Button labels are plain text: fill the template without HTML escaping."""
    return context.texts.raw(lang, key).strip().format(**params)


@edge
async def ask(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    choices = await context.services.questions.choices(user.id)
    if len(choices.groups) == 1 and not choices.follow_ups:
        await _begin(update, context, group_id=choices.groups[0].id)
        return
    lang = await language(update, context)
    rows = [[button(g.name, callbacks.ASK_GROUP, g.id)] for g in choices.groups]
    rows += [
        [button(_label(context, lang, "questions.follow_up_choice", number=f.number,
                       group=f.group_name), callbacks.ASK_FOLLOW_UP, f.question_id)]
        for f in choices.follow_ups
    ]  # fmt: skip
    await say(update, context, "questions.choose", reply_markup=buttons(rows))


async def _begin(
    update: Update, context: BotContext, *, group_id: int | None = None,
    parent_id: int | None = None,
) -> None:  # fmt: skip
    user = update.effective_user
    assert user is not None
    target = await context.services.questions.begin(user.id, group_id=group_id,
                                                    parent_id=parent_id)  # fmt: skip
    if target.follow_up_of is not None:
        await say(update, context, "questions.ask_follow_up", number=target.follow_up_of,
                  max=MAX_QUESTION_CHARS)  # fmt: skip
    else:
        await say(update, context, "questions.ask_text", group=target.group_name,
                  max=MAX_QUESTION_CHARS)  # fmt: skip


async def answer_question(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    """The question (or follow-up) as typed: show it back before anything is sent."""
    user = update.effective_user
    assert user is not None
    target = await context.services.questions.preview(user.id, profile.draft, text)
    lang = profile.language
    t = context.texts.t
    key = "questions.preview_follow_up" if target.follow_up_of else "questions.preview"
    await say(
        update, context, key, group=target.group_name, number=target.follow_up_of or "",
        text=text.strip(),
        reply_markup=buttons([[
            button(t(lang, "questions.send_button"), callbacks.ASK_SEND, target.nonce),
            button(t(lang, "common.cancel_button"), callbacks.ASK_CANCEL, target.nonce),
        ]]),
    )  # fmt: skip


async def on_group(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _begin(update, context, group_id=pressed.number("group"))


async def on_follow_up(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _begin(update, context, parent_id=pressed.number("question"))


async def on_send(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    submitted = await context.services.questions.submit(user.id, pressed.text("nonce"))
    wake_delivery(context)
    if submitted.flagged:
        key = "questions.submitted_flagged"
    elif submitted.moderated:
        key = "questions.submitted_moderated"
    else:
        key = "questions.submitted_scheduled"
    await say(update, context, key, group=submitted.group_name)


async def on_cancel(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.questions.cancel(user.id, pressed.text("nonce"))
    await say(update, context, "common.cancelled")


# The moderation card (facilitators) and the asker's follow-up button under an answered question
async def on_asker_follow_up(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _begin(update, context, parent_id=pressed.number("question"))
    await answer_query(update)


async def on_approve(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    decision = await context.services.questions.approve(user.id, pressed.number("question"))
    await _after_decision(update, context, decision, "questions.approved_done")


async def on_reject(update: Update, context: BotContext, pressed: Decoded) -> None:
    """Ask the facilitator why (the reason goes to the asker), or reject without one."""
    user = update.effective_user
    assert user is not None
    question_id = pressed.number("question")
    decision = await context.services.questions.ask_reason(user.id, question_id)
    if decision.already is not None:
        await _after_decision(update, context, decision, "")
        return
    await settle_query(update)
    lang = await language(update, context)
    await say(update, context, "questions.ask_reason", reply_markup=buttons([[button(
        context.texts.t(lang, "questions.no_reason_button"),
        callbacks.QUESTION_REJECT_SILENTLY, question_id,
    )]]))  # fmt: skip


async def on_reject_silently(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    decision = await context.services.questions.reject(user.id, pressed.number("question"), None)
    await _after_decision(update, context, decision, "questions.rejected_done")


async def on_mute_asker(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    decision = await context.services.questions.mute_asker(user.id, pressed.number("question"))
    await _after_decision(update, context, decision, "questions.muted_done")


async def _after_decision(
    update: Update, context: BotContext, decision: Decision, done_key: str
) -> None:
    if decision.already is not None:
        lang = await language(update, context)
        await answer_query(update, context.texts.t(lang, f"questions.already_{decision.already}"))
        return
    await settle_query(update)
    wake_delivery(context)
    await say(update, context, done_key, group=decision.group_name, number=decision.number or "")
    for chat_id, message_id in decision.cards:  # the other reviewers' buttons go too
        with contextlib.suppress(BadRequest, Forbidden):  # already gone, or they blocked us
            await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def answer_reject_reason(update: Update, context: BotContext, profile: Profile,
                               text: str) -> None:  # fmt: skip
    user = update.effective_user
    assert user is not None
    question_id = profile.draft.get("question")
    if not isinstance(question_id, int):
        raise NotFound
    decision = await context.services.questions.reject(user.id, question_id, text)
    await _after_decision(update, context, decision, "questions.rejected_done")


@edge
@only_for("questions")
async def question_settings(update: Update, context: BotContext) -> None:
    await for_a_managed_group(
        update, context, _show_settings, prompt="questions.choose_group",
        kind=callbacks.QUESTION_SETTINGS,
    )  # fmt: skip


async def _show_settings(update: Update, context: BotContext, group_id: int) -> None:
    user = update.effective_user
    assert user is not None
    await _render_settings(update, context, await context.services.questions.settings(
        user.id, group_id))  # fmt: skip


async def _render_settings(update: Update, context: BotContext, settings: QuestionSettings) -> None:
    lang = await language(update, context)
    t = context.texts.t
    gid = settings.group_id
    toggle = (
        button(t(lang, "questions.moderation_off_button"), callbacks.QUESTION_MODERATION, gid, 0)
        if settings.moderated
        else button(t(lang, "questions.moderation_on_button"), callbacks.QUESTION_MODERATION,
                    gid, 1)
    )  # fmt: skip
    rows = [[toggle]]
    if settings.muted:
        rows.append([button(t(lang, "questions.unmute_button"), callbacks.QUESTION_UNMUTE_ALL,
                            gid)])  # fmt: skip
    await say(
        update, context,
        "questions.settings_moderated" if settings.moderated else "questions.settings_open",
        group=settings.group_name, muted=settings.muted, reply_markup=buttons(rows),
    )  # fmt: skip


async def on_settings(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _show_settings(update, context, pressed.number("group"))


async def on_moderation(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    settings = await context.services.questions.set_moderation(
        user.id, pressed.number("group"), pressed.number("on") == 1
    )
    await _render_settings(update, context, settings)


async def on_unmute_all(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    settings = await context.services.questions.unmute_all(user.id, pressed.number("group"))
    await _render_settings(update, context, settings)


async def relay_reply(update: Update, context: BotContext) -> bool:
    """A reply to one of the bot's messages: when that message is a posted question, carry
    the reply to its asker. False when it was not a question."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None or user.is_bot:
        return False
    original = message.reply_to_message
    text = message.text or message.caption
    if not isinstance(original, Message) or original.from_user is None or not text:
        return False
    if original.from_user.id != context.bot.id:
        return False
    relayed = await context.services.questions.relay_reply(
        chat_id=chat.id,
        replied_to_message_id=original.message_id,
        message_id=message.message_id,
        replier_id=user.id,
        replier_first_name=user.first_name,
        text=text,
    )
    if relayed:
        wake_delivery(context)
    return relayed


async def passed_on_as_reply(update: Update, context: BotContext) -> bool:
    """A private reply to a member's copy of a question: pass it on, and say so."""
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        return False
    if not await relay_reply(update, context):
        return False
    await say(update, context, "questions.reply_sent")
    return True


@edge
async def on_group_reply(update: Update, context: BotContext) -> None:
    await relay_reply(update, context)  # nothing is said in the group


TEXT_STEPS = TextSteps(
    TextStep(Awaiting.QUESTION_TEXT, answer_question),
    TextStep(Awaiting.REJECT_REASON, answer_reject_reason),
)
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.ASK_GROUP, on_group),
    ButtonStep(callbacks.ASK_FOLLOW_UP, on_follow_up),
    ButtonStep(callbacks.ASK_SEND, on_send),
    ButtonStep(callbacks.ASK_CANCEL, on_cancel),
    # A decision's card keeps its buttons until the decision is made (another reviewer may
    # have made it first: that is said in the press's notice).
    ButtonStep(callbacks.QUESTION_APPROVE, on_approve, Settle.BY_HANDLER),
    ButtonStep(callbacks.QUESTION_REJECT, on_reject, Settle.BY_HANDLER),
    ButtonStep(callbacks.QUESTION_REJECT_SILENTLY, on_reject_silently, Settle.BY_HANDLER),
    ButtonStep(callbacks.QUESTION_MUTE_ASKER, on_mute_asker, Settle.BY_HANDLER),
    ButtonStep(callbacks.QUESTION_FOLLOW_UP, on_asker_follow_up, Settle.BY_HANDLER),
    ButtonStep(callbacks.QUESTION_SETTINGS, on_settings),
    ButtonStep(callbacks.QUESTION_MODERATION, on_moderation),
    ButtonStep(callbacks.QUESTION_UNMUTE_ALL, on_unmute_all),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("ask", ask, filters=private))
    application.add_handler(CommandHandler("questions", question_settings, filters=private))
    application.add_handler(BUTTON_STEPS)
    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & filters.REPLY & (filters.TEXT | filters.CAPTION)
            & filters.UpdateType.MESSAGE & ~filters.COMMAND,
            on_group_reply,
        )
    )  # fmt: skip
    text_steps(application).include(TEXT_STEPS)
