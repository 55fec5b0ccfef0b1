"""Hypothesis strategies for Telegram updates, built from the official Bot API description.

Every update kind in the spec's `Update` type can be generated. Objects are built generically
from the spec (each required field, each optional field present or absent, nested types to a
depth limit, unions as one of their subtypes, string enumerations read from the descriptions),
with a few types made realistic by hand, because Telegram fills them in meaningfully:

* users and chats come from a small, fixed world (so people come back, start, press buttons
  and type their name), including the coordinator, groups the bot was never added to, a forum,
  a channel, odd names and ids at Telegram's 52-bit limit;
* a private chat's id is its user's id, and a message carries one kind of content (text, one
  media with a caption, or one service event) plus a few optional extras;
* text is what people and clients really send, and what they could: commands (with and without
  `@bot`, with odd arguments), names, places, crisis phrases, huge text up to 4096 UTF-16 units,
  RTL and zero-width characters, emoji, control characters (no NUL, no lone surrogates);
  a leading command always carries its `bot_command` entity, as Telegram's does;
* callback queries come from the bot's own messages (or an inaccessible one, or none — an
  inline message) with data plausible for every prefix the bot uses, or forged;
* an `InaccessibleMessage` has `date` 0, as the spec says;
* dates are recent, durations and counts fit 31 bits, strings keep the spec's length limits.

Texts and button data lean towards the steps of the bot's own flows (/start, "I agree", a name,
a city, /newgroup, a mood ...) so that a run gets past the first question; `prelude()` sets the
scene further (people onboarded, two facilitators with a group each).

`generate(spec, count, seed=...)` draws a deterministic list of update payloads (without
`update_id`; the fake server assigns it). Hypothesis only generates here: the bot's state
carries over between updates, so a failure is isolated and shrunk by bench/fuzz.py instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from tests.tgfake.server import BOT_ID
from tests.tgfake.spec import Spec

Json = dict[str, Any]
BOT_USERNAME = "peerbot_test_bot"
COORDINATOR_ID = 900_001
MAX_DEPTH = 3
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Message ids the fake server never hands out itself (it counts from 1 in each chat).
FOREIGN_MESSAGE_IDS = (10_000_000, 2**31 - 1)
NOW = int(time.time())


# ----------------------------------------------------------------------------------- the world
@dataclass(frozen=True)
class World:
    """The people and chats updates come from."""

    users: tuple[Json, ...]
    groups: tuple[Json, ...]  # group, supergroup and forum chats (the bot is in none knowingly)
    channels: tuple[Json, ...]
    # Groups where nobody ever addresses the bot (no command for it, no group button): it has
    # no reason to say anything there, whatever happens.
    quiet: frozenset[int] = frozenset()
    coordinator_id: int = COORDINATOR_ID
    invite_codes: tuple[str, ...] = ("AAAAAAAAAAAAAAAA", "abcdefghijklmnop", "x" * 16)

    def private_chat(self, user: Json) -> Json:
        chat: Json = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat


def _user(uid: int, first_name: str, **extra: Any) -> Json:
    return {"id": uid, "is_bot": False, "first_name": first_name, **extra}


DEFAULT_WORLD = World(
    users=(
        _user(COORDINATOR_ID, "Cora", language_code="en", username="cora"),
        _user(700_001, "Ann", language_code="en"),
        _user(700_002, "Bo", last_name="Lind", language_code="de", username="bo_lind"),
        _user(700_003, "Дарья", language_code="ru"),
        _user(700_004, "محمد", language_code="ar"),  # right-to-left
        _user(700_005, "\u202eEvil\u202c", language_code="zz"),  # RTL override, unknown language
        _user(700_006, "🦊", is_premium=True),  # no language_code
        _user(700_007, "A" * 64, language_code="pt-br", last_name="B" * 64),
        _user(700_008, "<b>Boss</b> &amp;", language_code="en"),
        _user(700_009, "\u200b", language_code="uk"),  # an invisible name
        _user(2**52 - 1, "Max", language_code="en"),  # the largest id Telegram uses
        _user(700_010, "GroupBot", is_bot=True, username="other_bot"),
    ),
    groups=(
        {"id": -4_000_000_001, "type": "group", "title": "Stray group"},
        {"id": -1_001_500_000_001, "type": "supergroup", "title": "Unknown supergroup"},
        {"id": -4_000_000_002, "type": "group", "title": "Quiet group"},
        {"id": -1_001_500_000_002, "type": "supergroup", "title": "Forum", "is_forum": True},
        {"id": -1_001_500_000_003, "type": "supergroup", "title": "\u202eeman\u202c 🎉" * 3},
    ),
    channels=({"id": -1_001_500_000_099, "type": "channel", "title": "A channel"},),
    quiet=frozenset({-4_000_000_002, -1_001_500_000_002, -1_001_500_000_003}),
)

# ----------------------------------------------------------------------------------- text
COMMANDS = (
    "start", "help", "settings", "newgroup", "groups", "invite", "leave", "link", "grant",
    "revoke", "newmeeting", "meetings", "skip", "checkin", "mood", "groupmood", "ask",
    "questions", "broadcast", "escalations", "cancel", "frobnicate", "START", "Start",
)  # fmt: skip
COMMAND_SUFFIXES = ("", "", "", f"@{BOT_USERNAME}", "@PeerBot_Test_Bot", "@other_bot")
WORDS = (
    "hello", "hi", "Ann", "Bo", "London", "Berlin", "Tokyo", "Kyiv", "Europe/London",
    "Mars/Olympus_Mons", "UTC", "yes", "no", "ok", "cancel", "tomorrow 19:00",
    "2030-01-01 18:00", "Monday 7pm", "19:00", "25:61", "60", "0", "-1", "Library room 2",
    "https://example.org/meet", "Peer group", "My group", "Is it normal to feel this way?",
    "I feel a bit better today", "x",
)  # fmt: skip
# What moves people along the bot's flows (onboarding, groups, meetings, check-ins, questions,
# announcements, roles), so that a run reaches past the first question.
FLOW_TEXTS = (
    "/start", "/start", "/start", "Ann", "Bo", "London", "Berlin", "Europe/London",
    "/newgroup Peer group", "/newgroup", "My group", "/invite", "/groups", "/newmeeting",
    "tomorrow 19:00", "Monday 7pm", "Library room 2", "/checkin", "/mood", "/ask",
    "Is it normal to feel this way?", "/settings", "/meetings", "/broadcast", "Hello everyone",
    "/grant 700001", "/grant 700002", "/grant 700003", "/revoke 700002", "/escalations",
    "/questions", "/leave", "/help", "/skip", "/groupmood", "/link",
)  # fmt: skip
FLOW_DATA = (
    "ob:yes:-", "ob:yes:-", "ob:yes:-", "tz:r:Europe", "tz:z:Europe/London", "tz:z:Europe/Berlin",
    "tz:other", "ci:r:daily", "ci:r:weekly", "ci:w:2", "ci:t:daily:0:0900", "ci:talk:yes",
    "mt:g:1", "mt:r:weekly", "mt:r:once", "mt:d:60", "mt:e:1", "mt:x:1", "mt:ics:1", "mt:mute:1",
    "set:name", "set:tz", "set:lang", "lang:en", "lang:de", "q:ok:1", "q:no:1", "q:fu:1",
    "q:set:1", "q:mod:1:0", "ask:g:1", "ask:f:1", "bc:g:all", "bc:x:1", f"mood:{NOW}:3",
    f"mood:{NOW}:1", "esc:ack:1", "esc:res:1", "grp:inv:1", "grp:rot:1", "grp:leave:1",
    f"rsvp:1:{NOW + 86_400}:going",
)  # fmt: skip
CRISIS = (
    "i want to kill myself tonight",
    "I can't go on anymore, I have the pills ready",
    "ich will nicht mehr leben",
    "he hits me and I am scared to go home",
)
ODD = (
    "\u202e", "\u202c", "\u200b", "\u200d", "\u200e", "\u200f", "\ufeff", "\u2028", "\u2029",
    "\u0301\u0301\u0301", "\u00ad", "\u3164", "\U0001d54f", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇦", "ﷺ", "𒐫",
    "\x07", "\x1b[31m", "\x7f", "\t", "\r\n", "\n\n\n", "<b>", "</a>", "&amp;", "&lt;",
    "<a href='tg://user?id=1'>x</a>", "%s%s%n", "{name}", "{{}}", "' OR 1=1 --", "\\", '"',
    "²", "١٢٣", "٣", "Ⅻ", "0x1F", "1e309", "NaN", "null", "None", "true", "../../etc/passwd",
)  # fmt: skip
SAFE_CHARS = st.characters(
    exclude_categories=["Cs"],  # no lone surrogates: JSON from Telegram never carries them
    exclude_characters="\x00",
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip_utf16(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 code units (never half a pair)."""
    if utf16_len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit:
            break
        out.append(ch)
        used += size
    return "".join(out)


