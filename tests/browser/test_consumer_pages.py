"""The consumer pages in a real browser: block, confirm by mail, check, manage; nl and be apart."""

import re
from datetime import date

import pytest
from django.core import mail
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from register.models import BlockedNumber, Channel, Register

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed rows; restore the seeded registers for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def registered(slug: str, number: int, **fields) -> BlockedNumber:
    with scopes_disabled():
        return BlockedNumber.objects.create(
            register=Register.objects.get(slug=slug),
            number=number,
            registered_on=date(2024, 3, 5),
            channel=fields.pop("channel", Channel.WEB),
            **fields,
        )


def link_in_last_mail(kind: str) -> str:
    return re.search(rf"http://\S+/{kind}/\S+/", mail.outbox[-1].body).group(0)


def answer(page, category: str, choice: str) -> None:
    page.get_by_role("group", name=category).get_by_label(choice).check()


def switch_to_dutch(page) -> None:
    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")


def test_block_confirm_by_mail_then_find_the_number_blocked(page, site, shot):
    page.goto(site("nl"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your number")
    shot("nl-block-en")

    page.get_by_label("Telephone numbers").fill("06 12345678\n0900 1234567")
    page.get_by_role("button", name="Send confirmation e-mail").click()
    expect(page.get_by_role("alert")).to_contain_text("“0900 1234567” is a service number")
    expect(page.get_by_role("alert")).to_contain_text("Charities: Choose yes or no.")
    shot("nl-block-errors-en")
    assert mail.outbox == []

    page.get_by_label("Telephone numbers").fill("06 12345678\n06-12345678\n020 123 4567")
    answer(page, "Commercial telemarketing (offers from companies)", "Yes, block these calls")
    answer(page, "Idealistic organisations", "No, these may call me")
    answer(page, "Charities", "Yes, block these calls")
    page.get_by_label("Your e-mail address").fill("piet@example.nl")
    page.get_by_role("button", name="Send confirmation e-mail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    expect(page.locator("main")).to_contain_text("You entered 06-12345678 more than once")
    shot("nl-block-sent-en")

    assert len(mail.outbox) == 1
    page.goto(link_in_last_mail("confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your registration")
    shot("nl-confirm-en")
    with scopes_disabled():
        assert not BlockedNumber.objects.exists()
    page.get_by_role("button", name="Confirm registration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your registration is confirmed")
    shot("nl-confirm-done-en")

    page.reload()  # the browser re-posts the form: the link is used up, nothing breaks
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used.")
    shot("nl-link-used-en")

    page.get_by_role("link", name="Check a number").first.click()
    page.get_by_label("Telephone number").fill("+31 6 12345678")
    page.get_by_role("button", name="Check", exact=True).click()
    result = page.get_by_role("status")
    expect(result).to_contain_text("+31 6 12345678 is registered")
    expect(result).to_contain_text("Charities")
    expect(result).not_to_contain_text("Idealistic organisations")
    shot("nl-check-en")

    switch_to_dutch(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nummer controleren")
    page.get_by_label("Telefoonnummer").fill("020 123 4567")
    page.get_by_role("button", name="Controleer").click()
    expect(page.get_by_role("status")).to_contain_text("+31 20 123 4567 is ingeschreven")
    expect(page.get_by_role("status")).to_contain_text("Goede doelen")
    shot("nl-check-nl")


def test_block_pages_in_dutch(page, site, shot):
    page.goto(site("nl"))
    switch_to_dutch(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Schrijf uw nummer in")
    shot("nl-block-nl")
    page.get_by_label("Telefoonnummers").fill("+32 470 12 34 56\nabc")
    answer(page, "Goede doelen", "Nee, deze mogen mij bellen")
    page.get_by_role("button", name="Stuur bevestigingsmail").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("“+32 470 12 34 56” is een nummer uit een ander land")
    expect(alert).to_contain_text("“abc” is geen geldig telefoonnummer.")
    expect(alert).to_contain_text("Vul uw e-mailadres in.")
    shot("nl-block-errors-nl")

    page.get_by_label("Telefoonnummers").fill("0612345678")
    answer(
        page, "Commerciële telemarketing (aanbiedingen van bedrijven)", "Ja, blokkeer deze oproepen"
    )
    answer(page, "Ideële organisaties", "Ja, blokkeer deze oproepen")
    page.get_by_label("Uw e-mailadres").fill("piet@example.nl")
    page.get_by_role("button", name="Stuur bevestigingsmail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kijk in uw e-mail")
    shot("nl-block-sent-nl")
    assert "Bevestig uw inschrijving" in mail.outbox[0].subject
    page.goto(link_in_last_mail("confirm"))
    shot("nl-confirm-nl")
    page.get_by_role("button", name="Inschrijving bevestigen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw inschrijving is bevestigd")
    shot("nl-confirm-done-nl")

    page.goto(site("nl") + "/confirm/made-up/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deze link is niet geldig.")
    shot("nl-link-unknown-nl")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_change_categories_then_unblock_by_mailed_link(page, site, shot, lang):
    registered("nl", 31612345678, email="piet@example.nl")
    page.goto(site("nl") + "/manage/")
    if lang == "nl":
        switch_to_dutch(page)
    email, send, sent = {
        "en": ("The e-mail address you registered with", "Send me a link", "Check your e-mail"),
        "nl": (
            "Het e-mailadres waarmee u zich inschreef",
            "Stuur mij een link",
            "Kijk in uw e-mail",
        ),
    }[lang]
    shot(f"nl-manage-{lang}")
    page.get_by_label(email).fill("piet@example.nl")
    page.get_by_role("button", name=send).click()
    expect(page.get_by_role("status")).to_contain_text(sent)
    shot(f"nl-manage-sent-{lang}")

    page.goto(link_in_last_mail("manage"))
    shot(f"nl-manage-edit-{lang}")
    change, no, save, unblock, confirm = {
        "en": (
            "Change which calls are blocked",
            "No, these may call me",
            "Save changes",
            "Unblock +31 6 12345678…",
            "Yes, unblock +31 6 12345678",
        ),
        "nl": (
            "Wijzig welke oproepen geblokkeerd zijn",
            "Nee, deze mogen mij bellen",
            "Wijzigingen opslaan",
            "+31 6 12345678 uitschrijven…",
            "Ja, +31 6 12345678 uitschrijven",
        ),
    }[lang]
    charities = {"en": "Charities", "nl": "Goede doelen"}[lang]
    page.get_by_text(change).click()
    answer(page, charities, no)
    page.get_by_role("button", name=save).click()
    shot(f"nl-manage-done-{lang}")
    with scopes_disabled():
        assert BlockedNumber.objects.get().category_codes == ["commercial", "ideal"]

    # The same visit goes on: one link serves several changes.
    page.get_by_role("link", name=unblock).click()
    shot(f"nl-manage-unblock-{lang}")
    page.get_by_role("button", name=confirm).click()
    expect(page.get_by_role("status")).to_contain_text("+31 6 12345678")
    shot(f"nl-manage-unblocked-{lang}")
    with scopes_disabled():
        assert not BlockedNumber.objects.exists()


def test_nl_and_be_never_see_each_others_numbers(page, site, shot):
    registered("nl", 31612345678)
    registered("be", 32471234567)

    page.goto(site("be"))
    expect(page.locator(".site-name")).to_have_text("Bel Me Niet Meer")
    expect(page.get_by_role("group")).to_have_count(0)  # one full block: no category questions
    shot("be-block-en")
    page.goto(site("be") + "/check/")
    page.get_by_label("Telephone number").fill("0471 23 45 67")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("+32 471 23 45 67 is registered")
    expect(page.get_by_role("status")).to_contain_text("All telemarketing calls are blocked.")
    shot("be-check-en")
    page.get_by_label("Telephone number").fill("+31 6 12345678")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("is a number of another country")
    expect(page.get_by_role("status")).to_have_count(0)

    page.goto(site("nl") + "/check/")
    page.get_by_label("Telephone number").fill("+32 471 23 45 67")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("is a number of another country")
    page.get_by_label("Telephone number").fill("06 12345678")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("+31 6 12345678 is registered")

    page.goto(site("be") + "/block/")
    switch_to_dutch(page)
    page.get_by_label("Telefoonnummers").fill("0471 23 45 68")
    page.get_by_label("Uw e-mailadres").fill("jan@example.be")
    page.get_by_role("button", name="Stuur bevestigingsmail").click()
    shot("be-block-sent-nl")
    be_link = link_in_last_mail("confirm")
    assert be_link.startswith(site("be"))
    page.goto(be_link.replace(site("be"), site("nl")))
    # The language cookie belongs to be.localhost: nl answers in the browser's English.
    expect(page.get_by_role("heading", level=1)).to_contain_text("This link is not valid.")
    page.goto(be_link)
    page.get_by_role("button", name="Inschrijving bevestigen").click()
    expect(page.locator("main")).to_contain_text("Alle telemarketingoproepen zijn geblokkeerd.")
    shot("be-confirm-done-nl")
    with scopes_disabled():
        assert BlockedNumber.objects.get(number=32471234568).register.slug == "be"
