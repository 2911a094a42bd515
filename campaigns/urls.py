"""Every page of campaigns, under the namespaces the templates reverse: `campaigns:` (campaigns,
the opt-out list, the number search), `call_files:` and `downloads:`."""

from django.urls import include, path

from campaigns import views

campaign_patterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("<int:campaign_id>/respond/", views.invitation_respond, name="respond"),
    path("", include("campaigns.checks.urls")),
    path("opt-outs/", views.opt_outs, name="opt_outs"),
    path("opt-outs/remove/", views.opt_out_remove_view, name="opt_out_remove"),
    path("opt-outs/upload/", views.opt_outs_upload_view, name="opt_outs_upload"),
    path("opt-outs/export/", views.opt_outs_export, name="opt_outs_export"),
]

# Mounted at the site's root by config.urls.
urlpatterns = [
    path("campaigns/", include((campaign_patterns, "campaigns"))),
    # A call file is marked for one of the company's campaigns: its pages are under campaigns/.
    path("campaigns/", include("campaigns.marking.urls")),
    path("downloads/", include("campaigns.downloads.urls")),
    path("", include("campaigns.verify.urls")),
    path("history/", include("campaigns.history.urls")),
]
