"""A deal's stage must belong to the deal's pipeline, for every writer.

Django has no composite foreign keys, so this one is SQL: deal(stage_id, pipeline_id) references
stage(id, pipeline_id), backed by the stage_id_pipeline_uniq constraint. Deal.clean() mirrors it
so forms show a field error before the database would refuse the row.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_initial")]

    operations = [
        migrations.RunSQL(
            """
            ALTER TABLE crm_deal ADD CONSTRAINT deal_stage_in_pipeline_fk
                FOREIGN KEY (stage_id, pipeline_id) REFERENCES crm_stage (id, pipeline_id)
                ON UPDATE CASCADE DEFERRABLE INITIALLY IMMEDIATE;
            """,
            "ALTER TABLE crm_deal DROP CONSTRAINT deal_stage_in_pipeline_fk;",
        ),
    ]
