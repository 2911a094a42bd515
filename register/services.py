"""Writes of the consumer pages (SPEC §5): block requests, confirmation, changes, unblocking.

Each service owns its transaction; mail goes out with `transaction.on_commit`, so nobody is told
about a change that was rolled back.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urljoin

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from register.errors import DomainError
from register.mail import mail_on_commit
from register.models import (
    ALL_CATEGORIES,
    BlockedNumber,
    BlockRequest,
    Channel,
    EventAction,
    ManageLink,
    Register,
    RegisterEvent,
)
from register.numberhash import number_hash, number_hash_params, sql_number_hash
from register.phone import format_international, normalise
from register.phone.messages import problem_message
from register.tokens import token_hash


class LinkError(DomainError):
    """A mailed link that cannot be used; the page explains why, with the status below."""


class LinkUnknown(LinkError):
    code = "link_unknown"
    status = 404
    message = _("This link is not valid. Check that you copied the whole link from the e-mail.")


class LinkExpired(LinkError):
    code = "link_expired"
    status = 410
    message = _("This link has expired. Please fill in the form again to get a new link.")


class NotRegistered(LinkError):
    code = "not_registered"
    status = 404
    message = _("This number is not, or no longer, registered with your e-mail address.")


class LinkUsed(LinkError):
    code = "link_used"
    status = 409
    message = _("This link has already been used.")


@dataclass
class ParsedNumbers:
    """The outcome of reading what a visitor typed: numbers in input order, and what went wrong.

    `merged` names inputs that were the same number as an earlier one: not an error, but said.
    """

    numbers: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)


def numbers_parse(*, register: Register, raw_numbers: list[str]) -> ParsedNumbers:
    """Normalises each non-empty input; every problem gets a message naming the input."""
    raws = [raw.strip() for raw in raw_numbers if raw.strip()]
    parsed = ParsedNumbers()
    if len(raws) > register.max_numbers_per_request:
        parsed.errors.append(
            _("You can register at most %(max)d numbers at once; you entered %(count)d.")
            % {"max": register.max_numbers_per_request, "count": len(raws)}
        )
    seen: set[int] = set()
    for raw in raws:
        result = normalise(raw, register.country)
        if not result.ok:
            parsed.errors.append(problem_message(raw, result, register.country))
        elif result.number in seen:
            parsed.merged.append(raw)
        else:
            seen.add(result.number)
            parsed.numbers.append(result.number)
    return parsed


def block_request_create(
    *,
    register: Register,
    numbers: list[int],
    categories: list[str],
    email: str,
    language: str,
    base_url: str,
) -> BlockRequest:
    """Stores a block waiting for confirmation and mails the link; nothing is blocked yet.

    `numbers` are already normalised and valid for the register (see `numbers_parse`).
    """
    if not 1 <= len(numbers) <= register.max_numbers_per_request:
        raise ValueError(f"between 1 and {register.max_numbers_per_request} numbers expected")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        block_request = BlockRequest.objects.create(
            register=register,
            token_hash=token_hash(token),
            email=email,
            numbers=numbers,
            categories=register.category_mask(categories),
            language=language,
            expires_at=timezone.now() + timedelta(hours=register.confirmation_hours),
        )
        mail_on_commit(
            register=register,
            to=email,
            language=language,
            template="register/email/confirm_block",
            context={
                "url": urljoin(base_url, reverse("register:confirm", args=[token])),
                "numbers": [format_international(n) for n in numbers],
                "categories": category_labels(register, block_request.categories, language),
                "hours": register.confirmation_hours,
            },
        )
    return block_request


def category_labels(register: Register, mask: int, language: str) -> list[str]:
    return [register.category_label(code, language) for code in register.category_codes(mask)]


def check_pending(block_request: BlockRequest | None) -> None:
    if block_request is None:
        raise LinkUnknown
    if block_request.confirmed_at is not None:
        raise LinkUsed
    if block_request.expires_at <= timezone.now():
        raise LinkExpired


# The block event an import holds for each of the numbers (see RegisterImport), written to the
# history, and the numbers let go of their import. Only rows untouched since their import still
# point to it, so their categories are the ones the import gave them.
MATERIALISE_IMPORTED_BLOCKS = """
    WITH released AS (
        UPDATE register_blockednumber b SET imported_in_id = NULL
        FROM register_registerimport i
        WHERE b.number = ANY(%(numbers)s) AND b.register_id = %(register)s
            AND i.id = b.imported_in_id
        RETURNING b.number, b.categories, i.occurred_at
    )
    INSERT INTO register_registerevent
        (register_id, number, action, categories, channel, occurred_at)
    SELECT %(register)s, number, %(action)s, categories, %(channel)s, occurred_at FROM released
