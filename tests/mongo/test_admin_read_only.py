"""The import's records and the audit log are read-only in the admin, through one mixin."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from audit.admin import AuditEventAdmin
from audit.models import AuditEvent
from crm.admin.base import ReadOnlyAdminMixin
from migrations_mongo.admin import ReadOnlyAdmin
from migrations_mongo.models import CollectionState, ImportIssue, Leftover

pytestmark = pytest.mark.django_db

MODELS = [AuditEvent, CollectionState, ImportIssue, Leftover]
PERMISSIONS = ("has_add_permission", "has_change_permission", "has_delete_permission")


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_not_even_a_superuser_adds_changes_or_deletes_these_records(model, admin_user) -> None:
    request = RequestFactory().get("/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ReadOnlyAdminMixin)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, None)
    assert not model_admin.has_delete_permission(request, None)
    assert model_admin.has_view_permission(request, None)


@pytest.mark.parametrize("admin_class", [AuditEventAdmin, ReadOnlyAdmin])
def test_the_read_only_permissions_are_written_once(admin_class) -> None:
    assert not set(PERMISSIONS) & set(vars(admin_class))
