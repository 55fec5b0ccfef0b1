"""The official Bot API description, read from outside the project, and request validation.

`../shared/telegram-bot-api/` holds `api-10.0.json` (methods, types, fields) and
`limits-10.0.json` (length and size limits). `TELEGRAM_BOT_API_SPEC_DIR` may point elsewhere.
Without it the fake server still works but checks nothing — the test session says so loudly,
and under `CI=true` it fails.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tgfake.html_parse import HtmlError, parse_html

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_DIR = ROOT.parent / "shared" / "telegram-bot-api"


def spec_dir() -> Path:
    return Path(os.environ.get("TELEGRAM_BOT_API_SPEC_DIR") or DEFAULT_SPEC_DIR)


@dataclass
class Spec:
    methods: dict[str, Any]
    types: dict[str, Any]
    limits: dict[str, Any] = field(default_factory=dict)
    version: str = ""


def load_spec() -> Spec | None:
    directory = spec_dir()
    api = sorted(directory.glob("api-*.json"))
    if not api:
        return None
    data = json.loads(api[-1].read_text(encoding="utf-8"))
    limits_files = sorted(directory.glob("limits-*.json"))
    limits = (
        json.loads(limits_files[-1].read_text(encoding="utf-8"))["constraints"]
        if limits_files
        else {}
    )
    return Spec(data["methods"], data["types"], limits, data.get("version", ""))


_SCALARS = {"Integer", "String", "Boolean", "Float", "True", "InputFile"}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Validator:
    """Checks one call against the spec; returns problems as Telegram-style descriptions."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def validate(self, method: str, params: dict[str, Any], files: set[str]) -> list[str]:
        described = self.spec.methods.get(method)
        if described is None:
            return [f"Not Found: method {method} does not exist"]
        problems: list[str] = []
        fields = {f["name"]: f for f in described.get("fields", [])}
        for name in params:
            if name not in fields:
                problems.append(f"Bad Request: unknown parameter {name} for {method}")
        for name, spec_field in fields.items():
            if spec_field["required"] and name not in params and name not in files:
                problems.append(f"Bad Request: parameter {name} is required for {method}")
        for name, value in params.items():
            spec_field = fields.get(name)
            if spec_field is None:
                continue
            problems += self._check_value(f"{method}.{name}", value, spec_field["types"], files)
            problems += self._check_limit(f"{method}.{name}", value, params)
        if "parse_mode" in params:
            problems += self._check_parse_mode(params)
        return problems

    def _check_parse_mode(self, params: dict[str, Any]) -> list[str]:
        mode = params["parse_mode"]
        if mode != "HTML":
            return [f"Bad Request: the fake server only checks HTML, got parse_mode {mode!r}"]
        problems: list[str] = []
        for name in ("text", "caption"):
            if isinstance(params.get(name), str):
                try:
                    plain = parse_html(params[name])
                except HtmlError as exc:
                    problems.append(f"Bad Request: can't parse entities: {exc}")
                    continue
                limit = 4096 if name == "text" else 1024
                if not 1 <= _utf16_len(plain.strip()) <= limit:
                    problems.append(
                        f"Bad Request: {name} must be 1-{limit} characters after entity parsing"
                    )
        return problems

    def _check_limit(self, path: str, value: Any, params: dict[str, Any]) -> list[str]:
        limit = self.spec.limits.get(path)
        if limit is None:
            return []
        if isinstance(value, str):
            if limit["unit"] == "bytes":
                size = len(value.encode())
            elif path.endswith((".text", ".caption")) and params.get("parse_mode") == "HTML":
                return []  # counted after entity parsing, in _check_parse_mode
            else:
                size = _utf16_len(value)
        elif isinstance(value, list):
            size = len(value)
        elif isinstance(value, int | float) and limit["unit"] == "value":
            size = value  # type: ignore[assignment]
        else:
            return []
        if not limit["min"] <= size <= limit["max"]:
            return [f"Bad Request: {path} must be {limit['min']}-{limit['max']} {limit['unit']}"]
        return []

    def _check_value(self, path: str, value: Any, types: list[str], files: set[str]) -> list[str]:
        errors: list[list[str]] = []
        for type_name in types:
            problems = self._check_type(path, value, type_name, files)
            if not problems:
                return []
            errors.append(problems)
        if len(errors) == 1:
            return errors[0]
        # Report against the closest candidate (e.g. the keyboard that has `inline_keyboard`).
        closest = min(errors, key=len)
        if isinstance(value, dict) and all("unknown field" not in p for p in closest):
            return closest
        fitting = [e for e in errors if not any("unknown field" in p for p in e)]
        if fitting:
            return min(fitting, key=len)
        return [f"Bad Request: {path} is none of {' or '.join(types)}"]

    def _check_type(self, path: str, value: Any, type_name: str, files: set[str]) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"Bad Request: {path} must be an array"]
            inner = type_name[len("Array of ") :]
            problems: list[str] = []
            for i, item in enumerate(value):
                problems += self._check_value(f"{path}[{i}]", item, [inner], files)
            return problems
        if type_name == "Integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return [] if ok else [f"Bad Request: {path} must be an Integer"]
        if type_name == "Float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else [f"Bad Request: {path} must be a Float"]
        if type_name in ("Boolean", "True"):
            return [] if isinstance(value, bool) else [f"Bad Request: {path} must be a Boolean"]
        if type_name == "String":
            return [] if isinstance(value, str) else [f"Bad Request: {path} must be a String"]
        if type_name == "InputFile":
            ok = isinstance(value, str) and (value in files or value.startswith("attach://"))
            return [] if ok else [f"Bad Request: {path} must be an uploaded file"]
        described = self.spec.types.get(type_name)
        if described is None:
            return [f"Bad Request: unknown type {type_name} at {path}"]
        subtypes = described.get("subtypes")
        if subtypes:
            return self._check_value(path, value, list(subtypes), files)
        if not isinstance(value, dict):
            return [f"Bad Request: {path} must be a {type_name} object"]
        fields = {f["name"]: f for f in described.get("fields", [])}
        problems = []
        for name in value:
            if name not in fields:
                problems.append(f"Bad Request: unknown field {name} in {type_name} at {path}")
        for name, spec_field in fields.items():
            if spec_field["required"] and name not in value:
                problems.append(f"Bad Request: field {name} is required in {type_name} at {path}")
        for name, item in value.items():
            if name in fields:
                sub = f"{path}.{name}"
                problems += self._check_value(sub, item, fields[name]["types"], files)
                problems += self._check_limit(f"{type_name}.{name}", item, {})
        if type_name == "InlineKeyboardButton":
            actions = set(value) - {"text", "style", "icon_custom_emoji_id"}
            if len(actions) != 1:
                problems.append(
                    f"Bad Request: exactly one action field is required in a button at {path}"
                )
        if type_name == "InlineKeyboardMarkup":
            rows = value.get("inline_keyboard")
            if isinstance(rows, list) and not all(isinstance(r, list) for r in rows):
                problems.append(f"Bad Request: inline keyboard must be an array of rows at {path}")
        return problems
