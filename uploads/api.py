"""API v1: registration files under the upload licence (SPEC §11, §16). Thin views."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from register.errors import api_errors
from uploads.access import upload_licence_require
from uploads.models import FileStatus, RowReason
from uploads.selectors import registration_file_get, registration_file_rows
from uploads.services import (
    HEADER,
    LEGAL_TERM_WORKING_DAYS,
    MAX_FILE_BYTES,
    SEPARATOR,
    DailyLimitExceeded,
    registration_file_upload,
)

FILE_LAYOUT = (
    f"UTF-8 text, at most {MAX_FILE_BYTES // (1024 * 1024)} MB, fields separated by `{SEPARATOR}`. "
    f"The first line is the header `{SEPARATOR.join(HEADER)}`; then one registration a line: the "
    "number (national or international), `ALL` or the register's category codes separated by "
    "commas, and the date the consumer asked to be registered (YYYY-MM-DD)."
)


class RegistrationRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line in the file; the header is line 1.")
    number = serializers.CharField(help_text="The number as the file gives it.")
    reason = serializers.ChoiceField(
        choices=RowReason.choices,
        help_text=(
            "`late`: registered, but delivered more than "
            f"{LEGAL_TERM_WORKING_DAYS} working days after the request; any other reason: "
            "the row was refused and nothing was registered."
        ),
    )
    requested_on = serializers.DateField(
        allow_null=True, help_text="The request date of a late row; null for a refused row."
    )


class RegistrationFileErrorSerializer(serializers.Serializer):
    """As a call file's `error` (SPEC §16): the machine code and the message in the register's
    language."""

    code = serializers.CharField()
    message = serializers.CharField()


class RegistrationFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=FileStatus.choices, help_text="The counts and problems are final once `done`."
    )
    filename = serializers.CharField()
    sha256 = serializers.CharField(help_text="SHA-256 of the file as received, hexadecimal.")
    size = serializers.IntegerField(help_text="Bytes.")
    rows_total = serializers.IntegerField(help_text="Data rows, blank lines not counted.")
    registered = serializers.IntegerField(help_text="Rows whose number is now registered.")
    already_registered = serializers.IntegerField(
        help_text="Rows whose number was already registered, or repeated in the file."
    )
    invalid = serializers.IntegerField(help_text="Refused rows, listed in `problems`.")
    late = serializers.IntegerField(
        help_text=(
            "Registered and already registered rows delivered more than "
            f"{LEGAL_TERM_WORKING_DAYS} working days after the consumer's request."
        )
    )
    problems = serializers.SerializerMethodField(
        help_text="The refused and the late rows, in file order."
    )
    created_at = serializers.DateTimeField(help_text="When the file was uploaded.")
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.SerializerMethodField(
        help_text=(
            "Why nothing of the file was registered: `daily_limit_exceeded` (status `refused`) "
            "or `processing_failed` (status `failed`); null otherwise."
        )
    )
    reverted_at = serializers.DateTimeField(
        allow_null=True,
        help_text=(
            "When the register's staff reverted the file: the numbers it registered that had "
            "no other act since are unblocked again. Null while it stands."
        ),
    )

    @extend_schema_field(RegistrationFileErrorSerializer(allow_null=True))
    def get_error(self, registration_file) -> dict | None:
        codes = {
            FileStatus.REFUSED: DailyLimitExceeded.code,
            FileStatus.FAILED: "processing_failed",
        }
        code = codes.get(registration_file.status)
        if code is None:
            return None
        return {"code": code, "message": registration_file.error}

    @extend_schema_field(RegistrationRowSerializer(many=True))
    def get_problems(self, registration_file) -> list:
        rows = registration_file_rows(registration_file=registration_file)
        return RegistrationRowSerializer(rows, many=True).data


class RegistrationFileAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=FileStatus.choices)


class RegistrationFileListView(APIView):
    class UploadSerializer(serializers.Serializer):
        # An empty file gets the service's message, which says what a file must hold.
        file = serializers.FileField(allow_empty_file=True, help_text=FILE_LAYOUT)

    @extend_schema(
        operation_id="registration_files_create",
        summary="Upload a file of registrations collected in calls or by IVR",
        description=(
            "Needs the upload licence (403 `licence_required` without it; it is requested in the "
            "portal and granted by the register). The file is checked at once: empty, not UTF-8 "
            "or without the header is a 400, too large a 413. A company delivers a limited "
            "number of rows a day over all its files (the operator's setting, 10,000 unless "
            "set otherwise): a file "
            "over what is left today is a 400 `daily_limit_exceeded` that says how many are "
            "left, and nothing of it is registered (a file that passes here but meets another "
            "processed first ends `refused`). Its rows are then processed in the background: "
            "follow the report at the returned id.\n\n" + FILE_LAYOUT
        ),
        request={"multipart/form-data": UploadSerializer},
        responses={
            202: RegistrationFileAcceptedSerializer,
            **api_errors(
                "invalid",
                "file_empty",
                "not_utf8",
                "wrong_header",
                "licence_required",
                "file_too_large",
                "insufficient_storage",
            ),
        },
    )
    def post(self, request):
        company = request.user.company
        upload_licence_require(company=company)
        serializer = self.UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration_file = registration_file_upload(
            company=company,
            upload=serializer.validated_data["file"],
            uploaded_by=request.user.key.created_by,
        )
        return Response(
            RegistrationFileAcceptedSerializer(registration_file).data,
            status=status.HTTP_202_ACCEPTED,
        )


class RegistrationFileDetailView(APIView):
    @extend_schema(
        operation_id="registration_files_get",
        summary="A registration file's report; another company's file is a 404",
        responses={200: RegistrationFileSerializer, **api_errors("not_found")},
    )
    def get(self, request, file_id: int):
        registration_file = registration_file_get(company=request.user.company, file_id=file_id)
        return Response(RegistrationFileSerializer(registration_file).data)
