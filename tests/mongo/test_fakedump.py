"""The fake NextCRM dump (migrations_mongo.fakedump), read back from its files: every collection
with mongodump's metadata, counts as the manifest says, the same bytes for the same seed, and
each quirk the manifest names really present in the documents it names. No database needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from bson import ObjectId

from migrations_mongo.fakedump import (
    MANIFEST_NAME,
    PASSWORD,
    generate_dump,
    sizes_for,
    write_collection,
)
from tests.mongo.fakedump_checks import (
    ALL_COLLECTIONS,
    CHECKS,
    LINKS,
    MODES,
    NO_VERSION,
    Dump,
    link_pairs,
    read,
)


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Dump:
    directory = tmp_path_factory.mktemp("fakedump")
    manifest = generate_dump(directory)
    docs = {name: read(directory, name) for name in ALL_COLLECTIONS}
    by_id = {d["_id"]: (name, d) for name, rows in docs.items() for d in rows}
    return Dump(directory, manifest, docs, by_id)


def test_every_collection_has_its_bson_and_metadata(dump: Dump) -> None:
    assert len(ALL_COLLECTIONS) == 29 + 1  # the schema's 29 models and the old crm_campains
    names = {p.name.removesuffix(".bson") for p in dump.directory.glob("*.bson")}
    assert names == ALL_COLLECTIONS
    for name in ALL_COLLECTIONS:
        meta = json.loads((dump.directory / f"{name}.metadata.json").read_text())
        assert meta["collectionName"] == name
        assert meta["type"] == "collection"
        assert len(meta["uuid"]) == 32
        int(meta["uuid"], 16)
        assert meta["indexes"][0] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
        assert len(meta["indexes"]) == (2 if name == "Users" else 1)
    users_meta = json.loads((dump.directory / "Users.metadata.json").read_text())
    assert users_meta["indexes"][1]["key"] == {"email": 1}
    assert users_meta["indexes"][1]["unique"] is True


def test_counts_match_the_manifest_and_scale_with_contacts(dump: Dump) -> None:
    assert dump.manifest["counts"] == {name: len(rows) for name, rows in dump.docs.items()}
    assert json.loads((dump.directory / MANIFEST_NAME).read_text()) == dump.manifest
    counts = dump.manifest["counts"]
    assert counts["ImageUpload"] == 0  # an empty collection, on purpose
    assert (counts["crm_Contacts"], counts["crm_Accounts"], counts["Users"]) == (200, 20, 5)
    assert (counts["crm_Leads"], counts["crm_Opportunities"]) == (40, 40)
    assert all(counts[name] > 0 for name in ALL_COLLECTIONS - {"ImageUpload"})
    big = sizes_for(1_000_000)
    assert (big["crm_Accounts"], big["crm_Leads"], big["crm_Opportunities"]) == (
        100_000,
        200_000,
        200_000,
    )
    assert (big["crm_Contracts"], big["Users"]) == (20_000, 200)
    assert sizes_for(0)["crm_Accounts"] == 3


def test_small_sizes_generate_and_110_contacts_carry_every_quirk(
    tmp_path: Path, dump: Dump
) -> None:
    for contacts in (0, 7):
        manifest = generate_dump(tmp_path / str(contacts), contacts=contacts)
        assert manifest["counts"]["crm_Contacts"] == contacts
    assert generate_dump(tmp_path / "110", contacts=110)["quirks"].keys() == (
        dump.manifest["quirks"].keys()
    )


def test_lookups_are_seeded_as_upstream(dump: Dump) -> None:
    names = lambda c: [d["name"] for d in dump.docs[c]]  # noqa: E731
    assert names("crm_Industry_Type") == ["Public sector", "Other", "SW Development"]
    stages = dump.docs["crm_Opportunities_Sales_Stages"]
    assert len(stages) == 9
    assert (stages[0]["name"], stages[0]["probability"]) == ("New", 10)
    assert (stages[-1]["name"], stages[-1]["probability"]) == ("Realization of the project", 100)
    assert [s["order"] for s in stages] == [0, 0] + [None] * 7
    assert sorted(names("crm_Opportunities_Type")) == [
        *("Business from partners", "Cross sale", "New deal", "Upsale"),
    ]
    assert names("crm_campaigns") == ["Social networks", "Cold calls"]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def files(directory: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}

    for gz in (False, True):
        first = generate_dump(tmp_path / f"a{gz}", seed=7, gz=gz)
        second = generate_dump(tmp_path / f"b{gz}", seed=7, gz=gz)
        assert first == second
        assert files(tmp_path / f"a{gz}") == files(tmp_path / f"b{gz}")
    generate_dump(tmp_path / "other", seed=8)
    other, same = files(tmp_path / "other"), files(tmp_path / "aFalse")
    assert other["crm_Contacts.bson"] != same["crm_Contacts.bson"]


def test_gzip_dump_holds_the_same_documents(tmp_path: Path, dump: Dump) -> None:
    manifest = generate_dump(tmp_path, gz=True)
    assert manifest == dump.manifest
    assert not list(tmp_path.glob("*.bson"))
    for name in ALL_COLLECTIONS:
        assert read(tmp_path, name) == dump.docs[name]


def test_write_collection_streams_hand_made_documents(tmp_path: Path) -> None:
    def docs() -> Iterator[dict[str, Any]]:
        for k in range(3):
            yield {"_id": ObjectId(f"{k:024x}"), "name": f"Zoë {k}", "tags": ["a", {"b": k}]}

    for gz in (False, True):
        folder = tmp_path / str(gz)
        assert write_collection(folder, "crm_Contacts", docs(), gz=gz) == 3
        assert read(folder, "crm_Contacts") == list(docs())
        assert (folder / "crm_Contacts.metadata.json").exists()
    assert write_collection(tmp_path, "ImageUpload", iter(())) == 0
    assert (tmp_path / "ImageUpload.bson").read_bytes() == b""


def test_stored_field_names_and_versions(dump: Dump) -> None:
    for name, rows in dump.docs.items():
        for d in rows:
            assert "id" not in d and "v" not in d  # stored as _id and __v (§3)
            assert ("__v" in d) == (name not in NO_VERSION), name
    contact, lead = dump.docs["crm_Contacts"][0], dump.docs["crm_Leads"][0]
    assert {"first_name", "last_name", "cratedAt", "created_on", "accountsIDs"} <= contact.keys()
    assert {"firstName", "lastName", "refered_by"} <= lead.keys()
    assert isinstance(contact["accountsIDs"], ObjectId)
    assert isinstance(contact["status"], bool)
    account = dump.docs["crm_Accounts"][0]
    assert account["createdAt"] == account["_id"].generation_time  # Q14: the id holds the date
    for name in ("crm_Accounts", "crm_Contacts", "crm_Opportunities", "Tasks"):
        created = [d["_id"].generation_time.year for d in dump.docs[name]]
        assert set(created) <= {2023, 2024}


def _object_ids(value: Any) -> Iterator[ObjectId]:
    if isinstance(value, ObjectId):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _object_ids(item)


def test_ids_are_unique_and_only_marked_documents_dangle(dump: Dump) -> None:
    assert len(dump.by_id) == sum(len(rows) for rows in dump.docs.values())
    dangling_docs = {
        oid for quirk, ids in dump.manifest["quirks"].items() if "dangling" in quirk for oid in ids
    }
    for rows in dump.docs.values():
        for d in rows:
            refs = [oid for k, v in d.items() if k != "_id" for oid in _object_ids(v)]
            if any(oid not in dump.by_id for oid in refs):
                assert str(d["_id"]) in dangling_docs, d


def test_every_quirk_is_present_and_really_in_its_documents(dump: Dump) -> None:
    quirks = dump.manifest["quirks"]
    link_quirks = {f"m2m_{mode}.{link}" for link in LINKS for mode in MODES}
    link_quirks -= {f"m2m_{m}.crm_tasks_documents" for m in MODES if m != "only_b"}
    assert set(quirks) == set(CHECKS) | link_quirks
    for quirk, ids in quirks.items():
        assert ids, quirk
        if quirk.startswith("m2m_"):
            continue  # test_link_quirks
        collection, _ = quirk.split(".")
        for hex_id in ids:
            assert dump.collection_of(ObjectId(hex_id)) == collection, (quirk, hex_id)
            assert CHECKS[quirk](dump.doc(hex_id), dump), (quirk, hex_id)


@pytest.mark.parametrize("link", sorted(LINKS))
def test_link_quirks(dump: Dump, link: str) -> None:
    from_a, from_b = link_pairs(dump, link)
    pairs = {
        mode: {
            (ObjectId(a), ObjectId(b))
            for a, b in dump.manifest["pairs"].get(f"m2m_{mode}.{link}", [])
        }
        for mode in MODES
    }
    assert all(p in from_a and p not in from_b for p in pairs["only_a"])
    assert all(p in from_b and p not in from_a for p in pairs["only_b"])
    assert all(p in from_a and p in from_b for p in pairs["both_sides"] | pairs["dangling"])
    a_only = {p for p in pairs["disagree"] if p in from_a and p not in from_b}
    b_only = {p for p in pairs["disagree"] if p in from_b and p not in from_a}
    assert a_only | b_only == pairs["disagree"]
    assert len(a_only) == len(b_only)  # each B names another A than the A naming it
    # Every other pair is stored on both sides: the one-sided ones are exactly those named.
    assert from_a ^ from_b == pairs["only_a"] | pairs["only_b"] | pairs["disagree"]
    for a, b in pairs["dangling"]:
        a_doc, b_doc = dump.by_id[a][1], dump.by_id[b][1]
        a_field, b_field = LINKS[link][1], LINKS[link][3]
        assert any(x not in dump.by_id for x in a_doc[a_field])
        assert any(x not in dump.by_id for x in b_doc[b_field])


def test_users_sign_in_with_the_known_password(dump: Dump) -> None:
    assert dump.manifest["password"] == PASSWORD
    users = dump.docs["Users"]
    hashed = [u for u in users if u.get("password")]
    assert len(hashed) == len(users) - 1  # one OAuth-only user has none
    for user in hashed:
        assert bcrypt.checkpw(PASSWORD.encode(), user["password"].encode())
        assert not bcrypt.checkpw(b"wrong", user["password"].encode())
    assert {u["password"][:4] for u in hashed} == {"$2a$", "$2b$"}
