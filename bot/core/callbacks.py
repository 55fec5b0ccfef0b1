"""Every button the bot makes, declared once: its callback data is built and read only through
these kinds and the codec (bot.core.callback_codec), re-exported here.

A button's data comes back from the person's Telegram app, and an app (or anyone with the bot
API's update format) can send any data up to 64 bytes. So a press is acted on only when its
data is exactly of a shape declared below — the right prefix and action, the right number of
fields, each field in its own strict form — and when it was pressed where that kind of button
lives (private-only buttons in the presser's own chat with the bot, group buttons in a group).
Anything else decodes to None and is refused kindly, changing nothing.

Data is `prefix:action:field:...` (or `prefix:field:...` for a few kinds without an action),
ASCII only. The formats are those the bot has always sent, so buttons already in people's
chats (and messages waiting in the outbox) keep working.
"""

from __future__ import annotations

from bot.core.callback_codec import (
    MAX_DATA_BYTES,
    MAX_ID,
    MAX_STAMP,
    MAX_USER_ID,
    Choice,
    Decoded,
    Field,
    Id,
    IdOrWord,
    Kind,
    Number,
    Place,
    Refused,
    Stamp,
    Token,
    UserId,
    Value,
    Where,
    accepted,
    declare,
    declared,
    decode,
    encode,
    place_of,
)
from bot.core.profile import SUPPORTED_LANGUAGES, TIMEZONE_REGIONS
from bot.core.schedule import Repeat, Rhythm
from bot.core.statuses import RsvpAnswer

__all__ = [
    "MAX_DATA_BYTES", "MAX_ID", "MAX_STAMP", "MAX_USER_ID", "Choice", "Decoded", "Field", "Id",
    "IdOrWord", "Kind", "Number", "Place", "Refused", "Stamp", "Token", "UserId", "Value",
    "Where", "accepted", "decode", "encode", "place_of",
]  # fmt: skip

INVITE_CODE = r"[A-Za-z0-9_-]{16}"  # bot.core.invites: 12 random bytes, url-safe
NONCE = r"[0-9a-f]{8}"  # a preview's name: secrets.token_hex(4)
ALL_ZONES = tuple(zone for zones in TIMEZONE_REGIONS.values() for zone in zones)
MEETING_DURATIONS = (45, 60, 90, 120)  # minutes
CHECKIN_TIMES = ("0800", "1200", "1800", "2000", "2200")  # HHMM, the person's own time
WEEKDAYS = tuple(range(7))  # Monday = 0
# An RSVP button carries a one-letter code for its answer (64 bytes go quickly).
RSVP_CODES: dict[RsvpAnswer, str] = {
    RsvpAnswer.GOING: "g",
    RsvpAnswer.MAYBE: "m",
    RsvpAnswer.NO: "n",
}

