# Made by hand: the index of crm.Deal's Meta, built concurrently.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction; it does not block writes to
    # crm_deal while the index builds, which matters on a big table.
    atomic = False

    dependencies = [
        ("crm", "0008_dealstagetotal"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="deal",
            index=models.Index(
                condition=models.Q(status__in=["won", "lost"]),
                fields=["stage", "-closed_at"],
                name="deal_closed_recent_idx",
            ),
        ),
    ]
