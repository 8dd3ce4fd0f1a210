"""The related panels of the detail pages: a record's contacts, deals, tasks, documents...

Every panel goes through the visibility layer (`visible_to(user)`), except rows whose
visibility follows the record the page already checked (its tasks and documents:
`permissions.visible_through`). A panel is one query: its first `limit` rows, only the columns
its row shows, and their total as a subquery in the same statement (a second round trip through
the visibility filter cost about 5 ms at 1M contacts), counting at most COUNT_CAP rows (all of
them cost 28-37 ms for a company with 20,000 contacts). Row URLs are made from one reverse()
per panel. Where the user may change the record, the deal's
Contacts panel and a document's panels also carry their link forms (crm/forms/links.py, one
query each when rendered) and per-row "Remove" URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db.models import IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

from accounts.models import User
from crm import permissions
from crm.fence import Fence
from crm.forms.links import DOCUMENT_LINK_ENTITIES, DealContactForm, DocumentLinkForm
from crm.kept import kept_rows, stand_in
from crm.models.base import HasDetailPage
from crm.record_urls import record_url
from crm.selectors import panel_rows as rows_of
from crm.selectors.detail import PANEL_LIMIT, Panel, PanelRow
from crm.selectors.panel_specs import (
    COUNTED_BY,
    DOCUMENT_PANEL_ENTITIES,
    PANEL_SPECS,
    READS,
    Spec,
)


def _url(name: str, **params: Any) -> str:
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def _detail_urls(model: type[Model]) -> Callable[[Any], str | None]:
    """A function giving a row's detail URL from its key (crm.record_urls: one reverse() per
    URL name), or None for a model without a page."""
    if not issubclass(model, HasDetailPage):
        return lambda pk: None
    name = f"crm:{model._meta.model_name}.detail"
    return lambda pk: record_url(name, pk)


# The most rows a panel's total counts; beyond it the header says "1,000+".
COUNT_CAP = 1000


def _panel_query(
    user: User,
    queryset: QuerySet,
    row: Callable[[Any], PanelRow],
    *,
    parent: Model,
    counted: QuerySet | None = None,
) -> QuerySet:
    """The query of one related panel: the first PANEL_LIMIT visible rows of `queryset`, each
    with the total (up to COUNT_CAP) as `panel_total`. `counted`: rows of another table, one
    per panel row, to count instead (a record's links to its documents), for panels whose
    rows need no visibility check of their own. Raises EmptyResultSet when the user may see
    no row."""
    model = queryset.model
    rule = _rows_rule(user, queryset, parent)
    # A reverse manager (company.contacts) sets each row's foreign key to the parent, which
    # reads that column: it is fetched too, or each row would load it with a query of its own.
    to_parent = [
        f.name
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model is type(parent)
    ]
    columns = (*rows_of.COLUMNS[row], *to_parent)
    # One query: the first PANEL_LIMIT visible keys in the panel's order (read in index order
    # where an index serves it), whose rows alone are read in full, and the total as a
    # subquery (an InitPlan, run once) counting at most COUNT_CAP visible keys. A company
    # with 20,000 contacts shows "1,000+" instead of reading every contact on each view; a
    # window count over the rows themselves had read all 1,000 of them in full (7.6 ms of the
    # big company's deals panel).
    first_sql, first_params, any_sql, any_params = _first_visible(
        queryset, rule, shown=min(PANEL_LIMIT, COUNT_CAP), counted=counted
    )
    # ORM-compiled SQL with its parameters kept apart: nothing typed is pasted in.
    first_keys = RawSQL(first_sql, first_params)  # noqa: S611
    total = RawSQL(  # noqa: S611
        f"SELECT count(*) FROM ({any_sql}) AS first",  # noqa: S608
        any_params,
        IntegerField(),
    )
    shown = queryset.filter(pk__in=first_keys).only(*columns).annotate(panel_total=total)
    return shown[:PANEL_LIMIT]


def _panel(
    objs: list[Model],
    key: str,
    title: str,
    row: Callable[[Any], PanelRow],
    *,
    model: type[Model],
    more: dict[str, Any] | None = None,
    add: dict[str, Any] | None = None,
) -> Panel:
    """One related panel from its rows (_panel_query's). `more` / `add` are the list / create
    parameters."""
    entity = model._meta.model_name
    count = objs[0].panel_total if objs else 0
    url_of = _detail_urls(model)
    rows = []
    for obj in objs:
        panel_row = row(obj)
        panel_row.pk = obj.pk
        panel_row.url = url_of(obj.pk)
        rows.append(panel_row)
    return Panel(
        key=key,
        title=title,
        rows=rows,
        count=count,
        count_capped=count >= COUNT_CAP,
        more_url=_url(f"crm:{entity}.list", **more) if more else None,
        add_url=_url(f"crm:{entity}.create", **add) if add is not None else None,
    )


def _rows_rule(user: User, queryset: QuerySet, parent: Model) -> QuerySet | None:
    """The rows of the panel's model that `user` may see (visible_to), or None when the
    panel's rows need no check of their own: they follow `parent`, which the page has checked
    (a record's tasks and documents, permissions.visible_through), or the user sees every
    row (an admin)."""
    if permissions.visible_through(queryset.model, type(parent)):
        return None
    rule = permissions.visible_to(user, queryset.model)
    return rule if rule.query.has_filters() else None


def _first_visible(
    queryset: QuerySet, rule: QuerySet | None, *, shown: int, counted: QuerySet | None = None
) -> tuple[str, list, str, list]:
    """The SQL and parameters of the keys (one column, `pk`) of the first `shown` rows of
    `queryset` that `rule` lets through, in the panel's order, and of up to COUNT_CAP such
    keys in any order, for the count. Raises EmptyResultSet when the user may see no row.

    Where visibility is checked row by row (`rule`: a company's contacts, not its tasks), the
    related rows are fenced (crm.fence), compiled once for both: read in the panel's order
    through their index and checked one by one until enough are visible. Left to itself
    PostgreSQL ANDed the company's 20,000 contacts with a bitmap of every contact the user may
    see (140,000 for a rep): 39 ms for the contacts panel of seed_scale's big company, fenced
    6 ms. The count reads the fenced rows in the panel's order too, which the panel's index
    gives as cheaply as any other order."""
    if rule is None:  # nothing to check per row
        first = queryset.values("pk")[:shown].query.sql_with_params()
        counted = queryset.values("pk") if counted is None else counted
        count = counted.order_by()[:COUNT_CAP].query.sql_with_params()
        return first[0], list(first[1]), count[0], list(count[1])
    query = queryset.query
    order = query.order_by or (queryset.model._meta.ordering if query.default_ordering else ())
    # One compilation for both: the keys in the panel's order, cut at two lengths (the count's
    # order costs nothing, see above). Compiled twice, it was ~0.5 ms of each panel.
    sql, params = Fence(queryset).around(rule.order_by(*order).values("pk"))
    return f"{sql} LIMIT {int(shown)}", params, f"{sql} LIMIT {COUNT_CAP}", list(params)


def _add_link_actions(user: User, record: Any, panel: Panel) -> None:
    """The link form and "Remove" buttons of the panels that list links: a deal's contacts
    and a document's records. Only called when the user may change `record`."""
    key = record._meta.model_name
    if key == "deal" and panel.key == "contacts":
        for row in panel.rows:
            row.remove_url = record_url("crm:deal.contact_remove", record.pk, row.pk)
            if row.pk == record.primary_contact_id:
                row.badge, row.badge_label = "primary", "Primary"
        panel.form = DealContactForm(user=user, deal=record)
        panel.form_url = reverse("crm:deal.contact_add", args=[record.pk])
    elif key == "document" and panel.key in DOCUMENT_PANEL_ENTITIES:
        entity = DOCUMENT_PANEL_ENTITIES[panel.key]
        for row in panel.rows:
            row.remove_url = record_url("crm:document.unlink", record.pk, entity, row.pk)
        if entity in DOCUMENT_LINK_ENTITIES:
            panel.form = DocumentLinkForm(user=user, entity=entity)
            panel.form_url = reverse("crm:document.link", args=[record.pk])


def _build_panel(user: User, record: Any, spec: Spec, *, can_add: bool) -> Panel:
    panel_key, title, rows, row, add = spec
    key = record._meta.model_name
    params = None if key == "document" else {key: record.pk}
    counted = COUNTED_BY.get(panel_key)
    reads = READS.get(rows, ())
    # The record's fields its rows are chosen by: its key, and those foreign keys it reads
    # that are set.
    fields = (record._meta.pk.attname, *(f for f in reads if getattr(record, f) is not None))

    def build(*keys: Any) -> QuerySet:
        # The record as its panel reads it: its key and the foreign keys READS names.
        names = (record._meta.pk.attname, *reads)
        given = dict(zip(fields, keys, strict=True))
        stand = stand_in(record, {name: given.get(name) for name in names})
        return _panel_query(
            user,
            rows(stand),
            row,
            parent=stand,
            counted=counted(stand) if counted is not None else None,
        )

    # Compiled once per viewer's rules, panel and record's shape (which of its keys are set):
    # a panel differs from record to record only in those keys (crm.kept).
    rules = permissions.rules_key(user)
    kept = None if rules is None else (rules, "panel", key, panel_key, fields)
    objs = kept_rows(kept, build, [getattr(record, name) for name in fields])
    panel = _panel(
        objs,
        panel_key,
        title,
        row,
        model=rows_of.MODELS[row],
        more=params,
        add=params if add and can_add else None,
    )
    if can_add:
        _add_link_actions(user, record, panel)
    return panel


def related_panels(user: User, record: Any, *, can_add: bool) -> list[Panel]:
    """The related panels of a detail page, each through visible_to(user) (unless its rows
    follow the record), one query each. "Add" links, link forms and "Remove"
    buttons only when `can_add` (adding to a record changes it)."""
    specs = PANEL_SPECS[record._meta.model_name]
    return [_build_panel(user, record, spec, can_add=can_add) for spec in specs]


def related_panel(user: User, record: Any, panel_key: str, *, can_add: bool) -> Panel:
    """One panel of `related_panels`, by key: what an htmx link endpoint re-renders."""
    specs = PANEL_SPECS[record._meta.model_name]
    spec = next(spec for spec in specs if spec[0] == panel_key)
    return _build_panel(user, record, spec, can_add=can_add)
