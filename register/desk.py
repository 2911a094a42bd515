"""The service desk's side of the register (SPEC §5, issue #14): staff register, change and
unblock numbers for a consumer on the phone, by the same rules and history as the web, and the
staff API keys of the operator's systems (its IVR)."""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from register.admin_site import is_register_staff
from register.audit import log_action
from register.errors import DomainError
from register.models import (
    BlockedNumber,
    Channel,
    EventAction,
    Register,
    RegisterEvent,
    StaffApiKey,
)
from register.services import (
    BlockOutcome,
    imported_blocks_materialise,
    numbers_block,
)
from register.tokens import token_hash


def blocked_numbers_unblock_by_staff(
    *, register: Register, numbers: list[int], actor=None, channel: Channel = Channel.ADMIN
) -> int:
    """The service desk unblocks numbers on a consumer's request (SPEC §5: registrations made by
    phone, by a company or by import have no management link). Returns how many were removed;
    each is logged with `actor`, the staff member who unblocked it. `channel`: phone when the
    consumer asked on the phone, else the desk's own (a letter, an e-mail)."""
    with transaction.atomic():
        removed = list(
            BlockedNumber.objects.select_for_update()
            .filter(register=register, number__in=numbers)
            .values_list("number", flat=True)
        )
        imported_blocks_materialise(register=register, numbers=removed)
        BlockedNumber.objects.filter(register=register, number__in=removed).delete()
        RegisterEvent.objects.bulk_create(
            RegisterEvent(
                register=register,
                number=number,
                action=EventAction.UNBLOCK,
                categories=None,
                channel=channel,
            )
            for number in removed
        )
        for number in removed:
            # The row is gone; its key, the number, still names it in the log.
            log_action(
                register=register,
                actor=actor,
                action="number.unblocked",
                target=BlockedNumber(register=register, number=number),
                data={"channel": channel, "unblocked_together": len(removed)},
            )
    return len(removed)


def number_block_by_staff(
    *,
    register: Register,
    number: int,
    categories: list[str],
    actor,
    email: str = "",
    channel: Channel = Channel.PHONE,
) -> BlockOutcome:
    """The service desk (or the operator's IVR, `actor` being its staff user) registers a
    caller's number: at once, as the caller is known on the line, by the rule of every channel
    (`numbers_block`), and logged. `categories`: codes; empty blocks every category."""
    mask = register.category_mask(categories or register.categories)
    with transaction.atomic():
        outcome = numbers_block(
            register=register, numbers=[number], categories=[mask], channel=channel, email=email
        )
        log_action(
            register=register,
            actor=actor,
            action="number.blocked",
            target=BlockedNumber(register=register, number=number),
            data={
                "channel": channel,
                "categories": register.category_codes(mask),
                "new": number in outcome.blocked,
                "widened": number in outcome.widened,
            },
        )
    return outcome


class NumberNotRegistered(DomainError):
    code = "not_registered"
    status = 404
    message = _("This number is not registered.")


def blocked_number_change_by_staff(
    *,
    register: Register,
    number: int,
    categories: list[str],
    actor,
    channel: Channel = Channel.PHONE,
) -> int:
    """The service desk sets a registration's categories for the caller on the line, as the
    management link lets a web registrant (`blocked_number_change`); returns the mask."""
    mask = register.category_mask(categories or register.categories)
    with transaction.atomic():
        blocked = (
            BlockedNumber.objects.select_for_update()
            .filter(register=register, number=number)
            .first()
        )
        if blocked is None:
            raise NumberNotRegistered
        if blocked.categories == mask:
            return mask
        imported_blocks_materialise(register=register, numbers=[number])
        blocked.categories = mask
        blocked.updated_at = timezone.now()
        blocked.save(update_fields=["categories", "updated_at"])
        RegisterEvent.objects.create(
            register=register,
            number=number,
            action=EventAction.CHANGE,
            categories=mask,
            channel=channel,
        )
        log_action(
            register=register,
            actor=actor,
            action="number.changed",
            target=blocked,
            data={"channel": channel, "categories": register.category_codes(mask)},
        )
    return mask


STAFF_API_KEY_PREFIX = "dncstaff_"
STAFF_API_KEY_SHOWN_CHARS = 16


def staff_api_key_create(
    *, register: Register, user, name: str, permission: str, actor=None
) -> tuple[StaffApiKey, str]:
    """A new key for a system of the operator acting as `user`, who must be active staff of
    `register` holding `permission` (the IVR: `register.register_by_ivr`). The raw key is
    returned here only, never stored nor logged."""
    if not (is_register_staff(user, register) and user.has_perm(permission)):
        raise DomainError(
            _("%(user)s is not staff of %(register)s with the permission %(permission)s.")
            % {"user": user, "register": register, "permission": permission},
            code="permission_denied",
        )
    raw = STAFF_API_KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        staff_key = StaffApiKey.objects.create(
            register=register,
            user=user,
            name=name,
            prefix=raw[:STAFF_API_KEY_SHOWN_CHARS],
            key_hash=token_hash(raw),
        )
        log_action(
            register=register,
            actor=actor,
            action="staff_api_key.created",
            target=staff_key,
            data={"name": name, "user": user.email},
        )
    return staff_key, raw


def staff_api_key_revoke(*, staff_key: StaffApiKey, actor=None) -> None:
    """Revokes a key; revoking again keeps the first revocation time (and logs nothing)."""
    with transaction.atomic():
        revoked = StaffApiKey.objects.filter(pk=staff_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            log_action(
                register=staff_key.register,
                actor=actor,
                action="staff_api_key.revoked",
                target=staff_key,
            )
