"""config.form_renderer: Django's own form templates through Jinja2 give the HTML Django's
template engine gives (but for whitespace between tags), and the admin's widget templates
(Django templates only) still render."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from config.form_renderer import FormRenderer


class EveryWidget(forms.Form):
    name = forms.CharField(max_length=20, help_text="Given & family <name>")
    email = forms.EmailField(required=False)
    notes = forms.CharField(widget=forms.Textarea, required=False)
    kind = forms.ChoiceField(choices=[("a", "A & co"), ("b", "<B>")])
    kinds = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    grouped = forms.ChoiceField(choices=[("Group", [("x", "X"), ("y", "Y")]), ("z", "Z")])
    radio = forms.ChoiceField(choices=[("1", "One"), ("2", "Two")], widget=forms.RadioSelect)
    boxes = forms.MultipleChoiceField(
        choices=[("1", "One"), ("2", "Two")], widget=forms.CheckboxSelectMultiple, required=False
    )
    agree = forms.BooleanField(required=False)
    when = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False)
    at = forms.SplitDateTimeField(required=False)
    upload = forms.FileField(required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    amount = forms.DecimalField(required=False)


@pytest.mark.parametrize(
    "data", [None, {"name": "x" * 30, "kind": "c", "email": "nope", "kinds": ["b"]}]
)
def test_built_in_templates_render_the_same_html_through_jinja2(data) -> None:
    def html(renderer) -> str:
        form = EveryWidget(data=data, renderer=renderer)
        if data:
            assert not form.is_valid()
        parts = [str(form)]
        for field in form:
            parts += [str(field), field.label_tag(), str(field.errors), str(field.help_text)]
        return "\n".join(parts)

    # Jinja2 leaves fewer line breaks (blank lines between options, a newline before a
    # radio's label text): the same HTML once runs of whitespace count as one, as browsers
    # count them, and whitespace alone between two tags as none.
    def squeezed(text: str) -> str:
        return re.sub(r"> <", "><", re.sub(r"\s+", " ", text.strip()))

    assert squeezed(html(FormRenderer())) == squeezed(html(DjangoTemplates()))


def test_only_django_forms_templates_go_through_jinja2() -> None:
    renderer = FormRenderer()
    assert "jinja2" in type(renderer.get_template("django/forms/widgets/text.html")).__module__
    admin = renderer.get_template("admin/widgets/foreign_key_raw_id.html")
    assert "jinja2" not in type(admin).__module__
