from django.db import migrations

# The texts are inlined, not read from register/texts/be_fr.json: a migration must do the same
# thing on every database it ever runs on, and a data file edited later would change that.
BE_FR_TEXTS = {
    "intro": (
        "Vous ne souhaitez plus recevoir d'appels de vente par téléphone ? Inscrivez votre "
        "numéro belge, fixe ou mobile, sur la liste « Ne m'appelez plus ». Les entreprises "
        "doivent retirer de leurs fichiers d'appels les numéros inscrits sur cette liste."
    ),
}


def be_in_french(apps, schema_editor):
    """be in French too (SPEC §17): its languages become nl, fr, en — nl stays the default, and
    a French-speaking browser lands on French. French texts an operator already entered are
    kept."""
    Register = apps.get_model("register", "Register")
    register = Register.objects.filter(slug="be").first()
    if register is None:
        return
    languages = [code for code in register.languages if code != "fr"]
    languages.insert(languages.index("en") if "en" in languages else len(languages), "fr")
    register.languages = languages
    register.texts = {**register.texts, "fr": {**BE_FR_TEXTS, **register.texts.get("fr", {})}}
    register.save(update_fields=["languages", "texts"])


def be_without_french(apps, schema_editor):
    Register = apps.get_model("register", "Register")
    register = Register.objects.filter(slug="be").first()
    if register is None:
        return
    register.languages = [code for code in register.languages if code != "fr"]
    register.texts = {key: value for key, value in register.texts.items() if key != "fr"}
    register.save(update_fields=["languages", "texts"])


class Migration(migrations.Migration):
    dependencies = [("register", "0010_action_log")]

    operations = [migrations.RunPython(be_in_french, be_without_french)]
