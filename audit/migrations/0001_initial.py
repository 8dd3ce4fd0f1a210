"""The audit log table, its indexes and the PL/pgSQL functions behind the audit triggers.

Attaching the triggers to each audited table is the next migration (0002), which derives the
table list from audit/tracking.py. The functions reference `public.audit_event` with its schema
so that a caller's search_path (or a temporary table named audit_event) cannot redirect the
SECURITY DEFINER inserts. See docs/audit.md for the design.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import audit.models

TABLE_SQL = """
CREATE TABLE public.audit_event (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- clock_timestamp(), not now(): two changes to one record are serialised by its row lock,
    -- so their times order them even when the later one's transaction started first.
    occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    txid           bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    action         text NOT NULL CONSTRAINT audit_event_action_valid
                   CHECK (action IN ('insert', 'update', 'delete', 'truncate', 'bulk', 'prune')),
    table_name     text COLLATE "C",
    record_id      text COLLATE "C",
    related_id     text COLLATE "C",
    changed_fields text[],
    snapshot       jsonb,
    old_values     jsonb,
    user_id        uuid,
    context        jsonb NOT NULL DEFAULT '{}',
    db_role        text NOT NULL DEFAULT session_user
);

-- One record's history, newest first (record_history), at any table size.
CREATE INDEX audit_event_record_idx ON public.audit_event (record_id, occurred_at, id)
    WHERE record_id IS NOT NULL;
-- The other side of link-table rows: a contact's history shows the deals it was linked to.
CREATE INDEX audit_event_related_idx ON public.audit_event (related_id, occurred_at, id)
    WHERE related_id IS NOT NULL;
-- Admin log filtered by table, newest first.
CREATE INDEX audit_event_table_idx ON public.audit_event (table_name, id);
-- Admin log filtered by user ("what did this user change"), newest first.
CREATE INDEX audit_event_user_idx ON public.audit_event (user_id, id) WHERE user_id IS NOT NULL;
-- Time ranges and audit_prune: rows arrive in time order, so a BRIN index is tiny and exact enough.
CREATE INDEX audit_event_occurred_brin ON public.audit_event USING brin (occurred_at);

COMMENT ON TABLE public.audit_event IS
    'Append-only audit log written by the audit_* triggers; see docs/audit.md.';
"""

FUNCTIONS_SQL = r"""
-- The writer's context: what the middleware or the command wrapper put in the transaction-local
-- setting minicrm.audit_context (a JSON object), or, for psql and scripts, application_name.
CREATE FUNCTION public.audit_context() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        NULLIF(current_setting('minicrm.audit_context', true), '')::jsonb,
        jsonb_build_object('application_name', current_setting('application_name'))
    )
$$;

-- True when `batch` is a bulk summary entry written by audit_bulk_begin() in this transaction.
-- Only then do row triggers stay silent: setting minicrm.audit_bulk by hand silences nothing.
CREATE FUNCTION public.audit_bulk_is_open(batch text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT FROM public.audit_event
        WHERE id = batch::bigint AND action = 'bulk'
          AND txid = pg_current_xact_id()::text::bigint
    )
$$;

-- AFTER INSERT / UPDATE / DELETE, FOR EACH ROW, on every audited table. Arguments (fixed per
-- table by audit.triggers): key column, related column ('' unless a link table), secret
-- columns, omitted (generated) columns; the last two comma-separated.
CREATE FUNCTION public.audit_log_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    masked   text[] := string_to_array(NULLIF(TG_ARGV[2], ''), ',');
    omitted  text[] := COALESCE(string_to_array(NULLIF(TG_ARGV[3], ''), ','), '{}');
    old_row  jsonb;
    new_row  jsonb;
    data     jsonb;
    previous jsonb;
    changed  text[];
    secret   text;
    ctx      jsonb;
    batch    text := NULLIF(current_setting('minicrm.audit_bulk', true), '');
BEGIN
    IF batch IS NOT NULL AND public.audit_bulk_is_open(batch) THEN
        RETURN NULL;  -- an opted-out bulk write: its summary entry stands for this row
    END IF;
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD) - omitted; END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW) - omitted; END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.key ORDER BY n.key), jsonb_object_agg(n.key, old_row -> n.key)
          INTO changed, previous
          FROM jsonb_each(new_row) AS n
         WHERE n.key <> 'updated_at' AND n.value IS DISTINCT FROM old_row -> n.key;
        IF changed IS NULL THEN
            RETURN NULL;  -- nothing but updated_at changed: not a change worth a row
        END IF;
    END IF;
    data := COALESCE(new_row, old_row);
    -- Secrets: the change is recorded (changed_fields), the value never is.
    FOREACH secret IN ARRAY COALESCE(masked, '{}') LOOP
        IF jsonb_typeof(data -> secret) IS DISTINCT FROM 'null' AND data ? secret THEN
            data := jsonb_set(data, ARRAY[secret], '"[masked]"');
        END IF;
        IF previous ? secret AND jsonb_typeof(previous -> secret) <> 'null' THEN
            previous := jsonb_set(previous, ARRAY[secret], '"[masked]"');
        END IF;
    END LOOP;
    ctx := public.audit_context();
    INSERT INTO public.audit_event
        (action, table_name, record_id, related_id, changed_fields, snapshot, old_values,
         user_id, context)
    VALUES
        (lower(TG_OP), TG_TABLE_NAME, data ->> TG_ARGV[0], data ->> NULLIF(TG_ARGV[1], ''),
         changed, data, previous, (ctx ->> 'user_id')::uuid, ctx - 'user_id');
    RETURN NULL;
