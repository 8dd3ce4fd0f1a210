"""The sidebar marks the page's own section, and only that one."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def _current(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', html)


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/deals/", "Deals"),
        ("/deals/board/", "Pipeline"),
        ("/tasks/", "All tasks"),
        ("/tasks/mine/", "My tasks"),
        ("/boards/", "Boards"),
        ("/companies/new/", "Companies"),
        ("/", "Dashboard"),
    ],
)
def test_the_sidebar_marks_exactly_the_current_section(
    login: Any, sales_rep: Any, path: str, section: str
) -> None:
    response = login(sales_rep).get(path)
    assert response.status_code == 200
    assert _current(response.content.decode()) == [section]
