"""Every API v1 endpoint of campaigns (SPEC §16), in the order the schema lists them."""

from django.urls import include, path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>", api.CampaignDetailView.as_view(), name="api-campaign"),
    path("", include("campaigns.checks.api_urls")),
    path("opt-outs", api.OptOutListView.as_view(), name="api-opt-outs"),
    path("opt-outs/upload", api.OptOutUploadView.as_view(), name="api-opt-outs-upload"),
    path("opt-outs/<str:number>", api.OptOutDetailView.as_view(), name="api-opt-out"),
    path("", include("campaigns.downloads.api_urls")),
    path("", include("campaigns.marking.api_urls")),
]
