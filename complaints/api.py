"""API v1: requests, complaints and disputes from the company's side (SPEC §14, §16).

Thin views over the complaints services and selectors; a complaint or dispute filed before the
regulation allows it is the service's DomainError `too_early`, a 400 saying from when.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.models import CaseChannel, CaseKind
from complaints.selectors import case_due, case_for_company, cases_for_company
from complaints.services import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, case_file
from register.errors import api_errors

# The kinds a company files through the API (SPEC §16): a violation report is a consumer's, filed
# on the web (issue #14), so the API's answers and requests keep these three.
API_KINDS = [
    (kind.value, kind.label) for kind in (CaseKind.REQUEST, CaseKind.COMPLAINT, CaseKind.DISPUTE)
]


class DueSerializer(serializers.Serializer):
    """The next dates the operator must meet; which ones depends on the kind and the stage."""

    handle_by = serializers.DateField(
        required=False, allow_null=True, help_text="A request: handled by then."
    )
    acknowledge_by = serializers.DateField(
        required=False, allow_null=True, help_text="A complaint or dispute: acknowledged by then."
    )
    position_by = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="A dispute: the director states a position by then.",
    )
    reaction_by = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="A dispute: your reaction to the director's position by then.",
    )
    decide_by = serializers.DateField(
        required=False, allow_null=True, help_text="A complaint or dispute: decided by then."
    )


class CaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=API_KINDS)
    stage = serializers.CharField()
    subject = serializers.CharField()
    refers_to = serializers.IntegerField(source="refers_to_id", allow_null=True)
    received_at = serializers.DateTimeField()
    due = serializers.SerializerMethodField()

    @extend_schema_field(DueSerializer)
    def get_due(self, case) -> dict:
        return case_due(case=case)


class CaseListView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class CaseCreateSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=API_KINDS)
        subject = serializers.CharField(max_length=200)
        body = serializers.CharField(
            max_length=20000,
            help_text="The question or request; for a complaint or dispute its motivation.",
        )
        refers_to = serializers.IntegerField(
            required=False,
            allow_null=True,
            help_text="The id of the earlier case a complaint or dispute is about.",
        )
        late_reason = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=2000,
            help_text="Why filing sooner could not reasonably be expected, for a late one.",
        )
        attachments = serializers.ListField(
            child=serializers.FileField(),
            required=False,
            help_text=(
                f"Multipart only: at most {MAX_ATTACHMENTS} files of at most "
                f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB each."
            ),
        )

        def validate_refers_to(self, case_id):
            if case_id is None:
                return None
            # Another company's case, like a missing one, is a 404: never reveal it exists.
            return case_for_company(company=self.context["company"], case_id=case_id)

        def validate(self, data):
            if data["kind"] == CaseKind.REQUEST and data.get("refers_to"):
                raise serializers.ValidationError(
                    {"refers_to": _("A request stands on its own: leave refers_to out.")}
                )
            return data

    @extend_schema(
        operation_id="cases_list",
        summary="The company's requests, complaints and disputes, newest first",
        responses={200: CaseSerializer(many=True)},
    )
    def get(self, request):
        cases = cases_for_company(company=request.user.company)
        return Response(CaseSerializer(cases, many=True).data)

    @extend_schema(
        operation_id="cases_create",
        summary="File a request, complaint or dispute",
        description=(
            "A complaint or dispute filed before the regulation allows it is a 400 with code "
            "`too_early` whose detail says from which date it may be filed; an attachment "
            "over the size limit is a 413."
        ),
        request={
            "application/json": CaseCreateSerializer,
            "multipart/form-data": CaseCreateSerializer,
        },
        responses={
            201: CaseSerializer,
            **api_errors(
                "invalid",
                "too_early",
                "invalid_refers_to",
                "too_many_attachments",
                "attachment_too_large",
                "not_found",
            ),
        },
    )
    def post(self, request):
        company = request.user.company
        serializer = self.CaseCreateSerializer(data=request.data, context={"company": company})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        creator = request.user.key.created_by
        case = case_file(
            register=request.register,
            kind=data["kind"],
            subject=data["subject"],
            body=data["body"],
            refers_to=data.get("refers_to"),
            attachments=data.get("attachments", ()),
            late_reason=data.get("late_reason", ""),
            company=company,
            user=creator,
            filer_name=company.name,
            # Letters go to the person who made the key, else to the company's billing address.
            filer_email=creator.email if creator else company.billing_email,
            channel=CaseChannel.API,
        )
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseDetailView(APIView):
    @extend_schema(
        operation_id="cases_get",
        summary="One case; another company's is a 404",
        responses={200: CaseSerializer, **api_errors("not_found")},
    )
    def get(self, request, case_id: int):
        case = case_for_company(company=request.user.company, case_id=case_id)
        return Response(CaseSerializer(case).data)
