"""Teams in the admin are for looking only: membership changes go through the portal's team
pages, which keep the last-owner rule and audit every change."""

from django.contrib import admin

from portal.teams.models import Membership, Team


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(_ReadOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields


@admin.register(Team)
class TeamAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["name", "personal_owner", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]
