"""Reads of the consumer pages (SPEC §5): what a link stands for, whether a number is blocked."""

from register.models import BlockedNumber, BlockRequest, Channel, Register
from register.services import LinkUsed, check_pending, manage_token_read
from register.tokens import token_hash


def blocked_number_get(*, register: Register, number: int) -> BlockedNumber | None:
    return BlockedNumber.objects.filter(register=register, number=number).first()


def block_request_pending(*, register: Register, token: str) -> BlockRequest:
    """The unconfirmed, unexpired request a confirmation link stands for.

    Raises LinkUnknown, LinkUsed or LinkExpired for the page to explain instead.
    """
    block_request = BlockRequest.objects.filter(
        register=register, token_hash=token_hash(token)
    ).first()
    check_pending(block_request)
    return block_request


def manage_registration_get(*, register: Register, token: str) -> BlockedNumber:
    """The web registration a management link stands for, in the state the link was made for."""
    number, updated_at = manage_token_read(register=register, token=token)
    blocked = BlockedNumber.objects.filter(
        register=register, number=number, channel=Channel.WEB
    ).first()
    if blocked is None or blocked.updated_at != updated_at:
        raise LinkUsed
    return blocked
