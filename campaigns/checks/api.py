"""API v1: number checks (SPEC §10, §16). Thin views over `numbers_check`."""

import uuid

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.checks.selectors import campaign_for_checks
from campaigns.checks.services import (
    MAX_NUMBERS_PER_CHECK,
    CheckResult,
    NumbersChecked,
    numbers_check,
)
from campaigns.verdicts import CheckReason, CheckStatus
from register.errors import api_errors


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
        help_text="Empty only for a CALLABLE number that is not registered; "
        "`REGISTERED_OTHER_CATEGORIES` for one registered for other purposes (callable), "
        "`SERVICE_NUMBER` for OUT_OF_SCOPE service numbers (0800, 0900, 112).",
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


def _check(request, *, numbers: list[str], purpose: str, campaign: int | None) -> NumbersChecked:
    company = request.user.company
    # Over the be limit, RateLimited is a 429 whose Retry-After the exception handler sets.
    return numbers_check(
        company=company,
        numbers=numbers,
        purpose=purpose or None,
        campaign=campaign_for_checks(company=company, campaign_id=campaign) if campaign else None,
        reference=f"check:{uuid.uuid4().hex}",
    )


CHECK_ERRORS = api_errors(
    "invalid",
    "invalid_purpose",
    "campaign_required",
    "insufficient_credits",
    "licence_required",
    "not_found",
    "rate_limited",
)
CHECK_DESCRIPTION = (
    "nl: each number checked costs the campaign one credit (the campaign is required; 402 when "
    "its balance is too small, and nothing is charged); an input without any digit (`hallo`, "
    "`n.v.t.`) is no telephone number at all: it is answered INVALID/INVALID_NUMBER and costs "
    "nothing. be: included in the access licence "
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
