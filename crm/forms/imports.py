"""Forms of the CSV import wizard: the upload, and the mapping with the import's options.

The forms check only what a form can (a choice from the list, a file at all); the rules
(size, CSV or not, a field mapped twice, what a mode needs) are the service's
(crm/services/imports.py), and its ValidationError lands back on the field it names.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from crm.entities import ENTITIES
from crm.imports.fields import IMPORTABLE, import_fields
from crm.imports.reader import DELIMITERS, ENCODINGS
from crm.models import ImportRun
from crm.services.imports import match_choices

ENTITY_CHOICES = [(key, ENTITIES[key].label_plural.capitalize()) for key in IMPORTABLE]
IGNORE = ("", "— ignore —")


class ImportUploadForm(forms.Form):
    entity = forms.ChoiceField(label="Import", choices=ENTITY_CHOICES)
    file = forms.FileField(
        label="CSV file",
        help_text="Comma, semicolon or tab separated, with a header row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )
    encoding = forms.ChoiceField(
        label="Encoding",
        required=False,
        choices=[("", "Detect"), *ENCODINGS.items()],
    )
    delimiter = forms.ChoiceField(
        label="Delimiter",
        required=False,
        choices=[("", "Detect"), *DELIMITERS.items()],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.max_mb = settings.CSV_IMPORT_MAX_BYTES // (1024 * 1024)


class ImportMappingForm(forms.Form):
    """One select per CSV column (`column_<index>`), then the import's options."""

    mode = forms.ChoiceField(
        label="What the import does", choices=ImportRun.Mode.choices, widget=forms.RadioSelect
    )
    match_on = forms.ChoiceField(
        label="Match rows to existing records on",
        required=False,
        help_text="Updating needs it; when only creating, a row that matches is skipped.",
    )
    on_error = forms.ChoiceField(
        label="Rows with errors",
        choices=ImportRun.OnError.choices,
        widget=forms.RadioSelect,
    )
    create_related = forms.BooleanField(
        label="Create companies named in the file that do not exist yet", required=False
    )
    encoding = forms.ChoiceField(label="Encoding", choices=list(ENCODINGS.items()))
    delimiter = forms.ChoiceField(label="Delimiter", choices=list(DELIMITERS.items()))

    OPTION_NAMES = ("mode", "match_on", "on_error", "create_related", "encoding", "delimiter")

    def __init__(
        self,
        *args: Any,
        run: ImportRun,
        samples: list[list[str]],
        reading_problem: str = "",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("initial", _initial(run))
        super().__init__(*args, **kwargs)
        self.run = run
        self.samples = samples
        self.reading_problem = reading_problem  # why no samples could be read, if so
        self.mapping_errors: list[str] = []
        fields = import_fields(run.entity)
        choices = [IGNORE, *((name, _label(spec)) for name, spec in fields.items())]
        for index, header in enumerate(run.headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=f"Field for the column “{header or index + 1}”",
                choices=choices,
                required=False,
            )
        self.fields["match_on"].choices = [("", "Nothing"), *match_choices(run.entity)]
        if not any(spec.relation == "company" for spec in fields.values()):
            del self.fields["create_related"]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.mapping_errors)

    @property
    def columns(self) -> list[tuple[str, list[str], forms.BoundField]]:
        """(header, sample values, the field's select) per CSV column, in file order."""
        return [
            (header, self.samples[i] if i < len(self.samples) else [], self[f"column_{i}"])
            for i, header in enumerate(self.run.headers)
        ]

    @property
    def options(self) -> list[forms.BoundField]:
        return [self[name] for name in self.OPTION_NAMES if name in self.fields]

    def configure_options(self) -> dict[str, Any]:
        """The cleaned form as import_configure's `options`."""
        data = self.cleaned_data
        mapping = [data[f"column_{i}"] for i in range(len(self.run.headers))]
        return {
            "mapping": mapping,
            **{name: data.get(name, False) for name in self.OPTION_NAMES},
        }

    def add_service_error(self, exc: ValidationError) -> None:
        """The service's errors by field (`exc.error_dict`) on those fields; `mapping` ones
        above the columns."""
        for name, errors in exc.message_dict.items():
            if name == "mapping":
                self.mapping_errors.extend(errors)
            else:
                self.add_error(name if name in self.fields else None, errors)


def _label(spec: Any) -> str:
    label = spec.label + (" (custom field)" if spec.custom_key else "")
    return f"{label} *" if spec.required else label


def _initial(run: ImportRun) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "mode": run.mode,
        "match_on": run.match_on,
        "on_error": run.on_error,
        "create_related": run.create_related,
        "encoding": run.encoding,
        "delimiter": run.delimiter,
    }
    for index, name in enumerate(run.mapping):
        initial[f"column_{index}"] = name
    return initial
