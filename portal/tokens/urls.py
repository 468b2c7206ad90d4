from django.urls import path

from portal.tokens import history_views, views

app_name = "tokens"

urlpatterns = [
    path("generate/", views.generate, name="generate"),
    path("<uuid:issuance_id>/result/", views.result, name="result"),
    path("<uuid:issuance_id>/renew/", views.renew, name="renew"),
    path("<uuid:issuance_id>/revoke/", views.revoke, name="revoke"),
    path("revoke/", views.revoke_bulk, name="revoke_bulk"),
    path("history/", history_views.history, name="history"),
    path("history/export.csv", history_views.history_export, name="history_export"),
    path("<uuid:issuance_id>/", history_views.detail, name="detail"),
]
