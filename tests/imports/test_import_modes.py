"""What an import does to each row: modes, matching, bad values, duplicates, permissions."""

from __future__ import annotations

import pytest

from crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory
from crm.models import Company, Contact, Deal, ImportRun, Lead
from tests.imports.import_helpers import errors_by_row, run_import

pytestmark = pytest.mark.django_db


def reasons(run: ImportRun) -> dict[int, str]:
    return {n: "; ".join(f"{e['column']}: {e['reason']}" for e in errs)
            for n, errs in errors_by_row(run).items()}  # fmt: skip


@pytest.fixture
def existing(sales_rep):
    return ContactFactory(
        first_name="Old", last_name="Name", email="Known@Example.com", owner=sales_rep,
        phone="111", custom_fields={},
    )  # fmt: skip


FILE = "Last name,Email,Phone\nNew,known@example.com,222\nFresh,fresh@example.com,333\n"


def test_create_only_skips_matches(sales_rep, existing):
    run = run_import(sales_rep, "contact", FILE, mode="create")
    assert (run.created, run.skipped, run.updated) == (1, 1, 0)
    existing.refresh_from_db()
    assert existing.phone == "111"
    assert "exists" in reasons(run)[2]


def test_update_only_skips_non_matches(sales_rep, existing):
    run = run_import(sales_rep, "contact", FILE, mode="update")
    assert (run.created, run.skipped, run.updated) == (0, 1, 1)
    existing.refresh_from_db()
    # Matched in any letter case; the stored email is left as it was written.
    assert (existing.last_name, existing.phone, existing.email) == (
        "New",
        "222",
        "Known@Example.com",
    )
    assert not Contact.objects.filter(email="fresh@example.com").exists()


def test_create_and_update(sales_rep, existing):
    run = run_import(sales_rep, "contact", FILE, mode="upsert")
    assert (run.created, run.updated) == (1, 1)


def test_empty_cells_leave_fields_as_they_are_on_update(sales_rep, existing):
    run = run_import(sales_rep, "contact", "Last name,Email,Phone\n,known@example.com,\n",
                     mode="update")  # fmt: skip
    existing.refresh_from_db()
    assert (existing.last_name, existing.phone) == ("Name", "111")
    assert run.unchanged == 1


def test_match_on_legacy_id_and_on_minicrm_id(sales_rep, existing):
    data = f"ID,Last name\n{existing.pk},ById\n"
    run = run_import(sales_rep, "contact", data, mode="update", match_on="id")
    existing.refresh_from_db()
    assert (run.updated, existing.last_name) == (1, "ById")
    Contact.objects.filter(pk=existing.pk).update(legacy_id="crm-7")
    data = "External ID,Last name\ncrm-7,ByLegacy\ncrm-8,Other\n"
    run = run_import(sales_rep, "contact", data, mode="upsert", match_on="legacy_id")
    existing.refresh_from_db()
    assert (run.updated, run.created, existing.last_name) == (1, 1, "ByLegacy")
    assert Contact.objects.get(legacy_id="crm-8").last_name == "Other"


def test_match_on_a_custom_field(sales_rep):
    CustomFieldDefinitionFactory(entity="company", key="erp_no", label="ERP number",
                                 field_type="number")  # fmt: skip
    company = CompanyFactory(name="Acme", owner=sales_rep, custom_fields={"erp_no": 42})
    data = "ERP number,Name,Phone\n42,Acme Renamed,555\n43,Beta,556\n"
    run = run_import(sales_rep, "company", data, match_on="cf:erp_no")
    company.refresh_from_db()
    assert (run.updated, run.created) == (1, 1)
    assert (company.name, company.phone) == ("Acme Renamed", "555")
    assert Company.objects.get(name="Beta").custom_fields == {"erp_no": 43}


def test_companies_match_on_domain_from_a_url(sales_rep):
    company = CompanyFactory(name="Acme", domain="acme.com", owner=sales_rep)
    run = run_import(sales_rep, "company", "Name,Domain\nAcme Inc,https://www.ACME.com/\n",
                     match_on="domain")  # fmt: skip
    company.refresh_from_db()
    assert (run.updated, company.name) == (1, "Acme Inc")


def test_every_kind_of_bad_value_is_reported_with_row_and_column(sales_rep, stages):
    long_name = "x" * 256
    data = (
        "Name,Stage,Amount,Expected close date,Owner,Currency\n"
        "Fine,Qualification,1000,2027-01-31,sales.rep@example.com,EUR\n"
        f"{long_name},Qualification,10,,,\n"
        "Bad stage,Nowhere,10,,,\n"
        "Bad number,,ten,,,\n"
        "Bad date,,1,31/01/2027,,\n"
        "Bad owner,,1,,nobody@example.com,\n"
        "Bad currency,,1,,,euros\n"
        "Negative,,-5,,,\n"
    )
    run = run_import(sales_rep, "deal", data, mode="create", match_on="")
    assert (run.created, run.failed) == (1, 7)
    found = reasons(run)
    assert found[3].startswith("Name: ") and "at most 255 characters" in found[3]
    assert found[4].startswith("Stage: no stage 'Nowhere'") and "Qualification" in found[4]
    assert found[5] == "Amount: must be a number"
    assert found[6].startswith("Expected close date: must be a date")
    assert found[7] == "Owner: no user with the email 'nobody@example.com'"
    assert found[8].startswith("Currency: must be a three-letter currency code")
    assert found[9] == "Amount: must be 0 or more"
    deal = Deal.objects.get()
    assert (deal.stage.name, deal.currency, str(deal.amount)) == (
        "Qualification",
        "EUR",
        "1000.00",
    )


