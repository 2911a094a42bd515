"""API authentication by company key: `Authorization: Bearer <key>` (SPEC §3, §16)."""

import hashlib
from dataclasses import dataclass

from django_scopes import get_scope

from licences.models import ApiKey, Company
from register.authentication import BearerKeyAuthentication
from register.hotcache import cached


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


class ApiKeyAuthentication(BearerKeyAuthentication):
    """A company's key of the host's register (SPEC §3, §16)."""

    def key_found(self, key: str) -> ApiKey | None:
        key_hash = hash_key(key)
        # Scoped to the host's register: the same key asked on another host is another question.
        register = get_scope().get("register")
        return cached(
            ("api-key", register and register.pk, key_hash),
            lambda: (
                ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True)
                .select_related("company__register")
                .first()
            ),
        )

    def client(self, found: ApiKey) -> ApiClient:
        return ApiClient(company=found.company, key=found)
