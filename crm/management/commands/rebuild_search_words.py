"""manage.py rebuild_search_words: the search dictionary rebuilt from the records.

The triggers on the searched tables add every new word as it is written but never remove one
(crm/models/search_words.py says why); a word no record holds any more only offers global
search a correction that finds nothing. After deleting or renaming many records (an import
undone, a clean-up), this drops those words. Safe while the app runs; writes of companies,
contacts, leads and deals that add new words wait the few seconds it takes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.services.search_words import search_words_rebuild


class Command(BaseCommand):
    help = "Rebuild global search's typo dictionary from the records (drops words none holds)."

    def handle(self, *args: Any, **options: Any) -> None:
        before, after = search_words_rebuild()
        self.stdout.write(f"Search dictionary rebuilt: {before} words before, {after} now.")
