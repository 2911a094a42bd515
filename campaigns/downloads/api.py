"""API v1: full and delta downloads (SPEC §9, §16). Thin views over the download services."""

import datetime

from django.http import FileResponse
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.downloads.selectors import (
    download_file_available,
    download_filename,
    download_get,
    download_progress,
    download_since,
)
from campaigns.downloads.services import download_request
from campaigns.models import DownloadKind, DownloadStatus
from campaigns.selectors import campaign_get
from register.errors import DomainError, api_errors


class DownloadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DownloadKind.choices)
    status = serializers.ChoiceField(choices=DownloadStatus.choices)
    progress = serializers.SerializerMethodField(help_text="0-100 while it can be estimated.")
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(help_text="SHA-256 of the file, hex; empty until done.")
    valid_until = serializers.DateField(
        allow_null=True, help_text="The last day the file may be used (4 weeks)."
    )
    extended_until = serializers.DateField(
        allow_null=True, help_text="The last day after the call centre's one extension."
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    file_url = serializers.SerializerMethodField()

    def get_progress(self, download) -> int | None:
        return download_progress(download=download)

    def get_file_url(self, download) -> str | None:
        if not download_file_available(download):
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api-download-file", args=[download.pk])
        )


class DownloadCreateView(APIView):
    class DownloadCreateSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=DownloadKind.choices)
        since = serializers.CharField(
            required=False,
            help_text=(
                "Delta only: a date (YYYY-MM-DD, from its start in the register's time zone) or "
                "an ISO 8601 moment; without it, since the company's last download."
            ),
        )
        campaign = serializers.IntegerField(
            required=False, help_text="nl: the campaign whose download licence is used."
        )

        def validate_since(self, value: str) -> datetime.date | datetime.datetime:
            try:
                parsed = parse_datetime(value) or parse_date(value)
            except ValueError:
                parsed = None
            if parsed is None:
                raise serializers.ValidationError(_("A date YYYY-MM-DD or an ISO 8601 moment."))
            return parsed

    @extend_schema(
        operation_id="downloads_create",
        summary="Request a full or delta download; the file is built in the background",
        request=DownloadCreateSerializer,
        responses={
            201: DownloadSerializer,
            **api_errors(
                "invalid", "invalid_since", "no_earlier_download", "licence_required", "not_found"
            ),
        },
    )
    def post(self, request):
        serializer = self.DownloadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        company = request.user.company
        data = serializer.validated_data
        campaign = None
        if "campaign" in data:
            campaign = campaign_get(company=company, campaign_id=data["campaign"])
        since = None
        if "since" in data:
            since = download_since(register=company.register, value=data["since"])
        download = download_request(
            company=company, kind=data["kind"], since=since, campaign=campaign
        )
        return Response(
            DownloadSerializer(download, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class DownloadDetailView(APIView):
    @extend_schema(
        operation_id="downloads_get",
        summary="One download with its status; another company's is a 404",
        responses={200: DownloadSerializer, **api_errors("not_found")},
    )
    def get(self, request, download_id: int):
        download = download_get(company=request.user.company, download_id=download_id)
        return Response(DownloadSerializer(download, context={"request": request}).data)


class DownloadFileView(APIView):
    @extend_schema(
        operation_id="downloads_file",
        summary="The download's file, as an attachment; 409 until it is done",
        responses={
            (200, "text/plain"): OpenApiResponse(
                response=bytes, description="One line per number; layout on the download page."
            ),
            **api_errors("not_found", "not_ready", "gone"),
        },
    )
    def get(self, request, download_id: int):
        download = download_get(company=request.user.company, download_id=download_id)
        if download.status != DownloadStatus.DONE:
            raise DomainError(
                _not_ready_message(download), code="not_ready", status=status.HTTP_409_CONFLICT
            )
        if not download_file_available(download):
            raise DomainError(
                _("The file was deleted when its use period ended; request a new download."),
                code="gone",
                status=status.HTTP_410_GONE,
            )
        return FileResponse(
            download.file.open("rb"),
            as_attachment=True,
            filename=download_filename(download),
            content_type="text/plain; charset=utf-8",
        )


def _not_ready_message(download) -> str:
    if download.status == DownloadStatus.FAILED:
        return _("This download failed; request a new one.")
    return _("The file is not ready yet; ask again when the status is done.")
