"""Renewals and licence notices (SPEC §13): daily, idempotent; a rerun sends and orders nothing
twice."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.models import LicenceNotice, NoticeKind, OrderStatus
from billing.services.invoices import customer_email
from billing.services.orders import payment_start, renewal_order_create
from licences.models import Licence, LicenceStatus
from licences.selectors import (
    add_months,
    cancellation_deadline,
    licences_due_for_renewal,
    licences_due_for_renewal_notice,
)
from licences.services import licence_renew, licence_renewal_notice_mark_sent
from register.models import Register

logger = logging.getLogger(__name__)

# nl: the reminder goes out this long before the last day to cancel (2 months before renewal).
CANCELLATION_REMINDER_LEAD_MONTHS = 1


def register_base_url(register: Register) -> str:
    """Where a scheduled mail links to: there is no request to take the host from."""
    return settings.PORTAL_BASE_URL_TEMPLATE.format(host=register.hostnames[0]).rstrip("/")


def _licence_mail(*, licence: Licence, template: str, context: dict[str, Any]) -> None:
    register = licence.company.register
    recipient = customer_email(licence.company)
    if not recipient:
        logger.warning("company %s has no e-mail address for %s", licence.company_id, template)
        return
    context = {"licence": licence, "company": licence.company, "register": register, **context}
    with translation.override(register.default_language):
        subject = render_to_string(f"mail/billing/{template}_subject.txt", context).strip()
        body = render_to_string(f"mail/billing/{template}_body.txt", context)
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[register.support_email],
    ).send()


def renewal_notices_send(*, register: Register, today) -> int:
    """be: tells each company two months before expiry that its annual licence renews tacitly
    and until when it can cancel (seed 001). Returns how many were sent; a rerun sends none."""
    sent = 0
    for licence in licences_due_for_renewal_notice(register=register, on=today):
        # Claim and send in one transaction: a failed send gives the claim back for tomorrow.
        with transaction.atomic():
            if not licence_renewal_notice_mark_sent(licence=licence):
                continue
            _licence_mail(
                licence=licence,
                template="renewal_notice",
                context={
                    "deadline": cancellation_deadline(licence),
                    "price": licence.product.price,
                    "vat_rate": register.vat_rate,
                },
            )
            sent += 1
    return sent


def cancellation_reminders_send(*, register: Register, today) -> int:
    """nl: reminds a company a month ahead of the last day it can cancel a renewing licence
    (2 months before renewal, seed 000). Licences that get the be renewal notice are left out.
    Returns how many were sent; a rerun sends none."""
    candidates = Licence.objects.filter(
        register=register,
        status=LicenceStatus.ACTIVE,
        renews=True,
        ends_on__gte=today,
        product__renewal_notice_months__isnull=True,
        product__cancellation_notice_months__isnull=False,
    ).select_related("product", "company__register")
    sent = 0
    for licence in candidates:
        deadline = cancellation_deadline(licence)
        if not add_months(deadline, -CANCELLATION_REMINDER_LEAD_MONTHS) <= today <= deadline:
            continue
        with transaction.atomic():
            notice, created = LicenceNotice.objects.get_or_create(
                register=register, licence=licence, kind=NoticeKind.CANCELLATION_DEADLINE
            )
            if not created:
                continue
            _licence_mail(
                licence=licence, template="cancellation_reminder", context={"deadline": deadline}
            )
            notice.mailed_at = timezone.now()
            notice.save(update_fields=["mailed_at"])
            sent += 1
    return sent


def renewals_run(*, register: Register, today, base_url: str) -> int:
    """Renews the licences due (a new period, tacitly), orders the period and mails the payment
    link. Each step finds what an earlier, interrupted run did, so running twice or resuming
    after a crash makes no second period, order or mail. Returns how many links were mailed."""
    mailed = 0
    for licence in licences_due_for_renewal(register=register, on=today):
        renewed = licence_renew(licence=licence)
        with transaction.atomic():
            notice = (
                LicenceNotice.objects.select_for_update(of=("self",))
                .filter(licence=renewed, kind=NoticeKind.RENEWAL_ORDER)
                .first()
            )
            if notice is None:
                notice = LicenceNotice.objects.create(
                    register=register,
                    licence=renewed,
                    kind=NoticeKind.RENEWAL_ORDER,
                    order=renewal_order_create(licence=renewed),
                )
        if notice.mailed_at is not None:
            continue
        order = notice.order
        payment = (
            payment_start(order=order, base_url=base_url)
            if order.status == OrderStatus.OPEN
            else None
        )
        with transaction.atomic():
            notice = LicenceNotice.objects.select_for_update(of=("self",)).get(pk=notice.pk)
            if notice.mailed_at is not None:
                continue
            _licence_mail(
                licence=renewed,
                template="renewal_payment",
                context={"order": order, "payment": payment},
            )
            notice.mailed_at = timezone.now()
            notice.save(update_fields=["mailed_at"])
            mailed += 1
    return mailed