def within(text: str, limit: Json) -> str:
    """`text` cut or padded to a length limit from the spec's limits file."""
    low, high = int(limit["min"]), int(limit["max"])
    if limit.get("unit") == "bytes":
        while len(text.encode()) > high:
            text = text[:-1]
    else:
        text = clip_utf16(text, high)
    return text + "x" * max(0, low - utf16_len(text))


def _not_blank(text: str) -> str:
    return text if text.strip() else "\u3164"  # Telegram refuses blank messages


@st.composite
def _command(draw: st.DrawFn, world: World) -> str:
    name = draw(st.sampled_from(COMMANDS)) + draw(st.sampled_from(COMMAND_SUFFIXES))
    ids = [str(u["id"]) for u in world.users]
    argument = draw(
        st.sampled_from(
            (
                "",
                "",
                " join_" + world.invite_codes[0],
                " join_" + world.invite_codes[1],
                " join_",
                " join_" + "z" * 200,
                " " + ids[1],
                " " + ids[2],
                " ²",
                " 99999999999999999999",
                " -5",
                " Peer group",
                " <b>x</b>",
                " " + "x" * 300,
                "  \u200b ",
            )
        )
    )
    return f"/{name}{argument}"


def text_values(world: World, limit: int = MAX_TEXT) -> st.SearchStrategy[str]:
    """What people type (and what a hostile client could send)."""
    huge = st.builds(
        lambda piece, n: piece * n,
        st.sampled_from(("x", "é", "🦊", "ab ", "\u200b", "/start ", "<b>", "\u202e")),
        st.integers(min(500, limit), limit),
    )
    odd = st.lists(st.sampled_from(ODD + WORDS), min_size=1, max_size=8).map("".join)
    flow = st.sampled_from(FLOW_TEXTS)
    choices = st.one_of(
        flow,
        flow,
        flow,
        flow,
        _command(world),
        _command(world),
        _command(world),
        st.sampled_from(WORDS),
        st.sampled_from(WORDS),
        st.sampled_from(CRISIS),
        st.text(SAFE_CHARS, min_size=1, max_size=60),
        st.text(SAFE_CHARS, min_size=1, max_size=60),
        odd,
        huge,
    )
    return choices.map(lambda text: _not_blank(clip_utf16(text, limit)))


