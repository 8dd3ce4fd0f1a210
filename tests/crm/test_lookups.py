"""crm.lookups: `field__any=[...]` matches like `__in`, with one array parameter."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import FieldError

from crm import factories as f
from crm.lookups import KeySet
from crm.models import Contact

pytestmark = pytest.mark.django_db


def test_any_matches_what_in_matches_with_one_parameter(sales_rep, outsider) -> None:
    mine = f.ContactFactory.create_batch(3, owner=sales_rep)
    f.ContactFactory(owner=outsider)
    wanted = [mine[0].pk, str(mine[1].pk), uuid.uuid4()]  # a UUID, its text, an unknown id
    rows = Contact.objects.filter(pk__any=wanted)
    assert set(rows.values_list("pk", flat=True)) == {mine[0].pk, mine[1].pk}
    assert set(rows) == set(Contact.objects.filter(pk__in=wanted))
    sql, params = rows.query.sql_with_params()
    assert '"crm_contact"."id" = ANY(%s)' in sql and len(params) == 1
    # Keys given as a frozenset: one text literal cast to the column's type, same rows.
    as_set = Contact.objects.filter(pk__any=frozenset(wanted))
    assert set(as_set) == set(rows)
    sql, params = as_set.query.sql_with_params()
    assert '"crm_contact"."id" = ANY(%s::uuid[])' in sql and isinstance(params[0], str)


def test_any_on_a_foreign_key_and_on_an_empty_list(sales_rep, teammate, outsider) -> None:
    f.ContactFactory(owner=sales_rep)
    f.ContactFactory(owner=teammate)
    f.ContactFactory(owner=outsider)
    by_owner = Contact.objects.filter(owner_id__any=[sales_rep.pk, teammate.pk])
    assert {c.owner_id for c in by_owner} == {sales_rep.pk, teammate.pk}
    assert not Contact.objects.filter(pk__any=[]).exists()


def test_any_is_for_keys_and_integers_only(sales_rep) -> None:
    # Text would need quoting inside an array literal, and a JSON field's `__any` is a key.
    with pytest.raises(FieldError):
        Contact.objects.filter(last_name__any=["Smith"])


def test_a_none_among_the_values_matches_nothing_as_with_in(sales_rep) -> None:
    a, b = f.ContactFactory.create_batch(2, owner=sales_rep)
    for values in ([a.pk, None], frozenset([a.pk, None])):
        assert list(Contact.objects.filter(pk__any=values)) == [a]
        # exclude(): NULL in an array would have made every row's NOT unknown.
        assert list(Contact.objects.exclude(pk__any=values)) == [b]


def test_a_key_set_brings_its_literal_and_matches_like_a_set(sales_rep, outsider) -> None:
    mine = f.ContactFactory.create_batch(3, owner=sales_rep)
    f.ContactFactory(owner=outsider)
    keys = [mine[0].pk, mine[2].pk]
    given = KeySet(keys, [str(pk) for pk in keys])
    assert given.literal == "{" + ",".join(map(str, keys)) + "}"
    assert set(given) == set(keys) and len(given) == 2 and keys[1] in given
    assert mine[1].pk not in given and str(keys[0]) not in given  # keys, not their text
    rows = Contact.objects.filter(pk__any=given)
    sql, params = rows.query.sql_with_params()
    assert '"crm_contact"."id" = ANY(%s::uuid[])' in sql and params == (given.literal,)
    assert set(rows) == set(Contact.objects.filter(pk__any=frozenset(keys))) == {mine[0], mine[2]}
    assert list(Contact.objects.exclude(pk__any=given).filter(owner=sales_rep)) == [mine[1]]
    empty = KeySet([], [])
    assert not empty and not Contact.objects.filter(pk__any=empty).exists()
