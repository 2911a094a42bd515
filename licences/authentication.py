"""API authentication by company key: `Authorization: Bearer <key>` (SPEC §3, §16)."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from licences.models import ApiKey, Company

# Writing last_used_at on every call would make each API request a write; a minute is precise
# enough to tell an operator whether a key is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiClient:
    """Who calls the API: a company, through one of its keys (stands in for request.user)."""

    company: Company
    key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self):
        return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Finds the key among the host's register's keys only, so a key used on another register's
    host is unknown there: 401, as for a wrong key."""

    keyword = "Bearer"

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
        api_key = (
            ApiKey.objects.filter(key_hash=hash_key(key), revoked_at__isnull=True)
            .select_related("company__register")
            .first()
        )
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is not valid."))
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiClient(company=api_key.company, key=api_key), api_key

    def authenticate_header(self, request):
        return self.keyword
