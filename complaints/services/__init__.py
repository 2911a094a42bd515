"""Writes for requests, complaints and disputes (SPEC §14, seed 003).

Every service owns its transaction, locks the case, checks the step against the state machine
(`STEPS`), writes an append-only `CaseEvent` with the actor, recomputes the stored due dates and,
where the step writes to the user, a `Letter`: rendered in the filer's language, mailed with its
PDF by a Celery task queued with `transaction.on_commit`. Callers set the register scope.

- `filing`: filing and recording cases, attachments, the filer's follow link;
- `workflow`: the state machine and one service per step;
- `letters`: the letters a step writes, their PDF and their mail;
- `reminders`: the daily deadline reminders to staff;
- `reports`: violation reports, the evidence against the company named, the regulator's export;
- `retention`: attachments erased a while after the case closes;
- `timeline`: the lock, the events and the due dates every service writes through, and the
  events told in words;
- `desk`: the assignee, internal notes and reply templates of the staff's desk.
"""

from complaints.services.desk import case_assign, case_note_add, reply_templates_for
from complaints.services.filing import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    case_attach,
    case_file,
    case_public_link,
    case_public_link_send,
)
from complaints.services.letters import letter_mail, letter_pdf_render, letters_redeliver
from complaints.services.reminders import deadline_reminders_send
from complaints.services.reports import (
    report_company_set,
    report_evidence,
    report_file,
    reports_export_rows,
)
from complaints.services.retention import case_attachments_minimise
from complaints.services.timeline import case_filing_check, timeline_entries
from complaints.services.workflow import (
    STEPS,
    case_acknowledge,
    case_board_decide,
    case_close,
    case_decide,
    case_declare_inadmissible,
    case_excuse_lateness,
    case_forward_to_board,
    case_inform_director,
    case_record_position,
    case_record_reaction,
    case_schedule_hearing,
    case_send_position_to_user,
    case_set_position_deadline,
    case_steps,
)

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "STEPS",
    "case_acknowledge",
    "case_assign",
    "case_attach",
    "case_attachments_minimise",
    "case_board_decide",
    "case_close",
    "case_decide",
    "case_declare_inadmissible",
    "case_excuse_lateness",
    "case_file",
    "case_filing_check",
    "case_forward_to_board",
    "case_inform_director",
    "case_note_add",
    "case_public_link",
    "case_public_link_send",
    "case_record_position",
    "case_record_reaction",
    "case_schedule_hearing",
    "case_send_position_to_user",
    "case_set_position_deadline",
    "case_steps",
    "deadline_reminders_send",
    "letter_mail",
    "letter_pdf_render",
    "letters_redeliver",
    "reply_templates_for",
    "report_company_set",
    "report_evidence",
    "report_file",
    "reports_export_rows",
    "timeline_entries",
]
