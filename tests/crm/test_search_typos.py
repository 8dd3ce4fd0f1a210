"""Global search's typo tier through the word dictionary (crm.models.search_words,
crm.selectors.search_typos): the dictionary follows every writer; typed words are corrected to
the words records hold; records are found by the corrected words, visible ones only; what the
dictionary cannot correct goes to the trigram tier as before."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from crm.factories import CompanyFactory, ContactFactory, DealFactory, LeadFactory
from crm.models import Contact, Deal, SearchWord
from crm.selectors.search import global_search
from crm.selectors.search_typos import Corrections, corrections

pytestmark = pytest.mark.django_db


def _words(*candidates: str) -> set[str]:
    return set(SearchWord.objects.filter(word__in=candidates).values_list("word", flat=True))


def _titles(results: Any, key: str = "contacts") -> list[str]:
    return [hit.title for group in results.groups if group.key == key for hit in group.hits]


def _person(first: str, last: str, owner: User, factory: Any = ContactFactory, **kw: Any) -> Any:
    # No company of Faker's: its random names ("Smith-Jones") would be words too.
    extra = {"company": None} if factory is ContactFactory else {"company_name": ""}
    return factory(first_name=first, last_name=last, owner=owner, **extra, **kw)


def _corrections(query: str) -> Corrections | None:
    with transaction.atomic():  # its threshold is transaction-local, as in global_search
        return corrections(query)


# The dictionary


def test_every_searched_type_adds_its_words_letters_only(sales_rep: User) -> None:
    company = CompanyFactory(
        name="Quillfeather Ltd",
        domain="quillfeather.example",
        phone="+1 555 0100",
        owner=sales_rep,
    )
    ContactFactory(
        first_name="Zebulon",
        last_name="Ó Briain",
        email="zeb.obriain@quillfeather.example",
        phone="555-0199",
        company=company,
        owner=sales_rep,
    )
    _person("Wilhelmina", "Xu", sales_rep, LeadFactory)
    DealFactory(name="Quillfeather - renewal 2027", owner=sales_rep, company=company)
    # Names as search_text holds them (lowered, unaccented), two letters and up ("xu", not
    # the "o" of "Ó Briain"); emails, hosts and numbers are not words of letters.
    typed = ["quillfeather", "ltd", "zebulon", "o", "briain", "wilhelmina", "xu", "renewal"]
    assert _words(*typed) == set(typed) - {"o"}
    assert not SearchWord.objects.filter(word__contains="@").exists()
    assert not SearchWord.objects.filter(word__regex=r"[0-9.]").exists()


def test_bulk_writes_and_raw_sql_add_words_too(sales_rep: User) -> None:
    Contact.objects.bulk_create(
        [
            Contact(first_name="Philippa", last_name=f"Nightingale{c}", owner=sales_rep)
            for c in "abc"
        ]
    )
    contact = _person("Ottoline", "Morrell", sales_rep)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_contact SET last_name = 'Quennell' WHERE id = %s", [contact.pk])
    assert _words("philippa", "nightingalea", "nightingalec", "quennell", "morrell") == {
        "philippa",
        "nightingalea",
        "nightingalec",
        "quennell",
        "morrell",  # never removed by the triggers: rebuild_search_words drops it
    }


def test_copy_adds_words_as_both_imports_write(sales_rep: User) -> None:
    # The CSV and Mongo imports write records with a binary COPY (crm.copy), which fires the
    # statement-level triggers as an INSERT does.
    from crm.copy import copy_instances

    copy_instances(
        Contact,
        [
            Contact(first_name="Araminta", last_name=f"Copperfield{c}", owner=sales_rep)
            for c in "xy"
        ],
    )
    assert _words("araminta", "copperfieldx", "copperfieldy") == {
        "araminta",
        "copperfieldx",
        "copperfieldy",
    }


def test_an_update_that_leaves_the_text_alone_adds_nothing(sales_rep: User) -> None:
    deal = DealFactory(name="Thistlewood expansion", owner=sales_rep)
    SearchWord.objects.filter(word="thistlewood").delete()
    Deal.objects.filter(pk=deal.pk).update(amount=12345)
    assert not _words("thistlewood")
    Deal.objects.filter(pk=deal.pk).update(name="Thistlewood expansion II")
    assert _words("thistlewood") == {"thistlewood"}


def test_rebuild_drops_words_no_record_holds(sales_rep: User, capsys) -> None:
    contact = _person("Evangelina", "Oddfellow", sales_rep)
    contact.last_name = "Goodfellow"
    contact.save()
    assert _words("oddfellow", "goodfellow") == {"oddfellow", "goodfellow"}
    call_command("rebuild_search_words")
    assert _words("oddfellow", "goodfellow", "evangelina") == {"goodfellow", "evangelina"}
    assert "Search dictionary rebuilt" in capsys.readouterr().out


def test_only_words_can_be_entered() -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        SearchWord.objects.create(word="john.smith@example.com")


# Corrections


def test_a_typed_word_is_corrected_to_the_words_within_its_edits(sales_rep: User) -> None:
    for first, last in [("John", "Smith"), ("Jon", "Smyth"), ("Joan", "Smithers")]:
        _person(first, last, sales_rep)
    fixes = _corrections("Jonh Smiht")
    # "jonh": one swap from john, one deletion from jon; joan is two edits, too many for a
    # four-letter word. "smiht": one swap from smith; smyth and smithers are two edits away,
    # too many for five letters.
    assert fixes == Corrections("('john' | 'jon') & ('smith')", "('john' | 'jon') & ('smith')")
    # From six letters two edits, but only when nothing is one edit away: "smithe" -> smith
    # alone (smithers is two edits); "wilhlmna" -> wilhelmina (two, through the trigram index).
    _person("Wilhelmina", "Smithers", sales_rep)
    assert _corrections("Smithe") == Corrections("('smith')", "('smith')")
    assert _corrections("Wilhlmna") == Corrections("('wilhelmina')", "('wilhelmina')")


def test_a_swap_near_the_start_is_corrected_too(sales_rep: User) -> None:
    # "ealine" shares 3 of 11 trigrams with "elaine" (similarity 0.27): the index must still
    # propose it; the one edit (a swap) decides.
    _person("Elaine", "Conrad", sales_rep)
    assert _titles(global_search(user=sales_rep, query="Ealine Conrad")) == ["Elaine Conrad"]


def test_more_neighbours_than_fit_keep_the_first_letter(sales_rep: User, monkeypatch) -> None:
    monkeypatch.setattr("crm.selectors.search_typos.MAX_CORRECTIONS", 3)
    for first in ["Barx", "Carx", "Marxy", "Marc", "Mars", "Mark"]:
        _person(first, "Quist", sales_rep)
    # All one edit from "marx": barx and carx change the first letter, marxy is longer.
    fixes = _corrections("Marx")
    assert fixes is not None
    assert fixes.every == "('marc' | 'mark' | 'mars')"


def test_short_and_numeric_words_stay_prefixes(sales_rep: User) -> None:
    _person("Margaret", "Lee", sales_rep)
    fixes = _corrections("Mrgaret 55 le")
    assert fixes == Corrections("('margaret') & '55':* & 'le':*", "('margaret') & '55':* & 'le':*")


@pytest.mark.parametrize("query", ["Xqzvwt", "55 ab", "jo"])
def test_no_corrections_where_the_dictionary_cannot_speak(sales_rep: User, query: str) -> None:
    # A word of letters with nothing close; no word of letters long enough; too short.
    _person("Margaret", "Lee", sales_rep)
    assert _corrections(query) is None


def test_typed_quotes_and_operators_stay_text(sales_rep: User) -> None:
    # Unaccent turns the okina into a quote: the word is then no dictionary word, matched as a
    # prefix, quoted; nothing the user typed becomes a tsquery operator.
    _person("Margaret", "Lee", sales_rep)
    fixes = _corrections("Mrgaret \u02bbokina")
    assert fixes is not None
    assert fixes.every == "('margaret') & '''okina':*"
    assert global_search(user=sales_rep, query="Mrgaret' | !x & \u02bbokina").total == 0


# Searching with them


def test_a_typo_in_a_common_name_finds_the_name_not_a_lookalike(sales_rep: User) -> None:
    _person("Margaret", "Hale", sales_rep)
    # Word similarity over the whole text used to rank "Mr Garrett" first: "mr" and
    # "garret" share most of "mrgaret"'s trigrams across the space.
    _person("Mr", "Garrett", sales_rep)
    assert _titles(global_search(user=sales_rep, query="Mrgaret")) == ["Margaret Hale"]


def test_the_closest_corrections_rank_first(sales_rep: User) -> None:
    for first, last in [("Mary", "Johnson"), ("Mark", "Jhonson"), ("Mary", "Henson")]:
        _person(first, last, sales_rep)
    titles = _titles(global_search(user=sales_rep, query="mary jonson"))
    # Henson is two edits from "jonson": not offered while johnson and jhonson are one away.
    assert titles == ["Mary Johnson", "Mark Jhonson"]


def test_the_closest_corrections_are_read_first(sales_rep: User, monkeypatch) -> None:
    # Only CANDIDATES rows are read and ranked: rows an edit further, written first, must not
    # take the places of the closest one.
    monkeypatch.setattr("crm.selectors.search.CANDIDATES", 2)
    for _ in range(4):
        _person("Mark", "Johnson", sales_rep)
    _person("Mary", "Johnson", sales_rep)
    assert _titles(global_search(user=sales_rep, query="mary jonson"))[0] == "Mary Johnson"


def test_corrected_hits_are_only_visible_ones(sales_rep: User, outsider: User) -> None:
    _person("Margaret", "Outsideson", outsider)
    _person("Margaret", "Insideson", sales_rep)
    _person("Margaret", "Leadhidden", outsider, LeadFactory)
    results = global_search(user=sales_rep, query="Mrgaret")
    assert _titles(results) == ["Margaret Insideson"]
    assert _titles(results, "leads") == []
    assert _titles(global_search(user=outsider, query="Mrgaret"), "leads") == [
        "Margaret Leadhidden"
    ]


def test_a_name_nobody_visible_holds_finds_its_neighbours(sales_rep: User, outsider) -> None:
    # Every word is in the dictionary, but no visible record has them together: the typo
    # tier still offers the spellings one edit away.
    _person("John", "Smith", outsider)
    _person("Jon", "Smith", sales_rep)
    assert _titles(global_search(user=sales_rep, query="John Smith")) == ["Jon Smith"]


def test_every_type_is_searched_with_the_corrections(sales_rep: User) -> None:
    company = CompanyFactory(name="Brightwater Holdings", owner=sales_rep)
    DealFactory(name="Brightwater renewal", company=company, owner=sales_rep)
    _person("Ann", "Brightwater", sales_rep, LeadFactory)
    results = global_search(user=sales_rep, query="Brigthwater")
    assert _titles(results, "companies") == ["Brightwater Holdings"]
    assert _titles(results, "deals") == ["Brightwater renewal"]
    assert _titles(results, "leads") == ["Ann Brightwater"]


def test_what_the_dictionary_cannot_correct_goes_to_the_trigram_tier(sales_rep: User) -> None:
    # "qilfeathr" is three edits from "quillfeather": no correction, and the trigram tier's
    # word similarity over the whole text finds the company as it used to.
    CompanyFactory(name="Quillfeather", domain="quillfeather.example", owner=sales_rep)
    with CaptureQueriesContext(connection) as queries:
        results = global_search(user=sales_rep, query="Qilfeathr")
    assert _titles(results, "companies") == ["Quillfeather"]
    assert any("%>" in q["sql"] and "crm_company" in q["sql"] for q in queries.captured_queries)


def test_the_trigram_tier_answers_when_the_corrections_find_nothing_visible(
    sales_rep: User, outsider: User
) -> None:
    # The dictionary holds every record's words, hidden ones too: a word only another team's
    # record holds must neither hide the rep's own near-miss (here in an email, which only
    # the trigram tier reads) nor say by an empty answer that such a record exists.
    _person("Quincy", "Vale", sales_rep, email="falconridgx@bait.example")
    found = _titles(global_search(user=sales_rep, query="falconridge"))
    _person("Hidden", "Falconridge", outsider)
    assert _corrections("falconridge") is not None
    assert _titles(global_search(user=sales_rep, query="falconridge")) == found == ["Quincy Vale"]


def test_a_very_long_typed_word_is_no_correction(sales_rep: User) -> None:
    # Unaccent makes the ligature three letters: 300 of them would spell out 15,000 strings.
    _person("Margaret", "Lee", sales_rep)
    fixes = _corrections("Mrgaret " + "\ufb03" * 100)
    assert fixes is not None
    assert fixes.every == "('margaret') & '" + "ffi" * 100 + "':*"


@pytest.mark.django_db(transaction=True)
def test_two_writers_adding_new_words_in_opposite_orders_do_not_deadlock(sales_rep: User) -> None:
    import threading

    import psycopg

    first = _person("Ann", "Old", sales_rep)
    second = _person("Bob", "Old", sales_rep)
    settings = connection.settings_dict
    conninfo = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
    }
    rename = "UPDATE crm_contact SET last_name = %s WHERE id = %s"
    with psycopg.connect(**conninfo) as a, psycopg.connect(**conninfo) as b:
        for conn in (a, b):
            conn.execute("SET lock_timeout = '20s'")
        a.execute(rename, ["Zzqnewwordx", first.pk])
        errors: list[Exception] = []

        def b_writes() -> None:
            try:
                b.execute(rename, ["Aaqnewwordx", second.pk])  # waits for A's new words
                b.execute(rename, ["Zzqnewwordx", second.pk])
                b.commit()
            except Exception as error:
                errors.append(error)
                b.rollback()

        thread = threading.Thread(target=b_writes)
        thread.start()
        thread.join(0.5)  # B is waiting now
        a.execute(rename, ["Aaqnewwordx", first.pk])
        a.commit()
        thread.join(30)
    assert not errors
    assert _words("zzqnewwordx", "aaqnewwordx") == {"zzqnewwordx", "aaqnewwordx"}
