from django.urls import path

from portal.teams import views

app_name = "teams"

urlpatterns = [
    path("", views.team_list, name="list"),
    path("new/", views.team_create, name="create"),
    path("switch/", views.team_switch, name="switch"),
    path("<uuid:team_id>/", views.team_detail, name="detail"),
    path("<uuid:team_id>/rename/", views.team_rename, name="rename"),
    path("<uuid:team_id>/delete/", views.team_delete, name="delete"),
    path("<uuid:team_id>/members/add/", views.member_add, name="member_add"),
    path("<uuid:team_id>/2fa/", views.team_require_2fa, name="require_2fa"),
    path("<uuid:team_id>/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path(
        "<uuid:team_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
]
