from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>", api.CampaignDetailView.as_view(), name="api-campaign"),
]
