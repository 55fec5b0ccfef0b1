"""The files in deploy/ work as written: compose files, the image, the systemd unit, Caddy.

Every check that needs a tool (docker compose, systemd-analyze, caddy) runs where the tool is
installed and is skipped, saying which tool is missing, where it is not; the checks that only
read the files always run. PyYAML is used when installed, else a small reader of the YAML subset
these compose files are written in (block mappings and sequences, JSON-style flow sequences,
plain and quoted scalars), which a test keeps in agreement with PyYAML where both exist.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILES = ("compose.yaml", "compose.replicas.yaml")
UNIT = DEPLOY / "peerbot.service"
CADDYFILE = DEPLOY / "Caddyfile"
# `${NAME:?message}`: compose refuses to run while NAME is unset or empty, showing message.
REQUIRED_VAR = re.compile(r"\$\{(?P<name>\w+):\?(?P<message>[^}]+)\}")
ANY_VAR = re.compile(r"\$\{(?P<name>\w+)(?P<rest>[^}]*)\}")
# Values of a test .env: compose files are rendered with them, never with real secrets.
SAMPLE_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAExampleTokenFromBotFather_zzzzzzz",
    "PEERBOT_COORDINATORS": "11111111",
    "POSTGRES_PASSWORD": "s3cretTestPassword0123",
    "PEERBOT_SECRET_KEY": "cGVlcmJvdC1kZXBsb3ktdGVzdC1rZXktMzItYnl0ZXM=",
    "WEBHOOK_SECRET": "webhook_secret_for_tests_0123",
    "PEERBOT_DOMAIN": "bot.example.org",
}
HEALTHZ_PORT_VAR = "PEERBOT_HTTP_PORT"


# --- reading the files -------------------------------------------------------------------


def _strip_comment(line: str) -> str:
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line.rstrip()


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith("["):
        return json.loads(text)  # flow sequences here are JSON arrays of strings
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("", "~", "null"):
        return None
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def mini_yaml(source: str) -> Any:
    """The YAML subset of our compose files, without PyYAML."""
    lines = [
        (len(line) - len(line.lstrip(" ")), line.strip())
        for line in (_strip_comment(raw) for raw in source.splitlines())
        if line.strip()
    ]

    def block(start: int, indent: int) -> tuple[Any, int]:
        if lines[start][1].startswith("- ") or lines[start][1] == "-":
            items: list[Any] = []
            i = start
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
                items.append(_scalar(lines[i][1][1:]))
                i += 1
            return items, i
        mapping: dict[str, Any] = {}
        i = start
        while i < len(lines) and lines[i][0] == indent:
            text = lines[i][1]
            key, sep, rest = text.partition(": ")
            if not sep:
                assert text.endswith(":"), f"not in the supported YAML subset: {text!r}"
                key, rest = text[:-1], ""
            key = str(_scalar(key))
            i += 1
            if rest.strip():
                mapping[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
        return mapping, i

    value, end = block(0, lines[0][0]) if lines else (None, 0)
    assert end == len(lines), f"not in the supported YAML subset near {lines[end][1]!r}"
    return value


def load_yaml(path: Path) -> Any:
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        return mini_yaml(path.read_text(encoding="utf-8"))
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose(name: str) -> dict[str, Any]:
    data = load_yaml(DEPLOY / name)
    assert isinstance(data, dict)
    return data


def bot_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the bot: built from deploy/Dockerfile."""
    return {
        name: service
        for name, service in data["services"].items()
        if (service.get("build") or {}).get("dockerfile") == "deploy/Dockerfile"
    }


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${NAME:?message}` and `${NAME}` with the sample .env."""
    return ANY_VAR.sub(lambda m: env[m.group("name")], value)


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """systemd's INI dialect: sections of `Key=value` lines; a key may repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"a setting outside any section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a Key=value line: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def unit_values(key: str) -> list[str]:
    return [value for name, value in parse_unit(UNIT)["Service"] if name == key]


def unit_value(key: str) -> str | None:
    values = unit_values(key)
    return values[-1] if values else None


# --- compose: the password, healthchecks, restart policies ----------------------------------


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_postgres_password_is_required_and_used_by_every_service(name: str) -> None:
    """No default password: PostgreSQL and every bot take the one POSTGRES_PASSWORD, and compose
    stops with a message saying where to set it when it is unset."""
    data = compose(name)
    db_env = data["services"]["db"]["environment"]
    match = REQUIRED_VAR.fullmatch(db_env["POSTGRES_PASSWORD"])
    assert match and match["name"] == "POSTGRES_PASSWORD"
    assert "set POSTGRES_PASSWORD in .env" in match["message"]
    bots = bot_services(data)
    assert bots
    for service_name, service in bots.items():
        url = service["environment"]["DATABASE_URL"]
        rendered = interpolate(url, SAMPLE_ENV)
        user = db_env["POSTGRES_USER"]
        expected = f"postgresql://{user}:{SAMPLE_ENV['POSTGRES_PASSWORD']}@db:5432/"
        assert rendered.startswith(expected), service_name
        assert rendered.endswith("/" + db_env["POSTGRES_DB"]), service_name
        assert REQUIRED_VAR.search(url)["name"] == "POSTGRES_PASSWORD"  # type: ignore[index]
        assert service["depends_on"]["db"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_no_secret_has_a_default(name: str) -> None:
    """A `${VAR:-default}` or a literal password would run with a secret anyone can read here."""
    raw = (DEPLOY / name).read_text(encoding="utf-8")
    text = "\n".join(_strip_comment(line) for line in raw.splitlines())
    for match in ANY_VAR.finditer(text):
        secretish = re.search(r"PASSWORD|SECRET|KEY|TOKEN", match["name"])
        if secretish:
            assert match["rest"].startswith(":?"), f"{match[0]} must be required, not defaulted"
    assert "change-me" not in text
    assert not re.search(r"POSTGRES_PASSWORD:\s*[\w-]+\s*$", text, re.MULTILINE)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_service_has_a_healthcheck_and_a_restart_policy(name: str) -> None:
    for service_name, service in compose(name)["services"].items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{service_name} has no healthcheck"
        assert not check.get("disable"), service_name
        assert service.get("restart") in ("unless-stopped", "always"), service_name


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_bots_check_healthz_on_the_http_port(name: str) -> None:
    for service_name, service in bot_services(compose(name)).items():
        command = " ".join(service["healthcheck"]["test"])
        assert "/healthz" in command and HEALTHZ_PORT_VAR in command, service_name
        assert "curl" not in command and "wget" not in command  # not in the python image
        assert service["environment"][HEALTHZ_PORT_VAR] == "8080"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_bots_run_read_only_without_privileges(name: str) -> None:
    for service_name, service in bot_services(compose(name)).items():
        assert service.get("read_only") is True, service_name
        assert service.get("cap_drop") == ["ALL"], service_name
        assert "no-new-privileges:true" in service.get("security_opt", []), service_name
        assert "/tmp" in service.get("tmpfs", []), service_name  # noqa: S108 - a mount point


def test_the_healthcheck_command_reports_a_live_and_a_dead_endpoint() -> None:
    """The compose healthcheck's own command: 0 while /healthz answers 200, 1 when it does not."""
    test = bot_services(compose("compose.yaml"))["bot"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    with HttpStub({"/healthz": 200}) as port:
        env = {**os.environ, HEALTHZ_PORT_VAR: str(port)}
        alive = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)  # noqa: S603
    dead = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)  # noqa: S603
    assert alive.returncode == 0, alive.stderr
    assert dead.returncode != 0


# --- compose: the replicas ------------------------------------------------------------------


def test_replicas_are_webhook_bots_sharing_one_database_and_key() -> None:
    data = compose("compose.replicas.yaml")
    bots = bot_services(data)
    assert len(bots) >= 2
    shared = ("DATABASE_URL", "PEERBOT_SECRET_KEY", "WEBHOOK_URL", "WEBHOOK_SECRET")
    for variable in shared:
        values = {service["environment"][variable] for service in bots.values()}
        assert len(values) == 1, f"replicas differ in {variable}"
    for service_name, service in bots.items():
        env = {key: interpolate(str(value), SAMPLE_ENV) for key, value in
               service["environment"].items()}  # fmt: skip
        settings = Settings.from_env({**SAMPLE_ENV, **env})
        assert settings.webhook is not None, service_name
        assert settings.webhook.url == f"https://{SAMPLE_ENV['PEERBOT_DOMAIN']}/telegram"
        assert settings.webhook.path == "/telegram"
        assert settings.webhook.port == 8080
        assert settings.database_url.startswith("postgresql://")
        assert settings.secret_key == SAMPLE_ENV["PEERBOT_SECRET_KEY"]
        assert "ports" not in service, f"{service_name}: only the proxy is published"


def test_each_replica_has_a_host_name_of_its_own() -> None:
    """Both are pid 1 in their containers: with one host name (network_mode: host) each would
    take the other for its own dead predecessor, and both would lead."""
    bots = bot_services(compose("compose.replicas.yaml"))
    names = [service.get("hostname") for service in bots.values()]
    assert all(names) and len(set(names)) == len(names)
    assert all(service.get("network_mode") != "host" for service in bots.values())


def test_the_proxy_spreads_the_webhook_over_every_replica() -> None:
    data = compose("compose.replicas.yaml")
    proxy = data["services"]["proxy"]
    assert str(proxy["image"]).startswith("caddy:")
    assert any(str(port).endswith("443:443") for port in proxy["ports"])
    assert any(str(v).startswith("./Caddyfile:/etc/caddy/Caddyfile") for v in proxy["volumes"])
    caddyfile = CADDYFILE.read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None
    listed = upstreams.group(1).split()
    for service_name, service in bot_services(data).items():
        assert f"{service_name}:{service['environment']['WEBHOOK_PORT']}" in listed
    assert "handle /telegram" in caddyfile
    assert re.search(r"lb_try_duration \d+s", caddyfile), "no retry on the other replica"
    assert "health_uri /healthz" in caddyfile
    assert "{$PEERBOT_DOMAIN}" in caddyfile


# --- compose: docker compose config -------------------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)  # noqa: S603
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of deploy/ beside a sample .env (compose needs env_file ../.env to exist)."""
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in SAMPLE_ENV.items()))
    return tmp_path


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_docker_compose_accepts_the_file_and_refuses_a_missing_password(
    project: Path, name: str
) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    file = str(project / "deploy" / name)

    def config(env_file: Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in SAMPLE_ENV}
        return subprocess.run(  # noqa: S603 - fixed arguments
            [*command, "--env-file", str(env_file), "-f", file, "config"],
            capture_output=True, text=True, env=env, cwd=project, timeout=60,
        )  # fmt: skip

    good = config(project / ".env")
    assert good.returncode == 0, good.stderr
    assert good.stdout.count(SAMPLE_ENV["POSTGRES_PASSWORD"]) >= 2

    without = project / "without.env"
    without.write_text("".join(f"{k}={v}\n" for k, v in SAMPLE_ENV.items()
                               if k != "POSTGRES_PASSWORD"))  # fmt: skip
    refused = config(without)
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in refused.stderr


# --- the image ----------------------------------------------------------------------------


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_the_image_runs_as_an_unprivileged_user_with_a_healthcheck() -> None:
    text = _dockerfile()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    check = re.search(r"^HEALTHCHECK (.+?)(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    assert check and "/healthz" in check.group(1) and HEALTHZ_PORT_VAR in check.group(1)
    assert "curl" not in check.group(1)


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str], str]]:
    """(.dockerignore) patterns as Docker reads them: the last pattern matching a path or one
    of its parent directories decides; `!` re-includes; `**` spans directories."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        pattern = pattern.strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex += pattern[i : end + 1]
                i = end + 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((negate, re.compile(regex), pattern))
    return rules


def _ignored(path: str, rules: list[tuple[bool, re.Pattern[str], str]]) -> bool:
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negate, regex, _ in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


@pytest.mark.parametrize(
    "path",
    [".env", ".env.local", "peerbot.key", "peerbot.db", "peerbot.db-wal", "peerbot.db-journal",
     "data/peerbot.db", ".venv/bin/python", ".git/config", "tests/test_core.py",
     "tests/data/screening_gate.jsonl", "bench/startup.py", "deploy/compose.yaml",
     "training/model.py",
     ".pytest_cache/v/cache", ".mypy_cache/3.11/x.json", "bot/__pycache__/cli.cpython-311.pyc",
     "bot/locales/lexicon/__pycache__/peerbot-screener-0.bin", "bot/.env", "bot/peerbot.key",
     "bot/data.db", "peerbot.egg-info/PKG-INFO", ".hypothesis/examples/x"],
)  # fmt: skip
def test_the_build_context_leaves_out(path: str) -> None:
    assert _ignored(path, _dockerignore_rules())


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    rules = _dockerignore_rules()
    sources = []
    for line in re.findall(r"^COPY\s+(.+)$", _dockerfile(), re.MULTILINE):
        words = [w for w in line.split() if not w.startswith("--")]
        sources += words[:-1]
    assert "bot" in sources
    for source in sources:
        path = ROOT / source
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        kept = [p for p in files if not _ignored(p.relative_to(ROOT).as_posix(), rules)]
        assert kept, f"the Dockerfile copies {source}, which .dockerignore leaves out"
    for needed in ("bot/cli.py", "bot/locales/lexicon/en.toml", "bot/storage/migrations/env.py"):
        assert not _ignored(needed, rules), needed


def test_the_build_context_is_small() -> None:
    """What `docker build .` would send (the issue found 458 MB with .env and peerbot.key)."""
    rules = _dockerignore_rules()
    reincluded = [pattern for negate, _, pattern in rules if negate]
    total = 0
    for directory, dirs, files in os.walk(ROOT):
        rel_dir = Path(directory).relative_to(ROOT).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        # Skip a left-out directory unless a `!` pattern may re-include something inside it.
        dirs[:] = [
            d for d in dirs
            if not _ignored(rel_dir + d, rules)
            or any(p.startswith(("**", rel_dir + d + "/")) for p in reincluded)
        ]  # fmt: skip
        for name in files:
            if not _ignored(rel_dir + name, rules):
                total += (Path(directory) / name).stat().st_size
    assert total < 10_000_000, f"the build context is {total / 1e6:.1f} MB"


# --- the systemd unit ----------------------------------------------------------------------

HARDENING = {
    "DynamicUser": "yes",
    "StateDirectory": "peerbot",
    "CacheDirectory": "peerbot",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "PrivateUsers": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
}


@pytest.mark.parametrize(("key", "value"), HARDENING.items())
def test_the_unit_is_hardened(key: str, value: str) -> None:
    assert unit_value(key) == value


def test_the_unit_needs_no_user_or_directory_made_by_hand() -> None:
    """systemd makes the user and the directories: no User= to create, no ReadWritePaths= to
    mkdir; the working directory is the state directory; caches go to the cache directory."""
    assert unit_value("User") is None and unit_value("Group") is None
    assert unit_value("ReadWritePaths") is None
    assert unit_value("WorkingDirectory") == "%S/peerbot"
    environment = " ".join(unit_values("Environment"))
    assert "XDG_CACHE_HOME=%C" in environment
    families = set((unit_value("RestrictAddressFamilies") or "").split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}
    filters = unit_values("SystemCallFilter")
    assert "@system-service" in filters and any(f.startswith("~@privileged") for f in filters)
    assert unit_value("RestartPreventExitStatus") == "2"
    assert unit_value("EnvironmentFile") == "/etc/peerbot/env"
    assert (unit_value("ExecStart") or "").endswith("peerbot run")


def _unit_with_existing_executable(tmp_path: Path) -> Path:
    """The unit as shipped, but ExecStart pointing at an executable this machine has:
    `verify` refuses a unit whose program is missing, and /opt/peerbot is not installed here."""
    text = UNIT.read_text(encoding="utf-8")
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={sys.executable}", text, flags=re.MULTILINE)
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [analyze, "verify", str(_unit_with_existing_executable(tmp_path))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "unknown" not in result.stderr, result.stderr


def test_systemd_analyze_security_rates_the_unit_ok_or_better(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [analyze, "security", "--offline=true", "--no-pager",
         str(_unit_with_existing_executable(tmp_path))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("this systemd-analyze cannot rate a unit file offline (systemd < 250)")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) < 5.0, f"rated {found.group(1)} {found.group(2)}"
    assert found.group(2) in ("OK", "SAFE", "PERFECT")


# --- Caddy -----------------------------------------------------------------------------------


class _Stub(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, int]] = {}
    name: ClassVar[bytes] = b""

    def do_GET(self) -> None:
        self.send_response(self.routes.get(self.path, 404))
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.routes.get(self.path, 404))
        self.end_headers()
        self.wfile.write(self.name + b" " + body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class HttpStub:
    """A tiny HTTP server on 127.0.0.1 answering the given paths with the given statuses."""

    def __init__(self, routes: dict[str, int], name: bytes = b"stub") -> None:
        handler = type("Handler", (_Stub,), {"routes": routes, "name": name})
        self.server = _StubServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        return int(self.server.server_address[1])

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()


def _caddy() -> tuple[str, tuple[int, ...]] | None:
    caddy = shutil.which("caddy")
    if caddy is None:
        return None
    out = subprocess.run([caddy, "version"], capture_output=True, text=True)  # noqa: S603
    found = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out.stdout)
    return caddy, tuple(int(n) for n in found.groups()) if found else (0, 0, 0)


def test_caddy_reads_the_caddyfile(tmp_path: Path) -> None:
    found = _caddy()
    if found is None:
        pytest.skip("caddy is not installed")
    env = {**os.environ, "PEERBOT_DOMAIN": SAMPLE_ENV["PEERBOT_DOMAIN"], "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [found[0], "adapt", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = result.stdout
    for upstream in ("bot-1:8080", "bot-2:8080"):
        assert f'"dial":"{upstream}"' in config.replace(" ", "")
    assert SAMPLE_ENV["PEERBOT_DOMAIN"] in config


def test_caddy_sends_a_webhook_to_the_other_replica_when_one_is_down(
    tmp_path: Path, free_port: int
) -> None:
    """The Caddyfile run for real on 127.0.0.1, with two stand-in replicas: while both are up
    requests are spread over both; once one stops, every request reaches the other."""
    found = _caddy()
    if found is None:
        pytest.skip("caddy is not installed")
    if found[1] < (2, 11, 0):
        pytest.skip(f"caddy {found[1]} cannot retry a POST (caddyserver/caddy#7546); 2.11+")
    routes = {"/telegram": 200, "/healthz": 200}
    first, second = HttpStub(routes, b"one"), HttpStub(routes, b"two")
    port_one, port_two = first.__enter__(), second.__enter__()
    caddyfile = CADDYFILE.read_text(encoding="utf-8")
    caddyfile = caddyfile.replace("bot-1:8080", f"127.0.0.1:{port_one}")
    caddyfile = caddyfile.replace("bot-2:8080", f"127.0.0.1:{port_two}")
    config = tmp_path / "Caddyfile"
    config.write_text("{\n\tadmin off\n}\n" + caddyfile, encoding="utf-8")
    env = {**os.environ, "PEERBOT_DOMAIN": f"http://127.0.0.1:{free_port}", "HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    proxy = subprocess.Popen(  # noqa: S603 - fixed arguments
        [found[0], "run", "--adapter", "caddyfile", "--config", str(config)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def post(update_id: int) -> str:
        request = urllib.request.Request(
            f"http://127.0.0.1:{free_port}/telegram",
            data=json.dumps({"update_id": update_id}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
            return str(response.read().decode().split()[0])

    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                post(0)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(1)  # the first active health check has seen both
        assert {post(n) for n in range(1, 7)} == {"one", "two"}
        first.stop()
        assert [post(n) for n in range(7, 13)] == ["two"] * 6
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        first.stop()
        second.stop()


def test_mini_yaml_reads_the_compose_files_as_pyyaml_does() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: nothing to compare with")
    for name in COMPOSE_FILES:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        assert mini_yaml(text) == yaml.safe_load(text), name
