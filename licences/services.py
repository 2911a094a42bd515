"""Writes for companies, licences, credits and API keys (SPEC §3, §6, §7).

Every service owns its transaction. Callers set the register scope (middleware, tasks, commands).
"""

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from licences.accounts import user_get_or_invite
from licences.authentication import hash_key
from licences.models import (
    ApiKey,
    Company,
    CompanyType,
    CreditAccount,
    CreditEntry,
    EmployeeBand,
    Licence,
    LicenceProduct,
    LicenceSource,
    LicenceStatus,
    Membership,
    ProductKind,
    Role,
    UploadLicenceRequest,
    UploadLicenceRequestStatus,
)
from licences.selectors import (
    cancellation_deadline,
    period_end,
    renewal_date,
    upload_licence_held,
    upload_product,
)
from register.audit import log_action
from register.errors import DomainError, InsufficientCredits, NotFound
from register.models import Register

API_KEY_PREFIX = "dnc_"
# Long enough to tell a company's keys apart in a list, far too short to guess the rest from.
API_KEY_SHOWN_CHARS = 12

# Companies and memberships


def company_create(
    *,
    register: Register,
    name: str,
    owner,
    company_type: str = CompanyType.ADVERTISER,
    employee_band: str = EmployeeBand.UP_TO_250,
    chamber_number: str = "",
    vat_id: str = "",
    street: str = "",
    postcode: str = "",
    city: str = "",
    country: str = "",
    billing_email: str = "",
    phone: str = "",
    actor=None,
) -> Company:
    """A company with `owner` as its first member, in role owner; `actor` is who made it (the
    owner in the portal; None for a command or the demo data)."""
    if company_type not in CompanyType.values:
        raise DomainError(_("Unknown company type."), code="invalid_company_type")
    if employee_band not in EmployeeBand.values:
        raise DomainError(_("Unknown employee band."), code="invalid_employee_band")
    company = Company(
        register=register,
        name=name,
        company_type=company_type,
        employee_band=employee_band,
        chamber_number=chamber_number,
        vat_id=vat_id,
        street=street,
        postcode=postcode,
        city=city,
        country=country or register.country,
        billing_email=billing_email or owner.email,
        phone=phone,
    )
    try:
        # The identifiers' checks of every writer (licences.identifiers), not only the forms'.
        company.clean()
    except ValidationError as error:
        raise DomainError(" ".join(error.messages), code="invalid_company") from None
    with transaction.atomic():
        try:
            with transaction.atomic():
                company.save()
        except IntegrityError:
            # Registered a moment ago by someone else (the unique constraint).
            raise DomainError(
                _("A company with this chamber of commerce number is already registered."),
                code="chamber_number_taken",
            ) from None
        Membership.objects.create(company=company, user=owner, role=Role.OWNER)
        log_action(
            register=register,
            actor=actor,
            action="company.created",
            target=company,
            data={"name": name, "owner": owner.email, "company_type": company_type},
        )
    return company


def company_update(*, company: Company, changes: dict, actor) -> Company:
    """Changes a company's details (`changes`: field name to new value, from the owner's form);
    the log keeps each changed field's old and new value."""
    with transaction.atomic():
        # A form has already set the new values on the caller's instance: the old ones are read
        # from the locked row.
        stored = Company.objects.select_for_update(of=("self",)).get(pk=company.pk)
        changed = {
            field: {"from": getattr(stored, field), "to": value}
            for field, value in changes.items()
            if getattr(stored, field) != value
        }
        for field, value in changes.items():
            setattr(company, field, value)
        if changed:
            company.save(update_fields=list(changed))
            log_action(
                register=company.register,
                actor=actor,
                action="company.changed",
                target=company,
                data={"changed": changed},
            )
    return company


