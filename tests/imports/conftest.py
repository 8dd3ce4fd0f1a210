"""Fixtures of the CSV import tests: uploads kept in a throwaway media folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


# The default pipeline and its stages, as the CRM tests have them.
from tests.crm.conftest import pipeline, stages  # noqa: E402, F401
