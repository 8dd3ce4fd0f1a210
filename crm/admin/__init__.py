"""Django admin for the CRM: one module per area, all built on CrmModelAdmin (base.py).

Importing the modules registers their admins; Django's autodiscover imports this package.
"""

from . import deals, imports, lookups, parties, saved_views, work  # noqa: F401
