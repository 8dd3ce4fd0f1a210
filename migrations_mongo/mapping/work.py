"""Project boards, their sections and tasks, CRM tasks (crm_Accounts_Tasks) and comments."""

from __future__ import annotations

from typing import Any

from migrations_mongo import convert
from migrations_mongo.document import Doc, Skip

from .common import choice, record, required_text, tags
from .spec import Spec

PRIORITIES = {
    "low": "low",
    "normal": "medium",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
    "urgent": "critical",
}
TASK_STATUSES = {
    "active": "open",
    "open": "open",
    "todo": "open",
    "pending": "in_progress",
    "inprogress": "in_progress",
    "complete": "done",
    "completed": "done",
    "done": "done",
}
VISIBILITIES = {"public": "public", "private": "private", "team": "team", "shared": "team"}


def board(doc: Doc) -> dict[str, Any]:
    row = record(
        doc,
        owner=("user",),
        created=("createdAt", "date_created"),
        updated=("updatedAt", "last_edited"),
        customizable=False,
    )
    if row["owner_id"] is None:
        # Boards.user is required (Q5): an ownerless board stays, visible to admins, who can
        # give it an owner; it is logged like any dangling reference.
        doc.warn("user", "board has no owner in minicrm; admins see it")
    row.update(
        {
            "title": required_text(doc, ("title",), 255, "(untitled board)"),
            "description": doc.text("description"),
            "icon": doc.text("icon", max_length=64),
            "visibility": choice(doc, "visibility", VISIBILITIES, "private"),
            "position": doc.get("position", convert.integer, minimum=None, default=0),
        }
    )
    doc.link("sharedWith", "board_shared_with", owner_side=True)
    doc.link("watchers", "board_watchers", owner_side=True)
    return row


def section(doc: Doc) -> dict[str, Any]:
    board_id = doc.ref("board", "board")
    if board_id is None:
        # Sections.board is required and implicit (Q5): a column of no board has no place.
        raise Skip("its board is not in the import", field="board")
    return {
        "id": doc.id,
        "legacy_id": doc.oid,
        "board_id": board_id,
        "title": required_text(doc, ("title",), 255, "(untitled section)"),
        "position": doc.get("position", convert.integer, minimum=None, default=0),
    }


def _task(doc: Doc, **parents: Any) -> dict[str, Any]:
    # `user` is the assignee, and the owner where the creator is missing or not imported: read
    # once, so a dangling one is logged once.
    assignee = doc.ref("user", "user")
    row = record(doc, owner=("createdBy",), owner_fallback=("user", assignee))
    row["assignee_id"] = assignee
    status = choice(doc, "taskStatus", TASK_STATUSES, "open")
    row.update(
        {
            "title": required_text(doc, ("title",), 255, "(untitled task)"),
            "body": doc.text("content"),
            "priority": choice(doc, "priority", PRIORITIES, "medium"),
            "status": status,
            "due_at": doc.get("dueDateAt", convert.timestamp),
            # NextCRM records no completion time: the last change is the best estimate.
            "completed_at": row["updated_at"] if status == "done" else None,
            "company_id": None,
            "contact_id": None,
            "lead_id": None,
            "deal_id": None,
            "section_id": None,
            "position": 0,
            "tags": tags(doc, "tags"),
            **parents,
        }
    )
    return row


def project_task(doc: Doc) -> dict[str, Any]:
    row = _task(
        doc,
        section_id=doc.ref("section", "section"),
        position=doc.get("position", convert.integer, minimum=None, default=0),
    )
    doc.link("documentIDs", "document_tasks", owner_side=False)
    return row


def crm_task(doc: Doc) -> dict[str, Any]:
    return _task(doc, company_id=doc.ref("account", "company"))


def comment(doc: Doc) -> dict[str, Any]:
    # Q3: the app stored CRM task ids in `task` too; both kinds of task are rows of crm_task
    # keyed by their own ObjectId, so one lookup finds either.
    task_id = doc.ref(("task", "assigned_crm_account_task"), "task")
    if task_id is None:
        raise Skip("its task is not in the import", field="task")
    author = doc.ref("user", "user")
    created_at = doc.get("createdAt", convert.timestamp) or convert.creation_time(doc.raw["_id"])
    return {
        "id": doc.id,
        "legacy_id": doc.oid,
        "task_id": task_id,
        "author_id": author,
        "body": doc.text("comment"),
        "created_at": created_at,
        "updated_at": created_at,
    }


SPECS = [
    Spec("Boards", "crm_board", board, refs={"user": "user"}),
    Spec("Sections", "crm_section", section, refs={"board": "board"}),
    Spec(
        "Tasks",
        "crm_task",
        project_task,
        refs={"user": "user", "createdBy": "user", "section": "section"},
    ),
    Spec(
        "crm_Accounts_Tasks",
        "crm_task",
        crm_task,
        refs={"user": "user", "createdBy": "user", "account": "company"},
    ),
    Spec(
        "tasksComments",
        "crm_taskcomment",
        comment,
        refs={"task": "task", "assigned_crm_account_task": "task", "user": "user"},
    ),
]
