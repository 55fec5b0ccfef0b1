"""The unit tier: pure code, no database, no server, no Telegram; the whole tier runs in
seconds (`python3 tasks.py unit`). A test that needs a database belongs in tests/integration."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url() -> str:
    raise pytest.UsageError("a unit test uses no database: move it to tests/integration")
