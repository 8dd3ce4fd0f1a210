"""Admin for the work around records: tasks and their comments, boards, notes, documents."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import BooleanField, Func, Model, QuerySet, Value
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from crm.models import Board, Document, Note, Section, Task, TaskComment
from crm.search import SearchTerm, SearchText, SimpleTsVector

from .base import BOOKKEEPING_FIELDSET, CrmModelAdmin, CustomizableRecordAdmin

# The CRM records a task or note hangs off; loaded with the list so "about" costs no query.
PARENTS = ("company", "contact", "lead", "deal")


def _parent(obj: Task | Note) -> Model | None:
    return next((getattr(obj, name) for name in PARENTS if getattr(obj, f"{name}_id")), None)


def _excerpt(text: str, length: int = 80) -> str:
    return text if len(text) <= length else f"{text[: length - 1]}…"


class TsMatch(Func):
    """vector @@ query, as a filter."""

    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()


class WebSearchQuery(Func):
    """A tsquery from what a person types (words, "phrases", -excluded), normalised like
    the indexed text."""

    template = "websearch_to_tsquery('simple'::regconfig, %(expressions)s)"


class SectionInline(admin.TabularInline):
    model = Section
    fields = ("title", "position")
    extra = 0


# Boards, sections and task comments are small per installation (hundreds to thousands of
# rows) and have no search column: `icontains` on their titles is cheap at that size. Tasks
# and documents can grow larger and have no indexed search column yet; their search reads the
# newest rows first (updated_at index) and stops at a page of matches.


@admin.register(Board)
class BoardAdmin(CrmModelAdmin):
    list_display = ("title", "visibility", "position", "owner", "updated_at")
    list_filter = ("visibility", "owner")
    list_select_related = ("owner",)
    search_fields = ("title",)
    autocomplete_fields = ("owner", "shared_with", "watchers")
    fieldsets = (
        (None, {"fields": ("title", "description", "icon", "visibility", "position", "owner")}),
        ("Sharing", {"fields": ("shared_with", "watchers")}),
        BOOKKEEPING_FIELDSET,
    )
    inlines = [SectionInline]


@admin.register(Section)
class SectionAdmin(CrmModelAdmin):
    list_display = ("title", "board", "position")
    list_select_related = ("board",)
    search_fields = ("title", "board__title")
    autocomplete_fields = ("board",)
    fields = ("board", "title", "position", "legacy_id")


class TaskCommentInline(admin.TabularInline):
    model = TaskComment
    fields = ("body", "author", "created_at")
    # An autocomplete widget per comment would query its selected user once per row; the
    # author is who wrote the comment anyway (TaskAdmin.save_formset sets it for new ones).
    readonly_fields = ("author", "created_at")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("author")


@admin.register(Task)
class TaskAdmin(CustomizableRecordAdmin):
    list_display = ("title", "status", "priority", "due_at", "assignee", "about", "owner")
    list_filter = ("status", "priority", "assignee", "due_at", "updated_at")
    list_select_related = ("assignee", "owner", *PARENTS)
    search_fields = ("title",)
    autocomplete_fields = ("assignee", "owner", *PARENTS, "section")
    fieldsets = (
        (
            None,
            {"fields": ("title", "body", "status", "priority", "due_at", "completed_at")},
        ),
        ("People", {"fields": ("assignee", "owner")}),
        ("About", {"fields": PARENTS}),
        ("Project board", {"fields": ("section", "position")}),
        ("More", {"fields": ("tags",)}),
        BOOKKEEPING_FIELDSET,
    )
    inlines = [TaskCommentInline]

    @admin.display(description="about")
    def about(self, obj: Task) -> Model | None:
        return _parent(obj)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool
    ) -> None:
        for comment in formset.save(commit=False):
            if (
                isinstance(comment, TaskComment)
                and comment._state.adding
                and not comment.author_id
            ):
                comment.author = request.user
            comment.save()
        for comment in formset.deleted_objects:
            comment.delete()
        formset.save_m2m()


@admin.register(TaskComment)
class TaskCommentAdmin(CrmModelAdmin):
    list_display = ("excerpt", "task", "author", "created_at")
    list_filter = ("created_at",)
    list_select_related = ("task", "author")
    search_fields = ("body",)
    autocomplete_fields = ("task", "author")
    fields = ("task", "author", "body", "created_at", "updated_at", "legacy_id")

    @admin.display(description="comment")
    def excerpt(self, obj: TaskComment) -> str:
        return _excerpt(obj.body)


@admin.register(Note)
class NoteAdmin(CrmModelAdmin):
    list_display = ("excerpt", "about", "author", "created_at")
    list_filter = ("author", "created_at")
    list_select_related = ("author", *PARENTS)
    # Only switches the search box on: get_search_results searches the full-text index.
    search_fields = ("body",)
    search_help_text = 'Whole words in the note; "a phrase" and -word work too.'
    autocomplete_fields = ("author", *PARENTS)
    fieldsets = (
        (None, {"fields": ("body", "author")}),
        ("About (exactly one)", {"fields": PARENTS}),
        BOOKKEEPING_FIELDSET,
    )

    @admin.display(description="note")
    def excerpt(self, obj: Note) -> str:
        return _excerpt(obj.body)

    @admin.display(description="about")
    def about(self, obj: Note) -> Model | None:
        return _parent(obj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if not search_term.strip():
            return queryset, False
        # Repeats the note_body_fts index expression exactly, so the GIN index serves it;
        # note bodies are long, and `icontains` over millions of them would read them all.
        vector = SimpleTsVector(SearchText("body"))
        query = WebSearchQuery(SearchTerm(Value(search_term)))
        return queryset.filter(TsMatch(vector, query)), False


@admin.register(Document)
class DocumentAdmin(CustomizableRecordAdmin):
    list_display = ("name", "kind", "document_type", "mime_type", "size", "owner", "updated_at")
    list_filter = ("kind", "document_type", "owner", "updated_at")
    list_select_related = ("document_type", "owner")
    search_fields = ("name",)
    autocomplete_fields = (
        "document_type",
        "owner",
        "companies",
        "contacts",
        "leads",
        "deals",
        "contracts",
        "tasks",
        "invoices",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "document_type", "owner")}),
        ("File", {"fields": ("file", "url", "mime_type", "size")}),
        ("More", {"fields": ("description", "tags")}),
        (
            "Linked records",
            {
                "fields": (
                    "companies",
                    "contacts",
                    "leads",
                    "deals",
                    "contracts",
                    "tasks",
                    "invoices",
                )
            },
        ),
        BOOKKEEPING_FIELDSET,
    )