"""


def imported_blocks_materialise(*, register: Register, numbers: list[int]) -> None:
    """Writes the block event of each of `numbers` its import still holds to RegisterEvent.

    Call it, inside the transaction and with the numbers' rows locked, before writing an event
    that changes or removes them, so that their history reads block first, then the change.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            MATERIALISE_IMPORTED_BLOCKS,
            {
                "numbers": numbers,
                "register": register.pk,
                "action": EventAction.BLOCK,
                "channel": Channel.IMPORT,
            },
        )


def _merged(categories: str) -> str:
    """SQL for the categories or'ed together in `categories`, as the register stores them: a
    block of every category is ALL_CATEGORIES (`Register.category_mask`). `%(every)s` is the
    mask of all of the register's categories."""
    # Made of constants only: the SQL below is built from it, never from input.
    return (
        f"CASE WHEN ({categories}) & %(every)s = %(every)s"
        f" THEN {ALL_CATEGORIES} ELSE ({categories}) END"
    )


# The numbers to block with their categories, a number given more than once with all of them.
_REQUESTED = f"""
    requested AS (
        SELECT number, {_merged("bit_or(categories)")} AS categories
        FROM unnest(%(numbers)s::bigint[], %(masks)s::smallint[]) AS given(number, categories)
        GROUP BY number
    )
"""  # noqa: S608 (made of the constants here, no input)

# Inserts the numbers not yet blocked, each with its block event, and says which were new.
# ON CONFLICT waits for a concurrent insert of the same number (an import, another consumer,
# a company's file) instead of failing; the rows that already existed are merged below.
_INSERT_NEW = f"""
    WITH {_REQUESTED}, inserted AS (
        INSERT INTO register_blockednumber
            (number, register_id, categories, registered_on, channel, email, updated_at)
        SELECT number, %(register)s, categories, %(today)s, %(channel)s, %(email)s, %(now)s
        FROM requested
        ORDER BY number
        ON CONFLICT (number) DO NOTHING
        RETURNING number, categories
    ), events AS (
        INSERT INTO register_registerevent
            (register_id, number, action, categories, channel, reference)
        SELECT %(register)s, number, %(block)s, categories, %(channel)s, %(reference)s
        FROM inserted
    )
    SELECT number FROM inserted
"""  # noqa: S608 (made of the constants here, no input)

# Locks the rows, already registered, whose categories the request widens.
_LOCK_WIDENED = f"""
    WITH {_REQUESTED}
    SELECT b.number FROM register_blockednumber b JOIN requested r USING (number)
    WHERE b.register_id = %(register)s
        AND {_merged("b.categories | r.categories")} <> b.categories
    ORDER BY b.number
    FOR UPDATE OF b
"""  # noqa: S608 (made of the constants here, no input)

# Adds the requested categories to those locked rows, each with its change event.
_WIDEN = f"""
    WITH {_REQUESTED}, changed AS (
        UPDATE register_blockednumber b
        SET categories = {_merged("b.categories | r.categories")}, updated_at = %(now)s
        FROM requested r
        WHERE b.number = r.number AND b.number = ANY(%(widened)s::bigint[])
        RETURNING b.number, b.categories
    ), events AS (
        INSERT INTO register_registerevent
            (register_id, number, action, categories, channel, reference)
        SELECT %(register)s, number, %(change)s, categories, %(channel)s, %(reference)s
        FROM changed
    )
    SELECT number FROM changed
"""  # noqa: S608 (made of the constants here, no input)


@dataclass(frozen=True)
class BlockOutcome:
    """`blocked`: numbers new to the register; `widened`: numbers already registered whose
    categories the block added to. Every other number asked for was registered already, with at
    least these categories."""

    blocked: frozenset[int]
    widened: frozenset[int]


