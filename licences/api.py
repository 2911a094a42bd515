"""API v1: who am I, licences, credits (SPEC §16). Thin views over selectors."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from licences.selectors import credit_balances, licences_for_company
from register.errors import ErrorSerializer
from register.phone.serializers import E164Field

ERRORS = {401: ErrorSerializer}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Tells the schema (and the docs' Authorize button) how ApiKeyAuthentication works."""

    target_class = "licences.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A company API key of this host's register: `Bearer dnc_…`.",
        }


class MeView(APIView):
    class MeSerializer(serializers.Serializer):
        company = inline_serializer(
            "MeCompany",
            fields={
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "type": serializers.CharField(source="company_type"),
                "employees": serializers.CharField(
                    source="employee_band", help_text="Employee band: up_to_250 or over_250."
                ),
                "phone": E164Field(
                    help_text="The contact telephone in E.164 (+31201234567), or null."
                ),
            },
        )
        register = serializers.SlugField(source="register.slug")

    @extend_schema(
        operation_id="me",
        summary="The company of the API key, and the register of this host",
        responses={200: MeSerializer, **ERRORS},
    )
    def get(self, request):
        me = {"company": request.user.company, "register": request.register}
        return Response(self.MeSerializer(me).data)


class LicenceListView(APIView):
    class LicenceSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        product = serializers.CharField(source="product.code")
        status = serializers.CharField()
        starts_on = serializers.DateField()
        ends_on = serializers.DateField(allow_null=True)
        renews = serializers.BooleanField()
        campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
        credits = serializers.IntegerField(
            source="product.credits",
            allow_null=True,
            help_text="Records a marking licence added to its campaign; null for others.",
        )

    @extend_schema(
        operation_id="licences_list",
        summary="The company's licences, newest first",
        responses={200: LicenceSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        licences = licences_for_company(company=request.user.company)
        return Response(self.LicenceSerializer(licences, many=True).data)


class CreditsView(APIView):
    class CreditsSerializer(serializers.Serializer):
        balance = serializers.IntegerField(help_text="All campaigns together.")
        campaigns = inline_serializer(
            "CampaignCredits",
            many=True,
            fields={"campaign": serializers.IntegerField(), "balance": serializers.IntegerField()},
        )

    @extend_schema(
        operation_id="credits",
        summary="Marking credits: nl balances belong to a campaign",
        responses={200: CreditsSerializer, **ERRORS},
    )
    def get(self, request):
        return Response(self.CreditsSerializer(credit_balances(company=request.user.company)).data)