def draw_entities(
    draw: st.DrawFn, text: str, types: list[str], users: tuple[Json, ...]
) -> list[Json]:
    """Entities as Telegram would attach them: a leading command always has its entity; others
    (commands later in the text among them) cover whole characters within the text."""
    bounds = [0]
    for ch in text:
        bounds.append(bounds[-1] + (2 if ord(ch) > 0xFFFF else 1))
    found: list[Json] = []
    leading = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{1,32})?", text)
    if leading:
        found.append({"type": "bot_command", "offset": 0, "length": utf16_len(leading.group())})
    for _ in range(draw(st.integers(0, 2))):
        first = draw(st.integers(0, len(bounds) - 2))
        last = draw(st.integers(first + 1, min(len(bounds) - 1, first + 200)))
        kind = draw(st.sampled_from(types))
        entity: Json = {
            "type": kind,
            "offset": bounds[first],
            "length": bounds[last] - bounds[first],
        }
        if kind == "text_link":
            entity["url"] = draw(st.sampled_from(("https://example.org", "tg://user?id=1")))
        elif kind == "text_mention":
            entity["user"] = draw(st.sampled_from(users))
        elif kind == "pre" and draw(st.booleans()):
            entity["language"] = draw(st.sampled_from(("python", "", "<script>")))
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = draw(st.sampled_from(("5368324170671202286", "")))
        elif kind == "date_time":
            entity["unix_time"] = draw(st.integers(0, 2**31 - 1))
            if draw(st.booleans()):
                entity["date_time_format"] = draw(st.sampled_from(("r", "wDT", "", "??")))
        found.append(entity)
    return found


def addressed_command(body: Json, bot_username: str = BOT_USERNAME) -> bool:
    """A message that starts with a command for this bot (`/cmd` or `/cmd@bot`)."""
    text = body.get("text")
    entities = body.get("entities") or []
    if not isinstance(text, str) or not entities:
        return False
    first = entities[0]
    if first.get("type") != "bot_command" or first.get("offset") != 0:
        return False
    command = text.encode("utf-16-le")[: 2 * int(first.get("length", 0))].decode(
        "utf-16-le", errors="replace"
    )
    _, at, target = command.partition("@")
    return not at or target.lower() == bot_username.lower()


# ----------------------------------------------------------------------------------- callback data
_IDS = st.sampled_from(
        ("1", "1", "2", "3", "0", "-1", "00001", "999999999", "99999999999999999999", "²",
     "١", "1.5", "", " 1", "1 ", "0x1", "1e3", "9" * 40)
)  # fmt: skip


_STAMPS = st.sampled_from(
    (str(NOW), str(NOW + 86_400), "0", "-1", "999999999999", "99999999999999", "²", "")
)


_TOKENS = st.sampled_from(("deadbeef", "00000000", "", "-", "x" * 40, "ü"))


