"""The factories tests use: the same ones `manage.py seed_demo` uses."""

from accounts.factories import *  # noqa: F403
from crm.factories import *  # noqa: F403
