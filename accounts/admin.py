"""Admin for users (email login, role, team) and teams.

Django's UserAdmin assumes a `username` and first/last names; minicrm signs in by email and
keeps one `name`, so the forms and fieldsets are redone around those. Users and teams number
in the hundreds, so plain `icontains` search and exact counts are fine here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.models import Team, User
from audit.admin import AuditHistoryAdminMixin


def _email_taken(form: ModelForm, email: str) -> bool:
    # Emails are unique regardless of case (user_email_ci_uniq); checking here turns a
    # constraint error into a message on the email field.
    others = User.objects.filter(email__iexact=email)
    if form.instance.pk:
        others = others.exclude(pk=form.instance.pk)
    return others.exists()


class EmailUniqueMixin:
    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if _email_taken(self, email):
            raise ValidationError("A user with this email address already exists.")
        return email


class UserCreationForm(EmailUniqueMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role", "team")


class UserEditForm(EmailUniqueMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(AuditHistoryAdminMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "name", "role", "team", "is_active", "is_staff", "last_login")
    list_filter = ("role", "team", "is_active", "is_staff", "is_superuser")
    list_select_related = ("team",)
    search_fields = ("email", "name")
    ordering = ("email",)
    autocomplete_fields = ("team",)
    readonly_fields = ("last_login", "date_joined", "legacy_id")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "role", "team")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (
            "Record",
            {"classes": ("collapse",), "fields": ("last_login", "date_joined", "legacy_id")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "name",
                    "role",
                    "team",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )


class MemberInline(admin.TabularInline):
    """A team's members, read-only: people join a team from their own user page."""

    model = User
    fields = ("email", "name", "role", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count", "created_at")
    search_fields = ("name",)
    fields = ("name", "sales_can_edit_shared", "created_at")
    readonly_fields = ("created_at",)
    inlines = [MemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Team) -> int:
        return obj.member_count
