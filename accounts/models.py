"""Users (email login, a role, a team) and teams."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Team(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, unique=True)
    # docs/permissions.md: sales reps see their teammates' records marked "shared with my
    # team" read-only, unless the team lets them edit those too.
    sales_can_edit_shared = models.BooleanField(
        "sales can edit shared records",
        default=False,
        help_text="Sales reps may edit (not delete) records their teammates shared with the team.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True, role=User.Role.ADMIN)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are unique case-insensitively (see the constraint), so sign-in is too.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        SALES = "sales", "Sales"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SALES)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        db_index=False,
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can sign in to Django admin (admins only: follows the role)."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    # The source system's id for imported users (NextCRM ObjectId); unique where present.
    legacy_id = models.CharField(max_length=64, null=True, blank=True, unique=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            # Two accounts must not differ only by the case of their email.
            models.UniqueConstraint(Lower("email"), name="user_email_ci_uniq"),
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "manager", "sales"]),
                name="user_role_valid",
            ),
            # Django admin is for admins only: no ticked box turns a manager or a sales rep
            # into staff or superuser, whatever path wrote the row.
            models.CheckConstraint(
                condition=models.Q(role="admin") | models.Q(is_staff=False, is_superuser=False),
                name="user_staff_only_admins",
            ),
        ]
        indexes = [
            # "Members of team X" for visibility checks and the team admin page.
            models.Index(fields=["team", "role"], name="user_team_role_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    def clean(self) -> None:
        super().clean()
        # The role decides Django admin access: admins get staff and superuser, and asking
        # for either on another role is an error on that box (user_staff_only_admins).
        if self.role == self.Role.ADMIN:
            self.is_staff = self.is_superuser = True
            return
        flags = (("is_staff", "staff status"), ("is_superuser", "superuser status"))
        errors = {
            field: f"Only admins can have {label}; change the role to admin first."
            for field, label in flags
            if getattr(self, field)
        }
        if errors:
            raise ValidationError(errors)

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email.split("@")[0]
