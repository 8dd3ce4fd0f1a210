"""The keyed checks (which of these keys a user may see or change) compile their SQL once per
viewer's facts and shape, then send other keys in the same SQL (crm.permissions.keys): the
answers must be those of a check compiled afresh, for any keys, and follow any change of what
the rules read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from crm import factories as f
from crm import kept, permissions
from crm import models as crm

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.select_related("team").get(pk=user.pk)


def _afresh(user: User, wanted: list) -> list[set]:
    """The same check with nothing kept: what the kept SQL must always answer."""
    kept.compiled.clear()
    try:
        return permissions.visible_ids_each(_fresh(user), wanted)
    finally:
        kept.compiled.clear()


def test_kept_sql_answers_for_other_keys_as_a_fresh_check(sales_rep, teammate, outsider) -> None:
    mine = f.CompanyFactory.create_batch(2, owner=sales_rep)
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    hidden = f.CompanyFactory.create_batch(2, owner=outsider)
    contacts = [f.ContactFactory(owner=sales_rep), f.ContactFactory(owner=outsider)]
    kept.compiled.clear()
    first = [(crm.Company, [mine[0].pk, hidden[0].pk]), (crm.Contact, [c.pk for c in contacts])]
    assert permissions.visible_ids_each(_fresh(sales_rep), first) == [
        {mine[0].pk},
        {contacts[0].pk},
    ]
    assert len(kept.compiled) == 1
    second = [
        (crm.Company, [mine[1].pk, shared.pk, hidden[1].pk]),
        (crm.Contact, [contacts[1].pk]),
    ]
    with CaptureQueriesContext(connection) as ctx:
        found = permissions.visible_ids_each(_fresh(sales_rep), second)
    assert len(kept.compiled) == 1  # the same SQL, kept: nothing compiled for the second keys
    sql = ctx.captured_queries[-1]["sql"]
    assert str(shared.pk) in sql and str(mine[0].pk) not in sql  # this call's keys, not the last
    assert found == [{mine[1].pk, shared.pk}, set()] == _afresh(sales_rep, second)


def test_kept_sql_follows_what_the_rules_read(sales_rep, outsider) -> None:
    company = f.CompanyFactory(owner=outsider)
    wanted = [(crm.Company, [company.pk])]
    assert permissions.visible_ids_each(_fresh(sales_rep), wanted) == [set()]
    company.watchers.add(sales_rep)  # the next request's facts differ: new SQL
    assert permissions.visible_ids_each(_fresh(sales_rep), wanted) == [{company.pk}]


def test_kept_edit_sql_answers_for_other_rows(sales_rep, teammate, outsider) -> None:
    company = f.CompanyFactory(owner=sales_rep)
    other = f.CompanyFactory(owner=outsider)
    # Tasks the rep neither owns nor is assigned: editable through a parent the rep owns.
    on_mine = f.TaskFactory.create_batch(2, owner=teammate, assignee=teammate, company=company)
    on_other = f.TaskFactory(
        owner=outsider, assignee=outsider, company=other, shared_with_team=False
    )
    kept.compiled.clear()
    assert permissions.editable_ids(_fresh(sales_rep), [on_mine[0], on_other]) == {on_mine[0].pk}
    assert len(kept.compiled) == 1
    assert permissions.editable_ids(_fresh(sales_rep), [on_mine[1]]) == {on_mine[1].pk}
    assert permissions.editable_ids(_fresh(sales_rep), [on_other]) == set()
    assert len(kept.compiled) == 1


@pytest.mark.parametrize("model", [crm.Task, crm.Document, crm.Note, crm.TaskComment])
def test_a_list_top_query_filters_by_the_kept_compiled_rule(model, sales_rep, admin_user) -> None:
    kept.compiled.clear()
    sql = str(permissions.listed_to(_fresh(sales_rep), model).query)
    assert len(kept.compiled) == 1  # the rule's SQL, compiled and kept
    assert sql == str(permissions.listed_to(_fresh(sales_rep), model).query)
    ((condition, _),) = kept.compiled.values()
    assert condition.startswith("(") and "(SELECT" in condition  # the rule's probes
    # The ORM's own text for the rule, now at the top of the query, in parentheses.
    plain = str(permissions.visible_to(_fresh(sales_rep), model).query)
    head, rest = plain.split(" WHERE ", 1)
    rule, order = rest.rsplit(" ORDER BY ", 1)
    assert sql == f"{head} WHERE ({rule}) ORDER BY {order}"
    # Cheap rules and admins are filtered the usual way.
    assert str(permissions.listed_to(sales_rep, crm.Contact).query) == str(
        permissions.visible_to(sales_rep, crm.Contact).query
    )
    assert "WHERE" not in str(permissions.listed_to(admin_user, model).query)


def test_a_key_is_a_uuid_or_an_error_never_several_keys(sales_rep, outsider) -> None:
    mine, hidden = f.CompanyFactory(owner=sales_rep), f.CompanyFactory(owner=outsider)
    assert permissions.visible_ids(sales_rep, crm.Company, [str(mine.pk)]) == {mine.pk}
    assert permissions.visible_ids(sales_rep, crm.Company, [str(hidden.pk)]) == set()
    with pytest.raises(ValueError):
        permissions.visible_ids(sales_rep, crm.Company, [f"{hidden.pk},{mine.pk}"])
