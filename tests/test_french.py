"""French for be (SPEC §17, issue #12): a complete French catalogue, be's pages in French for a
French-speaking browser once be offers French, and French labels on the documents an inspector
reads (invoice, certificate of consultation)."""

import ast
import datetime
import json
import re
from decimal import Decimal
from gettext import GNUTranslations
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django_scopes import scopes_disabled

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
BE_FR_TEXTS = ROOT / "register" / "texts" / "be_fr.json"
BE_HOST = "be.localhost"
NL_HOST = "nl.localhost"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sdr]|\{\w*\}|</?[a-z][^>]*>")


def read_po(language: str) -> list[dict]:
    """The live entries of a catalogue, the header first, as makemessages writes them: entries
    separated by blank lines, obsolete ones (#~) left out."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or all(line.startswith("#~") for line in lines):
            continue
        entry = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": {}}
        key = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if isinstance(key, int):
                    entry["msgstr"][key] += value
                else:
                    entry[key] += value
            else:
                keyword, literal = line.split(" ", 1)
                plural_form = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
                key = int(plural_form.group(1)) if plural_form else keyword
                if key == "msgstr":
                    key = 0
                if isinstance(key, int):
                    entry["msgstr"][key] = ast.literal_eval(literal)
                else:
                    entry[key] = ast.literal_eval(literal)
        entries.append(entry)
    return entries


def translations(language: str) -> dict[tuple, dict]:
    return {(e["msgctxt"], e["msgid"]): e for e in read_po(language)[1:]}


def page_text(response) -> str:
    """The page as a person reads it: scripts, styles and tags gone, entities and whitespace
    folded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    plain = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&#x27;", "'"), ("&quot;", '"'), ("&amp;", "&"), ("&nbsp;", " ")):
        plain = plain.replace(entity, char)
    return " ".join(plain.split())


def shown_as(message: str) -> tuple[str, re.Pattern] | None:
    """How a message reads on a page: its longest literal piece, and a pattern with its
    placeholders as any short text and its markup gone. None for a single word such as "Total"
    or "Documents", which reads the same in French or is found inside other words."""
    pieces = [" ".join(piece.split()) for piece in PLACEHOLDER.split(message)]
    pieces = [piece for piece in pieces if piece]
    if sum(len(piece.split()) for piece in pieces) < 2:
        return None
    pattern = r"\s?.{0,80}?\s?".join(re.escape(piece).replace(r"\ ", r"\s") for piece in pieces)
    return max(pieces, key=len), re.compile(pattern)


def leftovers(text: str) -> list[str]:
    """English msgids and Dutch translations of the catalogue that show on a French page."""
    french, dutch = translations("fr"), translations("nl")
    found = []
    for key, entry in french.items():
        if entry["msgid_plural"]:
            continue
        others = {entry["msgid"], dutch.get(key, {}).get("msgstr", {}).get(0, "")}
        for other in others - {entry["msgstr"][0]}:
            shown = shown_as(other)
            if shown is not None and shown[0] in text and shown[1].search(text):
                found.append(other)
    return found


def test_french_catalogue_has_every_message_translated_and_compiled():
    entries = read_po("fr")
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Language: fr\n" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=2; plural=(n > 1);\n" in header["msgstr"][0]
    assert len(messages) >= 1248

    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    wrong_forms = [e["msgid"] for e in messages if e["msgid_plural"] and len(e["msgstr"]) != 2]
    assert untranslated == [] and fuzzy == [] and wrong_forms == []

    # Placeholders and markup as in the msgid, in every form.
    for entry in messages:
        source = PLACEHOLDER.findall(entry["msgid"] + (entry["msgid_plural"] or ""))
        for form in entry["msgstr"].values():
            assert sorted(set(PLACEHOLDER.findall(form))) == sorted(set(source)), entry["msgid"]

    # The committed .mo is compiled from this .po: running it needs no gettext.
    with open(LOCALE / "fr" / "LC_MESSAGES" / "django.mo", "rb") as mo:
        compiled = GNUTranslations(mo)
    for entry in messages:
        msgid, context = entry["msgid"], entry["msgctxt"]
        if entry["msgid_plural"]:
            for n, form in ((1, 0), (2, 1)):
                assert compiled.ngettext(msgid, entry["msgid_plural"], n) == entry["msgstr"][form]
        elif context:
            assert compiled.pgettext(context, msgid) == entry["msgstr"][0]
        else:
            assert compiled.gettext(msgid) == entry["msgstr"][0]


