"""List pages with filters, sorting, keyset pagination, bulk actions and saved views."""

from __future__ import annotations

from django.urls import path

from crm.views.placeholder import placeholder

urlpatterns = [
    path("companies/", placeholder("Companies"), name="company.list"),
    path("contacts/", placeholder("Contacts"), name="contact.list"),
    path("leads/", placeholder("Leads"), name="lead.list"),
    path("deals/", placeholder("Deals"), name="deal.list"),
    path("contracts/", placeholder("Contracts"), name="contract.list"),
    path("tasks/", placeholder("Tasks"), name="task.list"),
    path("documents/", placeholder("Documents"), name="document.list"),
    path("companies/bulk/", placeholder("Bulk action"), name="company.bulk"),
    path("contacts/bulk/", placeholder("Bulk action"), name="contact.bulk"),
    path("leads/bulk/", placeholder("Bulk action"), name="lead.bulk"),
    path("deals/bulk/", placeholder("Bulk action"), name="deal.bulk"),
    path("contracts/bulk/", placeholder("Bulk action"), name="contract.bulk"),
    path("tasks/bulk/", placeholder("Bulk action"), name="task.bulk"),
    path("documents/bulk/", placeholder("Bulk action"), name="document.bulk"),
    path("views/new/", placeholder("Save view"), name="savedview.create"),
    path("views/<uuid:pk>/delete/", placeholder("Delete view"), name="savedview.delete"),
]
