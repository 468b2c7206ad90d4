"""The API key page's form. It validates input only; ``services.api_key_create`` decides."""

import uuid

from django import forms

from portal.api.models import KeyRole
from portal.api.services import DEFAULT_LIFETIME_DAYS, MAX_LIFETIME_DAYS
from portal.teams.models import Membership
from portal.vault.models import Credential


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="What it is for, e.g. “CI deploy of billing-service”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    team = forms.ChoiceField(help_text="A key works in one team only.")
    role = forms.ChoiceField(
        choices=KeyRole.choices,
        initial=KeyRole.ISSUER,
        widget=forms.RadioSelect,
        help_text="No higher than your own role in the team.",
    )
    credentials = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to allow every credential of the team; tick some to "
        "restrict the key to them (they must be of the team chosen above).",
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        initial=DEFAULT_LIFETIME_DAYS,
        help_text=f"At most {MAX_LIFETIME_DAYS} days (a year).",
    )
    form_nonce = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = list(
            Membership.objects.select_related("team").filter(user=user).order_by("team__name")
        )
        self.fields["team"].choices = [
            (str(m.team_id), f"{m.team.name} (you: {m.get_role_display().lower()})")
            for m in self.memberships
        ]
        self.credential_rows = list(
            Credential.objects.select_related("team")
            .filter(team__in=[m.team_id for m in self.memberships], archived_at__isnull=True)
            .order_by("team__name", "name")
        )
        self.fields["credentials"].choices = [
            (str(c.pk), f"{c.team.name} · {c.name}") for c in self.credential_rows
        ]
        self.fields["form_nonce"].initial = uuid.uuid4()

    def clean(self):
        cleaned = super().clean()
        team_id = cleaned.get("team")
        cleaned["team"] = next(
            (m.team for m in self.memberships if str(m.team_id) == team_id), None
        )
        chosen = set(cleaned.get("credentials") or [])
        cleaned["credentials"] = [c for c in self.credential_rows if str(c.pk) in chosen]
        return cleaned