def _plausible_data() -> st.SearchStrategy[str]:
    """Callback data shaped like each prefix the bot uses (see bot/handlers and bot/services),
    with ids that may or may not exist."""
    fixed = st.sampled_from(
        (
            "ob:yes:-", "ob:no", "tz:other", "set:name", "set:tz", "set:lang", "lang:en",
            "lang:de", "lang:zz", "mt:r:once", "mt:r:weekly", "mt:r:biweekly", "mt:r:monthly",
            "mt:r:yearly", "mt:keep:0", "ci:r:daily", "ci:r:weekly", "ci:r:off", "ci:r:hourly",
            "ci:talk:yes", "ci:talk:no", "ci:talk:maybe", "tz:r:Europe", "tz:r:America",
            "tz:r:Atlantis", "tz:z:Europe/London", "tz:z:America/New_York",
            "tz:z:Mars/Olympus_Mons", "tz:z:", "tz:z:../../etc/passwd", "ci:t:daily:0:0900",
            "ci:t:weekly:6:2330", "ci:t:weekly:9:2561", "ci:t:daily:x:", "mt:d:60", "mt:d:0",
            "mt:d:-30", "mt:d:99999999999",
        )
    )  # fmt: skip
    shaped = st.one_of(
        st.builds(lambda c: f"ob:yes:{c}", st.sampled_from(("AAAAAAAAAAAAAAAA", "x", "-_-"))),
        st.builds(
            "{}:{}".format,
            st.sampled_from(
                (
                    "grp:inv",
                    "grp:rot",
                    "grp:leave",
                    "grp:link",
                    "grp:zz",
                    "mt:g",
                    "mt:e",
                    "mt:et",
                    "mt:ep",
                    "mt:x",
                    "mt:xx",
                    "mt:ics",
                    "mt:mute",
                    "mt:unmute",
                    "ci:w",
                    "q:ok",
                    "q:no",
                    "q:nr",
                    "q:mute",
                    "q:fu",
                    "q:set",
                    "q:unm",
                    "ask:g",
                    "ask:f",
                    "bc:x",
                    "bc:g",
                    "esc:ack",
                    "esc:res",
                    "esc:zz",
                )
            ),
            _IDS,
        ),
        st.builds("q:mod:{}:{}".format, _IDS, st.sampled_from(("0", "1", "2", ""))),
        st.builds(
            "{}:{}".format,
            st.sampled_from(("ask:send", "ask:cancel", "bc:send", "bc:cancel")),
            _TOKENS,
        ),
        st.builds("mood:{}:{}".format, _STAMPS, st.sampled_from(("1", "3", "5", "0", "6", "²"))),
        st.builds(
            "rsvp:{}:{}:{}".format,
            _IDS,
            _STAMPS,
            st.sampled_from(("", "going", "maybe", "no", "bogus", "x" * 30)),
        ),
    )
    return st.one_of(fixed, shaped, shaped)


FORGED_DATA = (
    "", ":", "::::", "A" * 64, "' OR 1=1 --", "esc", "esc:", "grp:link:1", "ob:yes:x",
    "ob:yes:", "ob:yes:-:extra", "mt:e:²", "mt:e:99999999999999999999", "q:ok:\u00b2",
    "esc:ack:\u00b3", "rsvp:1:\u00b2:going", "mood:99999999999999:3", "tz:z:Mars/Olympus_Mons",
    "zz:unknown", "grp:rot:999", "lang:", "lang:en:", "set:", "set:zz", "ci:", "ci:t",
    "ci:t:daily", "bc:", "ask:", "q:", "q:ok", "mt:", "rsvp:", "rsvp::::", "mood:", "mood::",
    "\u202e", "🦊" * 16, "null", "{}", "[]",
)  # fmt: skip


_PLAUSIBLE = _plausible_data()
_FLOW = st.sampled_from(FLOW_DATA)
_ANY_DATA = st.one_of(
    _FLOW,
    _FLOW,
    _FLOW,
    _PLAUSIBLE,
    _PLAUSIBLE,
    st.sampled_from(FORGED_DATA),
    st.text(SAFE_CHARS, max_size=64),
)
CALLBACK_DATA = _ANY_DATA.filter(lambda s: len(s.encode()) <= 64)
BUTTON_DATA = _ANY_DATA.filter(lambda s: 0 < len(s.encode()) <= 64)
"""Data a callback query can carry (at most 64 bytes, as Telegram allows), and a button."""


# ----------------------------------------------------------------------------------- spec reading
_ENUM_HINT = re.compile(r"\b(always|can be|one of|either)\b", re.IGNORECASE)
_QUOTED = re.compile(r"\"([^\"]{1,40})\"")


def string_choices(description: str) -> list[str] | None:
    """The values a String field can take, when its description lists them
    ('always "emoji"', 'can be either "private", "group" ...', 'one of "XTR", "TON"')."""
    hint = _ENUM_HINT.search(description)
    if hint is None:
        return None
    found = _QUOTED.findall(description[hint.start() :])
    return found or None


@st.composite
def _drawn(draw: st.DrawFn, build: Callable[..., Json], *args: Any) -> Json:
    """A strategy from a method that draws (`build(draw, *args)`)."""
    return build(draw, *args)


BOT_USER: Json = {"id": BOT_ID, "is_bot": True, "first_name": "Peerbot", "username": BOT_USERNAME}
ANONYMOUS_ADMIN: Json = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
MEDIA = ("animation", "audio", "document", "photo", "video", "voice", "paid_media", "live_photo")
NOT_SERVICE = ("invoice", "successful_payment", "refunded_payment", "passport_data")


