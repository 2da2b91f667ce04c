"""`vev-iq` refuses a setup that cannot work rather than failing later in odd ways."""

from __future__ import annotations

import pytest

from backend import cli


def test_several_workers_need_a_shared_bus(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BROADCAST_URL", "memory://")
    assert cli.main(["serve", "--workers", "2", "--no-migrate"]) == 2
    assert "BROADCAST_URL" in capsys.readouterr().err