def membership_add(*, company: Company, user, role: str, actor=None) -> Membership:
    """Adds `user` to `company` in `role`, or gives a member that role; `actor` is who did it."""
    if role not in Role.values:
        raise DomainError(_("Unknown role."), code="invalid_role")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            company=company, user=user, defaults={"role": role}
        )
        if created:
            log_action(
                register=company.register,
                actor=actor,
                action="member.added",
                target=company,
                data={"email": user.email, "role": role},
            )
        elif membership.role != role:
            log_action(
                register=company.register,
                actor=actor,
                action="member.role_changed",
                target=company,
                data={"email": user.email, "from": membership.role, "to": role},
            )
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def membership_add_by_email(
    *, company: Company, email: str, role: str, language: str, base_url: str, actor=None
) -> tuple[Membership, bool]:
    """Adds the account of `email`, made and invited by mail when there is none (SPEC §3).

    Returns the membership and whether an invitation was mailed (after the commit).
    """
    with transaction.atomic():
        user, invited = user_get_or_invite(
            register=company.register, email=email, language=language, base_url=base_url
        )
        membership = membership_add(company=company, user=user, role=role, actor=actor)
    return membership, invited


def membership_remove(*, membership: Membership, actor=None) -> None:
    """Removes a member; the last owner stays, so a company is never left without one."""
    with transaction.atomic():
        # Lock the company's owner rows: two owners removing each other at the same time would
        # each still see the other and leave the company without an owner.
        owners = list(
            Membership.objects.select_for_update(of=("self",))
            .filter(company_id=membership.company_id, role=Role.OWNER)
            .values_list("pk", flat=True)
        )
        if owners == [membership.pk]:
            raise DomainError(_("A company needs at least one owner."), code="last_owner")
        Membership.objects.filter(pk=membership.pk).delete()
        log_action(
            register=membership.company.register,
            actor=actor,
            action="member.removed",
            target=membership.company,
            data={"email": membership.user.email, "role": membership.role},
        )


# Licences


class NotForSale(DomainError):
    """A product the register grants on request only (the upload licence, SPEC §11)."""

    code = "not_for_sale"
    status = 400

    def __init__(self, *, product: LicenceProduct):
        super().__init__(
            _(
                "The product %(code)s is not sold: request it on your licences page and the "
                "register grants it."
            )
            % {"code": product.code}
        )


def licences_activate(
    *,
    company: Company,
    product: LicenceProduct,
    quantity: int = 1,
    campaign=None,
    source: str,
    reference: str,
    starts_on: datetime.date | None = None,
    granted_by=None,
    actor=None,
    log_data: dict | None = None,
) -> list[Licence]:
    """The licences of one paid order line or grant, usable at once (seeds 000, 001).

    A marking product credits its campaign's account by credits × quantity. Activating the same
    `reference` again returns the licences made the first time, so a webhook delivered twice or
    a grant retried creates nothing new.

    Each new licence is logged ("licence.granted" or "licence.activated") with `actor` (for a
    grant `granted_by` when no actor is given) and `log_data`, e.g. the order and its amount.
    """
    if product.register_id != company.register_id:
        raise DomainError(_("This product is not sold in this register."), code="invalid_product")
    if not product.is_for(company):
        raise DomainError(
            _("This product is not offered to companies of this type and size."),
            code="product_not_for_company",
        )
    if quantity < 1:
        raise DomainError(_("The quantity must be at least 1."), code="invalid_quantity")
    if source not in LicenceSource.values or not reference:
        raise DomainError(_("A licence needs a source and a reference."), code="invalid")
    if not product.for_sale and source != LicenceSource.GRANT:
        # The upload licence writes into the register: only staff grant it (SPEC §11).
        raise NotForSale(product=product)
    if product.requires_campaign:
        if campaign is None:
            raise DomainError(_("This licence is added to a campaign."), code="campaign_required")
        if campaign.company_id != company.pk:
            raise NotFound
    elif campaign is not None:
        raise DomainError(
            _("This licence is for the whole company, not for a campaign."),
            code="campaign_not_allowed",
        )
    starts_on = starts_on or company.register.today()
    ends_on = period_end(product, starts_on)

    with transaction.atomic():
        # Two deliveries of the same paid order (webhook and return page) may arrive together:
        # the company row lock makes the second wait and then find the first one's licences.
        Company.objects.select_for_update(of=("self",)).filter(pk=company.pk).first()
        existing = list(Licence.objects.filter(company=company, reference=reference))
        if existing:
            return existing
        licences = [
            Licence.objects.create(
                register=company.register,
                company=company,
                product=product,
                campaign=campaign,
                status=LicenceStatus.ACTIVE,
                source=source,
                reference=reference,
                starts_on=starts_on,
                ends_on=ends_on,
                renews=product.renews,
                granted_by=granted_by,
            )
            for _position in range(quantity)
        ]
        for licence in licences:
            log_action(
                register=company.register,
                actor=actor if actor is not None else granted_by,
                action="licence.granted" if source == LicenceSource.GRANT else "licence.activated",
                target=licence,
                data={
                    "product": product.code,
                    "source": source,
                    "reference": reference,
                    "campaign": campaign.pk if campaign is not None else None,
                    "credits": product.credits * quantity
                    if product.kind == ProductKind.MARKING
                    else 0,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    **(log_data or {}),
                },
            )
        if product.kind == ProductKind.MARKING and product.credits:
            _credit(
                campaign=campaign,
                amount=product.credits * quantity,
                reference=reference,
                reason=(
                    CreditEntry.Reason.GRANT
                    if source == LicenceSource.GRANT
                    else CreditEntry.Reason.PURCHASE
                ),
                licence=licences[0],
            )
    return licences