def test_a_key_repeated_in_the_file_is_an_error_on_the_later_row(sales_rep):
    data = "Last name,Email\nA,dup@example.com\nB,DUP@example.com\nC,c@example.com\n"
    run = run_import(sales_rep, "contact", data, mode="upsert")
    assert (run.created, run.failed) == (2, 1)
    assert reasons(run) == {3: "Email: repeats row 2"}
    assert Contact.objects.get(email="dup@example.com").last_name == "A"


def test_a_key_repeated_across_chunks_is_caught(sales_rep, monkeypatch):
    monkeypatch.setattr("crm.imports.engine.CHUNK_ROWS", 2)
    rows = "".join(f"N{i},p{i}@example.com\n" for i in range(5))
    run = run_import(sales_rep, "contact", f"Last name,Email\n{rows}N9,p0@example.com\n")
    assert (run.created, run.failed) == (5, 1)
    assert reasons(run) == {7: "Email: repeats row 2"}


def test_another_teams_record_is_rejected_not_updated(sales_rep, outsider):
    theirs = ContactFactory(last_name="Theirs", email="theirs@example.com", owner=outsider)
    run = run_import(sales_rep, "contact", "Last name,Email\nMine now,theirs@example.com\n")
    theirs.refresh_from_db()
    assert (run.failed, run.created, theirs.last_name) == (1, 0, "Theirs")
    assert "may not change" in reasons(run)[2]


def test_owner_by_email_follows_the_reassign_rules(sales_rep, teammate, manager):
    data = "Last name,Owner\nMine,sales.rep@example.com\nTheirs,teammate@example.com\n"
    run = run_import(sales_rep, "contact", data, mode="create", match_on="")
    assert (run.created, run.failed) == (1, 1)
    assert "may not make teammate@example.com the owner" in reasons(run)[3]
    run = run_import(manager, "contact", data, mode="create", match_on="")
    assert run.created == 2
    assert Contact.objects.get(last_name="Theirs", owner=teammate)


def test_links_resolve_by_name_or_domain_and_can_create_companies(sales_rep, outsider):
    CompanyFactory(name="Acme", domain="acme.com", owner=sales_rep)
    CompanyFactory(name="Hidden Co", owner=outsider)
    data = "Last name,Company\nA,ACME\nB,acme.com\nC,Hidden Co\nD,New Corp\nE,new corp\n"
    run = run_import(sales_rep, "contact", data, mode="create", match_on="")
    assert (run.created, run.failed) == (2, 3)
    assert "no company named 'new corp' that you may see" in reasons(run)[5].lower()
    assert "'Hidden Co' exists but you may not see it" in reasons(run)[4]
    run = run_import(sales_rep, "contact", data.replace("A,ACME\nB,acme.com\n", ""),
                     mode="create", match_on="", create_related=True)  # fmt: skip
    new = Company.objects.get(name="New Corp")
    assert (new.owner, new.contacts.count()) == (sales_rep, 2)
    # Hidden Co exists: no look-alike is created, and the user learns why the link failed.
    assert run.failed == 1
    assert "exists but you may not see it" in reasons(run)[2]


def test_leads_take_status_labels_and_converted_gets_a_date(sales_rep):
    data = "Last name,Email,Status\nL1,l1@example.com,Qualified\nL2,l2@example.com,CONVERTED\n"
    run = run_import(sales_rep, "lead", data)
    assert run.created == 2
    assert Lead.objects.get(email="l2@example.com").converted_at is not None


def test_custom_field_values_are_validated_and_merged_on_update(sales_rep):
    CustomFieldDefinitionFactory(entity="contact", key="tier", label="Tier", field_type="choice",
                                 choices=["Gold", "Silver"])  # fmt: skip
    CustomFieldDefinitionFactory(entity="contact", key="since", label="Customer since",
                                 field_type="date")  # fmt: skip
    contact = ContactFactory(email="c@example.com", owner=sales_rep,
                             custom_fields={"since": "2020-01-01"})  # fmt: skip
    data = "Email,Tier,Last name\nc@example.com,gold,C\nd@example.com,Bronze,D\n"
    run = run_import(sales_rep, "contact", data)
    contact.refresh_from_db()
    assert contact.custom_fields == {"since": "2020-01-01", "tier": "Gold"}
    assert reasons(run)[3] == "Tier: must be one of: Gold, Silver"
