from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_invoices_immutable")]

    operations = [
        migrations.RenameField("licencenotice", "sent_at", "created_at"),
        migrations.AlterField(
            model_name="licencenotice",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created at"),
        ),
        migrations.AddField(
            model_name="licencenotice",
            name="mailed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="mailed at"),
        ),
        migrations.AlterField(
            model_name="licencenotice",
            name="kind",
            field=models.CharField(
                choices=[
                    ("cancellation_deadline", "cancellation deadline reminder"),
                    ("renewal_order", "renewal order and payment link"),
                ],
                max_length=24,
                verbose_name="kind",
            ),
        ),
    ]
