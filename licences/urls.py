from django.urls import path

from licences import views

app_name = "licences"

urlpatterns = [
    path("", views.home, name="home"),
    path("for-companies/", views.for_companies, name="for_companies"),
    # allauth's login, answering 429 when refused; the rest of allauth follows in config.urls.
    path("login/", views.LoginView.as_view(), name="login"),
    path("company/new/", views.company_new, name="company_create"),
    path("company/", views.company_detail, name="company"),
    path("company/edit/", views.company_edit, name="company_edit"),
    path("company/switch/", views.switch, name="switch"),
    path("company/members/", views.members, name="members"),
    path("company/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("licences/", views.licences, name="licences"),
    path(
        "licences/upload/request/",
        views.upload_licence_request_view,
        name="upload_licence_request",
    ),
    path("licences/<int:licence_id>/cancel/", views.licence_cancel_view, name="licence_cancel"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]
