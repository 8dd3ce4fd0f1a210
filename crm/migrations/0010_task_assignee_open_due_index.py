# Made by hand: the index of crm.Task's Meta, built concurrently.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run in a transaction; it does not block writes to
    # crm_task while the index builds.
    atomic = False

    dependencies = [
        ("crm", "0009_deal_closed_recent_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="task",
            index=models.Index(
                condition=models.Q(status__in=["open", "in_progress"]),
                fields=["assignee", "due_at"],
                name="task_assignee_open_due_idx",
            ),
        ),
    ]
