"""Links named in a CSV, resolved in bulk: one query per kind of link per chunk.

A cell names the other record the way a person would: a company by its name or domain, a
contact or a user by email, a stage, pipeline, industry, campaign or deal type by name, all in
any letter case. Short admin lists (users, lookups, pipelines and stages) are read once per
import; companies and contacts once per chunk, by `UPPER(col) IN (...)`, which their functional
indexes serve. A linked company or contact must be one the importing user may see, as in the
edit form; a name that matches several visible records is an error, not a guess.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.db.models.functions import Upper

from accounts.models import User
from crm import permissions
from crm.models import Campaign, Company, Contact, DealType, Industry, Pipeline, Stage

LOOKUPS = {"industry": Industry, "campaign": Campaign, "type": DealType}


def as_domain(text: str) -> str:
    """example.com from "https://www.example.com/about", "" when the text is no domain."""
    host = text.strip().lower()
    for prefix in ("https://", "http://"):
        host = host.removeprefix(prefix)
    host = host.split("/", 1)[0].removeprefix("www.")
    return host if "." in host and " " not in host else ""


@dataclass
class NewCompany:
    """A company the import creates because a row names it and create_related is on."""

    name: str
    domain: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    first_row: int = 0


def _first_spelling(texts: Iterable[str]) -> dict[str, str]:
    """Upper-cased key -> the text as first written (a company created for it takes that)."""
    wanted: dict[str, str] = {}
    for text in texts:
        if text.strip():
            wanted.setdefault(text.strip().upper(), text.strip())
    return wanted


class Resolver:
    def __init__(self, user: User, *, create_companies: bool) -> None:
        self.user = user
        self.create_companies = create_companies
        self.new_companies: dict[str, NewCompany] = {}  # key -> company to create
        self._users: dict[str, User] | None = None
        self._owners: set[Any] | None = None
        self._lookups: dict[str, dict[str, Any]] = {}
        self._pipelines: dict[str, Pipeline] | None = None
        self._stages: dict[tuple[Any, str], Stage] | None = None

    # -- short lists, read once per import -------------------------------------------------

    def user_by_email(self, text: str) -> User:
        if self._users is None:
            self._users = {u.email.upper(): u for u in User.objects.all()}
            self._owners = set(
                permissions.reassign_targets(self.user).values_list("pk", flat=True)
            )
            self._owners.add(self.user.pk)
        found = self._users.get(text.strip().upper())
        if found is None:
            raise ValueError(f"no user with the email {text!r}")
        return found

    def may_own(self, owner: User) -> bool:
        self.user_by_email(owner.email)  # loads the sets
        return owner.pk in self._owners

    def lookup(self, name: str, text: str) -> Any:
        if name not in self._lookups:
            self._lookups[name] = {o.name.upper(): o for o in LOOKUPS[name].objects.all()}
        found = self._lookups[name].get(text.strip().upper())
        if found is None:
            label = LOOKUPS[name]._meta.verbose_name
            raise ValueError(f"no {label} named {text!r} (an admin adds them)")
        return found

    def pipeline(self, text: str) -> Pipeline:
        self._load_pipelines()
        if not text:
            default = Pipeline.objects.default() or next(iter(self._pipelines.values()), None)
            if default is None:
                raise ValueError("no pipeline exists yet (an admin adds one)")
            return default
        found = self._pipelines.get(text.strip().upper())
        if found is None:
            raise ValueError(f"no pipeline named {text!r}")
        return found

    def stage(self, pipeline: Pipeline, text: str) -> Stage:
        self._load_pipelines()
        if not text:
            first = min(
                (s for (p, _), s in self._stages.items() if p == pipeline.pk),
                key=lambda s: s.position,
                default=None,
            )
            if first is None:
                raise ValueError(f"the pipeline {pipeline.name!r} has no stages")
            return first
        found = self._stages.get((pipeline.pk, text.strip().upper()))
        if found is None:
            names = [s.name for (p, _), s in self._stages.items() if p == pipeline.pk]
            raise ValueError(f"no stage {text!r} in {pipeline.name}; stages: {', '.join(names)}")
        return found

    def pipeline_by_id(self, pk: Any) -> Pipeline:
        self._load_pipelines()
        return next(p for p in self._pipelines.values() if p.pk == pk)

    def stage_by_id(self, pk: Any) -> Stage:
        self._load_pipelines()
        return next(s for s in self._stages.values() if s.pk == pk)

    def stage_in(self, pipeline: Pipeline, stage_pk: Any) -> bool:
        return self.stage_by_id(stage_pk).pipeline_id == pipeline.pk

    def _load_pipelines(self) -> None:
        if self._pipelines is None:
            self._pipelines = {p.name.upper(): p for p in Pipeline.objects.all()}
            self._stages = {(s.pipeline_id, s.name.upper()): s for s in Stage.objects.all()}

    # -- records, read per chunk -----------------------------------------------------------

    def companies(self, texts: Iterable[str]) -> dict[str, Any]:
        """Key (upper-cased cell) -> a visible Company, a NewCompany, or a ValueError."""
        wanted = _first_spelling(texts)
        if not wanted:
            return {}
        domains = {key: as_domain(text).upper() for key, text in wanted.items()}
        rows = list(
            Company.objects.annotate(u_name=Upper("name"), u_domain=Upper("domain"))
            .filter(
                Q(u_name__in=list(wanted)) | Q(u_domain__in=[d for d in domains.values() if d])
            )
            .only("id", "name", "domain", "owner_id", "shared_with_team")
        )
        visible = permissions.visible_ids(self.user, Company, [c.pk for c in rows])
        keys_of: dict[str, list[str]] = defaultdict(list)  # a name or domain -> cell keys
        for key, domain in domains.items():
            keys_of[key].append(key)
            if domain and domain != key:
                keys_of[domain].append(key)
        by_key: dict[str, list[Company]] = defaultdict(list)
        hidden: set[str] = set()
        for company in rows:
            keys = {*keys_of.get(company.u_name, ()), *keys_of.get(company.u_domain or "", ())}
            for key in keys:
                if company.pk in visible:
                    by_key[key].append(company)
                else:
                    hidden.add(key)
        result: dict[str, Any] = {}
        for key, text in wanted.items():
            found = by_key.get(key, [])
            if len(found) == 1:
                result[key] = found[0]
            elif len(found) > 1:
                result[key] = ValueError(
                    f"{len(found)} companies match {text!r}; use the company's domain"
                )
            elif key in hidden:
                # Creating a look-alike would split the customer in two; saying it exists
                # tells no more than the failed link would.
                result[key] = ValueError(
                    f"a company named {text!r} exists but you may not see it; ask its owner"
                )
            elif self.create_companies:
                domain = as_domain(text)
                result[key] = self.new_companies.setdefault(
                    key, NewCompany(name=domain or text, domain=domain)
                )
            else:
                result[key] = ValueError(
                    f"no company named {text!r} that you may see "
                    "(tick \u201ccreate missing companies\u201d to add it)"
                )
        return result

    def contacts(self, texts: Iterable[str]) -> dict[str, Any]:
        """Key (upper-cased email) -> a visible Contact, or a ValueError."""
        wanted = _first_spelling(texts)
        if not wanted:
            return {}
        rows = list(
            Contact.objects.annotate(u_email=Upper("email"))
            .filter(u_email__in=list(wanted))
            .only("id", "email", "company_id")
        )
        visible = permissions.visible_ids(self.user, Contact, [c.pk for c in rows])
        by_key: dict[str, list[Contact]] = defaultdict(list)
        for contact in rows:
            if contact.pk in visible:
                by_key[contact.u_email].append(contact)
        result: dict[str, Any] = {}
        for key, text in wanted.items():
            found = by_key.get(key, [])
            if len(found) == 1:
                result[key] = found[0]
            else:
                many = f"{len(found)} contacts have" if found else "no contact you may see has"
                result[key] = ValueError(f"{many} the email {text!r}")
        return result
