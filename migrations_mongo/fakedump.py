"""A NextCRM-shaped `mongodump` folder written with pymongo's `bson`: the fixture of the
`migrate_from_mongo` tests and the input of its benchmark (issue #6).

Shapes follow ../shared/nextcrm-mongo-schema.md: all 29 collections (plus the old
`crm_campains`), stored field names as upstream stores them, and every quirk of its sections 4
and 6 on a small, deterministic share of documents.

Everything derives from the seed. ObjectIds are not drawn at random but built from (timestamp,
collection tag, seed salt, index), so any document's id can be recomputed from its index: one
collection references another, and both sides of a many-to-many link agree, without either being
held in memory. Only the small link tables (documents, watchers) are planned up front.

`fakedump-manifest.json` (which the importer ignores: it is not a .bson file) names the
documents carrying each quirk. Every list is complete except `m2m_both_sides.*`, a sample:
both-sided links are the norm, and listing them all would be as big as the dump.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import struct
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import bson
from bson import ObjectId

# The plaintext of every generated user's bcrypt hash, so tests can sign in as them.
PASSWORD = "nextcrm-password"  # noqa: S105
MANIFEST_NAME = "fakedump-manifest.json"

# ObjectId timestamps (and so creation dates) are spread evenly over 2023-2024 by index.
T0 = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())
SPAN = int(datetime(2024, 12, 31, tzinfo=UTC).timestamp()) - T0

# The fifth byte of every generated ObjectId: ids never collide across collections, and
# DANGLING_TAG marks ids that exist in no collection at all (quirk Q5).
COLLECTIONS = (
    "crm_Industry_Type",
    "crm_Opportunities_Sales_Stages",
    "crm_Opportunities_Type",
    "crm_campaigns",
    "Documents_Types",
    "invoice_States",
    "system_Modules_Enabled",
    "modulStatus",
    "systemServices",
    "gpt_models",
    "Users",
    "MyAccount",
    "Employees",
    "ImageUpload",
    "TodoList",
    "crm_Accounts",
    "crm_Contacts",
    "crm_Leads",
    "crm_Opportunities",
    "crm_Contracts",
    "Boards",
    "Sections",
    "Tasks",
    "crm_Accounts_Tasks",
    "tasksComments",
    "Documents",
    "Invoices",
    "secondBrain_notions",
    "openAi_keys",
    "crm_campains",  # the pre-2023-10 misspelling (§1.2): an old database may still have it
)
TAGS = {name: tag for tag, name in enumerate(COLLECTIONS, start=1)}
DANGLING_TAG = 0xFF
_OID = struct.Struct(">I4sI")

# Quirks land on documents whose index modulo PERIOD is 1..len(quirks): index 0 stays a clean
# reference document, and at 1M contacts each quirk covers 0.5 % of the collection.
PERIOD = 200
# Link modes (§4.2, Q4) by pair number modulo a link's period; every other pair is both-sided.
LINK_MODES = ("only_a", "only_b", "disagree", "both_sides", "dangling")


def write_collection(
    directory: Path, name: str, docs: Iterable[dict[str, Any]], *, gz: bool = False
) -> int:
    """Write `<name>.bson` (or `.bson.gz`) document by document, plus mongodump's
    `<name>.metadata.json`; return how many documents were written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.bson{'.gz' if gz else ''}"
    encode = bson.encode
    count = 0
    with open(path, "wb", buffering=1 << 20) as raw:
        # mtime=0 and no file name in the gzip header: the same documents give the same bytes.
        stream: BinaryIO = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
            if gz
            else raw
        )
        with stream:
            for doc in docs:
                stream.write(encode(doc))
                count += 1
    write_metadata(directory, name)
    return count