def upload_licence_request(*, company: Company, requested_by) -> UploadLicenceRequest:
    """Records that `requested_by` asks the upload licence for `company`; register staff grant
    or decline it in the admin (SPEC §11). Asking again while a request waits returns it."""
    if upload_product(register=company.register) is None:
        raise DomainError(
            _("This register takes no registrations from companies."), code="no_upload_licence"
        )
    with transaction.atomic():
        # Two clicks at once: the company row lock makes the second find the first's request.
        Company.objects.select_for_update(of=("self",)).filter(pk=company.pk).first()
        if upload_licence_held(company=company, on=company.register.today()):
            raise DomainError(
                _("Your company already holds the upload licence."), code="licence_held"
            )
        pending = UploadLicenceRequest.objects.filter(
            company=company, status=UploadLicenceRequestStatus.PENDING
        ).first()
        if pending is not None:
            return pending
        return UploadLicenceRequest.objects.create(
            register=company.register, company=company, requested_by=requested_by
        )


def _upload_request_locked(licence_request: UploadLicenceRequest) -> UploadLicenceRequest:
    licence_request = (
        UploadLicenceRequest.objects.select_for_update(of=("self",))
        .select_related("company__register")
        .get(pk=licence_request.pk)
    )
    if licence_request.status != UploadLicenceRequestStatus.PENDING:
        raise DomainError(
            _("This request has already been decided: %(status)s.")
            % {"status": licence_request.get_status_display()},
            code="request_decided",
        )
    return licence_request


def upload_licence_grant(*, licence_request: UploadLicenceRequest, granted_by) -> Licence:
    """Grants the requested upload licence (source grant, no payment), recording who and when.

    Granting a request twice is refused: the second finds it decided."""
    with transaction.atomic():
        licence_request = _upload_request_locked(licence_request)
        company = licence_request.company
        product = upload_product(register=company.register)
        if product is None:
            raise DomainError(
                _("This register takes no registrations from companies."),
                code="no_upload_licence",
            )
        (licence,) = licences_activate(
            company=company,
            product=product,
            source=LicenceSource.GRANT,
            reference=f"upload-request:{licence_request.pk}",
            granted_by=granted_by,
        )
        licence_request.status = UploadLicenceRequestStatus.GRANTED
        licence_request.decided_by = granted_by
        licence_request.decided_at = timezone.now()
        licence_request.licence = licence
        licence_request.save(update_fields=["status", "decided_by", "decided_at", "licence"])
        log_action(
            register=company.register,
            actor=granted_by,
            action="upload_licence.granted",
            target=licence_request,
            data={"company": company.pk, "licence": licence.pk},
        )
    return licence


def upload_licence_decline(
    *, licence_request: UploadLicenceRequest, declined_by
) -> UploadLicenceRequest:
    """Declines a waiting request; the company may ask again."""
    with transaction.atomic():
        licence_request = _upload_request_locked(licence_request)
        licence_request.status = UploadLicenceRequestStatus.DECLINED
        licence_request.decided_by = declined_by
        licence_request.decided_at = timezone.now()
        licence_request.save(update_fields=["status", "decided_by", "decided_at"])
        log_action(
            register=licence_request.register,
            actor=declined_by,
            action="upload_licence.declined",
            target=licence_request,
            data={"company": licence_request.company_id},
        )
    return licence_request


