"""The database cache's table (CACHES default: dbcache://minicrm_cache).

allauth's rate limits count in the cache, and the Docker entrypoint runs only `migrate`, so the
table comes with the migrations. This runs Django's own `createcachetable` for whichever
DatabaseCache the settings configure at migrate time (nothing with CACHE_URL=redis://...), so
the schema is exactly Django's; it skips tables that exist. Switching to a database cache
later means running `manage.py createcachetable` once.
"""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_tables(apps, schema_editor):
    for alias in settings.CACHES:
        cache = caches[alias]
        if isinstance(cache, DatabaseCache):
            schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(cache._table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_team_setting_staff_only_admins"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, drop_cache_tables),
    ]
