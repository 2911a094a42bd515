"""Keyed hashes of numbers (HMAC-SHA256 with a register's own secret): what is kept where a
number must be recognised later but not kept (issue #14): the numbers a scrub or a check
offered, the numbers of a used block request.

The message is the number's E.164 digits as ASCII text; the hash kept is the HMAC's first 64
bits as a signed bigint. Truncated because a scrub writes one per record: a bigint key makes
the index half as large and the marking job's insert about twice as fast as the 32 bytes did,
and a false match (another number with the same 64 bits among a company's few million) has a
chance of about 10^-12. The key, not the length, is what keeps the numbers from being guessed.

The same hash is made in Python and in SQL (from PostgreSQL's built-in sha256, no extension
needed): HMAC(K, m) is H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)) with the key padded to SHA-256's
64-byte block, so SQL gets the two padded keys as parameters and hashes a whole table in one
set-based statement.
"""

import hashlib
import hmac
import secrets

BLOCK = 64


def new_number_key() -> bytes:
    return secrets.token_bytes(32)


def number_hash(key: bytes, number: int) -> int:
    digest = hmac.digest(bytes(key), str(int(number)).encode("ascii"), hashlib.sha256)
    return int.from_bytes(digest[:8], "big", signed=True)


def number_hash_params(key: bytes) -> dict[str, bytes]:
    """The parameters `%(hash_inner)s` and `%(hash_outer)s` of `sql_number_hash`."""
    padded = bytes(key).ljust(BLOCK, b"\0")
    return {
        "hash_inner": bytes(byte ^ 0x36 for byte in padded),
        "hash_outer": bytes(byte ^ 0x5C for byte in padded),
    }


def sql_number_hash(column: str) -> str:
    """SQL for the hash of the bigint `column` (a constant of the caller's, never input)."""
    # The first 8 bytes of the digest, read as a big-endian signed bigint, as in Python.
    return (
        "('x' || encode(substring(sha256(%(hash_outer)s::bytea || sha256(%(hash_inner)s::bytea"
        f" || convert_to(({column})::text, 'UTF8'))) for 8), 'hex'))::bit(64)::bigint"
    )
