"""The CRM domain's tables. Modules by area; import models from here."""

from .base import CustomizableRecord, Lookup, OwnedRecord
from .custom_fields import CustomFieldDefinition
from .deals import Contract, Deal, Invoice
from .imports import ImportMapping, ImportRow, ImportRun
from .lookups import Campaign, DealType, DocumentType, Industry, Pipeline, Stage
from .parties import Company, Contact, Lead
from .saved_views import SavedView
from .search_words import SearchWord
from .stage_totals import DealStageTotal
from .work import Board, Document, Note, Section, Task, TaskComment

__all__ = [
    "Board",
    "Campaign",
    "Company",
    "Contact",
    "Contract",
    "CustomFieldDefinition",
    "CustomizableRecord",
    "Deal",
    "DealStageTotal",
    "DealType",
    "Document",
    "DocumentType",
    "ImportMapping",
    "ImportRow",
    "ImportRun",
    "Industry",
    "Invoice",
    "Lead",
    "Lookup",
    "Note",
    "OwnedRecord",
    "Pipeline",
    "SavedView",
    "SearchWord",
    "Section",
    "Stage",
    "Task",
    "TaskComment",
]
