"""Document builders of the fake NextCRM dump: users, and the project collections (boards,
sections, tasks, CRM tasks, comments). See fakedump_docs for the conventions."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC

import bcrypt

from migrations_mongo.fakedump import PASSWORD, Plan
from migrations_mongo.fakedump_docs import (
    EMOJI_TEXT,
    FIRST,
    FIRST_SLUG,
    LAST,
    LAST_SLUG,
    Doc,
    dt,
    pickers,
    quirks_of,
)

# bcrypt's own base64 alphabet, for salts drawn from the seeded generator: bcrypt.gensalt()
# reads the OS's randomness, and then the same seed would not give the same bytes.
_B64 = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
)

# Slot 4 copies user i-4's email with other letter case: two users differing only by case.
USER_QUIRKS = (
    "password_bcrypt_2a",
    "password_null_oauth",
    "email_missing",
    "email_case_duplicate",
)


def bcrypt_hash(salt16: bytes) -> str:
    """NextCRM's bcryptjs hash of PASSWORD, at cost 4 (upstream used 10-12: slow to generate,
    and the cost is carried in the hash, so the importer cannot tell the difference)."""
    salt = b"$2b$04$" + base64.b64encode(salt16)[:22].translate(_B64)
    return bcrypt.hashpw(PASSWORD.encode(), salt).decode()


def user_email(i: int) -> str:
    fi, li = i % len(FIRST), i * 7 % len(LAST)
    return f"{FIRST_SLUG[fi]}.{LAST_SLUG[li]}{i}@nextcrm-customer.com"


def users(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("Users"), p.stamper("Users")
    r = rng.random
    boards, accounts = p.links["board_watchers"][1], p.links["account_watchers"][1]
    quirk_at = quirks_of(p, "Users", USER_QUIRKS)
    for i in range(p.sizes["Users"]):
        oid, ts = stamp(i)
        fi, li = i % len(FIRST), i * 7 % len(LAST)
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "email": user_email(i),
            "name": f"{FIRST[fi]} {LAST[li]}",
            "username": f"{FIRST_SLUG[fi]}{i}",
            "account_name": "NextCRM Customer s.r.o.",
            "avatar": f"https://avatars.githubusercontent.com/u/{100000 + i}",
            "password": bcrypt_hash(rng.randbytes(16)),
            "is_admin": i == 0,
            "is_account_admin": i % 10 == 1,
            "userStatus": "ACTIVE" if r() < 0.9 else rng.choice(("PENDING", "INACTIVE")),
            "userLanguage": rng.choice(("en", "en", "cz", "de", "uk")),
            "created_on": dt(ts, UTC),
            "lastLoginAt": dt(ts + int(r() * 3e7), UTC),
            "watching_boardsIDs": boards.get(i, []),
            "watching_accountsIDs": accounts.get(i, []),
        }
        quirk = quirk_at(i, oid)
        if quirk == "password_bcrypt_2a":  # Q11: what bcryptjs writes; same algorithm as $2b$
            doc["password"] = "$2a$" + doc["password"][4:]
        elif quirk == "password_null_oauth":  # Q11: a Google or GitHub sign-in
            doc["password"] = None
        elif quirk == "email_missing":  # Q1: optional until 2023-08-07
            del doc["email"]
        elif quirk == "email_case_duplicate":
            doc["email"] = user_email(i - 4).capitalize()
            p.mark("Users.email_case_duplicate", p.ids("Users")(i - 4))
        if quirk is None or quirk.startswith("email"):
            p.mark("Users.password_bcrypt_2b", oid)
        yield doc


BOARD_QUIRKS = (
    *("legacy_fields", "dangling_user", "visibility_free_string", "sharedWith_dangling"),
    "sharedWith_duplicate",
)


def boards(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("Boards"), p.stamper("Boards")
    users, user = pickers(p, "Users")
    watchers = p.links["board_watchers"][0]
    quirk_at = quirks_of(p, "Boards", BOARD_QUIRKS)
    for b in range(p.sizes["Boards"]):
        oid, ts = stamp(b)
        owner, created = user(), dt(ts, UTC)
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "title": rng.choice(("Website relaunch", "Q3 onboarding", "ERP migration", "Expo")),
            "description": "Kanban board of the project team",
            "icon": rng.choice(("🚀", "📁", "")),
            "visibility": rng.choice(("public", "private")),
            "favourite": b % 3 == 0,
            "favouritePosition": b,
            "position": b,
            "user": owner,
            "sharedWith": [users[(b + 1) % len(users)]],
            "watchers": watchers.get(b, []),
            "createdAt": created,
            "updatedAt": dt(ts + 86400, UTC),
            "createdBy": owner,
            "updatedBy": owner,
        }
        quirk = quirk_at(b, oid)
        if quirk == "legacy_fields":  # Q2, dropped 2024-02
            doc |= {"date_created": created, "last_edited": doc["updatedAt"]}
        elif quirk == "dangling_user":  # Q5: a required owner that does not exist
            doc["user"] = p.dangling()
        elif quirk == "visibility_free_string":  # Q8
            doc["visibility"] = ("Public", "PRIVATE", "team")[b // 200 % 3]
        elif quirk == "sharedWith_dangling":
            doc["sharedWith"] = [*doc["sharedWith"], p.dangling()]
        elif quirk == "sharedWith_duplicate":
            doc["sharedWith"] = [users[0], users[0], users[1 % len(users)]]
        yield doc


def sections(p: Plan) -> Iterator[Doc]:
    """Three columns per board; the last section's board does not exist (Q5)."""
    stamp, board = p.stamper("Sections"), p.ids("Boards")
    n = p.sizes["Sections"]
    for s in range(n):
        oid, _ = stamp(s)
        orphan = s == n - 1
        if orphan:
            p.mark("Sections.dangling_board", oid)
        title = ("Backlog", "In progress", "Done")[s % 3]
        yield {
            "_id": oid,
            "__v": 0,
            "board": p.dangling() if orphan else board(s // 3),
            "title": title,
            "position": s % 3,
        }


TASK_QUIRKS = (
    *("legacy_fields", "section_missing", "priority_free_string", "tags_json_list"),
    *("tags_json_object", "dangling_section", "dangling_user", "emoji_content"),
)
PRIORITIES = ("low", "medium", "high", "critical")
ODD_PRIORITIES = ("High", "URGENT", "Medium ", "")


def tasks(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("Tasks"), p.stamper("Tasks")
    r = rng.random
    _, user = pickers(p, "Users")
    section = p.ids("Sections")
    account, contact, opp = (
        p.ids("crm_Accounts"),
        p.ids("crm_Contacts"),
        p.ids("crm_Opportunities"),
    )
    documents = p.links["tasks_documents"][0]
    quirk_at = quirks_of(p, "Tasks", TASK_QUIRKS)
    for i in range(p.sizes["Tasks"]):
        oid, ts = stamp(i)
        owner, edited = user(), dt(ts + int(r() * 9e5), UTC)
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "title": rng.choice(
                ("Prepare offer", "Fix login page", "Call supplier", "Write spec")
            ),
            "content": "See the attached document.",
            "priority": PRIORITIES[int(r() * 4)],
            "position": i % 4,
            "likes": int(r() * 3),
            "taskStatus": rng.choice(("ACTIVE", "PENDING", "COMPLETE")),
            "section": section(i // 4),
            "user": owner,
            "documentIDs": documents.get(i, []),
            "dueDateAt": dt(ts + 14 * 86400, UTC),
            "lastEditedAt": edited,
            "createdAt": dt(ts, UTC),
            "updatedAt": edited,
            "createdBy": owner,
            "updatedBy": owner,
        }
        quirk = quirk_at(i, oid)
        if quirk == "legacy_fields":  # Q2: plain Strings, dropped 2023-09
            doc |= {
                "account": str(account(0)),
                "contact": str(contact(0)),
                "opportunity": str(opp(0)),
            }
        elif quirk == "section_missing":  # optional since 2023-08-27
            del doc["section"]
        elif quirk == "priority_free_string":  # Q8
            doc["priority"] = ODD_PRIORITIES[i // 200 % 4]
        elif quirk == "tags_json_list":  # Q10: Json, no schema
            doc["tags"] = ["backend", "urgent"]
        elif quirk == "tags_json_object":
            doc["tags"] = {"labels": [{"name": "bug", "color": "#ff0000"}]}
        elif quirk == "dangling_section":  # Q5
            doc["section"] = p.dangling()
        elif quirk == "dangling_user":
            doc["user"] = p.dangling()
        elif quirk == "emoji_content":
            doc["content"] = EMOJI_TEXT
        yield doc


CRM_TASK_QUIRKS = (
    *("tags_json_object", "priority_free_string", "dangling_account", "dangling_user"),
    "taskStatus_missing",
)


def crm_tasks(p: Plan) -> Iterator[Doc]:
    rng, stamp = p.rng("crm_Accounts_Tasks"), p.stamper("crm_Accounts_Tasks")
    r = rng.random
    _, user = pickers(p, "Users")
    account, n_acc = p.ids("crm_Accounts"), p.sizes["crm_Accounts"]
    quirk_at = quirks_of(p, "crm_Accounts_Tasks", CRM_TASK_QUIRKS)
    for i in range(p.sizes["crm_Accounts_Tasks"]):
        oid, ts = stamp(i)
        owner = user()
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "title": rng.choice(("Send contract", "Quarterly review", "Renewal call")),
            "priority": PRIORITIES[int(r() * 4)],
            "content": "Agreed on the last call.",
            "likes": 0,
            "taskStatus": rng.choice(("ACTIVE", "PENDING", "COMPLETE")),
            "dueDateAt": dt(ts + 7 * 86400, UTC),
            "createdAt": dt(ts, UTC),
            "updatedAt": dt(ts + 3600, UTC),
            "createdBy": owner,
            "updatedBy": owner,
            "user": owner,
            "account": account(int(r() * n_acc)),
        }
        quirk = quirk_at(i, oid)
        if quirk == "tags_json_object":  # Q10
            doc["tags"] = {"source": "import", "labels": ["renewal"]}
        elif quirk == "priority_free_string":  # Q8
            doc["priority"] = ODD_PRIORITIES[i // 200 % 4]
        elif quirk == "dangling_account":  # Q5
            doc["account"] = p.dangling()
        elif quirk == "dangling_user":
            doc["user"] = p.dangling()
        elif quirk == "taskStatus_missing":
            del doc["taskStatus"]
        yield doc


def comments(p: Plan) -> Iterator[Doc]:
    """On every other project task, then on every other CRM task the way the app saves them
    (Q3: the CRM task's id in `task`, `assigned_crm_account_task` unset; a quarter with it set
    as well), then one whose task and user exist nowhere (Q5)."""
    rng, stamp = p.rng("tasksComments"), p.stamper("tasksComments")
    _, user = pickers(p, "Users")
    task, crm_task = p.ids("Tasks"), p.ids("crm_Accounts_Tasks")
    on_tasks = p.sizes["Tasks"] // 2
    on_crm = p.sizes["crm_Accounts_Tasks"] // 2
    for k in range(p.sizes["tasksComments"]):
        oid, ts = stamp(k)
        doc: Doc = {
            "_id": oid,
            "__v": 0,
            "comment": rng.choice(("Done, please check.", "Waiting for the client 🙏", "👍")),
            "createdAt": dt(ts, UTC),
            "user": user(),
        }
        if k < on_tasks:
            doc["task"] = task(2 * k)
        elif k < on_tasks + on_crm:
            m = k - on_tasks
            doc["task"] = crm_task(2 * m)
            if m % 4 == 3:
                doc["assigned_crm_account_task"] = doc["task"]
                p.mark("tasksComments.task_is_crm_task_and_assigned", oid)
            else:
                p.mark("tasksComments.task_is_crm_task", oid)
        else:
            doc |= {"task": p.dangling(), "user": p.dangling()}
            p.mark("tasksComments.dangling_task_and_user", oid)
        yield doc
