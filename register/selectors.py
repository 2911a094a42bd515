"""Reads of the consumer pages (SPEC §5): what a link stands for, whether a number is blocked."""

from register.models import BlockedNumber, BlockRequest, ManageLink, Register
from register.services import check_manage_link, check_pending, web_registrations
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


def manage_link_get(*, register: Register, token: str) -> ManageLink:
    """The manage link `token` stands for, while its visit lasts; raises LinkUnknown or
    LinkExpired for the page to explain instead."""
    link = ManageLink.objects.filter(register=register, token_hash=token_hash(token)).first()
    check_manage_link(link)
    return link


def manage_link_registrations(*, link: ManageLink) -> list[BlockedNumber]:
    """Every number the link manages: those registered on the web with its address."""
    return list(web_registrations(register=link.register, email=link.email))