def licence_cancel(
    *, licence: Licence, when: datetime.datetime | None = None, actor=None
) -> Licence:
    """Stops a renewing licence from renewing; it stays usable until its end date (no early
    termination, seeds 000 and 001), then `licences_expire` expires it. `actor`: who cancels."""
    when = when or timezone.now()
    with transaction.atomic():
        # The renewal job may be renewing this licence right now: lock, then decide.
        licence = (
            Licence.objects.select_for_update(of=("self",))
            .select_related("product", "register")
            .get(pk=licence.pk)
        )
        if licence.status != LicenceStatus.ACTIVE:
            raise DomainError(_("This licence is not active."), code="licence_not_active")
        deadline = cancellation_deadline(licence)
        if deadline is None:
            raise DomainError(
                _("This licence does not renew, so there is nothing to cancel."),
                code="licence_does_not_renew",
            )
        cancelled_on = licence.register.date_of(when)
        if cancelled_on > deadline or hasattr(licence, "renewed_by"):
            raise DomainError(
                _("A licence can be cancelled until %(deadline)s; it will renew.")
                % {"deadline": deadline.isoformat()},
                code="cancellation_too_late",
            )
        licence.status = LicenceStatus.CANCELLED
        licence.cancelled_at = when
        licence.renews = False
        licence.save(update_fields=["status", "cancelled_at", "renews"])
        log_action(
            register=licence.register,
            actor=actor,
            action="licence.cancelled",
            target=licence,
            data={"product": licence.product.code, "ends_on": licence.ends_on},
        )
    return licence


def licence_withdraw(*, licence: Licence, actor=None, reason: str) -> Licence:
    """Ends an unused licence at once because its purchase was credited (a billing credit note):
    the company got its money back, so it may no longer use what it paid for."""
    with transaction.atomic():
        licence = (
            Licence.objects.select_for_update(of=("self",))
            .select_related("product", "register")
            .get(pk=licence.pk)
        )
        today = licence.register.today()
        licence.status = LicenceStatus.EXPIRED
        licence.renews = False
        licence.ends_on = max(today, licence.starts_on)
        licence.save(update_fields=["status", "renews", "ends_on"])
        log_action(
            register=licence.register,
            actor=actor,
            action="licence.withdrawn",
            target=licence,
            data={"product": licence.product.code, "reason": reason},
        )
    return licence


def licence_renew(*, licence: Licence) -> Licence:
    """The next period of a tacitly renewing licence (be annual, nl service), source renewal.

    Renewing twice returns the same next period, so billing's daily job can run again.
    """
    with transaction.atomic():
        # Two runs of the renewal job must not both create a next period: the second waits here
        # and then sees `renewed_by` (the one-to-one constraint would fail it otherwise).
        licence = (
            Licence.objects.select_for_update(of=("self",))
            .select_related("product", "company")
            .get(pk=licence.pk)
        )
        renewed = Licence.objects.filter(renewal_of=licence).first()
        if renewed is not None:
            return renewed
        if licence.status != LicenceStatus.ACTIVE or not licence.renews or not licence.ends_on:
            raise DomainError(_("This licence does not renew."), code="licence_does_not_renew")
        starts_on = renewal_date(licence)
        return Licence.objects.create(
            register_id=licence.register_id,
            company=licence.company,
            product=licence.product,
            campaign_id=licence.campaign_id,
            status=LicenceStatus.ACTIVE,
            source=LicenceSource.RENEWAL,
            reference=f"renewal:{licence.pk}",
            starts_on=starts_on,
            ends_on=period_end(licence.product, starts_on),
            renews=True,
            renewal_of=licence,
        )


