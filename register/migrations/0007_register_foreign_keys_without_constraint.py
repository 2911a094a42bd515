"""The register and its history keep their register_id without a foreign key constraint in the
database: its row-by-row checks at commit cost an import of ten million numbers over a minute."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('register', '0006_register_calling_hours'),
    ]

    operations = [
        migrations.AlterField(
            model_name='blockednumber',
            name='register',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, to='register.register', verbose_name='register'),
        ),
        migrations.AlterField(
            model_name='registerevent',
            name='register',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, to='register.register', verbose_name='register'),
        ),
    ]
