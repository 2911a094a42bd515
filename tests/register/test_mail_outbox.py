"""The outbox (register/mail.py): a mail server that refuses costs a mail a delay, never the act
that caused it, never the mail itself, and never a second copy."""

import datetime
import socket

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from config.reaper import reap
from register.mail import mail_deliver, mail_on_commit
from register.models import OutgoingMail
from tests.races import run_at_once

NL_ANSWERS = {"category_commercial": "yes", "category_ideal": "no", "category_charity": "yes"}


@pytest.fixture
def refusing_mail_server(settings):
    """SMTP pointed at a port nobody listens on: the connection is refused, as when the relay is
    down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 2
    return settings


def waiting() -> list[OutgoingMail]:
    with scopes_disabled():
        return list(OutgoingMail.objects.order_by("pk"))


def make_due():
    with scopes_disabled():
        OutgoingMail.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))


@pytest.mark.django_db
def test_a_block_while_the_mail_server_refuses_answers_and_its_mail_follows_once(
    client, nl, refusing_mail_server, django_capture_on_commit_callbacks, fresh_rate_limits
):
    data = {"numbers": "0612345678", "email": "piet@example.nl", **NL_ANSWERS}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/block/", data, HTTP_HOST="nl.localhost")
    assert response.status_code == 200
    [held] = waiting()
    assert (held.to, held.attempts) == ("piet@example.nl", 1)
    assert "ConnectionRefusedError" in held.last_error
    assert held.next_attempt_at > timezone.now()
    assert reap().get("mails") == 0, "not due yet: the reaper waits for the next attempt's time"

    refusing_mail_server.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_due()
    assert reap()["mails"] == 1
    [sent] = mail.outbox
    assert sent.to == ["piet@example.nl"]
    assert "/confirm/" in sent.body
    assert sent.from_email == f"{nl.name} <noreply@localhost>"
    assert waiting() == []
    assert reap().get("mails") == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_each_refusal_waits_twice_as_long_as_the_one_before(nl, refusing_mail_server):
    with scope(register=nl), transaction.atomic():
        mail_on_commit(
            register=nl,
            to="a@example.nl",
            language="en",
            template="register/email/confirm_block",
            context={
                "url": "https://nl.localhost/confirm/x/",
                "numbers": [],
                "categories": [],
                "hours": 24,
            },
        )
    [held] = waiting()
    waits = []
    for _attempt in range(3):
        before = timezone.now()
        with scope(register=nl):
            assert mail_deliver(register=nl, pk=held.pk) is False
        held.refresh_from_db()
        waits.append(round((held.next_attempt_at - before).total_seconds() / 60))
    assert held.attempts == 3
    assert waits == [1, 2, 4]


@pytest.mark.django_db
def test_a_rolled_back_act_leaves_no_mail_behind(nl):
    with pytest.raises(RuntimeError), scope(register=nl), transaction.atomic():
        mail_on_commit(
            register=nl,
            to="a@example.nl",
            language="en",
            template="register/email/confirm_block",
            context={
                "url": "https://nl.localhost/confirm/x/",
                "numbers": [],
                "categories": [],
                "hours": 24,
            },
        )
        raise RuntimeError("the act failed")
    assert waiting() == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_password_reset_while_the_mail_server_refuses_is_no_server_error(
    client, nl, refusing_mail_server, django_user_model
):
    django_user_model.objects.create_user(
        username="jan", email="jan@example.nl", password="a-long-password-2026"
    )
    response = client.post(
        "/account/password/reset/", {"email": "jan@example.nl"}, HTTP_HOST="nl.localhost"
    )
    assert response.status_code == 302
    [held] = waiting()
    assert held.to == "jan@example.nl"
    assert held.subject.startswith(f"[{nl.name}]")

    refusing_mail_server.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_due()
    reap()
    [sent] = mail.outbox
    assert "/account/password/reset/key/" in sent.body


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_commit_hook_and_the_reaper_racing_for_a_mail_send_it_once(nl):
    with scope(register=nl):
        held = OutgoingMail.objects.create(
            register=nl, sender="x <noreply@localhost>", to="a@example.nl", subject="s", body="b"
        )
    outcomes = []

    def deliver():
        with scope(register=nl):
            outcomes.append(mail_deliver(register=nl, pk=held.pk))

    assert run_at_once(deliver, deliver, deliver) == []
    assert len(mail.outbox) == 1
    assert sorted(outcomes, key=str) == sorted([True, None, None], key=str)
    assert waiting() == []