class UpdateStrategies:
    """Strategies for update payloads (without `update_id`), built from a `Spec`."""

    def __init__(
        self, spec: Spec, world: World = DEFAULT_WORLD, max_depth: int = MAX_DEPTH
    ) -> None:
        self.spec = spec
        self.world = world
        self.max_depth = max_depth
        self._cache: dict[tuple[str, str, int], st.SearchStrategy[Any]] = {}
        self.kinds = [f["name"] for f in self._fields("Update") if f["name"] != "update_id"]
        entity = {f["name"]: f for f in self._fields("MessageEntity")}
        self.entity_types = string_choices(entity["type"]["description"]) or ["bold"]
        message = [f["name"] for f in self._fields("Message")]
        text_at = message.index("text")
        identity = {"message_id", "from", "date", "chat", "sender_chat"}
        companions = {
            "entities", "link_preview_options", "caption", "caption_entities",
            "show_caption_above_media", "has_media_spoiler", "effect_id", "reply_markup",
            "suggested_post_info",
        }  # fmt: skip
        # Optional extras any message may have (replies, forwards, threads, markup ...).
        self.message_extras = [n for n in message[:text_at] if n not in identity]
        self.message_extras += ["link_preview_options", "effect_id", "reply_markup"]
        # What a message is about: exactly one of these.
        self.message_contents = [n for n in message[text_at:] if n not in companions]
        self.media = [n for n in self.message_contents if n in MEDIA]
        first_service = self.message_contents.index("new_chat_members")
        self.service = [n for n in self.message_contents[first_service:] if n not in NOT_SERVICE]
        people = tuple(u for u in world.users if not u.get("is_bot"))
        self.users = st.sampled_from(world.users)
        self.people = st.sampled_from(people)
        self.groups = st.sampled_from(world.groups)
        self.loud_groups = st.sampled_from([g for g in world.groups if g["id"] not in world.quiet])
        self.channels = st.sampled_from(world.channels)
        self.chats = st.one_of(self.people.map(world.private_chat), self.groups, self.channels)
        self.dates = st.one_of(
            st.integers(NOW - 3 * 86_400, NOW), st.sampled_from((1, NOW - 400 * 86_400, NOW + 60))
        )
        self.message_ids = st.integers(*FOREIGN_MESSAGE_IDS)
        self.texts = text_values(world)
        self.captions = text_values(world, MAX_CAPTION)
        self.short_texts = text_values(world, 256)
        self.button_texts = text_values(world, 64)

    # --------------------------------------------------------------------------- spec access
    def _type(self, name: str) -> Json:
        described: Json = self.spec.types[name]
        return described

    def _fields(self, name: str) -> list[Json]:
        fields: list[Json] = self._type(name).get("fields", [])
        return fields

    # --------------------------------------------------------------------------- updates
    def updates(self) -> st.SearchStrategy[Json]:
        """Any update kind; the kinds the bot asks for most often."""
        weighted = (
            ["message"] * 30
            + ["callback_query"] * 20
            + ["edited_message"] * 6
            + ["my_chat_member"] * 4
            + self.kinds
        )
        by_kind = {kind: self.of_kind(kind) for kind in self.kinds}
        return st.sampled_from(weighted).flatmap(by_kind.__getitem__)

    def of_kind(self, kind: str) -> st.SearchStrategy[Json]:
        described = next(f for f in self._fields("Update") if f["name"] == kind)
        (type_name,) = described["types"]
        if type_name == "Message":
            body: st.SearchStrategy[Any] = _drawn(self.draw_message, kind, 0, None, False)
        elif kind == "callback_query":
            body = _drawn(self.draw_callback_query)
        elif kind in ("my_chat_member", "chat_member"):
            body = _drawn(self.draw_member_update, kind == "my_chat_member")
        else:
            body = self.of_type(type_name, 0)
        return body.map(lambda value: {kind: value})

    # --------------------------------------------------------------------------- messages
    def draw_text(self, draw: st.DrawFn, message: Json, limit: int = MAX_TEXT) -> None:
        key, entities_key = (
            ("text", "entities") if limit == MAX_TEXT else ("caption", "caption_entities")
        )
        text = draw(self.texts if limit == MAX_TEXT else self.captions)
        message[key] = text
        entities = draw_entities(draw, text, self.entity_types, self.world.users)
        if entities:
            message[entities_key] = entities

    def draw_message(
        self, draw: st.DrawFn, kind: str, depth: int, chat: Json | None, from_bot: bool
    ) -> Json:
        """A message of update kind `kind` (message, edited_message, channel_post ...)."""
        if chat is None:
            if kind in ("channel_post", "edited_channel_post"):
                chat = draw(self.channels)
            elif draw(st.integers(0, 9)) < 6:
                chat = self.world.private_chat(draw(self.people))
            else:
                chat = draw(self.groups)
        message: Json = {
            "message_id": draw(self.message_ids),
            "date": draw(self.dates),
            "chat": chat,
        }
        if from_bot:
            message["from"] = BOT_USER
        elif chat["type"] == "private":
            message["from"] = next(u for u in self.world.users if u["id"] == chat["id"])
        elif chat["type"] == "channel":
            message["sender_chat"] = chat
        elif draw(st.integers(0, 9)) == 0:  # an anonymous admin, or a linked channel
            message["from"] = ANONYMOUS_ADMIN
            message["sender_chat"] = draw(st.sampled_from((chat, *self.world.channels)))
        else:
            message["from"] = draw(self.users)
        if kind.startswith("edited_"):
            message["edit_date"] = message["date"] + draw(st.integers(1, 3600))
        if kind.startswith(("business_", "edited_business_")):
            message["business_connection_id"] = draw(st.sampled_from(("bc1", "")))
        if kind == "guest_message":
            message["guest_query_id"] = draw(st.sampled_from(("gq1", "")))
        content = draw(
            st.sampled_from(["text"] * 12 + ["media"] * 3 + ["service"] * 4 + ["other"] * 2)
        )
        if from_bot:
            message["text"] = draw(st.sampled_from(("Choose:", "Do you agree?", "x" * 4096)))
        elif content == "text" or depth >= self.max_depth:
            self.draw_text(draw, message)
            if depth == 0 and chat["id"] in self.world.quiet and addressed_command(message):
                chat = message["chat"] = draw(self.loud_groups)
        elif content == "media":
            name = draw(st.sampled_from(self.media))
            message[name] = draw(self.field_value("Message", name, depth + 1))
            if draw(st.booleans()):
                self.draw_text(draw, message, MAX_CAPTION)
        else:
            name = draw(
                st.sampled_from(self.service if content == "service" else self.message_contents)
            )
            if name == "text":
                self.draw_text(draw, message)
                if depth == 0 and chat["id"] in self.world.quiet and addressed_command(message):
                    chat = message["chat"] = draw(self.loud_groups)
            elif name == "pinned_message":
                message[name] = self.draw_maybe_inaccessible(draw, depth + 1, chat)
            elif name in ("migrate_to_chat_id", "migrate_from_chat_id"):
                message[name] = draw(st.sampled_from([g["id"] for g in self.world.groups]))
            elif name in ("new_chat_members", "left_chat_member"):
                who = draw(st.sampled_from((*self.world.users, BOT_USER)))
                message[name] = [who] if name == "new_chat_members" else who
            else:
                message[name] = draw(self.field_value("Message", name, depth + 1))
        if depth < self.max_depth:
            extras = draw(st.lists(st.sampled_from(self.message_extras), max_size=2, unique=True))
            for name in extras:
                if name == "reply_to_message":
                    message[name] = self.draw_message(draw, "message", depth + 1, chat, False)
                else:
                    message[name] = draw(self.field_value("Message", name, depth + 1))
        return message

    def draw_maybe_inaccessible(self, draw: st.DrawFn, depth: int, chat: Json) -> Json:
        if depth >= self.max_depth or draw(st.booleans()):
            return {"chat": chat, "message_id": draw(self.message_ids), "date": 0}
        return self.draw_message(draw, "message", depth, chat, False)

    # --------------------------------------------------------------------------- callbacks
    def draw_callback_query(self, draw: st.DrawFn) -> Json:
        """A button press: on the bot's message in a private chat mostly; in a group; on an
        inaccessible message; on an inline message (no `message`). Data plausible or forged."""
        presser = draw(self.people)
        query: Json = {
            "id": "replaced-by-the-fake-server",
            "from": presser,
            "chat_instance": draw(st.sampled_from(("ci-1", "-4242", ""))),
        }
        where = draw(st.sampled_from(["private"] * 6 + ["group"] * 2 + ["inaccessible", "inline"]))
        if where == "inline":
            query["inline_message_id"] = draw(st.sampled_from(("AgAAAB", "", "x" * 64)))
        else:
            chat = self.world.private_chat(presser) if where != "group" else draw(self.groups)
            if where == "inaccessible":
                query["message"] = {"chat": chat, "message_id": draw(self.message_ids), "date": 0}
            else:
                message = self.draw_message(draw, "message", self.max_depth, chat, True)
                message["reply_markup"] = {
                    "inline_keyboard": [[{"text": "Yes", "callback_data": "ob:yes:-"}]]
                }
                query["message"] = message
        if draw(st.integers(0, 19)) == 0:
            query["game_short_name"] = draw(st.sampled_from(("game", "")))
        else:
            query["data"] = draw(CALLBACK_DATA)
        chat = (query.get("message") or {}).get("chat") or {}
        if chat.get("id") in self.world.quiet and str(query.get("data")).startswith("grp:link:"):
            query["data"] = "grp:inv:1"  # the group button would make a quiet group a loud one
        return query

    # --------------------------------------------------------------------------- memberships
    def draw_member_update(self, draw: st.DrawFn, bot_itself: bool) -> Json:
        """Someone's (or the bot's own) membership changed; in a private chat only the bot's,
        to member or kicked (the person blocked or unblocked it)."""
        chat = draw(self.chats)
        if chat["type"] == "private":
            bot_itself = True
            performer = next(u for u in self.world.users if u["id"] == chat["id"])
            statuses: list[str] = ["ChatMemberMember", "ChatMemberBanned"]
        else:
            performer = draw(self.users)
            statuses = list(self._type("ChatMember")["subtypes"])
        changed = BOT_USER if bot_itself else draw(self.users)
        members = []
        for _ in range(2):
            member = dict(draw(self.of_type(draw(st.sampled_from(statuses)), 1)))
            member["user"] = changed
            members.append(member)
        update: Json = {
            "chat": chat,
            "from": performer,
            "date": draw(self.dates),
            "old_chat_member": members[0],
            "new_chat_member": members[1],
        }
        for name in ("invite_link", "via_join_request", "via_chat_folder_invite_link"):
            if draw(st.integers(0, 5)) == 0:
                update[name] = draw(self.field_value("ChatMemberUpdated", name, 1))
        return update

    # --------------------------------------------------------------------------- generic
    def of_type(self, name: str, depth: int) -> st.SearchStrategy[Json]:
        """An object of a spec type: each required field, each optional field present or not
        (none beyond the depth limit), unions as one of their subtypes."""
        depth = min(depth, self.max_depth)
        key = ("type", name, depth)
        if key not in self._cache:
            self._cache[key] = self._build(name, depth)
        strategy: st.SearchStrategy[Json] = self._cache[key]
        return strategy

    def _build(self, name: str, depth: int) -> st.SearchStrategy[Json]:
        if name == "User":
            return self.users
        if name == "Chat":
            return self.chats
        if name in ("Message", "MaybeInaccessibleMessage", "InaccessibleMessage"):
            return _drawn(self._draw_nested_message, name, depth)
        if name == "MessageEntity":  # the fields each entity type has, as Telegram sends them
            return _drawn(self._draw_entity)
        if name == "InlineKeyboardButton":  # exactly one action, as Telegram requires
            return st.fixed_dictionaries(
                {"text": self.button_texts}, optional={"callback_data": BUTTON_DATA}
            ).map(lambda b: b if "callback_data" in b else {**b, "url": "https://example.org"})
        described = self._type(name)
        subtypes = described.get("subtypes")
        if subtypes:
            return st.one_of([st.deferred(self._later(s, depth)) for s in subtypes])
        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for spec_field in described.get("fields", []):
            value = st.deferred(self._later_field(name, spec_field["name"], depth + 1))
            if spec_field["required"]:
                required[spec_field["name"]] = value
            elif depth < self.max_depth:
                optional[spec_field["name"]] = value
        return st.fixed_dictionaries(required, optional=optional)

    def _draw_entity(self, draw: st.DrawFn) -> Json:
        text = draw(st.sampled_from(("x" * 40, "/start now", "🦊 hello world 🦊")))
        entities = draw_entities(draw, text, self.entity_types, self.world.users)
        entity: Json = entities[-1] if entities else {"type": "bold", "offset": 0, "length": 1}
        return entity

    def _draw_nested_message(self, draw: st.DrawFn, name: str, depth: int) -> Json:
        chat = draw(self.chats)
        if name == "InaccessibleMessage":
            return self.draw_maybe_inaccessible(draw, self.max_depth, chat)
        if name == "MaybeInaccessibleMessage":
            return self.draw_maybe_inaccessible(draw, depth, chat)
        return self.draw_message(draw, "message", depth, chat, False)

    def _later(self, name: str, depth: int) -> Callable[[], st.SearchStrategy[Json]]:
        return lambda: self.of_type(name, depth)

    def _later_field(
        self, owner: str, name: str, depth: int
    ) -> Callable[[], st.SearchStrategy[Any]]:
        return lambda: self.field_value(owner, name, depth)

    def field_value(self, owner: str, name: str, depth: int) -> st.SearchStrategy[Any]:
        """A value for field `name` of spec type `owner`."""
        key = (owner, name, depth)
        if key not in self._cache:
            spec_field = next(f for f in self._fields(owner) if f["name"] == name)
            options = [
                self._value(t, name, spec_field, depth, self.spec.limits.get(f"{owner}.{name}"))
                for t in spec_field["types"]
            ]
            self._cache[key] = st.one_of(options)
        return self._cache[key]

    def _value(
        self,
        type_name: str,
        name: str,
        spec_field: Json,
        depth: int,
        limit: Json | None = None,
    ) -> st.SearchStrategy[Any]:
        if type_name.startswith("Array of "):
            inner = type_name[len("Array of ") :]
            item = self._value(inner, name, spec_field, depth, limit)
            return st.lists(item, min_size=1 if spec_field["required"] else 0, max_size=3)
        if type_name == "String":
            strings = self._string(name, spec_field["description"])
            return strings if limit is None else strings.map(lambda v: within(v, limit))
        if type_name == "Integer":
            return self._integer(name, spec_field["description"])
        if type_name == "Float":
            return st.floats(-180, 180, allow_nan=False, allow_infinity=False)
        if type_name == "Boolean":
            return st.booleans()
        if type_name == "True":
            return st.just(True)
        return self.of_type(type_name, depth)

    def _string(self, name: str, description: str) -> st.SearchStrategy[str]:
        choices = string_choices(description)
        if choices:
            return st.sampled_from(choices)
        if name.endswith(("file_id", "file_unique_id")):
            return st.sampled_from(("AgACAgQAAxkBAAIB", "AQADx", "f" * 80))
        if name in ("text", "caption", "title", "new_chat_title", "question", "name"):
            return self.short_texts
        if name == "data":
            return CALLBACK_DATA
        return st.text(SAFE_CHARS, max_size=24)

    def _integer(self, name: str, description: str) -> st.SearchStrategy[int]:
        if name == "date" or name.endswith("_date") or "Unix time" in description:
            return st.one_of(self.dates, st.just(0)) if "If 0" in description else self.dates
        if name == "chat_id" or name.endswith("_chat_id"):
            return st.sampled_from([c["id"] for c in (*self.world.groups, *self.world.channels)])
        if name == "user_id" or name.endswith("_user_id"):
            return st.sampled_from([u["id"] for u in self.world.users])
        if name == "id" or name.endswith("_id"):  # identifiers: up to 52 bits
            return st.one_of(st.integers(0, 2**31 - 1), st.sampled_from((1, 2**52 - 1)))
        return st.one_of(st.integers(0, 2**31 - 1), st.sampled_from((0, 1, 2**31 - 1)))