def write_metadata(directory: Path, name: str) -> None:
    indexes: list[dict[str, Any]] = [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]
    if name == "Users":  # the only @unique in the Mongo schema (§3)
        indexes.append({"v": 2, "unique": True, "key": {"email": 1}, "name": "Users_email_key"})
    meta = {
        "indexes": indexes,
        # mongodump copies the server's collection UUID; a hash of the name keeps it stable.
        "uuid": hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(),
        "collectionName": name,
        "type": "collection",
    }
    (directory / f"{name}.metadata.json").write_text(
        json.dumps(meta, separators=(",", ":")), encoding="utf-8"
    )


FIXED_SIZES = {  # must match the rows of fakedump_aux
    **dict.fromkeys(("crm_Industry_Type", "gpt_models", "systemServices", "modulStatus"), 3),
    "crm_Opportunities_Sales_Stages": 9,
    "crm_Opportunities_Type": 4,
    **dict.fromkeys(("crm_campaigns", "crm_campains", "openAi_keys", "secondBrain_notions"), 2),
    "Documents_Types": 5,
    "invoice_States": 4,
    "system_Modules_Enabled": 10,
    **dict.fromkeys(("MyAccount", "TodoList"), 1),
    "Employees": 5,
    "ImageUpload": 0,
}


def sizes_for(contacts: int) -> dict[str, int]:
    """Collection sizes proportional to `contacts`. The small collections have floors so that
    each carries every one of its quirks (one slot per quirk, see PERIOD); the big ones follow
    `contacts` alone, so every quirk is present from contacts=110 up (the default is 200)."""
    c = max(0, contacts)
    boards = max(6, min(40, c // 5000))
    tasks = 12 * boards
    crm_tasks = max(8, min(1000, c // 200))
    return {
        **FIXED_SIZES,
        "Users": max(5, min(200, c // 1000)),
        "crm_Accounts": max(3, c // 10),
        "crm_Contacts": c,
        "crm_Leads": c // 5,
        "crm_Opportunities": c // 5,
        "crm_Contracts": max(4, c // 50),
        "Boards": boards,
        "Sections": 3 * boards + 1,  # the last one sits on a board that does not exist
        "Tasks": tasks,
        "crm_Accounts_Tasks": crm_tasks,
        "tasksComments": tasks // 2 + crm_tasks // 2 + 1,
        "Documents": max(16, min(2000, c // 500)),
        "Invoices": max(10, min(500, c // 2000)),
    }


def slot_table(quirks: tuple[str, ...], period: int = PERIOD) -> list[str | None]:
    """Which quirk (if any) a document carries, indexed by its index modulo the table length."""
    return [None, *quirks, *([None] * max(0, period - len(quirks) - 1))]


class Plan:
    """One generate_dump run: sizes, id makers, the planned link tables and the manifest."""

    def __init__(self, seed: int, sizes: dict[str, int]) -> None:
        self.seed = seed
        self.sizes = sizes
        self._salt = hashlib.sha256(f"fakedump:{seed}".encode()).digest()[:3]
        self._dangling = 0
        self.quirks: dict[str, list[str]] = {}
        self.pairs: dict[str, list[list[str]]] = {}
        # link name -> (side A index -> ids in A's array, side B index -> ids in B's array)
        self.links: dict[str, tuple[dict[int, list[ObjectId]], dict[int, list[ObjectId]]]] = {}

    def rng(self, name: str) -> random.Random:
        # One generator per collection: adding a field to one collection leaves the others'
        # bytes unchanged (str seeds hash with sha512: stable across processes).
        return random.Random(f"{self.seed}:{name}")

    def stamper(self, name: str) -> Callable[[int], tuple[ObjectId, int]]:
        """index -> (ObjectId, its unix timestamp) for collection `name`."""
        n = max(self.sizes.get(name, 1), 1)
        middle = bytes([TAGS[name]]) + self._salt
        pack = _OID.pack

        def make(i: int) -> tuple[ObjectId, int]:
            ts = T0 + i * SPAN // n
            return ObjectId(pack(ts, middle, i)), ts

        return make

    def ids(self, name: str) -> Callable[[int], ObjectId]:
        stamp = self.stamper(name)
        return lambda i: stamp(i)[0]

    def dangling(self) -> ObjectId:
        """A fresh ObjectId that exists in no collection (quirk Q5)."""
        self._dangling += 1
        middle = bytes([DANGLING_TAG]) + self._salt
        return ObjectId(_OID.pack(T0 + self._dangling * 3607, middle, self._dangling))

    def mark(self, quirk: str, *oids: ObjectId) -> None:
        self.quirks.setdefault(quirk, []).extend(str(oid) for oid in oids)

    def mark_pair(self, quirk: str, a: ObjectId, b: ObjectId) -> None:
        self.pairs.setdefault(quirk, []).append([str(a), str(b)])


def link_mode(k: int, period: int) -> str:
    slot = k % period
    return LINK_MODES[slot - 1] if 1 <= slot <= len(LINK_MODES) else "both"


class Link:
    """Plans one many-to-many link (§4.2): pairs are collected with their mode (by pair number),
    then `finish` fills what each side's array holds and the manifest entries
    (`m2m_<mode>.<link>`, and under `pairs` the pairs the union of both sides must yield)."""

    def __init__(
        self, plan: Plan, name: str, a_name: str, b_name: str, avoid: frozenset[int] = frozenset()
    ) -> None:
        self.plan, self.name, self.n_a, self.avoid = plan, name, plan.sizes[a_name], avoid
        self.a_id, self.b_id = plan.ids(a_name), plan.ids(b_name)
        self.a: dict[int, list[ObjectId]] = {}
        self.b: dict[int, list[ObjectId]] = {}
        self._planned: list[tuple[str, int, int]] = []
        plan.links[name] = (self.a, self.b)

    def add(self, mode: str, ai: int, bi: int) -> None:
        self._planned.append((mode, ai, bi))

    def finish(self) -> None:
        taken = {(ai, bi) for _, ai, bi in self._planned}
        for mode, ai, bi in self._planned:
            a_oid, b_oid = self.a_id(ai), self.b_id(bi)
            if mode != "only_b":
                self.a.setdefault(ai, []).append(b_oid)
            if mode in ("both", "only_b", "both_sides", "dangling"):
                self.b.setdefault(bi, []).append(a_oid)
            if mode == "both":
                continue
            quirk = f"m2m_{mode}.{self.name}"
            self.plan.mark(quirk, a_oid, b_oid)
            self.plan.mark_pair(quirk, a_oid, b_oid)
            if mode == "disagree":
                # B names another A document instead, one that has no link to B at all.
                alt = (ai + 1) % self.n_a
                while (alt, bi) in taken or alt in self.avoid:
                    alt = (alt + 1) % self.n_a
                taken.add((alt, bi))
                alt_oid = self.a_id(alt)
                self.b.setdefault(bi, []).append(alt_oid)
                self.plan.mark(quirk, alt_oid)
                self.plan.mark_pair(quirk, alt_oid, b_oid)
            elif mode == "dangling":  # ids that resolve nowhere, on both sides (drop and log)
                self.a[ai].append(self.plan.dangling())
                self.b[bi].append(self.plan.dangling())


def plan_links(plan: Plan) -> None:
    """The link tables of every link but contacts-opportunities, whose pairs follow from
    indexes alone (fakedump_docs.co_partners): at 1M contacts it is too big to plan."""
    sizes, rng = plan.sizes, plan.rng("links")
    n_docs = sizes["Documents"]
    json_invoices = json_invoice_indexes(sizes["Invoices"])
    doc_links = (
        ("accounts_documents", "crm_Accounts"),
        ("leads_documents", "crm_Leads"),
        ("contacts_documents", "crm_Contacts"),
        ("opportunities_documents", "crm_Opportunities"),
        ("invoices_documents", "Invoices"),
        ("tasks_documents", "Tasks"),
        ("crm_tasks_documents", "crm_Accounts_Tasks"),
    )
    period = max(len(LINK_MODES) + 1, n_docs // 20)
    for name, a_name in doc_links:
        # Invoices whose connected_documents is legacy Json take no part in the link.
        avoid = json_invoices if a_name == "Invoices" else frozenset()
        n_a, link = sizes[a_name], Link(plan, name, a_name, "Documents", avoid)
        for d in range(n_docs if n_a >= 2 else 0):
            ai = rng.randrange(n_a)
            while ai in avoid:
                ai = (ai + 1) % n_a
            # crm_Accounts_Tasks has no array of its own: its links exist only on Documents.
            link.add("only_b" if a_name == "crm_Accounts_Tasks" else link_mode(d, period), ai, d)
        link.finish()
    # Watchers: a tenth of the accounts with one user each; every board with two users.
    n_acc, n_users = sizes["crm_Accounts"], sizes["Users"]
    watched = max(min(n_acc, 12), n_acc // 10)
    step, link = max(1, n_acc // watched), Link(plan, "account_watchers", "crm_Accounts", "Users")
    for k in range(watched):
        link.add(link_mode(k, max(6, watched // 50)), k * step, k % n_users)
    link.finish()
    n_boards = sizes["Boards"]
    link = Link(plan, "board_watchers", "Boards", "Users")
    for k in range(2 * n_boards):
        link.add(link_mode(k, 6), k // 2, (k // 2 + k % 2) % n_users)
    link.finish()
    from migrations_mongo.fakedump_docs import mark_co_pairs

    mark_co_pairs(plan)


def json_invoice_indexes(n_invoices: int) -> frozenset[int]:
    from migrations_mongo.fakedump_deals import INVOICE_QUIRKS

    table = slot_table(INVOICE_QUIRKS)
    json_form = "connected_documents_json"
    return frozenset(i for i in range(n_invoices) if table[i % len(table)] == json_form)


def generate_dump(
    directory: Path, *, contacts: int = 200, seed: int = 0, gz: bool = False
) -> dict[str, Any]:
    """Write a whole NextCRM database as mongodump files in `directory`, and return (and write
    as fakedump-manifest.json) its counts, the documents carrying each quirk, and the password
    of every generated user."""
    from migrations_mongo import fakedump_aux, fakedump_deals, fakedump_docs, fakedump_more

    directory = Path(directory)
    plan = Plan(seed, sizes_for(contacts))
    plan_links(plan)
    builders: list[tuple[str, Callable[[Plan], Iterator[dict[str, Any]]]]] = [
        *fakedump_aux.LOOKUPS,
        *fakedump_aux.AUXILIARY,
        ("Users", fakedump_more.users),
        ("crm_Accounts", fakedump_docs.accounts),
        ("crm_Contacts", fakedump_docs.contacts),
        ("crm_Leads", fakedump_deals.leads),
        ("crm_Opportunities", fakedump_deals.opportunities),
        ("crm_Contracts", fakedump_docs.contracts),
        ("Boards", fakedump_more.boards),
        ("Sections", fakedump_more.sections),
        ("Tasks", fakedump_more.tasks),
        ("crm_Accounts_Tasks", fakedump_more.crm_tasks),
        ("tasksComments", fakedump_more.comments),
        ("Documents", fakedump_deals.documents),
        ("Invoices", fakedump_deals.invoices),
    ]
    counts = {
        name: write_collection(directory, name, build(plan), gz=gz) for name, build in builders
    }
    for name in counts:  # a fixed-size collection whose rows no longer match its size
        if counts[name] != plan.sizes[name]:
            raise AssertionError(
                f"{name}: {counts[name]} documents written, sized {plan.sizes[name]}"
            )
    manifest = {
        "counts": dict(sorted(counts.items())),
        "quirks": dict(sorted(plan.quirks.items())),
        "pairs": dict(sorted(plan.pairs.items())),
        "password": PASSWORD,
    }
    (directory / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    return manifest
