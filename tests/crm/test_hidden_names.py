"""No page names a record the user may not see (docs/permissions.md): a sales rep's own
contact, deal or contract may belong to another team's company, and lists, the pipeline board,
the dashboard, search, autocomplete and the timeline show it without its name; a company the
rep may see is still named, and an admin still sees every name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.selectors import HIDDEN_RECORD, record_history
from crm import factories as f
from crm import permissions
from crm.models import Company, Contact, Deal, Pipeline, Section, Stage
from crm.selectors.timeline import record_timeline

pytestmark = pytest.mark.django_db

SECRET = "Secret Holdings"
OPEN = "Open Industries"


@dataclass
class World:
    hidden: Company
    shown: Company
    contact: Contact  # the rep's, at the hidden company
    deal: Deal  # the rep's, at the hidden company, closing this month


@pytest.fixture
def world(sales_rep: User, outsider: User, pipeline: Pipeline, stages: dict[str, Stage]) -> World:
    hidden = f.CompanyFactory(owner=outsider, name=SECRET)
    shown = f.CompanyFactory(owner=sales_rep, name=OPEN)
    today = timezone.localdate()
    deal_fields = {
        "pipeline": pipeline,
        "stage": stages["Proposal"],
        "expected_close_date": today,
        "owner": sales_rep,
    }
    contact = f.ContactFactory(
        owner=sales_rep, first_name="Hana", last_name="Hidco", company=hidden
    )
    f.ContactFactory(owner=sales_rep, first_name="Vera", last_name="Viscount", company=shown)
    deal = f.DealFactory(name="Quiet deal", company=hidden, **deal_fields)
    f.DealFactory(name="Quilted deal", company=shown, **deal_fields)
    f.ContractFactory(owner=sales_rep, title="Quiet MSA", company=hidden)
    f.ContractFactory(owner=sales_rep, title="Quilted MSA", company=shown)
    return World(hidden=hidden, shown=shown, contact=contact, deal=deal)


def _get(client: Any, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


# --- the helpers ------------------------------------------------------------------------------


def test_visible_ids_keeps_only_the_ids_the_user_may_see(
    world: World, sales_rep: User, admin_user: User, django_assert_max_num_queries: Any
) -> None:
    ids = [world.hidden.pk, world.shown.pk, None]
    with django_assert_max_num_queries(3):  # the team, the watched companies, the ids
        assert permissions.visible_ids(sales_rep, Company, ids) == {world.shown.pk}
    with django_assert_max_num_queries(0):
        assert permissions.visible_ids(admin_user, Company, ids) == {
            world.hidden.pk,
            world.shown.pk,
        }
    assert permissions.visible_ids(sales_rep, Company, []) == set()
    assert permissions.governs(Company) and not permissions.governs(Stage)


def test_visible_ids_each_answers_every_model_in_one_query(
    world: World,
    sales_rep: User,
    outsider: User,
    admin_user: User,
    django_assert_max_num_queries: Any,
) -> None:
    secret_deal = f.DealFactory(owner=outsider, company=None)
    secret_board = f.BoardFactory(owner=outsider)
    wanted = [
        (Company, [world.hidden.pk, world.shown.pk, None]),
        (Deal, [world.deal.pk, secret_deal.pk]),
        (Contact, []),
        (Section, [f.SectionFactory(board=secret_board).pk]),
        (Stage, [world.deal.stage_id]),  # not governed: every key
    ]
    expected = [permissions.visible_ids(sales_rep, model, ids) for model, ids in wanted]
    assert expected[0] == {world.shown.pk} and expected[1] == {world.deal.pk}
    with django_assert_max_num_queries(1):  # the rule's facts are read above already
        assert permissions.visible_ids_each(sales_rep, wanted) == expected
    with django_assert_max_num_queries(0):
        every = permissions.visible_ids_each(admin_user, wanted)
    assert every == [{pk for pk in ids if pk} for _, ids in wanted]


# --- lists --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["contact", "deal", "contract"])
def test_the_company_column_does_not_name_a_company_the_user_may_not_see(
    world: World, login: Any, sales_rep: User, key: str
) -> None:
    html = _get(login(sales_rep), reverse(f"crm:{key}.list"))
    assert SECRET not in html
    assert OPEN in html
    assert world.hidden.get_absolute_url() not in html


@pytest.mark.parametrize("key", ["contact", "deal", "contract"])
def test_an_admin_list_names_every_company(
    world: World, login: Any, admin_user: User, key: str
) -> None:
    html = _get(login(admin_user), reverse(f"crm:{key}.list"))
    assert SECRET in html and OPEN in html


def test_the_task_list_does_not_say_what_a_task_is_about_when_it_is_hidden(
    world: World, login: Any, sales_rep: User, outsider: User, admin_user: User
) -> None:
    secret_deal = f.DealFactory(owner=outsider, name="Secret Deal", company=None)
    secret_contact = f.ContactFactory(owner=outsider, first_name="Sid", last_name="Secretary")
    secret_board = f.BoardFactory(owner=outsider, title="Secret Board")
    section = f.SectionFactory(board=secret_board)
    # The rep's own tasks (so visible), each about something of the other team.
    f.TaskFactory(owner=sales_rep, title="Call them", company=world.hidden)
    f.TaskFactory(owner=sales_rep, title="Chase them", deal=secret_deal)
    f.TaskFactory(owner=sales_rep, title="Email them", contact=secret_contact)
    f.TaskFactory(owner=sales_rep, title="Card", section=section)
    f.TaskFactory(owner=sales_rep, title="Visit them", company=world.shown)

    html = _get(login(sales_rep), reverse("crm:task.list"))
    assert "Call them" in html and "Card" in html
    for secret in (SECRET, "Secret Deal", "Sid Secretary", "Secret Board"):
        assert secret not in html
    assert secret_board.get_absolute_url() not in html
    assert OPEN in html

    html = _get(login(admin_user), reverse("crm:task.list"))
    for secret in (SECRET, "Secret Deal", "Sid Secretary", "Secret Board"):
        assert secret in html


def test_a_watched_company_is_named_in_the_list(world: World, login: Any, sales_rep: User) -> None:
    world.hidden.watchers.add(sales_rep)
    assert SECRET in _get(login(sales_rep), reverse("crm:contact.list"))


# --- pipeline board and dashboard ------------------------------------------------------------


def test_board_cards_do_not_name_a_company_the_user_may_not_see(
    world: World, login: Any, sales_rep: User, admin_user: User
) -> None:
    html = _get(login(sales_rep), reverse("crm:deal.board"))
    assert "Quiet deal" in html and SECRET not in html and OPEN in html
    assert SECRET in _get(login(admin_user), reverse("crm:deal.board"))


def test_deals_closing_this_month_do_not_name_a_company_the_user_may_not_see(
    world: World, login: Any, sales_rep: User, manager: User, admin_user: User
) -> None:
    html = _get(login(sales_rep), reverse("crm:home"))
    assert "Quiet deal" in html and SECRET not in html and OPEN in html
    # The manager sees the rep's deals, not the other team's company.
    html = _get(login(manager), reverse("crm:home"))
    assert "Quiet deal" in html and SECRET not in html
    assert SECRET in _get(login(admin_user), reverse("crm:home"))


# --- search and autocomplete ----------------------------------------------------------------


@pytest.mark.parametrize("query", ["Hana", "Quiet"])
def test_search_subtitles_do_not_name_a_company_the_user_may_not_see(
    world: World, login: Any, sales_rep: User, admin_user: User, query: str
) -> None:
    url = reverse("crm:search")
    html = _get(login(sales_rep), url, q=query)
    assert world.contact.get_absolute_url() in html or world.deal.get_absolute_url() in html
    assert SECRET not in html
    assert SECRET in _get(login(admin_user), url, q=query)


def test_search_subtitles_still_name_a_visible_company(
    world: World, login: Any, sales_rep: User
) -> None:
    html = _get(login(sales_rep), reverse("crm:search"), q="Quilted")
    assert OPEN in html


@pytest.mark.parametrize(
    ("entity", "query"), [("contact", "hana"), ("deal", "quiet"), ("contract", "quiet")]
)
def test_autocomplete_subtitles_do_not_name_a_company_the_user_may_not_see(
    world: World, login: Any, sales_rep: User, admin_user: User, entity: str, query: str
) -> None:
    url = reverse("crm:autocomplete", args=[entity])
    html = _get(login(sales_rep), url, q=query)
    assert 'role="option"' in html and SECRET not in html
    assert SECRET not in _get(login(sales_rep), url)  # the recent records, no query
    assert SECRET in _get(login(admin_user), url, q=query)


@pytest.mark.parametrize(
    ("entity", "query"), [("contact", "vera"), ("deal", "quilted"), ("contract", "quilted")]
)
def test_autocomplete_subtitles_still_name_a_visible_company(
    world: World, login: Any, sales_rep: User, entity: str, query: str
) -> None:
    html = _get(login(sales_rep), reverse("crm:autocomplete", args=[entity]), q=query)
    assert OPEN in html


# --- history and timeline ---------------------------------------------------------------------


@pytest.fixture
def moved(world: World, sales_rep: User) -> Contact:
    """The rep's contact at a visible company, then moved (by SQL) to the hidden one."""
    contact = f.ContactFactory(
        owner=sales_rep, first_name="Mo", last_name="Ved", company=world.shown
    )
    Contact.objects.filter(pk=contact.pk).update(company=world.hidden)
    return contact


