"""The daily licence tasks (SPEC §13): expiry and be renewal notices, each safe to run twice."""

import datetime

import pytest
from django_scopes import scope, scopes_disabled

from licences.models import Licence, LicenceStatus
from licences.services import licence_renewal_notice_mark_sent
from licences.tasks import expire_licences
from tests.factories import LicenceFactory, get_product

pytestmark = pytest.mark.django_db


def test_expire_licences_expires_a_month_licence_after_its_last_day(be):
    yesterday = be.today() - datetime.timedelta(days=1)
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


def test_a_renewal_notice_is_claimed_once(be):
    licence = LicenceFactory(company__register=be, product=get_product(be, "provider-small"))
    with scope(register=be):
        assert licence_renewal_notice_mark_sent(licence=licence) is True
        assert licence_renewal_notice_mark_sent(licence=licence) is False
