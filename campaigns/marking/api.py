"""API v1: call files, marked against the register (SPEC §8, §16). Thin views over
campaigns.marking; the files are served as the portal serves them."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.marking.selectors import call_file_get, call_file_progress
from campaigns.marking.services import call_file_dry_run, call_file_upload
from campaigns.marking.validation import ProblemReason
from campaigns.marking.views import XLSX_TYPE, certificate_response, result_response
from campaigns.models import CallFile, CallFileStatus
from campaigns.selectors import campaign_get
from register.errors import DomainError, NotFound, api_errors

# A draft is the portal's own step before confirming: the API queues at once and never shows one.
API_STATUSES = [
    (value, label) for value, label in CallFileStatus.choices if value != CallFileStatus.DRAFT
]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1"]
# A tab is awkward to type in a form field: the intake takes `tab` for it too.
DELIMITERS = [";", ",", "|", "\t", "tab"]

FILE_HELP = (
    "CSV or TXT (delimiter `;` `,` `|` or tab; UTF-8 with or without BOM, Windows-1252 or "
    "Latin-1; with or without a header) or XLSX (the first sheet). One record a row; the "
    "telephone number column is found by its header name or its content. At most "
    f"{settings.CALL_FILE_MAX_BYTES // (1024 * 1024)} MB and {settings.CALL_FILE_MAX_ROWS:,} "
    "records."
)
COLUMN_HELP = "A 1-based column number or the column's header name."


def _not_ready(call_file: CallFile) -> DomainError:
    if call_file.status in (CallFileStatus.REJECTED, CallFileStatus.FAILED):
        message = _("This file was not marked: %(reason)s") % {"reason": call_file.error_message}
    else:
        message = _("The file is not marked yet; ask again when the status is done.")
    return DomainError(message, code="not_ready", status=status.HTTP_409_CONFLICT)


def _gone(call_file: CallFile) -> DomainError:
    return DomainError(
        _(
            "The marked file was deleted on %(day)s, at the end of its use period; the "
            "certificate remains. Mark the file again for a current result."
        )
        % {"day": call_file.register.date_of(call_file.files_deleted_at).isoformat()},
        code="gone",
        status=status.HTTP_410_GONE,
    )


class CallFileErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="The problem's code, e.g. `ragged_rows`, `insufficient_credits`."
    )
    message = serializers.CharField(
        help_text="What went wrong, naming the line where there is one."
    )


class CallFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    filename = serializers.CharField()
    status = serializers.ChoiceField(
        choices=API_STATUSES,
        help_text="`rejected`: the file or the licence was refused (see `error`), nothing charged; "
        "`failed`: our fault, nothing charged.",
    )
    progress = serializers.SerializerMethodField(help_text="0-100.")
    rows_total = serializers.IntegerField(
        allow_null=True,
        help_text="Data records offered (blank lines are none, repeats left out are none): "
        "what was marked and charged; null until done.",
    )
    rows_blocked = serializers.IntegerField(allow_null=True)
    rows_callable = serializers.IntegerField(allow_null=True)
    rows_invalid = serializers.IntegerField(allow_null=True)
    rows_out_of_scope = serializers.IntegerField(allow_null=True)
    leave_out_duplicates = serializers.BooleanField(
        help_text="Whether the later repeats of a number were left out of the marking."
    )
    rows_left_out = serializers.IntegerField(
        allow_null=True,
        help_text="The repeats left out (0 unless `leave_out_duplicates`); null until done.",
    )
    credits_charged = serializers.IntegerField()
    valid_until = serializers.DateField(
        allow_null=True, help_text="The last day the marked file may be used."
    )
    error = serializers.SerializerMethodField()
    result_url = serializers.SerializerMethodField(
        help_text="The marked file, once done; null again after its use period (deleted)."
    )
    certificate_url = serializers.SerializerMethodField(
        help_text="The certificate of consultation (PDF), once made; it is kept."
    )
    certificate_reference = serializers.SerializerMethodField(
        help_text="The reference printed on the certificate; with the uploaded file's SHA-256 it "
        "checks the certificate on `/verify/`. Null until the certificate is made."
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, call_file) -> int:
        return call_file_progress(call_file=call_file)

    @extend_schema_field(CallFileErrorSerializer(allow_null=True))
    def get_error(self, call_file):
        if not call_file.error_code:
            return None
        return {"code": call_file.error_code, "message": call_file.error_message}

    def _url(self, name: str, call_file) -> str:
        return self.context["request"].build_absolute_uri(reverse(name, args=[call_file.pk]))

    def get_result_url(self, call_file) -> str | None:
        if (
            call_file.status != CallFileStatus.DONE
            or not call_file.result
            or call_file.files_deleted_at
        ):
            return None
        return self._url("api-call-file-result", call_file)

    def get_certificate_url(self, call_file) -> str | None:
        if not call_file.certificate:
            return None
        return self._url("api-call-file-certificate", call_file)

    def get_certificate_reference(self, call_file) -> str | None:
        return call_file.certificate_reference or None


class ProblemRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The line (XLSX: the row) the record starts on.")
    input = serializers.CharField(help_text="The telephone number cell as written (cut at 64).")
    reason = serializers.ChoiceField(choices=ProblemReason.choices)


class ValidationSerializer(serializers.Serializer):
    records = serializers.IntegerField(
        help_text="Data records offered: what marking charges (nl: one credit each)."
    )
    blank_lines = serializers.IntegerField(help_text="Lines without data: free.")
    invalid = serializers.IntegerField(help_text="Records whose number is no telephone number.")
    foreign = serializers.IntegerField(help_text="Numbers of another country.")
    service = serializers.IntegerField(help_text="Service numbers (0800, 0900, 112, …).")
    duplicates = serializers.IntegerField(
        help_text="Records whose number came before in the file: each counted and charged, "
        "unless `leave_out_duplicates` leaves them out (then not in `records`)."
    )
    credits_needed = serializers.IntegerField(allow_null=True)
    balance = serializers.IntegerField(allow_null=True, help_text="The campaign's credits now.")
    balance_after = serializers.IntegerField(
        allow_null=True, help_text="Negative: marking would be refused for too few credits."
    )
    problems = ProblemRowSerializer(many=True, help_text="The first 100 problem rows.")


class CallFileAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=API_STATUSES)


# A call file the intake cannot read as it is (SPEC §8.8): uploads.intake's codes.
INTAKE_ERRORS = (
    "empty_file",
    "header_only",
    "no_phone_column",
    "binary_file",
    "unknown_encoding",
    "unbalanced_quotes",
    "ragged_rows",
    "too_many_rows",
    "invalid_setting",
    "unreadable_xlsx",
    "too_large",
)


class CallFileCreateView(APIView):
    class CallFileUploadSerializer(serializers.Serializer):
        # An empty file gets the intake's message, which says what a file must hold.
        file = serializers.FileField(allow_empty_file=True, help_text=FILE_HELP)
        phone_column = serializers.CharField(
            required=False, max_length=200, help_text=f"The telephone numbers. {COLUMN_HELP}"
        )
        opt_in_column = serializers.CharField(
            required=False,
            max_length=200,
            help_text="Optional dates of the consumer's consent to be called (YYYY-MM-DD, "
            f"DD-MM-YYYY or DD/MM/YYYY): a later one makes a registered number callable. "
            f"{COLUMN_HELP} Detected by its header name when left out; `0` for none.",
        )
        delimiter = serializers.ChoiceField(
            choices=DELIMITERS, required=False, help_text="Detected when left out."
        )
        encoding = serializers.ChoiceField(
            choices=ENCODINGS, required=False, help_text="Detected when left out."
        )
        # Left out is "detect", not "no": a form field's missing checkbox would say false.
        has_header = serializers.BooleanField(
            required=False, allow_null=True, help_text="Detected when left out."
        )
        leave_out_duplicates = serializers.BooleanField(
            required=False,
            default=False,
            help_text="`true`: the later repeats of a number (each record whose number came "
            "before in the file) are left out of the marking: not offered, not marked, not "
            "charged, and not in the marked file, whose other rows are as uploaded. The first "
            "record with each number stays. `false` (the default): every record is marked.",
        )
        dry_run = serializers.BooleanField(
            required=False,
            default=False,
            help_text="`true`: only read and count the file, and say what marking it would "
            "cost (200); nothing is stored, queued or charged, and nothing is looked up in the "
            "register.",
        )

    @extend_schema(
        operation_id="call_files_create",
        tags=["call-files"],
        summary="Upload a call file to be marked against the register for this campaign",
        description=(
            "The file is stored and read at once: a file that cannot be read is a 400 with the "
            "problem's code and the line (`empty_file`, `header_only`, `no_phone_column`, "
            "`binary_file`, `unknown_encoding`, `unbalanced_quotes`, `ragged_rows`, "
            "`too_many_rows`, `invalid_setting`, `unreadable_xlsx`), too large a 413 "
            "(`too_large`). The marking then runs in the background: follow it at the returned "
            "id. nl: one credit of the campaign per record, charged when the result is ready; "
            "be: needs the access licence.\n\n"
            "With `dry_run=true` the file is only read and counted, free: the records offered "
            "(what is charged), blank lines, invalid, foreign, service and repeated numbers, the "
            "credits needed and the balance before and after (null where marking is not paid in "
            "credits), and the first 100 problem rows with their line; with "
            "`leave_out_duplicates=true` the repeated numbers are not among the records offered. "
            "A bad file gets the same 400/413.\n\n" + FILE_HELP
        ),
        request={"multipart/form-data": CallFileUploadSerializer},
        responses={
            200: OpenApiResponse(
                response=ValidationSerializer, description="`dry_run=true`: the file's counts."
            ),
            202: CallFileAcceptedSerializer,
            **api_errors("invalid", "not_found", *INTAKE_ERRORS, "insufficient_storage"),
        },
    )
    def post(self, request, campaign_id: int):
        company = request.user.company
        campaign = campaign_get(company=company, campaign_id=campaign_id)
        serializer = self.CallFileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        overrides = {
            name: data[name]
            for name in ("phone_column", "opt_in_column", "delimiter", "encoding", "has_header")
            if data.get(name) is not None
        }
        upload = data["file"]
        if data["dry_run"]:
            validation = call_file_dry_run(
                company=company,
                campaign=campaign,
                upload=upload,
                filename=upload.name,
                overrides=overrides,
                leave_out_duplicates=data["leave_out_duplicates"],
            )
            return Response(ValidationSerializer(validation).data)
        call_file = call_file_upload(
            company=company,
            campaign=campaign,
            uploaded_by=request.user.key.created_by,
            upload=upload,
            filename=upload.name,
            overrides=overrides,
            confirm=True,
            leave_out_duplicates=data["leave_out_duplicates"],
        )
        return Response(CallFileAcceptedSerializer(call_file).data, status=status.HTTP_202_ACCEPTED)


def _get(request, call_file_id: int) -> CallFile:
    call_file = call_file_get(company=request.user.company, call_file_id=call_file_id)
    if call_file.status == CallFileStatus.DRAFT:
        raise NotFound
    return call_file


class CallFileDetailView(APIView):
    @extend_schema(
        operation_id="call_files_get",
        summary="A call file's marking: status, progress, counts and links; another company's "
        "is a 404",
        responses={200: CallFileSerializer, **api_errors("not_found")},
    )
    def get(self, request, call_file_id: int):
        call_file = _get(request, call_file_id)
        return Response(CallFileSerializer(call_file, context={"request": request}).data)


class CallFileResultView(APIView):
    @extend_schema(
        operation_id="call_files_result",
        summary="The marked file, as an attachment; 409 until done, 410 after its use period",
        description=(
            "The uploaded file back, same rows in the same order, same dialect and encoding, "
            "with the columns `dnc_status`, `dnc_reason`, `dnc_number` and `dnc_registered_on` "
            "appended."
        ),
        responses={
            (200, "text/csv"): OpenApiResponse(response=bytes, description="A CSV or TXT file."),
            (200, XLSX_TYPE): OpenApiResponse(response=bytes, description="An XLSX workbook."),
            **api_errors("not_found", "not_ready", "gone"),
        },
    )
    def get(self, request, call_file_id: int):
        call_file = _get(request, call_file_id)
        if call_file.status != CallFileStatus.DONE:
            raise _not_ready(call_file)
        if call_file.files_deleted_at or not call_file.result:
            raise _gone(call_file)
        return result_response(call_file)


class CallFileCertificateView(APIView):
    @extend_schema(
        operation_id="call_files_certificate",
        summary="The certificate of consultation (PDF); 409 until it is made",
        responses={
            (200, "application/pdf"): OpenApiResponse(response=bytes),
            **api_errors("not_found", "not_ready"),
        },
    )
    def get(self, request, call_file_id: int):
        call_file = _get(request, call_file_id)
        if not call_file.certificate:
            raise _not_ready(call_file)
        return certificate_response(call_file)