def _history_text(entries: list) -> str:
    return " ".join(f"{c.old} {c.new}" for e in entries for c in e.changes)


def test_the_timeline_does_not_name_a_company_the_contact_moved_to(
    moved: Contact, login: Any, sales_rep: User
) -> None:
    page = record_timeline(user=sales_rep, record=moved)
    text = _history_text([item.obj for item in page.items if item.kind == "history"])
    assert SECRET not in text
    assert OPEN in text and HIDDEN_RECORD in text

    html = _get(login(sales_rep), moved.get_absolute_url())
    assert SECRET not in html and HIDDEN_RECORD in html


def test_the_timeline_does_not_name_a_hidden_company_the_contact_was_created_at(
    world: World, sales_rep: User
) -> None:
    history = record_history(model=Contact, record_id=world.contact.pk, user=sales_rep)
    assert SECRET not in _history_text(history)


def test_history_names_everything_without_a_user_and_for_an_admin(
    moved: Contact, admin_user: User
) -> None:
    assert SECRET in _history_text(record_history(model=Contact, record_id=moved.pk))
    text = _history_text(record_history(model=Contact, record_id=moved.pk, user=admin_user))
    assert SECRET in text and HIDDEN_RECORD not in text


def test_history_hides_the_other_side_of_a_link_the_user_may_not_see(
    world: World, sales_rep: User, outsider: User
) -> None:
    secret_deal = f.DealFactory(owner=outsider, name="Secret Deal", company=None)
    secret_deal.contacts.add(world.contact)  # a link row, on the contact's side too
    text = _history_text(record_history(model=Contact, record_id=world.contact.pk, user=sales_rep))
    assert "Secret Deal" not in text and HIDDEN_RECORD in text
    assert "Secret Deal" in _history_text(
        record_history(model=Contact, record_id=world.contact.pk)
    )


def test_history_keeps_names_of_public_rows(moved: Contact, sales_rep: User) -> None:
    # Users and lookups are not governed: the owner is still named.
    entries = record_history(model=Contact, record_id=moved.pk, user=sales_rep)
    assert str(sales_rep) in _history_text(entries)


def test_the_history_card_of_a_contract_does_not_name_a_hidden_company(
    login: Any, sales_rep: User, world: World
) -> None:
    contract = f.ContractFactory(owner=sales_rep, title="Moved MSA", company=world.shown)
    # Someone moved it to the other team's company (a bulk UPDATE, an import).
    type(contract).objects.filter(pk=contract.pk).update(company=world.hidden)
    page = _get(login(sales_rep), contract.get_absolute_url())
    assert SECRET not in page
    assert OPEN in page  # the old value, which the rep may see, is still named


def test_lists_do_not_sort_by_a_related_records_name(login: Any, sales_rep: User, world: World):
    # The order and the next-page cursor would give the hidden company's name away.
    page = _get(login(sales_rep), reverse("crm:contact.list"), sort="company")
    assert "sort=company" not in page.split("<tbody", 1)[0].split("<table", 1)[-1]
