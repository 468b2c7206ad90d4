"""Admin: gateways are edited here; credentials are shown read-only and never with secrets."""

from django.contrib import admin
from django.db import transaction

from portal.vault import services
from portal.vault.models import Credential, Gateway


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "token_url",
        "introspection_url",
        "username_template",
        "client_auth",
        "is_sandbox",
    )
    search_fields = ("name",)
    readonly_fields = ("created_at",)

    def save_model(self, request, obj, form, change):
        # Model.clean() (run by the admin form) already enforced HTTPS and the template rules.
        # The row as stored, not the form's instance: the form has already changed that one.
        before = services.gateway_audited_values(Gateway.objects.get(pk=obj.pk)) if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change:
                services.gateway_record_changed(gateway=obj, before=before, actor=request.user)
            else:
                services.gateway_record_created(gateway=obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        # Issuances keep the gateway they were issued by; a gateway is retired, not deleted.
        return False


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Read-only: changes go through the portal's pages, which validate, encrypt and audit."""

    list_display = ("name", "team", "gateway", "masked_key", "created_at", "archived_at")
    list_filter = ("gateway", "archived_at")
    search_fields = ("name", "team__name")
    exclude = ("consumer_key_encrypted", "consumer_secret_encrypted", "org_key_encrypted")
    readonly_fields = (
        "name",
        "team",
        "gateway",
        "masked_key",
        "default_scopes",
        "allow_password",
        "allow_client_credentials",
        "created_by",
        "created_at",
        "updated_at",
        "archived_at",
        "last_used_at",
    )
    fields = readonly_fields

    @admin.display(description="consumer key")
    def masked_key(self, obj: Credential) -> str:
        return obj.masked_key

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