# ----------------------------------------------------------------------------------- prelude
def prelude(world: World = DEFAULT_WORLD) -> list[list[Json]]:
    """Plain updates, in stages (each to be handled before the next), that set the scene for
    fuzzing to reach further: the coordinator and the first few people onboard, two of them
    become facilitators and start a group each."""
    people = [u for u in world.users if not u.get("is_bot")]
    coordinator = next(u for u in people if u["id"] == world.coordinator_id)
    members = [u for u in people if u["id"] != world.coordinator_id][:4]
    facilitators = members[:2]
    counter = iter(range(1, 10_000))

    def says(user: Json, text: str) -> Json:
        message: Json = {
            "message_id": next(counter),
            "date": NOW,
            "chat": world.private_chat(user),
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            length = utf16_len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"message": message}

    def presses(user: Json, data: str) -> Json:
        button = {"text": "Yes", "callback_data": data}
        message = {
            "message_id": FOREIGN_MESSAGE_IDS[0] + next(counter),
            "date": NOW,
            "chat": world.private_chat(user),
            "from": BOT_USER,
            "text": "Do you agree?",
            "reply_markup": {"inline_keyboard": [[button]]},
        }
        return {
            "callback_query": {
                "id": "replaced-by-the-fake-server",
                "from": user,
                "chat_instance": "ci-1",
                "message": message,
                "data": data,
            }
        }

    onboarding = [
        step
        for i, user in enumerate([coordinator, *members])
        for step in (
            says(user, "/start"),
            presses(user, "ob:yes:-"),
            says(user, f"Person{i}"),
            says(user, "London"),
        )
    ]
    grants = [says(coordinator, f"/grant {f['id']}") for f in facilitators]
    groups = [says(f, f"/newgroup Group {i}") for i, f in enumerate(facilitators)]
    return [onboarding, grants, groups]


