"""Small forms of the detail pages and boards: add a note, add a task, move a card."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from crm import permissions
from crm.forms.choices import ShortModelChoiceField
from crm.forms.errors import FormErrorsMixin
from crm.models import Board, Section, Task


class NoteForm(FormErrorsMixin, forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a note..."}),
    )


def assignee_choices(user: User) -> QuerySet[User]:
    """Who a quick task may go to: the user's active teammates (themselves included); any
    active user for an admin. Ordered by name for the select."""
    return permissions.team_users(user)


class QuickTaskForm(FormErrorsMixin, forms.Form):
    title = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"placeholder": "To do"}))
    due_date = forms.DateField(
        label="Due", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assignee = ShortModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        field.queryset = assignee_choices(user)
        field.empty_label = "Me"

    def due_at(self) -> dt.datetime | None:
        """The due date as the end of that day in the current time zone (a task "due on the
        12th" is not overdue on the morning of the 12th)."""
        day = self.cleaned_data.get("due_date")
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time(17, 0)))


class MoveForm(forms.Form):
    """A card move on one board: drag and drop and the "Move to" form both post this."""

    task = ShortModelChoiceField(queryset=Task.objects.none())
    section = ShortModelChoiceField(queryset=Section.objects.none())
    index = forms.IntegerField(min_value=0, required=False)

    def __init__(self, *args: Any, board: Board, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this board's cards and sections are valid choices: a card of another board is
        # "not a valid choice", never moved.
        self.fields["task"].queryset = Task.objects.visible_to(user).filter(section__board=board)
        self.fields["section"].queryset = Section.objects.filter(board=board).select_related(
            "board"
        )


class SectionTaskForm(forms.Form):
    """Quick "add a card" at the bottom of a board column."""

    section = ShortModelChoiceField(queryset=Section.objects.none(), widget=forms.HiddenInput)
    title = forms.CharField(
        max_length=255, widget=forms.TextInput(attrs={"placeholder": "New card"})
    )

    def __init__(self, *args: Any, board: Board, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = Section.objects.filter(board=board).select_related(
            "board"
        )