def numbers_block(
    *,
    register: Register,
    numbers: list[int],
    categories: list[int],
    channel: Channel,
    email: str = "",
    now: datetime | None = None,
    reference: str = "",
) -> BlockOutcome:
    """Blocks `numbers`, each with the category mask at its place in `categories`: the one rule
    for every channel (SPEC §5, §11), in a few set-based statements whatever the count.

    A number not yet registered is registered, dated today in the register's time zone, with
    `channel` and `email`, and gets a block event. A number already registered gets the
    categories added to its own and keeps its date, channel and e-mail address (a second person
    who knows the number must not gain control over it); a change event says so where that
    widened them. A number given more than once is blocked with all its categories. `numbers`
    are normalised and valid for the register. `reference` names the act in its events where
    it may be reverted (a company's file, see `register_writes_revert`).
    """
    now = now or timezone.now()
    parameters = {
        "numbers": numbers,
        "masks": categories,
        "every": (1 << len(register.categories)) - 1,
        "register": register.pk,
        "today": register.date_of(now),
        "channel": channel,
        "email": email,
        "now": now,
        "block": EventAction.BLOCK,
        "change": EventAction.CHANGE,
        "reference": reference,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # A block of a number already registered writes nothing, so a revert cannot see it in
        # the history: the revert waits for blocks in flight and they wait for it (see there).
        cursor.execute(_REVERT_LOCK_SHARED, {"register": register.pk})
        cursor.execute(_INSERT_NEW, parameters)
        blocked = frozenset(number for (number,) in cursor.fetchall())
        cursor.execute(_LOCK_WIDENED, parameters)
        widened = [number for (number,) in cursor.fetchall()]
        if widened:
            # Before the rows change: an import's block event carries the categories it gave.
            imported_blocks_materialise(register=register, numbers=widened)
            cursor.execute(_WIDEN, {**parameters, "widened": widened})
    return BlockOutcome(blocked=blocked, widened=frozenset(widened))


# Blocks (shared) and reverts (exclusive) of a register exclude each other until they commit.
# A block of a number that is already registered writes no event and takes no row lock
# (`ON CONFLICT DO NOTHING`): without this lock a consumer could confirm a block of a number
# while a revert decides that nothing happened to it since the file, and then lose it to the
# revert's delete. Blocks never wait for each other.
_REVERT_LOCK_CLASS = 0x52455654  # "REVT"
_REVERT_LOCK_SHARED = (
    f"SELECT pg_advisory_xact_lock_shared({_REVERT_LOCK_CLASS}, %(register)s::integer)"
)
_REVERT_LOCK = f"SELECT pg_advisory_xact_lock({_REVERT_LOCK_CLASS}, %(register)s::integer)"

# The last event each number got from the act named `reference`: a block (the act registered
# it) or a change (the act widened its categories).
_WRITTEN = """
    written AS (
        SELECT DISTINCT ON (number) id, number, action, categories
        FROM register_registerevent
        WHERE reference = %(reference)s AND register_id = %(register)s
        ORDER BY number, id DESC
    )
"""

# Locks the rows of the numbers the act wrote, before anything is decided about them.
_LOCK_WRITTEN = f"""
    WITH {_WRITTEN}
    SELECT b.number FROM register_blockednumber b JOIN written w USING (number)
    ORDER BY b.number
    FOR UPDATE OF b
"""  # noqa: S608 (made of the constants here, no input)

# Undoes what the act wrote to each number that has had no other act since: no later event
# (a change, an unblock, another widening), no block confirmed by a consumer since the act
# began (which writes no event where the number was registered already; told by the number's
# hash, as a used request keeps no numbers), and still the
# categories the act left. A number the act registered is unblocked; one it widened gets the
# categories of its event before the act back. Each with its event, named `revert_reference`.
_REVERT = f"""
    WITH {_WRITTEN}, confirmed AS (
        SELECT DISTINCT unnest(number_hashes) AS digest FROM register_blockrequest
        WHERE register_id = %(register)s AND confirmed_at >= %(since)s
    ), untouched AS (
        SELECT w.id, w.number, w.action
        FROM written w JOIN register_blockednumber b USING (number)
        WHERE b.register_id = %(register)s
            AND b.categories = w.categories
            AND b.imported_in_id IS NULL
            AND NOT EXISTS (
                SELECT 1 FROM register_registerevent later
                WHERE later.number = w.number AND later.id > w.id
            )
            AND NOT EXISTS (
                SELECT 1 FROM confirmed c WHERE c.digest = {sql_number_hash("w.number")}
            )
    ), earlier AS (
        SELECT u.number, before.categories
        FROM untouched u CROSS JOIN LATERAL (
            SELECT e.categories FROM register_registerevent e
            WHERE e.number = u.number AND e.id < u.id
            ORDER BY e.id DESC LIMIT 1
        ) before
        WHERE u.action = %(change)s AND before.categories IS NOT NULL
    ), removed AS (
        DELETE FROM register_blockednumber b USING untouched u
        WHERE b.number = u.number AND u.action = %(block)s
        RETURNING b.number
    ), restored AS (
        UPDATE register_blockednumber b SET categories = earlier.categories, updated_at = %(now)s
        FROM earlier
        WHERE b.number = earlier.number
        RETURNING b.number, b.categories
    ), events AS (
        INSERT INTO register_registerevent
            (register_id, number, action, categories, channel, reference)
        SELECT %(register)s, number, %(unblock)s, NULL, %(channel)s, %(revert_reference)s
        FROM removed
        UNION ALL
        SELECT %(register)s, number, %(change)s, categories, %(channel)s, %(revert_reference)s
        FROM restored
    )
    SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM removed),
        (SELECT count(*) FROM restored)
"""  # noqa: S608 (made of the constants here, no input)


@dataclass(frozen=True)
class RevertOutcome:
    """`unblocked`: numbers the act registered, now removed; `restored`: numbers whose
    categories the act widened, narrowed back; `kept`: numbers the act wrote that had another
    act since, left as they are."""

    unblocked: int
    restored: int
    kept: int


def register_writes_revert(
    *,
    register: Register,
    reference: str,
    revert_reference: str,
    since: datetime,
    channel: Channel = Channel.ADMIN,
) -> RevertOutcome:
    """Undoes what the act named `reference` (its events' reference, e.g. a company's file)
    wrote to the register, for every number that has had no other act since `since` (the act's
    start), in a few set-based statements whatever the count; see _REVERT. Reverting twice
    finds nothing more to undo: the first revert's events are later than the act's."""
    parameters = {
        "register": register.pk,
        "reference": reference,
        "revert_reference": revert_reference,
        "since": since,
        "now": timezone.now(),
        "channel": channel,
        "block": EventAction.BLOCK,
        "change": EventAction.CHANGE,
        "unblock": EventAction.UNBLOCK,
        **number_hash_params(register.number_key),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REVERT_LOCK, parameters)
        cursor.execute(_LOCK_WRITTEN, parameters)
        cursor.execute(_REVERT, parameters)
        written, unblocked, restored = cursor.fetchone()
    kept = written - unblocked - restored
    return RevertOutcome(unblocked=unblocked, restored=restored, kept=kept)


@dataclass(frozen=True)
class Confirmation:
    numbers: list[int]
    categories: int
    registered_on: date
    calls_stop_on: date


def calls_stop_on(*, register: Register, registered_on: date) -> date:
    """The first day no company may call a number registered on `registered_on`: a call list
    scrubbed the day before may be used for the register's use period (4 weeks, seed 000), so
    calls can go on until the day before this one."""
    return registered_on + timedelta(days=register.use_period_days)


def block_request_confirm(*, register: Register, token: str, base_url: str = "") -> Confirmation:
    """The block takes effect, dated today in the register's time zone (SPEC §5), by the rule
    of `numbers_block`: an already blocked number gets the categories added. A mail confirms
    it, with the date from which companies must stop calling; `base_url` (the host the
    consumer used) puts the manage page's address in it."""
    now = timezone.now()
    today = register.date_of(now)
    with transaction.atomic():
        # Two clicks on the link arrive together: the second waits here and then sees it used.
        block_request = (
            BlockRequest.objects.select_for_update()
            .filter(register=register, token_hash=token_hash(token))
            .first()
        )
        check_pending(block_request)
        numbers_block(
            register=register,
            numbers=block_request.numbers,
            categories=[block_request.categories] * len(block_request.numbers),
            channel=Channel.WEB,
            email=block_request.email,
            now=now,
        )
        block_request.confirmed_at = now
        block_request.number_hashes = [
            number_hash(register.number_key, number) for number in block_request.numbers
        ]
        block_request.save(update_fields=["confirmed_at", "number_hashes"])
        confirmation = Confirmation(
            numbers=block_request.numbers,
            categories=block_request.categories,
            registered_on=today,
            calls_stop_on=calls_stop_on(register=register, registered_on=today),
        )
        mail_on_commit(
            register=register,
            to=block_request.email,
            language=block_request.language,
            template="register/email/block_confirmed",
            context={
                "numbers": [format_international(n) for n in confirmation.numbers],
                "categories": category_labels(
                    register, confirmation.categories, block_request.language
                ),
                "registered_on": confirmation.registered_on,
                "calls_stop_on": confirmation.calls_stop_on,
                "weeks": register.use_period_days // 7,
                "manage_url": urljoin(base_url, reverse("register:manage")) if base_url else "",
            },
        )
    return confirmation


def check_manage_link(link: ManageLink | None) -> None:
    if link is None:
        raise LinkUnknown
    if link.ends_at() <= timezone.now():
        raise LinkExpired


def manage_link_send(*, register: Register, email: str, language: str, base_url: str) -> bool:
    """Mails a link to manage every number registered on the web with `email`, if any.

    The caller must answer the same whatever this returns: the page must not tell who registered.
    """
    registrations = list(web_registrations(register=register, email=email))
    if not registrations:
        return False
    numbers = [blocked.number for blocked in registrations]
    # Mailed to the address as registered, not as typed now.
    email = registrations[0].email
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = ManageLink.objects.create(
            register=register,
            token_hash=token_hash(token),
            email=email,
            language=language,
            expires_at=timezone.now() + timedelta(hours=register.confirmation_hours),
        )
        mail_on_commit(
            register=register,
            to=link.email,
            language=language,
            template="register/email/manage_link",
            context={
                "url": urljoin(base_url, reverse("register:manage_edit", args=[token])),
                "numbers": [format_international(number) for number in numbers],
                "hours": register.confirmation_hours,
                "visit_minutes": int(ManageLink.VISIT.total_seconds() // 60),
            },
        )
    return True


def web_registrations(*, register: Register, email: str):
    """The numbers registered on the web with `email`: what its manage link manages."""
    return BlockedNumber.objects.filter(
        register=register, channel=Channel.WEB, email__iexact=email
    ).order_by("number")


def _link_use(*, register: Register, token: str, number: int) -> tuple[ManageLink, BlockedNumber]:
    """The link and one of its registrations, both locked; the link's visit starts here."""
    link = (
        ManageLink.objects.select_for_update()
        .filter(register=register, token_hash=token_hash(token))
        .first()
    )
    check_manage_link(link)
    if link.first_used_at is None:
        link.first_used_at = timezone.now()
        link.save(update_fields=["first_used_at"])
    blocked = (
        web_registrations(register=register, email=link.email)
        .select_for_update()
        .filter(number=number)
        .first()
    )
    if blocked is None:
        # Unblocked already in this visit (a second tab, the back button), or never this
        # address's: either way there is nothing left to do with it.
        raise NotRegistered
    return link, blocked


def blocked_number_change(
    *, register: Register, token: str, number: int, categories: list[str]
) -> int:
    """Sets the categories of one of the link's web registrations; returns the mask."""
    mask = register.category_mask(categories)
    with transaction.atomic():
        _link, blocked = _link_use(register=register, token=token, number=number)
        blocked.categories = mask
        blocked.updated_at = timezone.now()
        blocked.save(update_fields=["categories", "updated_at"])
        RegisterEvent.objects.create(
            register=register,
            number=blocked.number,
            action=EventAction.CHANGE,
            categories=mask,
            channel=Channel.WEB,
        )
    return mask


def blocked_number_unblock(*, register: Register, token: str, number: int) -> int:
    """Removes one of the link's web registrations and mails a receipt; returns the number."""
    with transaction.atomic():
        link, blocked = _link_use(register=register, token=token, number=number)
        blocked.delete()
        RegisterEvent.objects.create(
            register=register,
            number=number,
            action=EventAction.UNBLOCK,
            categories=None,
            channel=Channel.WEB,
        )
        mail_on_commit(
            register=register,
            to=link.email,
            language=link.language,
            template="register/email/unblocked",
            context={
                "number": format_international(number),
                "unblocked_on": register.today(),
            },
        )
    return number


def block_requests_purge_expired(*, register: Register, now: datetime | None = None) -> int:
    """Deletes the register's unconfirmed block requests past their expiry; returns how many."""
    deleted, _per_model = BlockRequest.objects.filter(
        register=register, confirmed_at__isnull=True, expires_at__lt=now or timezone.now()
    ).delete()
    return deleted


def manage_links_purge_expired(*, register: Register) -> int:
    """Deletes the register's manage links past their expiry (each holds an e-mail address);
    returns how many. A link's visit never outlasts its expiry (`ManageLink.ends_at`)."""
    deleted, _per_model = ManageLink.objects.filter(
        register=register, expires_at__lt=timezone.now()
    ).delete()
    return deleted


def block_requests_minimise(*, register: Register, now: datetime | None = None) -> int:
    """Erases the e-mail address and numbers of block requests whose link is used (issue #14):
    the register holds the block and its history, the request its hashes (see BlockRequest).
    Those whose link expired unused are deleted (`block_requests_purge_expired`). Returns how
    many were erased; running again finds none."""
    block_requests_purge_expired(register=register, now=now)
    return BlockRequest.objects.filter(
        register=register, confirmed_at__isnull=False, email__gt=""
    ).update(email="", numbers=[])