END
$$;

-- AFTER TRUNCATE, FOR EACH STATEMENT, on every audited table: row triggers never see a TRUNCATE.
CREATE FUNCTION public.audit_log_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    ctx jsonb := public.audit_context();
BEGIN
    INSERT INTO public.audit_event (action, table_name, user_id, context)
    VALUES ('truncate', TG_TABLE_NAME, (ctx ->> 'user_id')::uuid, ctx - 'user_id');
    RETURN NULL;
END
$$;

-- BEFORE UPDATE / DELETE (row) and BEFORE TRUNCATE (statement) on audit_event itself.
CREATE FUNCTION public.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('minicrm.audit_prune', true) = 'on' THEN
        RETURN OLD;  -- inside audit_prune(), the one way out
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old entries are removed only by manage.py audit_prune --before DATE.';
END
$$;

-- The bulk opt-out (audit.bulk.audit_bulk_batch): writes the batch's one summary entry and
-- marks this transaction so that row triggers skip the rows the batch writes.
CREATE FUNCTION public.audit_bulk_begin(description text, details jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    ctx   jsonb := public.audit_context();
    batch bigint;
BEGIN
    INSERT INTO public.audit_event (action, snapshot, user_id, context)
    VALUES ('bulk', jsonb_build_object('description', description) || COALESCE(details, '{}'),
            (ctx ->> 'user_id')::uuid, ctx - 'user_id')
    RETURNING id INTO batch;
    PERFORM set_config('minicrm.audit_bulk', batch::text, true);
    RETURN batch;
END
$$;

-- Retention: deletes entries older than `cutoff` and records that it did. Owner only (EXECUTE
-- is revoked from PUBLIC, and only the owner may DELETE from audit_event).
CREATE FUNCTION public.audit_prune(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    deleted bigint;
    ctx     jsonb := public.audit_context();
BEGIN
    IF cutoff > now() THEN
        RAISE EXCEPTION 'audit_prune: cutoff % is in the future', cutoff;
    END IF;
    PERFORM set_config('minicrm.audit_prune', 'on', true);
    DELETE FROM public.audit_event WHERE occurred_at < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    PERFORM set_config('minicrm.audit_prune', '', true);
    INSERT INTO public.audit_event (action, table_name, snapshot, user_id, context)
    VALUES ('prune', 'audit_event', jsonb_build_object('before', cutoff, 'deleted', deleted),
            (ctx ->> 'user_id')::uuid, ctx - 'user_id');
    RETURN deleted;
END
$$;
REVOKE EXECUTE ON FUNCTION public.audit_prune(timestamptz) FROM PUBLIC;

CREATE TRIGGER audit_event_refuse_update BEFORE UPDATE ON public.audit_event
    FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();
CREATE TRIGGER audit_event_refuse_delete BEFORE DELETE ON public.audit_event
    FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();
CREATE TRIGGER audit_event_refuse_truncate BEFORE TRUNCATE ON public.audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change();
"""

DROP_SQL = """
DROP TABLE public.audit_event;
DROP FUNCTION public.audit_prune(timestamptz);
DROP FUNCTION public.audit_bulk_begin(text, jsonb);
DROP FUNCTION public.audit_refuse_change();
DROP FUNCTION public.audit_log_truncate();
DROP FUNCTION IF EXISTS public.audit_log_row();  -- dropped by 0003 on the way up
DROP FUNCTION public.audit_bulk_is_open(text);
DROP FUNCTION public.audit_context();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("occurred_at", models.DateTimeField()),
                ("txid", models.BigIntegerField()),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("insert", "Created"),
                            ("update", "Changed"),
                            ("delete", "Deleted"),
                            ("truncate", "Table emptied"),
                            ("bulk", "Bulk write"),
                            ("prune", "Pruned"),
                        ],
                        max_length=16,
                    ),
                ),
                ("table_name", models.TextField(db_collation="C", null=True)),
                ("record_id", models.TextField(db_collation="C", null=True)),
                ("related_id", models.TextField(db_collation="C", null=True)),
                (
                    "changed_fields",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(), null=True, size=None
                    ),
                ),
                ("snapshot", models.JSONField(decoder=audit.models.DecimalJSONDecoder, null=True)),
                (
                    "old_values",
                    models.JSONField(decoder=audit.models.DecimalJSONDecoder, null=True),
                ),
                ("context", models.JSONField(default=dict)),
                ("db_role", models.TextField()),
                (
                    "user",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "audit log entry",
                "verbose_name_plural": "audit log",
                "db_table": "audit_event",
                "ordering": ["-id"],
                "managed": False,
            },
        ),
        migrations.RunSQL(TABLE_SQL + FUNCTIONS_SQL, DROP_SQL),
    ]
