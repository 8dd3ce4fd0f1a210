"""Create, edit and delete pages for every entity, and inline edit of one field."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("companies/new/", placeholder("New company"), name="company.create"),
    path("companies/<uuid:pk>/edit/", placeholder("Edit company"), name="company.edit"),
    path("companies/<uuid:pk>/delete/", placeholder("Delete company"), name="company.delete"),
    path(
        "companies/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="company.field"
    ),
    path("contacts/new/", placeholder("New contact"), name="contact.create"),
    path("contacts/<uuid:pk>/edit/", placeholder("Edit contact"), name="contact.edit"),
    path("contacts/<uuid:pk>/delete/", placeholder("Delete contact"), name="contact.delete"),
    path("contacts/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="contact.field"),
    path("leads/new/", placeholder("New lead"), name="lead.create"),
    path("leads/<uuid:pk>/edit/", placeholder("Edit lead"), name="lead.edit"),
    path("leads/<uuid:pk>/delete/", placeholder("Delete lead"), name="lead.delete"),
    path("leads/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="lead.field"),
    path("deals/new/", placeholder("New deal"), name="deal.create"),
    path("deals/<uuid:pk>/edit/", placeholder("Edit deal"), name="deal.edit"),
    path("deals/<uuid:pk>/delete/", placeholder("Delete deal"), name="deal.delete"),
    path("deals/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="deal.field"),
    path("contracts/new/", placeholder("New contract"), name="contract.create"),
    path("contracts/<uuid:pk>/edit/", placeholder("Edit contract"), name="contract.edit"),
    path("contracts/<uuid:pk>/delete/", placeholder("Delete contract"), name="contract.delete"),
    path(
        "contracts/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="contract.field"
    ),
    path("tasks/new/", placeholder("New task"), name="task.create"),
    path("tasks/<uuid:pk>/edit/", placeholder("Edit task"), name="task.edit"),
    path("tasks/<uuid:pk>/delete/", placeholder("Delete task"), name="task.delete"),
    path("tasks/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="task.field"),
    path("documents/new/", placeholder("New document"), name="document.create"),
    path("documents/<uuid:pk>/edit/", placeholder("Edit document"), name="document.edit"),
    path("documents/<uuid:pk>/delete/", placeholder("Delete document"), name="document.delete"),
    path(
        "documents/<uuid:pk>/field/<str:field>/", placeholder("Edit field"), name="document.field"
    ),
    path("documents/<uuid:pk>/file/", placeholder("Download"), name="document.download"),
]
