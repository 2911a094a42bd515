"""The daily licence tasks (SPEC §13): expiry and be renewal notices, each safe to run twice."""

import datetime

import pytest
from django.core import mail
from django.utils import translation
from django.utils.formats import date_format
from django_scopes import scopes_disabled

from licences.models import EmployeeBand, Licence, LicenceStatus
from licences.selectors import cancellation_deadline, register_today
from licences.tasks import expire_licences, send_renewal_notices
from tests.factories import CompanyFactory, LicenceFactory, get_product

pytestmark = pytest.mark.django_db


def test_expire_licences_expires_a_month_licence_after_its_last_day(be):
    yesterday = register_today(be) - datetime.timedelta(days=1)
    licence = LicenceFactory(
        company__register=be,
        product=get_product(be, "advertiser-month"),
        starts_on=yesterday - datetime.timedelta(days=30),
        ends_on=yesterday,
    )
    assert expire_licences() == 1
    assert expire_licences() == 0
    with scopes_disabled():
        assert Licence.objects.get(pk=licence.pk).status == LicenceStatus.EXPIRED


def test_renewal_notices_are_mailed_once_with_the_cancellation_deadline(
    be, django_capture_on_commit_callbacks
):
    ends_on = register_today(be) + datetime.timedelta(days=45)
    company = CompanyFactory(
        register=be, billing_email="facturen@example.be", employee_band=EmployeeBand.OVER_250
    )
    licence = LicenceFactory(
        company=company,
        product=get_product(be, "advertiser-large"),
        starts_on=ends_on - datetime.timedelta(days=364),
        ends_on=ends_on,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert send_renewal_notices() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_renewal_notices() == 0

    (message,) = mail.outbox
    assert message.to == ["facturen@example.be"]
    assert be.name in message.from_email
    with scopes_disabled():
        assert Licence.objects.get(pk=licence.pk).renewal_notice_sent_at is not None
    with translation.override(be.default_language), scopes_disabled():
        cancel_by = date_format(cancellation_deadline(licence), "j F Y")
    assert f"until {cancel_by}" in message.body
