"""The action log (SPEC §17, STYLE 15): what staff and money actions write, and its export."""

import csv
import datetime
import json
from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from phonenumbers import PhoneNumber, PhoneNumberFormat, format_number

from register.models import ActionLog, Register
from register.spreadsheets import spreadsheet_safe

# Who acted when nobody did: a scheduled job, a payment provider's webhook, a command without --by.
SYSTEM = "system"


class _DataEncoder(DjangoJSONEncoder):
    """The log's data as plain JSON: a changed contact telephone is logged in E.164."""

    def default(self, o):
        if isinstance(o, PhoneNumber):
            return format_number(o, PhoneNumberFormat.E164)
        return super().default(o)


def log_action(
    *,
    register: Register,
    actor,
    action: str,
    target: models.Model | None = None,
    data: dict | None = None,
) -> ActionLog:
    """Records `actor`'s `action` on `target`; call it inside the action's transaction.

    `actor` is a user, a label (an e-mail address given to a command, SYSTEM) or None for SYSTEM.
    `action` is "<object>.<verb>", e.g. "licence.granted"; `data` what an inspector needs to
    know about it (amounts, reasons, counts), never secrets.
    """
    user = actor if isinstance(actor, models.Model) else None
    label = getattr(user, "email", "") or str(user or actor or SYSTEM)
    return ActionLog.objects.create(
        register=register,
        actor=user,
        actor_label=label[:254],
        action=action,
        content_type=ContentType.objects.get_for_model(target) if target is not None else None,
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        data=json.loads(json.dumps(data or {}, cls=_DataEncoder)),
    )


def actions_for(target: models.Model):
    """The log of one object, newest first."""
    return ActionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk)
    )


def actions_in_period(*, register: Register, start: datetime.date, end: datetime.date):
    """The register's log from the start of `start` to the end of `end`, its own days."""
    first = datetime.datetime.combine(start, datetime.time(), tzinfo=register.zone)
    after = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time(), tzinfo=register.zone
    )
    return ActionLog.objects.filter(register=register, at__gte=first, at__lt=after).order_by(
        "at", "pk"
    )


CSV_HEADER = ["at", "by", "action", "object type", "object id", "object", "data"]


class _Echo:
    """A file whose write returns the line: csv.writer made into a generator of lines."""

    def write(self, text: str) -> str:
        return text


def action_log_csv_rows(entries: QuerySet[ActionLog]) -> Iterator[str]:
    """The log as CSV lines (`;`, UTF-8 with a BOM), streamed; third-party text neutralised
    against spreadsheet formulas."""
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for entry in entries.iterator():
        yield writer.writerow(
            [
                entry.at.isoformat(),
                spreadsheet_safe(entry.actor_label),
                entry.action,
                entry.content_type.model if entry.content_type_id else "",
                entry.object_id,
                spreadsheet_safe(entry.object_repr),
                spreadsheet_safe(json.dumps(entry.data, cls=DjangoJSONEncoder, sort_keys=True)),
            ]
        )
