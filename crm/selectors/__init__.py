"""Reads the pages need, already filtered by what the user may see (crm.permissions).
Modules by area; import from the module."""
