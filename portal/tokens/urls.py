from django.urls import path

from portal.tokens.views import history, issue, manage

app_name = "tokens"

urlpatterns = [
    path("generate/", issue.generate, name="generate"),
    path("<uuid:issuance_id>/result/", issue.result, name="result"),
    path("<uuid:issuance_id>/renew/", manage.renew, name="renew"),
    path("<uuid:issuance_id>/revoke/", manage.revoke, name="revoke"),
    path("<uuid:issuance_id>/check/", manage.check, name="check"),
    path("revoke/", manage.revoke_bulk, name="revoke_bulk"),
    path("history/", history.history, name="history"),
    path("history/export.csv", history.history_export, name="history_export"),
    path("<uuid:issuance_id>/", history.detail, name="detail"),
]
