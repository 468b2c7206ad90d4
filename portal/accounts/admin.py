from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.accounts.models import User
from portal.teams.services import personal_team_ensure


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Portal", {"fields": ("display_name", "api_store_email")}),)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            personal_team_ensure(user=obj, actor=request.user)
