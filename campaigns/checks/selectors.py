"""Reads for number checks: how the register charges for them."""

from licences.models import LicenceProduct, ProductKind
from register.models import Register


def checks_charge_credits(register: Register) -> bool:
    """Whether a check costs credits (nl) rather than being included in an access licence (be).
    A scrub is charged the same way (SPEC §8.6)."""
    return not LicenceProduct.objects.filter(register=register, kind=ProductKind.ACCESS).exists()
