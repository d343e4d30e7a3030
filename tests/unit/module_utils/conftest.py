"""Fixtures shared by the module_utils tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fleet.pull import PullConfig


@pytest.fixture
def make_pull_config(tmp_path: Path) -> Callable[..., PullConfig]:
    """A pull runner's configuration over tmp_path (state and spool created)."""

    def make(timeout: int = 20) -> PullConfig:
        state = tmp_path / "state"
        spool = state / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        return PullConfig(repo_url="file:///srv/origin.git", inventory_name="ezra",
                          state_dir=str(state), spool_dir=str(spool),
                          checkout_dir=str(tmp_path / "checkout"), timeout=timeout)

    return make
