"""Extensions and functions the CRM tables and indexes depend on.

pg_trgm: fuzzy search; unaccent: accent-insensitive search; btree_gin: GIN indexes that mix
scalar columns with arrays/JSONB. All three are "trusted" extensions, so a database owner
without superuser rights can create them.

f_unaccent: unaccent() is STABLE (its dictionary could change), which generated columns and
index expressions refuse. Pinning the dictionary makes the wrapper safe to declare IMMUTABLE;
this is the approach the PostgreSQL community recommends for indexed unaccent.
"""

from django.contrib.postgres.operations import (
    BtreeGinExtension,
    TrigramExtension,
    UnaccentExtension,
)
from django.db import migrations

CREATE_F_UNACCENT = """
CREATE OR REPLACE FUNCTION public.f_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        BtreeGinExtension(),
        migrations.RunSQL(CREATE_F_UNACCENT, "DROP FUNCTION IF EXISTS public.f_unaccent(text);"),
    ]
