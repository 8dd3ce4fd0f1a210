"""The pipeline board's cards, rendered by one tag per column.

A template include per card (150 cards a board) was the board's largest cost after its SQL:
about 30 ms of a manager's 80 ms at 1M deals, in the include's context pushes and node
rendering. The markup is what that include rendered; every value is escaped by
format_html.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _meta(card: dict[str, Any]) -> SafeString:
    owner = card["owner__name"] or card["owner__email"] or "No owner"
    close = card["expected_close_date"]
    if not close:
        return format_html("{}", owner)
    return format_html(
        '{} · <time datetime="{}">{}</time>',
        owner,
        dateformat.format(close, "Y-m-d"),
        dateformat.format(close, "M j"),
    )


def _move_form(card: dict[str, Any], column: Any, owner: str, csrf: SafeString) -> SafeString:
    return format_html(
        '\n  <form class="pipeline-move" method="post" action="{url}" hx-post="{url}" '
        'hx-target="#pipeline-board" hx-swap="outerHTML">\n'
        '    {csrf}<input type="hidden" name="owner" value="{owner}">\n'
        '    <label class="visually-hidden" for="move-deal-{id}">Move {name} to</label>\n'
        '    <select id="move-deal-{id}" name="stage">{options}</select>\n'
        '    <button type="submit" class="small secondary">Move</button>\n'
        "  </form>",
        url=card["move_url"],
        csrf=csrf,
        owner=owner,
        id=card["id"],
        name=card["name"],
        options=column.move_options,  # made safe by crm.selectors.board
    )


@register.simple_tag(takes_context=True)
def board_cards(context: template.Context, column: Any, owner: str) -> SafeString:
    """Every <li> card of `column` (crm.selectors.board.Column), with its "Move to" form when
    the user may move it; `owner` is the board's owner filter, kept by the form."""
    # What {% csrf_token %} renders, once for the column: no input without a token.
    csrf = CsrfTokenNode().render(context)
    parts = []
    for card in column.cards:
        movable = card["can_move"]
        company = card["company_name"]
        parts.append(
            format_html(
                '<li class="pipeline-card{readonly}" data-deal="{id}"{drag}>\n'
                '  <a class="pipeline-card-name" href="{url}">{name}</a>\n'
                "  {company}\n"
                '  <span class="pipeline-card-amount">{amount}</span>\n'
                '  <span class="pipeline-card-meta muted">{meta}</span>{form}\n'
                "</li>",
                readonly="" if movable else " is-readonly",
                id=card["id"],
                drag=mark_safe(' draggable="true"') if movable else "",
                url=card["url"],
                name=card["name"],
                company=format_html('<span class="pipeline-card-company">{}</span>', company)
                if company
                else "",
                amount=card["amount_display"],
                meta=_meta(card),
                form=_move_form(card, column, owner, csrf) if movable else "",
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 (each part is format_html's)
