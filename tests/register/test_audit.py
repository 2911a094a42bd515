"""The action log (SPEC §17, STYLE 15): written in the action's transaction, append-only,
exported per register and period."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from register.audit import SYSTEM, actions_for, log_action
from register.models import ActionLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(nl):
    user = get_user_model().objects.create_user(
        username="desk@example.com", email="desk@example.com", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_actionlog"))
    nl.staff.add(user)
    return user


def test_an_action_names_who_did_what_to_which_object(nl, desk):
    with scope(register=nl):
        entry = log_action(
            register=nl, actor=desk, action="register.edited", target=nl, data={"why": "test"}
        )
        assert list(actions_for(nl)) == [entry]
    assert (entry.actor, entry.actor_label, entry.object_repr) == (desk, desk.email, str(nl))
    assert entry.data == {"why": "test"}


@pytest.mark.parametrize(
    ("actor", "label"), [(None, SYSTEM), ("ops@example.com", "ops@example.com")]
)
def test_an_action_without_a_user_names_its_source(nl, actor, label):
    with scope(register=nl):
        assert log_action(register=nl, actor=actor, action="licences.expired").actor_label == label


def test_an_action_that_rolls_back_leaves_no_entry(nl):
    with scope(register=nl), pytest.raises(RuntimeError), transaction.atomic():
        log_action(register=nl, actor=None, action="licence.granted", target=nl)
        raise RuntimeError
    with scopes_disabled():
        assert not ActionLog.objects.exists()


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_log_is_append_only(nl, change):
    with scope(register=nl):
        entry = log_action(register=nl, actor=None, action="licence.granted", target=nl)
    with scopes_disabled(), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        if change == "update":
            ActionLog.objects.filter(pk=entry.pk).update(action="licence.cancelled")
        else:
            ActionLog.objects.filter(pk=entry.pk).delete()


def test_staff_export_their_registers_log_of_a_period_as_csv(client, nl, be, desk):
    with scope(register=nl):
        log_action(register=nl, actor=desk, action="licence.granted", target=nl)
        log_action(register=nl, actor="=HYPERLINK(1)", action="key.revoked", target=nl)
    with scope(register=be):
        log_action(register=be, actor=None, action="licence.cancelled", target=be)
    client.force_login(desk)
    today = timezone.localdate()

    answer = client.get(
        "/admin/register/actionlog/export/",
        {"start": today - datetime.timedelta(days=1), "end": today},
        HTTP_HOST="nl.localhost",
    )

    assert answer.status_code == 200
    assert answer["Content-Disposition"].startswith("attachment")
    lines = b"".join(answer.streaming_content).decode().splitlines()
    assert len(lines) == 3
    assert "licence.granted" in lines[1] and desk.email in lines[1]
    assert "'=HYPERLINK(1)" in lines[2]
    assert not any("licence.cancelled" in line for line in lines)


def test_the_export_form_refuses_a_period_that_ends_before_it_starts(client, desk):
    client.force_login(desk)
    answer = client.get(
        "/admin/register/actionlog/export/",
        {"start": "2026-02-01", "end": "2026-01-01"},
        HTTP_HOST="nl.localhost",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 200
    assert answer.context["form"].non_field_errors()
    assert "Content-Disposition" not in answer
