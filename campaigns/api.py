"""API v1: campaigns (SPEC §16). Thin views over campaign services and selectors."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.selectors import campaign_get, campaigns_for_company
from campaigns.services import campaign_create
from licences.api import ErrorSerializer


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
