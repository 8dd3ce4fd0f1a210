"""factory-boy factories for accounts; used by tests and by `manage.py seed_demo`."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import Team, User

# Fast for tests; real passwords go through the real hasher in seed_demo.
DEFAULT_PASSWORD = "correct-horse-battery"  # noqa: S105


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = User.Role.SALES
    team = factory.SubFactory(TeamFactory)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save(update_fields=["password"])

    class Params:
        manager = factory.Trait(role=User.Role.MANAGER)
        admin = factory.Trait(role=User.Role.ADMIN, is_staff=True, is_superuser=True)
