"""Detail pages: every field, related records, the timeline, inline add of notes and tasks."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("companies/<uuid:pk>/", placeholder("Company"), name="company.detail"),
    path("contacts/<uuid:pk>/", placeholder("Contact"), name="contact.detail"),
    path("leads/<uuid:pk>/", placeholder("Lead"), name="lead.detail"),
    path("deals/<uuid:pk>/", placeholder("Deal"), name="deal.detail"),
    path("contracts/<uuid:pk>/", placeholder("Contract"), name="contract.detail"),
    path("tasks/<uuid:pk>/", placeholder("Task"), name="task.detail"),
    path("documents/<uuid:pk>/", placeholder("Document"), name="document.detail"),
    path("notes/on/<str:entity>/<uuid:pk>/", placeholder("Add note"), name="note.create"),
    path("tasks/on/<str:entity>/<uuid:pk>/", placeholder("Add task"), name="task.quick_create"),
]
