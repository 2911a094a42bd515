"""API v1: campaigns, number checks, the opt-out list (SPEC §16). Thin views over campaign
services and selectors."""

import uuid

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.checks import (
    MAX_NUMBERS_PER_CHECK,
    CheckReason,
    CheckResult,
    CheckStatus,
    NumbersChecked,
    RateLimited,
    numbers_check,
)
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
from register.errors import ErrorSerializer


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
        responses={200: CampaignSerializer(many=True), 401: ErrorSerializer},
    )
    def get(self, request):
        campaigns = campaigns_for_company(company=request.user.company)
        return Response(CampaignSerializer(campaigns, many=True).data)

    @extend_schema(
        operation_id="campaigns_create",
        summary="Create a campaign",
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
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
        responses={200: CampaignSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, campaign_id: int):
        campaign = campaign_get(company=request.user.company, campaign_id=campaign_id)
        return Response(CampaignSerializer(campaign).data)


# Number checks (SPEC §10)


class CheckResultSerializer(serializers.Serializer):
    """What one number is for this company and purpose (SPEC §8.4, §8.5)."""

    input = serializers.CharField(help_text="The number as sent.")
    number = serializers.CharField(
        allow_null=True, help_text="E.164, e.g. +31612345678; null when the input is no number."
    )
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    reason = serializers.ChoiceField(
        choices=CheckReason.choices,
        allow_blank=True,
        help_text="Empty for CALLABLE, and for OUT_OF_SCOPE service numbers (0800, 0900, 112).",
    )
    registered_on = serializers.DateField(allow_null=True)
    categories = serializers.ListField(
        child=serializers.CharField(),
        help_text="Categories the registration blocks; empty when not registered or in a register "
        "with one full block.",
    )


def _result_json(result: CheckResult) -> dict:
    """CheckResultSerializer's shape, built directly: a batch of 1,000 through the serializer
    costs more than the lookup it reports."""
    return {
        "input": result.input,
        "number": None if result.number is None else f"+{result.number}",
        "status": result.status,
        "reason": result.reason,
        "registered_on": result.registered_on and result.registered_on.isoformat(),
        "categories": result.categories,
    }


class _Throttled(exceptions.Throttled):
    """DRF's 429, so its handler sets Retry-After, in the service's words."""

    def __init__(self, error: RateLimited):
        super().__init__(detail=str(error.message))
        self.wait = error.retry_after


def _check(request, *, numbers: list[str], purpose: str, campaign: int | None) -> NumbersChecked:
    company = request.user.company
    try:
        return numbers_check(
            company=company,
            numbers=numbers,
            purpose=purpose or None,
            campaign=campaign_get(company=company, campaign_id=campaign) if campaign else None,
            reference=f"check:{uuid.uuid4().hex}",
        )
    except RateLimited as error:
        raise _Throttled(error) from error


CHECK_ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    402: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    429: ErrorSerializer,
}
CHECK_DESCRIPTION = (
    "nl: each number checked costs the campaign one credit (the campaign is required; 402 when "
    "its balance is too small, and nothing is charged). be: included in the access licence "
    "(403 without one) and limited per company by the licence's numbers a minute (default 20; "
    "a batch of N counts N); over the limit is a 429 with Retry-After. The company's opt-out "
    "list applies."
)


class CheckOptionsSerializer(serializers.Serializer):
    purpose = serializers.SlugField(
        required=False,
        allow_blank=True,
        help_text="A category of the register; default the campaign's purpose, else `commercial`.",
    )
    campaign = serializers.IntegerField(
        required=False, allow_null=True, help_text="Required in nl: its credits pay."
    )


class NumberCheckView(APIView):
    @extend_schema(
        operation_id="numbers_get",
        summary="Check one number",
        description=CHECK_DESCRIPTION,
        parameters=[CheckOptionsSerializer],
        responses={200: CheckResultSerializer, **CHECK_ERRORS},
    )
    def get(self, request, number: str):
        options = CheckOptionsSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        checked = _check(
            request,
            numbers=[number],
            purpose=options.validated_data.get("purpose", ""),
            campaign=options.validated_data.get("campaign"),
        )
        return Response(_result_json(checked.results[0]))


class NumbersField(serializers.ListField):
    """A list of strings as sent, checked as one list: a CharField run per item costs more than
    checking the whole batch against the register."""

    child = serializers.CharField(max_length=64, allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(
            isinstance(item, str) and len(item) <= 64 for item in data
        ):
            raise serializers.ValidationError(
                _("Give the numbers as a list of texts of at most 64 characters.")
            )
        return data


class NumbersCheckView(APIView):
    class NumbersCheckSerializer(CheckOptionsSerializer):
        numbers = NumbersField(
            min_length=1,
            max_length=MAX_NUMBERS_PER_CHECK,
            help_text="Numbers as written, up to 64 characters each.",
        )

    class ResultsSerializer(serializers.Serializer):
        results = CheckResultSerializer(many=True)

    @extend_schema(
        operation_id="numbers_check",
        summary="Check up to 1,000 numbers; results in the order sent",
        description=CHECK_DESCRIPTION,
        request=NumbersCheckSerializer,
        responses={200: ResultsSerializer, **CHECK_ERRORS},
    )
    def post(self, request):
        serializer = self.NumbersCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        checked = _check(
            request,
            numbers=data["numbers"],
            purpose=data.get("purpose", ""),
            campaign=data.get("campaign"),
        )
        return Response({"results": [_result_json(result) for result in checked.results]})


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
        summary="The company's opt-out list, by number",
        responses={200: OptOutSerializer(many=True), 401: ErrorSerializer},
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
            400: ErrorSerializer,
            401: ErrorSerializer,
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
        responses={204: None, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
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
            400: ErrorSerializer,
            401: ErrorSerializer,
            413: ErrorSerializer,
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
