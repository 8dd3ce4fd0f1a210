"""seed_scale's contracts, documents, project boards and big company: filled in proportion,
consistent with the records they hang off, linked to rows that exist, and visible to the
people the permission rules name (the record tables: tests/crm/test_seed_scale.py).
"""

from __future__ import annotations

from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.validators import URLValidator
from django.db.models import F, Q

from accounts.models import User
from crm.models import Board, Company, Contact, Contract, Deal, Document, Lead, Note, Section, Task
from crm.scale import BIG_COMPANY_ID, SCALE_DOMAIN

CONTACTS = 2000
BIG_CONTACTS = 300  # 2% of 2,000 is below the floor of 300
# The company page's query budget (tests/crm/test_detail_queries.py): it must not grow with
# 300 contacts in a panel.
COMPANY_PAGE_QUERIES = 24
DOCUMENT_LINKS = {"companies": Company, "contacts": Contact, "deals": Deal, "contracts": Contract}


@pytest.fixture
def seeded(db: None) -> str:
    out = StringIO()
    args = ("--contacts", str(CONTACTS), "--seed", "11", "--history", "100")
    call_command("seed_scale", *args, stdout=out)
    return out.getvalue()


def _user(name: str) -> User:
    return User.objects.get(email=f"{name}@{SCALE_DOMAIN}")


def _dangling(model: Any, column: str, target: Any) -> bool:
    """Whether a non-null `column` of `model` names no row of `target`."""
    filled = model.objects.exclude(**{column: None})
    return filled.exclude(**{f"{column}__in": target.objects.values("pk")}).exists()


def test_seed_scale_contracts_follow_their_deal_and_keep_the_rules(seeded: str) -> None:
    contracts = Contract.objects.all()
    assert contracts.count() == CONTACTS // 20
    assert set(contracts.values_list("status", flat=True)) == set(Contract.Status.values)
    with_deal = contracts.exclude(deal=None)
    assert 0 < with_deal.count() < contracts.count()
    assert contracts.exclude(company=None).count() > 0.9 * contracts.count()
    assert not _dangling(Contract, "company_id", Company)
    assert not _dangling(Contract, "deal_id", Deal)
    # A contract that closes a deal is that deal's; it is signed when the deal was won. (Its
    # value is the deal's amount when written; the history sample raises some amounts later.)
    for contract in with_deal.select_related("deal"):
        deal = contract.deal
        assert (contract.company_id, contract.owner_id) == (deal.company_id, deal.owner_id)
        assert contract.currency == deal.currency
        assert deal.status != "won" or contract.status == "signed"
    # The check constraints, and the dates' own logic.
    assert not contracts.filter(end_date__lt=F("start_date")).exists()
    assert not contracts.filter(value__lt=0).exists()
    assert not contracts.exclude(currency__regex=r"^[A-Z]{3}$").exists()
    assert not contracts.filter(renewal_reminder_date__gte=F("end_date")).exists()
    assert not contracts.filter(end_date=None).exclude(renewal_reminder_date=None).exists()
    signed = Q(status="signed")
    assert not contracts.filter(signed, customer_signed_date=None).exists()
    assert not contracts.exclude(signed).exclude(customer_signed_date=None).exists()
    assert not contracts.filter(updated_at__lt=F("created_at")).exists()


def test_seed_scale_documents_are_links_each_on_one_existing_record(seeded: str) -> None:
    documents = Document.objects.all()
    assert documents.count() == CONTACTS // 10
    # document_file_or_url: links to files kept elsewhere, nothing written to MEDIA_ROOT.
    assert not documents.filter(url="").exists()
    assert not documents.exclude(file="").exists()
    assert not documents.filter(size__lt=0).exists()
    validate = URLValidator()
    for doc in documents[:100]:
        validate(doc.url)
        assert doc.url.endswith("/" + doc.name.lower().replace(" ", "-"))
        assert doc.mime_type
    # Exactly one link per document, every kind used, each to a row that exists.
    links: Counter = Counter()
    for field, target in DOCUMENT_LINKS.items():
        through = Document._meta.get_field(field).remote_field.through
        column = f"{target._meta.model_name}_id"
        assert not _dangling(through, column, target)
        assert not _dangling(through, "document_id", Document)
        rows = through.objects.values_list("document_id", flat=True)
        assert rows, field
        links.update(rows)
    assert len(links) == documents.count() and set(links.values()) == {1}
    assert set(documents.filter(contracts__isnull=False).values_list("kind", flat=True)) == {
        "contract"
    }
    assert set(documents.filter(deals__isnull=False).values_list("kind", flat=True)) == {"offer"}
    # A document belongs to its record's owner, and whoever sees the record sees it.
    rep = _user("rep01")
    for doc in documents.filter(companies__isnull=False).prefetch_related("companies")[:50]:
        assert doc.owner_id == doc.companies.get().owner_id
    on_reps_records = documents.filter(
        Q(companies__owner=rep) | Q(contacts__owner=rep) | Q(deals__owner=rep)
    )
    assert on_reps_records.exists()
    visible = set(Document.objects.visible_to(rep).values_list("pk", flat=True))
    assert set(on_reps_records.values_list("pk", flat=True)) <= visible


