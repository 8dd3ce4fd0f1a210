"""The form renderer: Django's own widget templates through Jinja2, everything else as usual.

Every form field on a page renders a widget template and a label template; a list page's filter
form renders 26 of them and a record form more. Through Django's template engine that cost
about 14% of a contacts list page's Python at 1M contacts (docs/benchmarks.md); Jinja2 compiles
the same templates to Python functions. Django ships both sets (django/forms/templates and
django/forms/jinja2) and keeps them in step, so the HTML is the same.

Templates outside django/forms/ -- the admin's widgets (admin/widgets/*.html, Django templates
only) and any app's own -- still go through Django's engine, as with the default renderer.
"""

from __future__ import annotations

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.utils.functional import cached_property


class FormRenderer(BaseRenderer):
    """FORM_RENDERER: built-in form templates from Jinja2, the rest from Django templates."""

    @cached_property
    def _jinja2(self) -> Jinja2:
        return Jinja2()

    @cached_property
    def _django(self) -> DjangoTemplates:
        return DjangoTemplates()

    def get_template(self, template_name: str):  # either backend's Template
        if template_name.startswith("django/forms/"):
            return self._jinja2.get_template(template_name)
        return self._django.get_template(template_name)
