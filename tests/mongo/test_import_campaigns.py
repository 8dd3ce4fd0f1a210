"""A campaign named by text, on a lead or on an old opportunity, is looked up the same way."""

from __future__ import annotations

import pytest
from bson import ObjectId

from crm.models import Deal, Lead
from migrations_mongo.models import ImportIssue, Leftover

pytestmark = pytest.mark.django_db

CAMPAIGN = ObjectId()
STAGE = {"_id": ObjectId(), "name": "New", "probability": 10}


def outcome(model: type, oid: ObjectId) -> tuple[str | None, list[str], dict]:
    row = model.objects.get(legacy_id=str(oid))
    reasons = list(
        ImportIssue.objects.filter(object_id=str(oid), field="campaign").values_list(
            "reason", flat=True
        )
    )
    kept = Leftover.objects.filter(object_id=str(oid)).first()
    return (
        row.campaign.name if row.campaign else None,
        reasons,
        {k: v for k, v in (kept.data if kept else {}).items() if k == "campaign"},
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (" Cold calls ", ("Cold calls", [], {})),
        (
            "Warm calls",
            (
                None,
                ["no campaign of that name; kept in the leftovers"],
                {"campaign": "Warm calls"},
            ),
        ),
        # Blank is no campaign at all, not a name no campaign has.
        ("", (None, [], {})),
    ],
)
def test_deals_and_leads_look_a_campaign_name_up_alike(dump, run_import, name, expected) -> None:
    deal, lead = ObjectId(), ObjectId()
    folder = dump(
        crm_campaigns=[{"_id": CAMPAIGN, "name": "Cold calls"}],
        crm_Opportunities_Sales_Stages=[STAGE],
        crm_Opportunities=[{"_id": deal, "name": "Old deal", "campaign": name}],
        crm_Leads=[{"_id": lead, "lastName": "Doe", "campaign": name}],
    )
    assert run_import(folder) == 0
    assert outcome(Deal, deal) == expected
    assert outcome(Lead, lead) == expected
