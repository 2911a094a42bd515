"""No index on BlockedNumber.imported_in: its per-row upkeep slowed the import by a quarter."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('register', '0008_register_import'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='blockednumber',
            name='blocked_number_import',
        ),
    ]
