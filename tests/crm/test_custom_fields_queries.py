"""Custom field values are found by JSONB containment, served by the jsonb_path_ops index."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.factories import ContactFactory
from crm.models import Contact, CustomFieldDefinition
from tests.crm.custom_field_defs import CHOICES

pytestmark = pytest.mark.django_db


def test_containment_filter_finds_the_record_by_a_custom_field(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    gold, silver = ContactFactory(), ContactFactory()
    for contact, tier in ((gold, "gold"), (silver, "silver")):
        contact.custom_fields = {"choice": tier, "multi_choice": [tier], "number": 3}
        contact.full_clean()
        contact.save()

    assert list(Contact.objects.filter(custom_fields__contains={"choice": "gold"})) == [gold]
    assert list(Contact.objects.filter(custom_fields__contains={"multi_choice": ["silver"]})) == [
        silver
    ]
    both = Contact.objects.filter(custom_fields__contains={"number": 3})
    assert set(both) == {gold, silver}
    assert not Contact.objects.filter(custom_fields__contains={"choice": "bronze"}).exists()


def test_containment_filter_can_use_the_jsonb_path_ops_index(
    definitions: dict[str, CustomFieldDefinition],
) -> None:
    Contact.objects.bulk_create(
        Contact(last_name=f"Filler {n}", custom_fields={"choice": CHOICES[n % 2], "number": n})
        for n in range(500)
    )
    (bronze,) = Contact.objects.bulk_create(
        [Contact(last_name="Bronze", custom_fields={"choice": "bronze"})]
    )
    # order_by(): the default "-updated_at" ordering would steer the planner to walk
    # contact_updated_idx and filter row by row instead.
    query = Contact.objects.filter(custom_fields__contains={"choice": "bronze"}).order_by()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_contact")
        # A small table is cheaper to scan; forbid that to prove the index serves the filter.
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "contact_cf_gin" in query.explain()
    assert list(query) == [bronze]
