"""The project's real admin site shows trigger-based history for CRM records and users."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.factories import UserFactory
from crm.factories import DealFactory
from crm.models import Deal

pytestmark = pytest.mark.django_db


def test_deal_history_in_the_real_admin_shows_a_bulk_update(admin_client) -> None:
    deal = DealFactory(name="Old deal name")
    # A queryset update bypasses save() and signals; the triggers still see it.
    Deal.objects.filter(pk=deal.pk).update(name="New deal name")
    response = admin_client.get(reverse("admin:crm_deal_history", args=[deal.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Old deal name" in html and "New deal name" in html


def test_user_history_in_the_real_admin_never_shows_the_password_hash(admin_client) -> None:
    user = UserFactory(name="Before")
    user.name = "After"
    user.set_password("another-long-password")
    user.save()
    response = admin_client.get(reverse("admin:accounts_user_history", args=[user.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Before" in html and "After" in html
    assert user.password not in html and "pbkdf2" not in html
