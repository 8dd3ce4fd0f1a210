"""The sales workspace's URLs, by area. Each area's module owns its `urlpatterns`; names are
`crm:<entity>.<view>` (crm/entities.py). Fixed words (`new`, `board`, `mine`) never collide with
the `<uuid:pk>` routes."""

from crm.views import (
    autocomplete,
    board,
    dashboard,
    detail,
    exports,
    imports,
    leads,
    links,
    lists,
    records,
    search,
    tasks,
)

app_name = "crm"

urlpatterns = [
    *dashboard.urlpatterns,
    *search.urlpatterns,
    *autocomplete.urlpatterns,
    *board.urlpatterns,
    *leads.urlpatterns,
    *tasks.urlpatterns,
    *lists.urlpatterns,
    *exports.urlpatterns,
    *imports.urlpatterns,
    *records.urlpatterns,
    *links.urlpatterns,
    *detail.urlpatterns,
]
