"""The desk: an assignee per case, internal notes on the timeline, reply templates per step and
language, with defaults in nl, en and fr for every register speaking them; the complaints role
may edit the templates. Frozen here like any data migration: later changes are new migrations.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# step -> [(language, title, text)]; the kind of case each is for follows from its title below
DEFAULTS = {
    "decide": [
        ("en", "Request handled",
         "We have looked into your request and handled it as follows:\n\n…"),
        ("nl", "Verzoek afgehandeld",
         "Wij hebben uw verzoek onderzocht en als volgt afgehandeld:\n\n…"),
        ("fr", "Demande traitée",
         "Nous avons examiné votre demande et l'avons traitée comme suit :\n\n…"),
        ("en", "Complaint well-founded",
         "The director has examined your complaint and the register's records, and finds the "
         "complaint well-founded. The following has been done about it:\n\n…"),
        ("nl", "Klacht gegrond",
         "De directeur heeft uw klacht en de gegevens van het register onderzocht en verklaart "
         "de klacht gegrond. Daarom is het volgende gedaan:\n\n…"),
        ("fr", "Plainte fondée",
         "Le directeur a examiné votre plainte et les données du registre, et déclare la "
         "plainte fondée. Voici ce qui a été fait :\n\n…"),
        ("en", "Complaint unfounded",
         "The director has examined your complaint and the register's records, and finds the "
         "complaint unfounded, because:\n\n…"),
        ("nl", "Klacht ongegrond",
         "De directeur heeft uw klacht en de gegevens van het register onderzocht en verklaart "
         "de klacht ongegrond, omdat:\n\n…"),
        ("fr", "Plainte non fondée",
         "Le directeur a examiné votre plainte et les données du registre, et déclare la "
         "plainte non fondée, parce que :\n\n…"),
    ],
    "declare_inadmissible": [
        ("en", "Filed too late",
         "Your letter was received after the term the regulation sets, and it gives no reason "
         "why filing in time could not reasonably be expected of you."),
        ("nl", "Te laat ingediend",
         "Uw brief is ontvangen na de termijn die het reglement stelt, en vermeldt geen reden "
         "waarom tijdig indienen redelijkerwijs niet van u kon worden verwacht."),
        ("fr", "Introduite trop tard",
         "Votre lettre a été reçue après le délai fixé par le règlement et n'indique pas "
         "pourquoi il ne pouvait raisonnablement être attendu de vous de l'introduire à temps."),
        ("en", "Not motivated",
         "The regulation asks for a written and motivated letter. Your letter does not say "
         "why you are dissatisfied, so it cannot be assessed."),
        ("nl", "Niet gemotiveerd",
         "Het reglement vraagt om een schriftelijke en gemotiveerde brief. Uw brief vermeldt "
         "niet waarom u ontevreden bent, zodat die niet kan worden beoordeeld."),
        ("fr", "Non motivée",
         "Le règlement demande une lettre écrite et motivée. Votre lettre n'indique pas "
         "pourquoi vous êtes mécontent, de sorte qu'elle ne peut pas être examinée."),
    ],
    "board_decide": [
        ("en", "Board's decision",
         "The board has examined the documents of both parties and the director's position, "
         "and decides as follows:\n\n…\n\nThe reasons for this decision are:\n\n…"),
        ("nl", "Beslissing van de commissie",
         "De commissie heeft de stukken van beide partijen en het standpunt van de directeur "
         "bestudeerd en beslist als volgt:\n\n…\n\nDe redenen voor deze beslissing zijn:\n\n…"),
        ("fr", "Décision de la commission",
         "La commission a examiné les pièces des deux parties et la position du directeur, et "
         "décide ce qui suit :\n\n…\n\nLes motifs de cette décision sont :\n\n…"),
    ],
}  # fmt: skip

EDIT_TEMPLATES = [
    "view_replytemplate",
    "add_replytemplate",
    "change_replytemplate",
    "delete_replytemplate",
]


KINDS = {
    "Request handled": "request",
    "Verzoek afgehandeld": "request",
    "Demande traitée": "request",
    "Complaint well-founded": "complaint",
    "Klacht gegrond": "complaint",
    "Plainte fondée": "complaint",
    "Complaint unfounded": "complaint",
    "Klacht ongegrond": "complaint",
    "Plainte non fondée": "complaint",
    "Board's decision": "dispute",
    "Beslissing van de commissie": "dispute",
    "Décision de la commission": "dispute",
}


def seed(apps, schema_editor):
    using = schema_editor.connection.alias
    Register = apps.get_model("register", "Register")
    ReplyTemplate = apps.get_model("complaints", "ReplyTemplate")
    for register in Register.objects.using(using).all():
        for step, texts in DEFAULTS.items():
            for language, title, text in texts:
                if language in register.languages:
                    ReplyTemplate.objects.using(using).get_or_create(
                        register=register,
                        step=step,
                        language=language,
                        title=title,
                        defaults={"text": text, "kind": KINDS.get(title, "")},
                    )
    # On a fresh database the permissions are made after the last migration: make them now.
    app_config = apps.get_app_config("complaints")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=using)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.using(using).filter(name="complaints").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.using(using).filter(
                content_type__app_label="complaints", codename__in=EDIT_TEMPLATES
            )
        )


def unseed(apps, schema_editor):
    apps.get_model("complaints", "ReplyTemplate").objects.using(
        schema_editor.connection.alias
    ).all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('complaints', '0003_case_filer_phone'),
        ('register', '0015_service_desk_upload_integrity'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The complaints role the template permissions go to.
        ('register', '0013_staff_roles'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='assignee',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_cases', to=settings.AUTH_USER_MODEL, verbose_name='assignee'),
        ),
        migrations.AlterField(
            model_name='caseevent',
            name='action',
            field=models.CharField(choices=[('filed', 'filed'), ('recorded', 'recorded from post or e-mail'), ('attached', 'attachment added'), ('acknowledged', 'acknowledged'), ('decided', 'decided'), ('inadmissible', 'declared inadmissible'), ('lateness_excused', 'late filing admitted'), ('forwarded', 'forwarded to the board'), ('director_informed', 'director informed'), ('position_deadline', "director's position deadline set"), ('position_recorded', "director's position recorded"), ('hearing_scheduled', 'hearing scheduled'), ('position_sent', 'position sent to the user'), ('reaction_recorded', "user's reaction recorded"), ('board_decided', 'board decided'), ('closed', 'closed'), ('letter_sent', 'letter sent'), ('assigned', 'assigned'), ('note', 'internal note')], max_length=20, verbose_name='action'),
        ),
        migrations.CreateModel(
            name='ReplyTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(blank=True, choices=[('request', 'request'), ('complaint', 'complaint'), ('dispute', 'dispute')], help_text='Empty: offered for every kind of case the step is taken on.', max_length=10, verbose_name='for cases of kind')),
                ('step', models.CharField(choices=[('decide', "Decide (the answer or the director's decision)"), ('declare_inadmissible', 'Declare inadmissible'), ('board_decide', 'Board decides')], max_length=30, verbose_name='step')),
                ('language', models.CharField(max_length=8, verbose_name='language')),
                ('title', models.CharField(max_length=100, verbose_name='title')),
                ('text', models.TextField(verbose_name='text')),
                ('register', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='register.register', verbose_name='register')),
            ],
            options={
                'verbose_name': 'reply template',
                'verbose_name_plural': 'reply templates',
                'ordering': ['step', 'language', 'title'],
                'constraints': [models.UniqueConstraint(fields=('register', 'step', 'language', 'title'), name='one_reply_template_per_title')],
            },
        ),
        migrations.RunPython(seed, unseed),
    ]
