"""Telemarketing calling hours per register; both start with art. 9 CTM 2012 (seed 004)."""

import datetime
import django.contrib.postgres.fields
import register.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('register', '0005_register_holidays'),
    ]

    operations = [
        migrations.AddField(
            model_name='register',
            name='calling_saturday_from',
            field=models.TimeField(blank=True, default=datetime.time(10, 0), help_text='Leave both Saturday times empty for no calls on Saturdays.', null=True, verbose_name='calls on Saturdays from'),
        ),
        migrations.AddField(
            model_name='register',
            name='calling_saturday_until',
            field=models.TimeField(blank=True, default=datetime.time(16, 0), null=True, verbose_name='calls on Saturdays until'),
        ),
        migrations.AddField(
            model_name='register',
            name='calling_short_day_until',
            field=models.TimeField(default=datetime.time(18, 30), verbose_name='calls on those days until'),
        ),
        migrations.AddField(
            model_name='register',
            name='calling_short_days',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=5, validators=[register.models.validate_month_day]), blank=True, default=register.models.nl_short_calling_days, help_text='Dates as MM-DD. On a working day calls end at the time below; on a Saturday the Saturday hours apply; on a Sunday or public holiday there are no calls.', size=None, verbose_name='days with shorter calling hours'),
        ),
        migrations.AddField(
            model_name='register',
            name='calling_weekday_from',
            field=models.TimeField(default=datetime.time(9, 0), verbose_name='calls on working days from'),
        ),
        migrations.AddField(
            model_name='register',
            name='calling_weekday_until',
            field=models.TimeField(default=datetime.time(22, 0), verbose_name='calls on working days until'),
        ),
        migrations.AddConstraint(
            model_name='register',
            constraint=models.CheckConstraint(condition=models.Q(('calling_weekday_from__lt', models.F('calling_weekday_until'))), name='register_calling_weekday_window'),
        ),
        migrations.AddConstraint(
            model_name='register',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('calling_saturday_from__isnull', True), ('calling_saturday_until__isnull', True)), ('calling_saturday_from__lt', models.F('calling_saturday_until')), _connector='OR'), name='register_calling_saturday_window'),
        ),
        migrations.AddConstraint(
            model_name='register',
            constraint=models.CheckConstraint(condition=models.Q(('calling_short_day_until__gt', models.F('calling_weekday_from')), ('calling_short_day_until__lte', models.F('calling_weekday_until'))), name='register_calling_short_day_window'),
        ),
    ]
