"""Layer 4, types: what the import wrote is stored the way the models say.

For every table the mappings write (their rows, extra rows and link tables): each column has the
PostgreSQL type, length, precision and nullability of its Django field (dates as date, instants
as timestamptz, money as numeric, tags as arrays, JSON as jsonb: no date or number left as
text), read from information_schema. Then, over the imported rows (`legacy_id IS NOT NULL`),
one scan per table: every choice column holds one of its choices (free-string enums were
normalised, Q8) and every JSON column the JSON type its default has (an object for
custom_fields, social_profiles and partner, an array for line_items).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models

from migrations_mongo.mapping import LINKS, SPECS

from . import common
from .report import Layer

_TYPES = {
    "AutoField": "integer",
    "BigAutoField": "bigint",
    "SmallAutoField": "smallint",
    "IntegerField": "integer",
    "PositiveIntegerField": "integer",
    "BigIntegerField": "bigint",
    "PositiveBigIntegerField": "bigint",
    "SmallIntegerField": "smallint",
    "PositiveSmallIntegerField": "smallint",
    "BooleanField": "boolean",
    "CharField": "character varying",
    "SlugField": "character varying",
    "FileField": "character varying",
    "TextField": "text",
    "DateField": "date",
    "DateTimeField": "timestamp with time zone",
    "TimeField": "time without time zone",
    "DurationField": "interval",
    "DecimalField": "numeric",
    "UUIDField": "uuid",
    "JSONField": "jsonb",
    "BinaryField": "bytea",
    "ArrayField": "ARRAY",
}
# information_schema names an array by its element's internal name ("_varchar" for text[]).
_UDT = {
    "character varying": "varchar",
    "text": "text",
    "uuid": "uuid",
    "integer": "int4",
    "bigint": "int8",
    "smallint": "int2",
    "boolean": "bool",
    "numeric": "numeric",
    "date": "date",
    "timestamp with time zone": "timestamptz",
    "jsonb": "jsonb",
}
_JSON_TYPES = {dict: "object", list: "array"}
_EXAMPLES = 5


def tables() -> list[str]:
    """Every table the import writes, in import order."""
    names = [spec.table for spec in SPECS if spec.table]
    names += [table for spec in SPECS for table in spec.extra_tables]
    names += [link.table for link in LINKS.values()]
    return list(dict.fromkeys(names))


def pg_type(field: models.Field) -> str | None:
    """The information_schema data_type the field's column must have (None: not checked)."""
    if isinstance(field, models.ForeignKey):
        return pg_type(field.target_field)
    if isinstance(field, models.GeneratedField):
        return pg_type(field.output_field)
    return _TYPES.get(field.get_internal_type())


class ColumnTypes:
    def __init__(self) -> None:
        self.layer = Layer("types", "Types")
        for name in ("tables", "columns_checked", "choice_columns", "json_columns", "bad_rows"):
            self.layer.counts[name] = 0

    def check(self) -> None:
        for table in tables():
            model = common.model_of(table)
            row = self.layer.row("tables", table=table, columns=0, wrong=0, bad_rows=0)
            self.layer.add("tables")
            if model is None:
                self.layer.fail(table, "", "", "a Django model", "none")
                continue
            before = self.layer.failure_count
            self._columns(table, row)
            row["wrong"] = self.layer.failure_count - before
            if "legacy_id" in common.fields_of(table):
                self._values(table, row)

    def _columns(self, table: str, row: dict[str, Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name, data_type, udt_name, character_maximum_length, "
                "numeric_precision, numeric_scale, is_nullable = 'YES' "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s",
                [table],
            )
            info = {name: rest for name, *rest in cursor.fetchall()}
        for column, field in common.fields_of(table).items():
            expected = pg_type(field)
            if expected is None:
                continue
            row["columns"] += 1
            self.layer.add("columns_checked")
            if column not in info:
                self.layer.fail(table, "", column, expected, "no such column")
                continue
            data_type, udt, length, precision, scale, nullable = info[column]
            if data_type != expected:
                self.layer.fail(table, "", column, expected, data_type)
                continue
            for what, want, have in self._details(field, udt, length, precision, scale):
                if want != have:
                    self.layer.fail(table, "", f"{column} ({what})", want, have)
            # A generated column's nullability is PostgreSQL's to infer, not the field's.
            if not isinstance(field, models.GeneratedField) and nullable != field.null:
                self.layer.fail(table, "", f"{column} (nullable)", field.null, nullable)

    @staticmethod
    def _details(
        field: models.Field, udt: str, length: int | None, precision: int | None, scale: int | None
    ) -> list[tuple[str, Any, Any]]:
        """(what, expected, actual) beyond the type's name: length, precision, element."""
        if isinstance(field, ArrayField):
            element = pg_type(field.base_field)
            return [("element", f"_{_UDT.get(element or '', element)}", udt)]
        if isinstance(field, models.DecimalField):
            return [("digits", (field.max_digits, field.decimal_places), (precision, scale))]
        if pg_type(field) == "character varying" and not isinstance(field, models.ForeignKey):
            return [("length", field.max_length, length)]
        return []

    def _values(self, table: str, row: dict[str, Any]) -> None:
        """Choice and JSON-type checks over the imported rows, in one scan of the table."""
        checks: list[tuple[str, str, list[Any], Any]] = []  # (column, condition, params, want)
        fields = common.fields_of(table)
        for column, field in common.fields_of(table).items():
            if field.choices and isinstance(field, models.CharField):
                allowed = [str(value) for value, _ in field.flatchoices]
                # A blank=True choice column may hold "" (unset), which is no choice of its own.
                allowed += [""] if field.blank else []
                bad = f"NOT COALESCE(t.{column} = ANY(%s::text[]), %s)"
                checks.append((column, bad, [allowed, field.null], allowed))
                self.layer.add("choice_columns")
            elif isinstance(field, models.JSONField) and field.default in _JSON_TYPES:
                want = _JSON_TYPES[field.default]
                bad = f"t.{column} IS NOT NULL AND jsonb_typeof(t.{column}) <> %s"
                checks.append((column, bad, [want], f"a JSON {want}"))
                self.layer.add("json_columns")
        if not checks:
            return
        counts = ", ".join(f"count(*) FILTER (WHERE {bad})" for _, bad, _, _ in checks)
        params = [p for _, _, check_params, _ in checks for p in check_params]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {counts} FROM {table} t WHERE t.legacy_id IS NOT NULL",  # noqa: S608
                params,
            )
            totals = cursor.fetchone()
            for (column, bad, check_params, want), total in zip(checks, totals, strict=True):
                if not total:
                    continue
                row["bad_rows"] += total
                self.layer.add("bad_rows", total)
                cursor.execute(
                    f"SELECT t.legacy_id, t.{column} FROM {table} t "  # noqa: S608
                    f"WHERE t.legacy_id IS NOT NULL AND {bad} ORDER BY t.legacy_id LIMIT %s",
                    [*check_params, _EXAMPLES],
                )
                examples = cursor.fetchall()
                for legacy_id, value in examples:
                    if isinstance(fields[column], models.JSONField):
                        value = common.parsed(value)
                    self.layer.fail(table, legacy_id, column, want, value)
                self.layer.more(total - len(examples))
