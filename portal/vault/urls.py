from django.urls import path

from portal.vault import views

app_name = "vault"

urlpatterns = [
    path("", views.credential_list, name="credential_list"),
    path("team/<uuid:team_id>/", views.credential_list_team, name="credential_list_team"),
    path("team/<uuid:team_id>/new/", views.credential_create, name="credential_create"),
    path("<uuid:pk>/edit/", views.credential_edit, name="credential_edit"),
    path("<uuid:pk>/archive/", views.credential_archive, name="credential_archive"),
    path("<uuid:pk>/restore/", views.credential_restore, name="credential_restore"),
]
