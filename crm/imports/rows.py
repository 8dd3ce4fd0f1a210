"""One CSV row on its way in: parsed cells, match key, resolved links, the decision.

`prepare()` turns the parsed values of a chunk's rows into model instances to create or
changes to apply, with every problem attached to the row (and the column) that has it. It
reads the database (matches, links, permissions) but never writes: the dry run and the real
import share it, so the preview says exactly what the import will do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone

from crm import permissions
from crm.custom_fields import definitions_for, validate_custom_fields
from crm.imports.fields import ImportField
from crm.imports.reader import Row
from crm.imports.resolve import NewCompany, Resolver, as_domain
from crm.models import Deal, Lead
from crm.services.deals import deal_status_for_stage

CREATE, UPDATE, UNCHANGED, SKIP, ERROR = "create", "update", "unchanged", "skip", "error"


@dataclass
class Pending:
    row: Row
    values: dict[str, Any]  # field name -> parsed value; "" or None where the cell is empty
    errors: list[dict[str, str]] = field(default_factory=list)
    key: str = ""
    action: str = ""
    record: Model | None = None  # the instance to create, or the stored one to update
    changed: set[str] = field(default_factory=set)  # attnames an update sets
    new_company: NewCompany | None = None

    def fail(self, column: str, value: Any, reason: str) -> None:
        self.errors.append({"column": column, "value": str(value), "reason": reason})

    def skip(self, reason: str) -> None:
        self.action = SKIP
        self.errors.append({"column": "", "value": "", "reason": reason})


def empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def match_key(match_on: str, value: Any) -> str:
    """The row's key for `match_on`, normalised as its lookup compares (upper case for text
    matched in any letter case); "" when the row has none."""
    if empty(value):
        return ""
    if match_on in ("email", "name"):
        return str(value).strip().upper()
    if match_on == "domain":
        return as_domain(str(value)).upper()
    if match_on.startswith("cf:"):
        return json.dumps(value, sort_keys=True)
    return str(value)


class Preparer:
    """Turns a chunk's parsed rows into decisions, for one import (one user, one entity)."""

    def __init__(
        self,
        *,
        model: type[Model],
        entity: str,
        user: Any,
        fields: dict[str, ImportField],
        labels: dict[str, str],
        mode: str,
        match_on: str,
        resolver: Resolver,
    ) -> None:
        self.model = model
        self.entity = entity
        self.user = user
        self.fields = fields
        self.labels = labels  # field name -> the CSV header mapped to it
        self.mode = mode
        self.match_on = match_on
        self.resolver = resolver
        # Read once per import, not once per row (validate_custom_fields would query).
        self.definitions = definitions_for(entity)

    def decide(self, item: Pending, matches: list[Model], editable: set[Any]) -> None:
        """Create, update or skip, from the rows the key matched."""
        if item.errors:
            item.action = ERROR
            return
        if len(matches) > 1:
            item.fail(self.labels.get("key", ""), item.key, f"{len(matches)} records match it")
            item.action = ERROR
        elif matches and self.mode == "create":
            item.skip(f"a matching {self.entity} exists (create only)")
        elif not matches and self.mode == "update":
            item.skip(f"no matching {self.entity} (update only)")
        elif matches and matches[0].pk not in editable:
            item.fail("", "", f"you may not change the {self.entity} this row matches")
            item.action = ERROR
        else:
            item.action = UPDATE if matches else CREATE
            item.record = matches[0] if matches else None

    def build(self, item: Pending, links: dict[str, dict[str, Any]]) -> None:
        """Fill item.record with the row's values (a new instance, or changes to the match)."""
        creating = item.action == CREATE
        record = self.model(owner=self.user) if creating else item.record
        custom: dict[str, Any] = {}
        for name, value in item.values.items():
            spec = self.fields[name]
            if spec.custom_key:
                if not empty(value):
                    custom[spec.custom_key] = value
                continue
            if name == "id" or (empty(value) and not creating):
                continue  # on update an empty cell leaves the field as it is
            if spec.relation in ("pipeline", "stage"):
                continue  # resolved together, by _deal_stage
            if spec.relation:
                value = self._link(item, spec, value, links)
                if value is _FAILED:
                    continue
            elif empty(value) and creating:
                continue  # the model's default
            self._set(item, record, name, value, creating)
        if item.errors:
            item.action = ERROR
            return
        self._custom_fields(item, record, custom, creating)
        if self.model is Deal:
            self._deal_stage(item, record, creating)
        if (
            self.model is Lead
            and record.status == Lead.Status.CONVERTED
            and not record.converted_at
        ):
            record.converted_at = timezone.now()
            item.changed.add("converted_at")
        if creating:
            self._required(item, record)
        if item.errors:
            item.action = ERROR
        elif not creating and not item.changed:
            item.action = UNCHANGED
        item.record = record

    def _set(self, item: Pending, record: Model, name: str, value: Any, creating: bool) -> None:
        model_field = self.model._meta.get_field(name)
        attname = model_field.attname
        new = value.pk if model_field.is_relation and value is not None else value
        current = getattr(record, attname)
        if not creating and name == self.match_on and str(current).upper() == str(new).upper():
            return  # matched in any letter case: the stored spelling stays
        if creating or current != new:
            setattr(record, attname, new)
            item.changed.add(attname)

    def _link(self, item: Pending, spec: ImportField, text: str, links: dict) -> Any:
        label = self.labels.get(spec.name, spec.label)
        if empty(text):
            return None
        try:
            if spec.relation == "company":
                found = links["company"].get(text.strip().upper())
                if isinstance(found, NewCompany):
                    item.new_company = found
                    found.first_row = found.first_row or item.row.number
                    return _Ref(found.id)
            elif spec.relation == "contact":
                found = links["contact"].get(text.strip().upper())
            elif spec.relation == "user":
                found = self.resolver.user_by_email(text)
                if not self.resolver.may_own(found) and (
                    item.action == CREATE or item.record.owner_id != found.pk
                ):
                    raise ValueError(f"you may not make {found.email} the owner")
            else:
                found = self.resolver.lookup(spec.name, text)
            if isinstance(found, ValueError):
                raise found
            return found
        except ValueError as exc:
            item.fail(label, text, str(exc))
            return _FAILED

    def _custom_fields(self, item: Pending, record: Model, custom: dict, creating: bool) -> None:
        merged = custom if creating else {**record.custom_fields, **custom}
        if not creating and not custom:
            return
        try:
            cleaned = validate_custom_fields(self.entity, merged, self.definitions)
        except ValidationError as exc:
            for message in exc.message_dict.get("custom_fields", []):
                item.fail("", "", message.rstrip("."))
            return
        if creating or cleaned != record.custom_fields:
            record.custom_fields = cleaned
            item.changed.add("custom_fields")

    def _deal_stage(self, item: Pending, deal: Deal, creating: bool) -> None:
        pipeline_text = item.values.get("pipeline") or ""
        stage_text = item.values.get("stage") or ""
        if not creating and not pipeline_text and not stage_text:
            return
        try:
            if pipeline_text or creating:
                pipeline = self.resolver.pipeline(pipeline_text)
            else:
                pipeline = self.resolver.pipeline_by_id(deal.pipeline_id)
            keep = not stage_text and not creating and deal.stage_id
            stage = self.resolver.stage(pipeline, stage_text)
            if keep and self.resolver.stage_in(pipeline, deal.stage_id):
                stage = self.resolver.stage_by_id(deal.stage_id)
        except ValueError as exc:
            column = "stage" if "stage" in str(exc) else "pipeline"
            item.fail(self.labels.get(column, column), stage_text or pipeline_text, str(exc))
            return
        for attname, value in (("pipeline_id", pipeline.pk), ("stage_id", stage.pk)):
            if creating or getattr(deal, attname) != value:
                setattr(deal, attname, value)
                item.changed.add(attname)
        status = deal_status_for_stage(stage)
        if creating or deal.status != status:
            deal.status = status
            deal.closed_at = None if status == Deal.Status.OPEN else timezone.now()
            item.changed |= {"status", "closed_at"}

    def _required(self, item: Pending, record: Model) -> None:
        for spec in self.fields.values():
            if spec.required and not spec.custom_key and empty(getattr(record, spec.name, None)):
                if spec.relation or spec.name == "id":
                    continue
                item.fail(self.labels.get(spec.name, spec.label), "", "is required")


class _Ref:
    """A link to a company this chunk creates: only its id is known yet."""

    def __init__(self, pk: Any) -> None:
        self.pk = pk


_FAILED = object()


def editable_matches(user: Any, model: type[Model], records: list[Model]) -> set[Any]:
    return permissions.editable_ids(user, records)
