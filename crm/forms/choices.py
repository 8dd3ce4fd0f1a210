"""A ModelChoiceField for the short choice lists of the app's forms (team members, stages,
a board's sections).

Django's ModelChoiceIterator reads its queryset with `.iterator()`, which on PostgreSQL opens a
server-side cursor (DECLARE ... WITH HOLD outside a transaction, then FETCH, then CLOSE): three
round trips and a held portal, 1 to 4 ms per select on a detail page at 1M contacts, to read a
dozen rows. These lists are short by construction (bounded by a team, a pipeline, a board), so
one plain query is the cheaper read. Related-record pickers, which can be long, are
`widgets.RecordChoiceField` instead (a select up to 200 rows, a type-ahead beyond).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator


class ListedChoiceIterator(ModelChoiceIterator):
    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:  # one ordinary query (or the queryset's own cache)
            yield self.choice(obj)


class ShortModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator
