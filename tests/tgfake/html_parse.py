"""Telegram's HTML parse mode, strictly: what Telegram would refuse, this refuses too.

Supported: b strong i em u ins s strike del, span class="tg-spoiler", tg-spoiler, a href,
tg-emoji emoji-id, code (class="language-x" inside pre), pre, blockquote (expandable).
Entities: &lt; &gt; &amp; &quot; and numeric ones. Anything else — a bare `<` or `&`, an
unknown tag, an unclosed or mismatched tag — is an error, as on Telegram.
"""

from __future__ import annotations

import re

_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s>]+)"
_TAG = re.compile(rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*{_VALUE})?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlError(ValueError):
    pass


def parse_html(text: str) -> str:
    """The plain text Telegram would show; raises HtmlError where Telegram would refuse."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise HtmlError(f"unsupported start tag or bare '<' at byte offset {i}")
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in _TAGS:
                raise HtmlError(f'unsupported start tag "{name}" at byte offset {i}')
            if closing:
                if not stack or stack[-1] != name:
                    raise HtmlError(f'unexpected end tag "{name}" at byte offset {i}')
                stack.pop()
            else:
                _check_attributes(name, attrs, i)
                stack.append(name)
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise HtmlError(f"unsupported HTML entity or bare '&' at byte offset {i}")
            token = match.group(1)
            if token.startswith("#x"):
                out.append(chr(int(token[2:], 16)))
            elif token.startswith("#"):
                out.append(chr(int(token[1:])))
            else:
                out.append(_NAMED[token])
            i = match.end()
        elif ch == ">":
            out.append(ch)  # Telegram tolerates a bare '>'
            i += 1
        else:
            out.append(ch)
            i += 1
    if stack:
        raise HtmlError(f'can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _check_attributes(name: str, raw: str, offset: int) -> None:
    attrs = {k.lower(): (v or "").strip("\"'") for k, v in _ATTR.findall(raw)}
    if name == "a" and "href" not in attrs:
        raise HtmlError(f"a tag without href at byte offset {offset}")
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlError(f"span tag without class tg-spoiler at byte offset {offset}")
    if name == "tg-emoji" and "emoji-id" not in attrs:
        raise HtmlError(f"tg-emoji tag without emoji-id at byte offset {offset}")