def licences_expire(*, register: Register, today: datetime.date) -> int:
    """Expires licences whose last day is past: cancelled ones, ones that do not renew, and
    renewing ones whose next period exists. A renewing licence not yet renewed is left to the
    renewal job. Returns how many expired; running it twice expires nothing more."""
    past = Licence.objects.filter(
        register=register,
        ends_on__lt=today,
        status__in=[LicenceStatus.ACTIVE, LicenceStatus.CANCELLED],
    )
    with transaction.atomic():
        return (
            past.filter(status=LicenceStatus.CANCELLED).update(status=LicenceStatus.EXPIRED)
            + past.filter(status=LicenceStatus.ACTIVE, renews=False).update(
                status=LicenceStatus.EXPIRED
            )
            + past.filter(status=LicenceStatus.ACTIVE, renewed_by__isnull=False).update(
                status=LicenceStatus.EXPIRED
            )
        )


def licence_renewal_notice_mark_sent(*, licence: Licence) -> bool:
    """Claims the renewal notice of a licence (billing's daily job mails it); False when another
    run already claimed it, so two workers never both send it."""
    return bool(
        Licence.objects.filter(pk=licence.pk, renewal_notice_sent_at__isnull=True).update(
            renewal_notice_sent_at=timezone.now()
        )
    )


# Credits


def _credit(
    *, campaign, amount: int, reference: str, reason: str, licence: Licence | None = None
) -> CreditEntry:
    """Adds credits to a campaign's account; the caller holds the transaction."""
    CreditAccount.objects.get_or_create(
        campaign=campaign,
        defaults={"register_id": campaign.register_id, "company_id": campaign.company_id},
    )
    account = CreditAccount.objects.select_for_update(of=("self",)).get(campaign=campaign)
    existing = account.entries.filter(reference=reference).first()
    if existing is not None:
        return existing
    account.balance += amount
    account.save(update_fields=["balance"])
    return CreditEntry.objects.create(
        register_id=account.register_id,
        account=account,
        licence=licence,
        delta=amount,
        balance_after=account.balance,
        reason=reason,
        reference=reference,
    )


def credits_spend(*, campaign, amount: int, reference: str, reason: str) -> CreditEntry:
    """Takes `amount` credits from the campaign's account, once per `reference`.

    Spending again with the same reference returns the first entry and charges nothing, so a
    scrub retried by its worker pays once.
    """
    if amount < 1:
        raise DomainError(_("Spend at least one credit."), code="invalid_amount")
    with transaction.atomic():
        # Read-modify-write: without the row lock two scrubs could both read a balance of 100,
        # both decide 80 fits, and both write 20 — 160 credits spent from 100. The lock makes
        # the second wait until the first commits and then read the lowered balance.
        account = (
            CreditAccount.objects.select_for_update(of=("self",)).filter(campaign=campaign).first()
        )
        balance = account.balance if account else 0
        if account is not None:
            existing = account.entries.filter(reference=reference).first()
            if existing is not None:
                return existing
        if balance < amount:
            raise InsufficientCredits(
                _("This needs %(needed)d credits; the campaign has %(balance)d.")
                % {"needed": amount, "balance": balance}
            )
        account.balance -= amount
        account.save(update_fields=["balance"])
        return CreditEntry.objects.create(
            register_id=account.register_id,
            account=account,
            delta=-amount,
            balance_after=account.balance,
            reason=reason,
            reference=reference,
        )


# API keys


def api_key_create(
    *, company: Company, name: str, created_by=None, actor=None
) -> tuple[ApiKey, str]:
    """A new key; the raw key is returned here only and never stored (SPEC §3), nor logged.
    `actor`: who made it, `created_by` when not given (a command's --by is a label)."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            register_id=company.register_id,
            company=company,
            name=name,
            prefix=raw[:API_KEY_SHOWN_CHARS],
            key_hash=hash_key(raw),
            created_by=created_by,
        )
        log_action(
            register=company.register,
            actor=actor if actor is not None else created_by,
            action="api_key.created",
            target=api_key,
            data={"name": name, "company": company.pk},
        )
    return api_key, raw


def api_key_revoke(*, api_key: ApiKey, actor=None) -> ApiKey:
    """Revokes a key; revoking again keeps the first revocation time (and logs nothing)."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        api_key.refresh_from_db(fields=["revoked_at"])
        if revoked:
            log_action(
                register=api_key.register,
                actor=actor,
                action="api_key.revoked",
                target=api_key,
                data={"name": api_key.name, "company": api_key.company_id},
            )
    return api_key