# ----------------------------------------------------------------------------------- unreadable
def unreadable(world: World = DEFAULT_WORLD) -> list[Json]:
    """Updates the spec allows (every Integer is just an Integer) but python-telegram-bot cannot
    read: times and periods past what Python's datetime holds. Not something Telegram sends in
    practice, so only `bench/fuzz.py --unreadable` mixes them in: the bot must go on."""
    user = world.users[1]
    chat = world.private_chat(user)
    base: Json = {"message_id": 1, "date": NOW, "chat": chat, "from": user}
    huge = 2**52 - 1
    return [
        {
            "message": {
                **base,
                "text": "see you then",
                "entities": [{"type": "date_time", "offset": 8, "length": 4, "unix_time": huge}],
            }
        },
        {"message": {**base, "location": {"latitude": 1.0, "longitude": 2.0, "live_period": huge}}},
        {"edited_message": {**base, "edit_date": huge, "text": "edited"}},
    ]


# ----------------------------------------------------------------------------------- drawing
def kind_of(update: Json) -> str:
    return next((k for k in update if k != "update_id"), "?")


def generate(
    spec: Spec, count: int, *, seed: int | None = None, world: World = DEFAULT_WORLD
) -> list[Json]:
    """`count` update payloads, the same ones every time for the same seed (None: Hypothesis's
    fixed derandomized sequence)."""
    strategy = UpdateStrategies(spec, world).updates()
    drawn: list[Json] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=seed is None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(update: Json) -> None:
        drawn.append(update)

    if seed is not None:
        collect = hypothesis_seed(seed)(collect)
    collect()
    return drawn