# Onboarding and settings
CONSENT_YES = declare("ob", "yes", Token("invite", INVITE_CODE, absent="-"))
CONSENT_NO = declare("ob", "no")
TZ_REGION = declare("tz", "r", Choice("region", tuple(TIMEZONE_REGIONS)))
TZ_OTHER = declare("tz", "other")
TZ_ZONE = declare("tz", "z", Choice("zone", ALL_ZONES))
SETTINGS_NAME = declare("set", "name")
SETTINGS_TIMEZONE = declare("set", "tz")
SETTINGS_LANGUAGE = declare("set", "lang")
SETTINGS_EXPORT = declare("set", "data")
SETTINGS_FORGET = declare("set", "forget")
LANGUAGE = declare("lang", None, Choice("language", SUPPORTED_LANGUAGES))
# A member erasing their own data (two steps); a coordinator erasing a member's
FORGET_CONTINUE = declare("priv", "fg")
FORGET_CONFIRM = declare("priv", "fgyes")
FORGET_KEEP = declare("priv", "keep")
ERASE_CONFIRM = declare("priv", "erase", UserId("member"))
ERASE_CANCEL = declare("priv", "noerase")
# Groups
GROUP_INVITE = declare("grp", "inv", Id("group"))
GROUP_ROTATE = declare("grp", "rot", Id("group"))
GROUP_LEAVE = declare("grp", "leave", Id("group"))
GROUP_LINK = declare("grp", "link", Id("group"), where=Where.GROUP)
# Meetings
MEETING_GROUP = declare("mt", "g", Id("group"))
MEETING_REPEAT = declare("mt", "r", Choice("repeat", tuple(r.value for r in Repeat)))
MEETING_DURATION = declare("mt", "d", Number("minutes", MEETING_DURATIONS))
MEETING_CALENDAR = declare("mt", "ics", Id("meeting"))
MEETING_MUTE = declare("mt", "mute", Id("group"))
MEETING_UNMUTE = declare("mt", "unmute", Id("group"))
MEETING_EDIT = declare("mt", "e", Id("meeting"))
MEETING_EDIT_TIME = declare("mt", "et", Id("meeting"))
MEETING_EDIT_PLACE = declare("mt", "ep", Id("meeting"))
MEETING_CANCEL = declare("mt", "x", Id("meeting"))
MEETING_CANCEL_CONFIRM = declare("mt", "xx", Id("meeting"))
MEETING_KEEP = declare("mt", "keep", Number("unused", (0,)))
RSVP = declare(
    "rsvp", None, Id("meeting"), Stamp("occurrence"), Choice("answer", tuple(RSVP_CODES.values()))
)
# Check-ins
CHECKIN_RHYTHM = declare("ci", "r", Choice("rhythm", tuple(Rhythm)))
CHECKIN_DAY = declare("ci", "w", Number("day", WEEKDAYS))
CHECKIN_TIME = declare(
    "ci", "t", Choice("rhythm", (Rhythm.DAILY, Rhythm.WEEKLY)), Number("day", WEEKDAYS),
    Choice("time", CHECKIN_TIMES),
)  # fmt: skip
CHECKIN_TALK = declare("ci", "talk", Choice("answer", ("yes", "no")))
MOOD = declare("mood", None, Stamp("prompt"), Number("mood", (1, 2, 3, 4, 5)))
# Anonymous questions
ASK_GROUP = declare("ask", "g", Id("group"))
ASK_FOLLOW_UP = declare("ask", "f", Id("question"))
ASK_SEND = declare("ask", "send", Token("nonce", NONCE))
ASK_CANCEL = declare("ask", "cancel", Token("nonce", NONCE))
QUESTION_APPROVE = declare("q", "ok", Id("question"))
QUESTION_REJECT = declare("q", "no", Id("question"))
QUESTION_REJECT_SILENTLY = declare("q", "nr", Id("question"))
QUESTION_MUTE_ASKER = declare("q", "mute", Id("question"))
QUESTION_FOLLOW_UP = declare("q", "fu", Id("question"))
QUESTION_SETTINGS = declare("q", "set", Id("group"))
QUESTION_MODERATION = declare("q", "mod", Id("group"), Number("on", (0, 1)))
QUESTION_UNMUTE_ALL = declare("q", "unm", Id("group"))
# Announcements
BROADCAST_AUDIENCE = declare("bc", "g", IdOrWord("audience", ("all",)))
BROADCAST_SEND = declare("bc", "send", Token("nonce", NONCE))
BROADCAST_DISCARD = declare("bc", "cancel", Token("nonce", NONCE))
BROADCAST_STOP = declare("bc", "x", Id("broadcast"))
# Escalations (alerts go to coordinators privately, or to an alert group chat)
ESCALATION_ACK = declare("esc", "ack", Id("escalation"), where=Where.ANY)
ESCALATION_RESOLVE = declare("esc", "res", Id("escalation"), where=Where.ANY)
# The member, under the crisis reply: "That's not what I meant" (never closes the escalation).
ESCALATION_NOT_MEANT = declare("esc", "nm", Id("escalation"))


KINDS: tuple[Kind, ...] = declared()
