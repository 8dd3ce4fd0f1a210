"""The QuerySet every CRM record's manager returns: visibility filters by name.

`Company.objects.visible_to(user)` reads like the rule it applies; the rules themselves live in
crm.permissions, the one module that decides who may see and change what
(docs/permissions.md). Imported lazily there, because crm.permissions imports the models.
"""

from __future__ import annotations

from typing import Any, Self

from django.db import models


class RecordQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> Self:
        """The rows `user` may see (lists, search, exports, counts, panels, autocompletes)."""
        from crm import permissions

        return permissions.visible_to(user, self)

    def editable_by(self, user: Any) -> Self:
        """The rows `user` may change (bulk actions check the selection against this)."""
        from crm import permissions

        return permissions.editable_by(user, self)

    def deletable_by(self, user: Any) -> Self:
        """The rows `user` may delete."""
        from crm import permissions

        return permissions.deletable_by(user, self)


RecordManager = models.Manager.from_queryset(RecordQuerySet)
