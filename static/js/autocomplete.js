// Autocomplete for related-record fields (filled in by crm/forms/widgets.py's widget).