def test_seed_scale_boards_belong_to_a_team_whose_reps_see_them(seeded: str, login) -> None:
    boards = Board.objects.select_related("owner")
    assert {b.owner.team_id for b in boards} == set(
        User.objects.exclude(team=None).values_list("team_id", flat=True)
    )
    for board in boards:
        assert [s.position for s in board.sections.order_by("position")] == [0, 1, 2, 3]
    cards = Task.objects.exclude(section=None)
    # task_at_most_one_parent: a card is on a board, not on a CRM record.
    assert not cards.exclude(company=None, contact=None, lead=None, deal=None).exists()
    assert not _dangling(Task, "section_id", Section)
    for section in Section.objects.all():
        positions = list(section.tasks.order_by("position").values_list("position", flat=True))
        assert positions == list(range(5))  # 80 cards over 16 sections, no gaps
    assert set(cards.filter(section__title="Done").values_list("status", flat=True)) == {"done"}
    assert not cards.exclude(status="done").exclude(completed_at=None).exists()
    assert not cards.filter(status="done", completed_at=None).exists()
    board_team = F("section__board__owner__team")
    assert not cards.exclude(owner__team=board_team).exists()
    assert not cards.exclude(assignee__team=board_team).exists()
    assert Board.shared_with.through.objects.exists() and Board.watchers.through.objects.exists()
    # rep01 sees their team's boards with every card on them, and not another team's.
    rep = _user("rep01")
    own_team = boards.filter(owner__team=rep.team, visibility__in=["team", "public"])
    assert own_team.exists()
    visible = set(Board.objects.visible_to(rep).values_list("pk", flat=True))
    assert set(own_team.values_list("pk", flat=True)) <= visible
    hidden = boards.exclude(owner__team=rep.team).filter(visibility="team")
    hidden = hidden.exclude(shared_with=rep).exclude(watchers=rep)
    assert hidden.exists() and not visible & set(hidden.values_list("pk", flat=True))
    board = own_team.first()
    on_board = Task.objects.filter(section__board=board)
    assert on_board.visible_to(rep).count() == on_board.count() == 20
    html = login(rep).get(board.get_absolute_url()).content.decode()
    assert board.title in html and "Review" in html


def test_seed_scale_big_company_fills_every_panel_of_its_page(
    seeded: str, login, django_assert_max_num_queries
) -> None:
    big = Company.objects.get(pk=BIG_COMPANY_ID)
    assert f"/companies/{BIG_COMPANY_ID}/ ({BIG_CONTACTS} contacts)" in seeded
    rep, manager = _user("rep01"), _user("manager01")
    assert big.owner == rep and rep.team_id == manager.team_id
    people = big.contacts.all()
    assert people.count() == BIG_CONTACTS
    assert not people.exclude(owner=rep).exists()
    assert not people.exclude(email__endswith=f"@{big.domain}").exists()
    # Its share of the rest: a fifth as many deals (with its own people as their contacts), a
    # quarter notes, a tenth tasks, leads and documents, a twentieth contracts.
    assert big.deals.count() == BIG_CONTACTS // 5
    assert not big.deals.exclude(primary_contact__company=big).exists()
    assert Note.objects.filter(company=big).count() == BIG_CONTACTS // 4
    assert Task.objects.filter(company=big).count() == BIG_CONTACTS // 10
    assert Lead.objects.filter(company=big).count() == BIG_CONTACTS // 10
    assert big.documents.count() == BIG_CONTACTS // 10
    # Its own contracts, and those closing its deals.
    assert big.contracts.count() >= BIG_CONTACTS // 20
    for user in (rep, manager):
        client = login(user)
        with django_assert_max_num_queries(COMPANY_PAGE_QUERIES):
            response = client.get(big.get_absolute_url())
        assert response.status_code == 200
        assert f"All {BIG_CONTACTS}" in response.content.decode()
