"""Document builders of the fake NextCRM dump: the big CRM collections (accounts, contacts,
leads, opportunities, contracts), and the value pools the other builders share.

Builders are generators (one document at a time, for constant memory) and call `plan.mark`
for each quirk they apply. They draw from plain `random` and small built-in lists: Faker would
cost minutes at 1M contacts. Quirks are keyed by index (see fakedump.slot_table).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from random import Random
from typing import Any

from bson import ObjectId

from migrations_mongo.fakedump import Plan, link_mode, slot_table

Doc = dict[str, Any]
dt = datetime.fromtimestamp  # dt(ts, UTC)

FIRST = (
    *("John", "Mary", "Peter", "Jana", "Tomáš", "Eva", "Lucie", "Martin", "Anna", "David"),
    *("Sarah", "Michael", "Emma", "Lukas", "Sophie", "Chloé", "José", "Siobhán", "François"),
    *("Jürgen", "Søren", "Ngozi", "Aarav", "Mei", "Olga", "İlker", "Zoë", "Łukasz", "Ana"),
)
# Turkish names keep their dotless i on purpose (ruff RUF001 calls it ambiguous).
LAST = (
    *("Smith", "Novák", "Nováková", "Dvořák", "Müller", "Schmidt", "García", "O'Brien"),
    *("Nguyen", "Kowalski", "Svensson", "Yılmaz", "Černý", "Brown", "Rossi", "Dubois"),  # noqa: RUF001
    *("Ångström", "Żółć", "Okafor", "Patel", "Chen", "Ivanova", "Horváth", "Fernández"),
)
# Names spelled out for the unicode quirk: what the importer must keep byte for byte.
UNICODE_NAMES = (("Zoë", "Ångström"), ("Łukasz", "Żółć"), ("太郎", "山田"))
EMOJI_TEXT = "Met at the Brno expo 🚀, wants a demo 👍"
COMPANY = (
    *("Northwind", "Blue River", "Acme", "Globex", "Initech", "Vltava", "Šumava", "Alpen"),
    *("Nordic", "Sakura", "Baltic", "Danube", "Iberia", "Atlas", "Zenith", "Orion", "Helix"),
)
TRADE = ("Trading", "Systems", "Logistics", "Consulting", "Software", "Foods", "Dílny", "Technik")
LEGAL = ("s.r.o.", "a.s.", "GmbH", "Ltd", "Inc.", "SE", "AB", "S.A.", "LLC", "K.K.")
PLACES = (
    *(("Praha", "Czech Republic"), ("Brno", "Czech Republic"), ("Berlin", "Germany")),
    *(("München", "Germany"), ("London", "United Kingdom"), ("New York", "USA")),
    *(("Kraków", "Poland"), ("Tokyo", "Japan"), ("Stockholm", "Sweden"), ("Madrid", "Spain")),
)
STREETS = ("Hlavní", "Karlova", "Bahnhofstraße", "Main Street", "Rue de la Paix", "Długa")
POSITIONS = ("CEO", "CTO", "Sales Manager", "Account Executive", "Buyer", "Jednatel", "Developer")
MAIL_DOMAINS = ("gmail.com", "outlook.com", "seznam.cz", "web.de", "yahoo.co.jp", "example.com")
CURRENCIES = ("USD", "EUR", "CZK")
ODD_CURRENCIES = ("usd", "€", "Kč", "", "Eur ")  # Q9: free text


def slug(text: str) -> str:
    """ASCII for emails and URLs: "Żółć" -> "zolc"; scripts with no Latin form -> ""."""
    text = text.translate(str.maketrans("ŁłØøıİ'", "LlOoiI-"))
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


FIRST_SLUG = tuple(slug(s) for s in FIRST)
LAST_SLUG = tuple(slug(s) for s in LAST)


def phone(r: Callable[[], float]) -> str:
    n = int(r() * 1_000_000_000)
    if n % 3 == 0:
        return f"+420 {n // 1000000:03d} {n // 1000 % 1000:03d} {n % 1000:03d}"
    if n % 3 == 1:
        return f"+1 ({n // 10000000 % 1000:03d}) 555-{n % 10000:04d}"
    return f"0{n:09d}"


def company_name(rng: Random) -> str:
    return f"{rng.choice(COMPANY)} {rng.choice(TRADE)} {rng.choice(LEGAL)}"


def quirks_of(
    plan: Plan, collection: str, quirks: tuple[str, ...]
) -> Callable[[int, ObjectId], str | None]:
    """index, _id -> the quirk that document carries (marked in the manifest), or None."""
    table = slot_table(quirks)
    size, mark = len(table), plan.mark

    def at(i: int, oid: ObjectId) -> str | None:
        quirk = table[i % size]
        if quirk is not None:
            mark(f"{collection}.{quirk}", oid)
        return quirk

    return at


def pickers(plan: Plan, name: str) -> tuple[list[ObjectId], Callable[[], ObjectId]]:
    """The ids of a small collection, and a function drawing one of them at random."""
    ids = [plan.ids(name)(i) for i in range(plan.sizes[name])]
    r = plan.rng(f"pick:{name}").random
    return ids, lambda: ids[int(r() * len(ids))]


ACCOUNT_QUIRKS = (
    *("createdAt_missing", "legacy_fields", "status_free_string", "type_free_string"),
    *("numbers_as_text", "dangling_assigned_to", "dangling_industry", "dangling_createdBy"),
    *("unicode_name", "email_invalid"),
)


def accounts(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("crm_Accounts"), p.stamper("crm_Accounts")
    r = rng.random
    _, user = pickers(p, "Users")
    industries = [p.ids("crm_Industry_Type")(k) for k in range(3)]
    contact, n_contacts = p.ids("crm_Contacts"), p.sizes["crm_Contacts"]
    documents, watchers = p.links["accounts_documents"][0], p.links["account_watchers"][0]
    quirk_at = quirks_of(p, "crm_Accounts", ACCOUNT_QUIRKS)
    for i in range(p.sizes["crm_Accounts"]):
        oid, ts = stamp(i)
        created, owner = dt(ts, UTC), user()
        name = company_name(rng)
        domain = f"{slug(name.split()[0]).replace(' ', '') or 'firma'}{i}.com"
        city, country = rng.choice(PLACES)
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "createdAt": created,
            "updatedAt": dt(ts + int(r() * 9e6), UTC),
            "createdBy": owner,
            "updatedBy": owner,
            "name": name,
            "annual_revenue": str(int(r() * 50) * 100000),
            "employees": str(1 + int(r() * 500)),
            "assigned_to": owner,
            "industry": industries[i % 3],
            "company_id": f"{int(r() * 1e8):08d}",
            "vat": f"CZ{int(r() * 1e8):08d}",
            "email": f"info@{domain}",
            "office_phone": phone(r),
            "website": f"https://www.{domain}",
            "description": "Key account" if r() < 0.1 else "",
            "billing_street": f"{rng.choice(STREETS)} {1 + int(r() * 200)}",
            "billing_city": city,
            "billing_postal_code": f"{int(r() * 1e5):05d}",
            "billing_country": country,
            "status": "Active" if r() < 0.8 else "Inactive",
            "type": rng.choice(("Customer", "Partner", "Vendor")),
            "documentsIDs": documents.get(i, []),
            "watchers": watchers.get(i, []),
        }
        if r() < 0.3:
            doc |= {"shipping_street": doc["billing_street"], "shipping_city": city}
        quirk = quirk_at(i, oid)
        if quirk == "createdAt_missing":  # Q1: optional before 2024-06-12
            del doc["createdAt"]
        elif quirk == "legacy_fields":  # Q2, dropped 2023-08
            links = [contact(k) for k in (i, i + 1) if k < n_contacts]
            doc |= {"connected_contacts": links, "created_by": owner, "date_created": created}
            doc["date_last_modified"] = doc["updatedAt"]
        elif quirk == "status_free_string":  # Q8
            doc["status"] = ("active", "ACTIVE", " Inactive", "prospect")[i // 200 % 4]
        elif quirk == "type_free_string":
            doc["type"] = ("customer", "PARTNER", "Prospect ", "Reseller")[i // 200 % 4]
        elif quirk == "numbers_as_text":  # Q9
            doc |= {"annual_revenue": "1,200,000", "employees": "50-100"}
        elif quirk == "dangling_assigned_to":  # Q5
            doc["assigned_to"] = p.dangling()
        elif quirk == "dangling_industry":
            doc["industry"] = p.dangling()
        elif quirk == "dangling_createdBy":  # implicit link (§4.1)
            doc["createdBy"] = doc["updatedBy"] = p.dangling()
        elif quirk == "unicode_name":
            doc["name"] = ("Müller & Söhne GmbH", "Škoda Dílny a.s.", "株式会社さくら")[
                i // 200 % 3
            ]
        elif quirk == "email_invalid":
            doc["email"] = "not-an-email"
        yield doc


CONTACT_QUIRKS = (
    *("status_as_string", "accountsIDs_as_array", "legacy_account_only"),
    *("legacy_account_and_accountsIDs", "creator_only_created_by", "creator_fields_disagree"),
    *("cratedAt_missing", "created_on_vs_cratedAt_disagree", "birthday_day_month_year"),
    *("birthday_unparseable", "email_invalid", "first_name_too_long", "unicode_name"),
    *("emoji_description", "notes", "type_free_string", "dangling_accountsIDs"),
    *("dangling_assigned_to", "dangling_legacy_account", "tags"),
)
# Contacts-opportunities (§4.2): opportunity j links contacts 5j (and 5j+1 when j % 3 == 0), in
# the mode link_mode(j, CO_PERIOD) gives; when the sides disagree, the opportunity names 5j+3(+1)
# instead, contacts that list no opportunity. Pure arithmetic: nothing to hold in memory.
CO_PERIOD = 100


def co_partners(j: int) -> int:
    return 2 if j % 3 == 0 else 1


def mark_co_pairs(p: Plan) -> None:
    contact, opp = p.ids("crm_Contacts"), p.ids("crm_Opportunities")
    for base in range(0, p.sizes["crm_Opportunities"], CO_PERIOD):
        for j in range(base + 1, min(base + 6, p.sizes["crm_Opportunities"])):
            mode = link_mode(j, CO_PERIOD)
            quirk = f"m2m_{mode}.contacts_opportunities"
            for t in range(co_partners(j)):
                pairs = [(contact(5 * j + t), opp(j))]
                if mode == "disagree":
                    pairs.append((contact(5 * j + 3 + t), opp(j)))
                for a, b in pairs:
                    p.mark(quirk, a, b)
                    p.mark_pair(quirk, a, b)


def contacts(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("crm_Contacts"), p.stamper("crm_Contacts")
    r = rng.random
    _, user = pickers(p, "Users")
    account, n_acc = p.ids("crm_Accounts"), p.sizes["crm_Accounts"]
    opp, n_opp = p.ids("crm_Opportunities"), p.sizes["crm_Opportunities"]
    documents = p.links["contacts_documents"][0]
    quirk_at = quirks_of(p, "crm_Contacts", CONTACT_QUIRKS)
    n_first, n_last, n_dom = len(FIRST), len(LAST), len(MAIL_DOMAINS)
    for i in range(p.sizes["crm_Contacts"]):
        oid, ts = stamp(i)
        created, owner = dt(ts, UTC), user()
        fi, li, ai = int(r() * n_first), int(r() * n_last), int(r() * n_acc)
        touched = dt(ts + int(r() * 9e6), UTC)
        j, t = divmod(i, 5)
        opps: list[ObjectId] = []
        if j < n_opp and t < co_partners(j):
            mode = link_mode(j, CO_PERIOD)
            if mode != "only_b":
                opps.append(opp(j))
            if mode == "dangling":
                opps.append(p.dangling())
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "first_name": FIRST[fi],
            "last_name": LAST[li],
            "email": f"{FIRST_SLUG[fi]}.{LAST_SLUG[li]}{i % 1000}@{MAIL_DOMAINS[i % n_dom]}",
            "office_phone": phone(r),
            "mobile_phone": phone(r),
            "position": POSITIONS[i % len(POSITIONS)],
            "status": True,
            "type": ("Customer", "Partner", "Vendor", "Prospect")[int(r() * 4)],
            "tags": [],
            "notes": [],
            "assigned_to": owner,
            "created_by": owner,
            "createdBy": owner,
            "accountsIDs": account(ai),
            "opportunitiesIDs": opps,
            "documentsIDs": documents.get(i, []),
            "created_on": created,
            "cratedAt": created,
            "last_activity": touched,
            "updatedAt": touched,
        }
        if r() < 0.2:
            doc["social_linkedin"] = f"https://www.linkedin.com/in/{FIRST_SLUG[fi]}-{i}"
        if r() < 0.1:
            doc["birthday"] = f"{1 + int(r() * 28)}/{1 + int(r() * 12)}/{1950 + int(r() * 55)}"
        quirk = quirk_at(i, oid)
        if quirk is not None:
            contact_quirk(p, doc, quirk, i, account((ai + 1) % n_acc))
        yield doc


def contact_quirk(p: Plan, doc: Doc, quirk: str, i: int, other_account: ObjectId) -> None:
    """Apply one quirk; `other_account` is an existing account other than doc["accountsIDs"]."""
    if quirk == "status_as_string":  # Q1: a String until 2023-07-30
        doc["status"] = ("Active", "Inactive")[i // 200 % 2]
    elif quirk == "accountsIDs_as_array":  # Q1: briefly an array in 2023-08
        doc["accountsIDs"] = [doc["accountsIDs"], other_account][: 1 + i // 200 % 2]
    elif quirk == "legacy_account_only":  # Q2/Q5: the implicit legacy link, nothing else
        doc["account"] = doc.pop("accountsIDs")
    elif quirk == "legacy_account_and_accountsIDs":  # both set, and they differ
        doc["account"] = other_account
    elif quirk == "creator_only_created_by":  # Q6
        del doc["createdBy"]
    elif quirk == "creator_fields_disagree":
        doc["createdBy"] = p.ids("Users")(0)
        doc["created_by"] = p.ids("Users")(1)
    elif quirk == "cratedAt_missing":
        del doc["cratedAt"]
    elif quirk == "created_on_vs_cratedAt_disagree":
        doc["cratedAt"] = dt(doc["created_on"].timestamp() + 86400 * 3, UTC)
    elif quirk == "birthday_day_month_year":  # Q9: day/month/year built by concatenation
        doc["birthday"] = "7/3/1985"
    elif quirk == "birthday_unparseable":
        doc["birthday"] = "sometime in May"
    elif quirk == "email_invalid":
        doc["email"] = "not-an-email"
    elif quirk == "first_name_too_long":
        doc["first_name"] = ("Bartholomew-" * 25)[:300]
    elif quirk == "unicode_name":
        first, last = UNICODE_NAMES[i // 200 % 3]
        doc |= {"first_name": first, "last_name": last}
    elif quirk == "emoji_description":
        doc["description"] = EMOJI_TEXT
    elif quirk == "notes":  # §4.2: what the remote-lead API writes since 2024-12-12
        doc["notes"] = ["Account: Northwind Trading s.r.o.", "Message: Call me after 5 pm"]
    elif quirk == "type_free_string":  # Q8
        doc["type"] = ("customer", "PARTNER", "prospect", "Lead")[i // 200 % 4]
    elif quirk == "dangling_accountsIDs":  # Q5
        doc["accountsIDs"] = p.dangling()
    elif quirk == "dangling_assigned_to":
        doc["assigned_to"] = p.dangling()
    elif quirk == "dangling_legacy_account":
        doc["account"] = p.dangling()
    elif quirk == "tags":  # the remote-lead API writes [tag]
        doc["tags"] = ["webform", "vip"][: 1 + i // 200 % 2]


CONTRACT_QUIRKS = ("status_lowercase_string", "dangling_account", "createdAt_missing")


def contracts(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("crm_Contracts"), p.stamper("crm_Contracts")
    r = rng.random
    _, user = pickers(p, "Users")
    account, n_acc = p.ids("crm_Accounts"), p.sizes["crm_Accounts"]
    quirk_at = quirks_of(p, "crm_Contracts", CONTRACT_QUIRKS)
    for i in range(p.sizes["crm_Contracts"]):
        oid, ts = stamp(i)
        owner, status = user(), rng.choice(("NOTSTARTED", "INPROGRESS", "SIGNED"))
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "title": f"Service agreement {2023 + i % 2}/{i:04d}",
            "value": int(r() * 100) * 1000,
            "type": rng.choice(("Service", "Licence", "NDA")),
            "description": "Annual support and maintenance",
            "status": status,
            "startDate": dt(ts, UTC),
            "endDate": dt(ts + 365 * 86400, UTC),
            "renewalReminderDate": dt(ts + 335 * 86400, UTC),
            "account": account(int(r() * n_acc)),
            "assigned_to": owner,
            "createdAt": dt(ts, UTC),
            "updatedAt": dt(ts + 3600, UTC),
            "createdBy": owner,
            "updatedBy": owner,
        }
        if status == "SIGNED":
            doc |= {"customerSignedDate": dt(ts + 86400, UTC), "companySignedDate": dt(ts, UTC)}
        quirk = quirk_at(i, oid)
        if quirk == "status_lowercase_string":  # Q1: a String in early 2024-06
            doc["status"] = ("signed", "inprogress", "not started")[i // 200 % 3]
        elif quirk == "dangling_account":
            doc["account"] = p.dangling()
        elif quirk == "createdAt_missing":
            del doc["createdAt"]
        yield doc
