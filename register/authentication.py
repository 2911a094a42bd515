"""API authentication of the operator's own systems: a staff key (SPEC §5, the IVR).

A company's key (licences.authentication) and a staff key are kept apart: each endpoint names
the one kind it takes, so a staff key opens no company endpoint and a company key no staff one.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions

from register.admin_site import is_register_staff
from register.models import StaffApiKey
from register.tokens import token_hash

# Writing last_used_at on every call would make each API request a write; a minute is precise
# enough to tell an operator whether a key is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class StaffApiClient:
    """Who calls: a staff user of the host's register, through one of its keys."""

    user: object
    key: StaffApiKey
    is_authenticated: bool = True

    @property
    def pk(self):
        return None


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>`: the one way every API key is given, company's or staff's.
    A subclass says where a key is found (`key_found`, among the host's register's keys only,
    so a key used on another register's host is unknown there: 401) and whom it stands for
    (`client`)."""

    keyword = "Bearer"

    def key_found(self, key: str):
        raise NotImplementedError

    def client(self, found):
        raise NotImplementedError

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the key as: Authorization: Bearer KEY."))
        try:
            key = header[1].decode()
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from error
        found = self.key_found(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION:
            type(found).objects.filter(pk=found.pk).update(last_used_at=now)
            # The key may be the hot cache's (shared by the process's requests): the next
            # request of the minute then writes nothing either.
            found.last_used_at = now
        return self.client(found), found

    def authenticate_header(self, request):
        return self.keyword


class StaffApiKeyAuthentication(BearerKeyAuthentication):
    """A staff key of the host's register."""

    def key_found(self, key: str) -> StaffApiKey | None:
        return (
            StaffApiKey.objects.filter(key_hash=token_hash(key), revoked_at__isnull=True)
            .select_related("user")
            .first()
        )

    def client(self, found: StaffApiKey) -> StaffApiClient:
        return StaffApiClient(user=found.user, key=found)


class HasStaffPermission(permissions.BasePermission):
    """The key's user is active staff of the host's register and holds `required_permission`
    (the view's attribute), checked on every call: a key outlives no change of role."""

    message = _("This key's user may not do this in this register.")

    def has_permission(self, request, view):
        client = request.user
        if not isinstance(client, StaffApiClient):
            return False
        return is_register_staff(client.user, request.register) and client.user.has_perm(
            view.required_permission
        )