@pytest.fixture
def be_in_french(be):
    """be as its data migration leaves it (nl, fr, en), with the French texts of the JSON file."""
    with scopes_disabled():
        be.languages = ["nl", "fr", "en"]
        be.texts = {**be.texts, "fr": json.loads(BE_FR_TEXTS.read_text(encoding="utf-8"))}
        be.save(update_fields=["languages", "texts"])
    return be


def test_be_french_texts_have_every_key_its_other_languages_have(be):
    french = json.loads(BE_FR_TEXTS.read_text(encoding="utf-8"))
    keys = {key for language in be.languages for key in be.texts.get(language, {})}
    keys |= {f"category.{code}" for code in be.categories}
    assert keys and set(french) == keys
    assert all(value.strip() for value in french.values())


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_a_french_browser_lands_on_french_on_be_and_on_dutch_on_nl(client, be, nl):
    response = client.get("/", HTTP_HOST=BE_HOST, HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9")
    assert response.headers["Content-Language"] == "fr"
    response = client.get("/", HTTP_HOST=NL_HOST, HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9")
    assert response.headers["Content-Language"] == "nl"  # nl never offers French


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_consumer_home_page_of_be_in_french(client, be_in_french):
    response = client.get("/", HTTP_HOST=BE_HOST, HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9,en;q=0.5")

    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    html = response.content.decode()
    assert '<html lang="fr">' in html
    text = page_text(response)
    assert "<h1>Inscrivez votre numéro</h1>" in html
    assert be_in_french.texts["fr"]["intro"] in text
    for shown in (
        "Saisissez vos numéros et votre adresse e-mail.",
        "Votre inscription bloque tous les appels de télémarketing vers ces numéros.",
        "Envoyer l'e-mail de confirmation",  # the button
        "Inscrire un numéro",
        "Vérifier un numéro",
        "Modifier ou désinscrire",
        "Pour les entreprises",
        "Service d'assistance",
        "Aller au contenu principal",
    ):
        assert shown in text
    assert leftovers(text) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_check_page_of_be_in_french(client, be_in_french):
    response = client.get("/check/", HTTP_HOST=BE_HOST, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Vérifier un numéro</h1>" in html
    assert '<button type="submit" class="button">Vérifier</button>' in html
    text = page_text(response)
    assert leftovers(text) == []

    response = client.post(
        "/check/", {"number": "0470 12 34 56"}, HTTP_HOST=BE_HOST, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 200
    text = page_text(response)
    assert "+32 470 12 34 56 n'est pas inscrit" in text
    assert "Inscrire ce numéro" in text
    assert leftovers(text) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
@pytest.mark.parametrize(
    "url",
    [
        "/manage/",
        "/cases/new/",
    ],
)
def test_other_public_pages_of_be_in_french(client, be_in_french, url):
    response = client.get(url, HTTP_HOST=BE_HOST, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    assert leftovers(page_text(response)) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_company_login_page_of_be_in_french(client, be_in_french):
    response = client.get("/account/login/", HTTP_HOST=BE_HOST, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Connexion entreprises</h1>" in html
    text = page_text(response)
    for shown in ("Se connecter", "Adresse e-mail", "Mot de passe", "Pas encore de compte ?"):
        assert shown in text
    assert leftovers(text) == []


def invoice_stub(languages: list[str], **fields) -> SimpleNamespace:
    values = {
        "register": SimpleNamespace(languages=languages),
        "kind": "invoice",
        "number": "BE-2026-000001",
        "supplier_name": "DNCM vzw",
        "supplier_address": "België",
        "supplier_vat_id": "BE0123456789",
        "supplier_chamber_number": "0123.456.789",
        "supplier_iban": "BE68539007547034",
        "supplier_email": "info@dncm.be",
        "customer_name": "Boulangerie Dupont SRL",
        "customer_address": "Rue Haute 1\n1000 Bruxelles",
        "customer_vat_id": "BE0987654321",
        "customer_chamber_number": "0987.654.321",
        "issued_on": datetime.date(2026, 12, 7),
        "supplied_on": datetime.date(2026, 12, 7),
        "order_id": 7,
        "payment_reference": "tr_abc",
        "corrects_id": None,
        "currency": "EUR",
        "vat_rate": Decimal("21.00"),
        "total_excl_vat": Decimal("760.00"),
        "vat_amount": Decimal("159.60"),
        "total_incl_vat": Decimal("919.60"),
    }
    return SimpleNamespace(**{**values, **fields})


def pdf_html_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_invoice_labels_are_in_each_language_of_the_register():
    text = pdf_html_text(
        render_to_string("billing/invoice_pdf.html", {"invoice": invoice_stub(["nl", "en"])})
    )
    # nl, as before French came: Dutch and English.
    for shown in (
        "Factuur / Invoice BE-2026-000001",
        "Btw-nummer / VAT id: BE0123456789",
        "KvK/KBO / Chamber of commerce: 0123.456.789",
        "Factuurdatum / Issue date",
        "Prijs per stuk excl. btw / Unit price excl. VAT",
        "Btw 21% / VAT 21%",
        "Totaal incl. btw / Total incl. VAT",
        "Betaald via Mollie, kenmerk tr_abc. / Paid through Mollie, reference tr_abc.",
    ):
        assert shown in text

    text = pdf_html_text(
        render_to_string("billing/invoice_pdf.html", {"invoice": invoice_stub(["nl", "fr", "en"])})
    )
    for shown in (
        "Factuur / Facture / Invoice BE-2026-000001",
        "Leverancier / Fournisseur / Supplier",
        "Klant / Client / Customer",
        "Btw-nummer / Numéro de TVA / VAT id: BE0123456789",
        "KvK/KBO / BCE/KvK / Chamber of commerce: 0123.456.789",
        "Factuurnummer / Numéro de facture / Invoice number",
        "Factuurdatum / Date de facture / Issue date",
        "Leverdatum / Date de livraison / Supply date",
        "Prijs per stuk excl. btw / Prix unitaire hors TVA / Unit price excl. VAT",
        "Btw 21% / TVA 21% / VAT 21%",
        "Totaal incl. btw / Total TVA comprise / Total incl. VAT",
        "Payé via Mollie, référence tr_abc.",
    ):
        assert shown in text

    credit_note = invoice_stub(
        ["nl", "fr", "en"],
        kind="credit_note",
        corrects_id=1,
        corrects=SimpleNamespace(number="BE-2026-000001"),
        reason="Erreur",
    )
    text = pdf_html_text(render_to_string("billing/invoice_pdf.html", {"invoice": credit_note}))
    assert "Creditnota / Note de crédit / Credit note" in text
    assert "Corrigeert factuur / Corrige la facture / Corrects invoice BE-2026-000001" in text
    assert "La présente note de crédit corrige la facture mentionnée ci-dessus." in text


def test_certificate_labels_are_in_each_language_of_the_register():
    moment = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.UTC)
    context = {
        "register": SimpleNamespace(
            languages=["nl", "fr", "en"], name="Bel Me Niet Meer", operator="DNCM vzw", slug="be"
        ),
        "time_zone": "Europe/Brussels",
        "purpose": "all",
        "call_file": SimpleNamespace(
            pk=42,
            company=SimpleNamespace(
                name="Boulangerie Dupont SRL", chamber_number="0987.654.321", vat_id="BE0987654321"
            ),
            campaign=SimpleNamespace(name="Printemps"),
            filename="appels.csv",
            sha256="0" * 64,
            size=1234,
            finished_at=moment,
            register_as_of=moment,
            valid_until=datetime.date(2027, 1, 4),
            rows_blocked=1,
            rows_callable=2,
            rows_invalid=0,
            rows_out_of_scope=0,
            rows_total=3,
            credits_charged=0,
        ),
    }
    context["register"].languages = ["nl", "en"]
    text = pdf_html_text(render_to_string("campaigns/certificate_pdf.html", context))
    for shown in (
        "Bewijs van raadpleging / Certificate of consultation",
        "DNCM vzw verklaart dat het hieronder genoemde bestand op het genoemde tijdstip is "
        "vergeleken met het Bel Me Niet Meer, in de stand van het genoemde moment.",
        "Bruikbaar tot en met / Valid until 2027-01-04",
        "Uitkomst / Outcome Aantal / Records",
        "Bellen toegestaan / Callable (CALLABLE) 2",
        "Totaal aangeboden / Total offered 3",
        "dit bewijs blijft bewaard.",
    ):
        assert shown in text

    context["register"].languages = ["nl", "fr", "en"]
    text = pdf_html_text(render_to_string("campaigns/certificate_pdf.html", context))
    for shown in (
        "Bewijs van raadpleging / Attestation de consultation / Certificate of consultation",
        "DNCM vzw déclare que le fichier mentionné ci-dessous a été comparé au registre "
        "« Bel Me Niet Meer »",
        "Bruikbaar tot en met / Utilisable jusqu'au (inclus) / Valid until 2027-01-04",
        "Niet bellen / Ne pas appeler / Do not call (BLOCKED) 1",
        "Bellen toegestaan / Appel autorisé / Callable (CALLABLE) 2",
        "Totaal aangeboden / Total soumis / Total offered 3",
        "la présente attestation est conservée.",
    ):
        assert shown in text
