"""The scale dataset of issue #8: a CRM of N contacts and proportional everything, loaded in
set-based SQL (`manage.py seed_scale`, scripts/bench_search.py)."""

from .seed import (
    BIG_COMPANY_ID,
    SCALE_DOMAIN,
    SCALE_PASSWORD,
    Plan,
    Report,
    existing_data,
    seed,
)

__all__ = [
    "BIG_COMPANY_ID",
    "SCALE_DOMAIN",
    "SCALE_PASSWORD",
    "Plan",
    "Report",
    "existing_data",
    "seed",
]
