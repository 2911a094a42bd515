"""Admin imports as one row each: the numbers an import loaded point to it for their block event."""

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('register', '0007_register_foreign_keys_without_constraint'),
    ]

    operations = [
        migrations.CreateModel(
            name='RegisterImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='occurred at')),
                ('imported_by', models.CharField(blank=True, max_length=150, verbose_name='imported by')),
                ('file_name', models.CharField(blank=True, max_length=255, verbose_name='file name')),
                ('sha256', models.CharField(max_length=64, verbose_name='SHA-256 of the file')),
                ('loaded', models.PositiveIntegerField(default=0, verbose_name='numbers loaded')),
                ('skipped', models.PositiveIntegerField(default=0, verbose_name='lines skipped')),
                ('register', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='register.register', verbose_name='register')),
            ],
            options={
                'verbose_name': 'register import',
                'verbose_name_plural': 'register imports',
            },
        ),
        migrations.AddField(
            model_name='blockednumber',
            name='imported_in',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='register.registerimport', verbose_name='imported in'),
        ),
        migrations.AddIndex(
            model_name='blockednumber',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['imported_in'], name='blocked_number_import'),
        ),
    ]
