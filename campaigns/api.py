"""API v1: campaigns and the opt-out list (SPEC §16). Thin views over campaign
services and selectors."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import OptOutSource
from campaigns.selectors import campaign_get, campaigns_for_company, opt_outs_for_company
from campaigns.services import (
    OPT_OUT_FILE_MAX_BYTES,
    OPT_OUT_REPORT_LINES,
    campaign_create,
    opt_out_add,
    opt_out_remove,
    opt_outs_upload,
)
from register.errors import api_errors


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    purpose = serializers.CharField()
    created_at = serializers.DateTimeField()


class CampaignListView(APIView):
    class CampaignCreateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        purpose = serializers.SlugField(
            max_length=30,
            help_text="One of the register's blocking categories; `commercial` where it has none.",
        )

    @extend_schema(
        operation_id="campaigns_list",
        summary="The company's campaigns and those it runs as call centre",
        responses={200: CampaignSerializer(many=True)},
    )
    def get(self, request):
        campaigns = campaigns_for_company(company=request.user.company)
        return Response(CampaignSerializer(campaigns, many=True).data)

    @extend_schema(
        operation_id="campaigns_create",
        summary="Create a campaign",
        request=CampaignCreateSerializer,
        responses={
            201: CampaignSerializer,
            **api_errors("invalid", "invalid_purpose", "invalid_name"),
        },
    )
    def post(self, request):
        serializer = self.CampaignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = campaign_create(company=request.user.company, **serializer.validated_data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    @extend_schema(
        operation_id="campaigns_get",
        summary="One campaign; another company's is a 404",
        responses={200: CampaignSerializer, **api_errors("not_found")},
    )
    def get(self, request, campaign_id: int):
        campaign = campaign_get(company=request.user.company, campaign_id=campaign_id)
        return Response(CampaignSerializer(campaign).data)


# The company opt-out list (SPEC §6)


class OptOutSerializer(serializers.Serializer):
    number = serializers.SerializerMethodField(help_text="E.164, e.g. +31612345678.")
    source = serializers.ChoiceField(choices=OptOutSource.choices)
    created_at = serializers.DateTimeField()

    def get_number(self, opt_out) -> str:
        return f"+{opt_out.number}"


class OptOutPagination(LimitOffsetPagination):
    default_limit = 1_000
    max_limit = 10_000


class OptOutListView(GenericAPIView):
    pagination_class = OptOutPagination
    serializer_class = OptOutSerializer

    class OptOutAddSerializer(serializers.Serializer):
        number = serializers.CharField(max_length=64)

    def get_queryset(self):
        return opt_outs_for_company(company=self.request.user.company).order_by("number")

    @extend_schema(
        operation_id="opt_outs_list",
        summary="The company's opt-out list, by number, a page at a time",
        description=(
            f"Paginated: `{{count, next, previous, results}}`, {OptOutPagination.default_limit:,} "
            f"numbers a page unless `limit` says otherwise (at most "
            f"{OptOutPagination.max_limit:,}); follow `next` until it is null."
        ),
        responses={200: OptOutSerializer(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OptOutSerializer(page, many=True).data)

    @extend_schema(
        operation_id="opt_outs_add",
        summary="Put a number on the opt-out list (200 when it was on it already)",
        request=OptOutAddSerializer,
        responses={
            200: OptOutSerializer,
            201: OptOutSerializer,
            **api_errors("invalid", "invalid_number"),
        },
    )
    def post(self, request):
        serializer = self.OptOutAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opt_out, created = opt_out_add(
            company=request.user.company,
            number=serializer.validated_data["number"],
            source=OptOutSource.API,
        )
        return Response(
            OptOutSerializer(opt_out).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OptOutDetailView(APIView):
    @extend_schema(
        operation_id="opt_outs_remove",
        summary="Take a number off the opt-out list",
        responses={204: None, **api_errors("invalid_number", "not_found")},
    )
    def delete(self, request, number: str):
        opt_out_remove(company=request.user.company, number=number)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OptOutUploadView(APIView):
    class OptOutUploadSerializer(serializers.Serializer):
        file = serializers.FileField(
            help_text="One number a line, or a CSV whose first column holds the numbers; a first "
            "line without digits is a header."
        )

    class OptOutReportSerializer(serializers.Serializer):
        added = serializers.IntegerField()
        already = serializers.IntegerField(
            help_text="On the list already, or earlier in the same file."
        )
        invalid_total = serializers.IntegerField()
        invalid = inline_serializer(
            "OptOutInvalidLine",
            many=True,
            fields={"line": serializers.IntegerField(), "text": serializers.CharField()},
            help_text=f"The first {OPT_OUT_REPORT_LINES} invalid lines.",
        )

    @extend_schema(
        operation_id="opt_outs_upload",
        summary="Add the numbers of a file to the opt-out list",
        request={"multipart/form-data": OptOutUploadSerializer},
        responses={
            200: OptOutReportSerializer,
            **api_errors("invalid", "empty_file", "binary_file", "file_too_large"),
        },
    )
    def post(self, request):
        serializer = self.OptOutUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # One byte over the limit is enough for the service to refuse it; no more is read.
        data = serializer.validated_data["file"].read(OPT_OUT_FILE_MAX_BYTES + 1)
        report = opt_outs_upload(company=request.user.company, data=data)
        return Response(
            {
                "added": report.added,
                "already": report.already,
                "invalid_total": report.invalid_total,
                "invalid": [{"line": line, "text": text} for line, text in report.invalid],
            }
        )
