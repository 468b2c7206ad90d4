"""The history's filter form (GET), kept apart from the generate/renew/revoke forms."""

from django import forms

from portal.tokens import selectors
from portal.tokens.models import Status
from portal.vault.forms import SCOPE_RE

STATUS_CHOICES = [
    ("", "Any status"),
    (Status.ACTIVE.value, "Active"),
    ("expiring_soon", "Expiring soon"),
    ("expired", "Expired"),
    (Status.RENEWED.value, "Renewed"),
    (Status.REVOKED.value, "Revoked"),
    (Status.FAILED.value, "Failed"),
    (Status.PENDING.value, "Pending"),
]


class HistoryFilterForm(forms.Form):
    """Filters and keyset position read from the query string. Choices are the team's own
    credentials (archived ones too) and members, so a foreign id is simply invalid."""

    credential = forms.ChoiceField(required=False)
    member = forms.ChoiceField(required=False, label="Issued by")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    scope = forms.CharField(
        required=False,
        max_length=200,
        label="Scope",
        help_text="Requested or granted.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_from = forms.DateField(
        required=False, label="Issued from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Issued to", widget=forms.DateInput(attrs={"type": "date"})
    )
    before = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)
    after = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, data=None, *, team, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["credential"].choices = [
            ("", "Any credential"),
            *selectors.credential_choices_for_team(team),
        ]
        self.fields["member"].choices = [("", "Anyone"), *selectors.member_choices_for_team(team)]

    def clean_scope(self) -> str:
        scope = (self.cleaned_data.get("scope") or "").strip()
        if scope and not SCOPE_RE.match(scope):
            raise forms.ValidationError(
                "A scope is one word of printable characters, without quotes or backslashes."
            )
        return scope

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        # The page position is a hidden field: its error is shown for the whole form.
        for name in ("before", "after"):
            text = cleaned.get(name) or ""
            try:
                cleaned[name] = selectors.Cursor.decode(text) if text else None
            except ValueError:
                cleaned[name] = None
                self.add_error(
                    None, "This page link is broken. Start again from the newest tokens."
                )
        return cleaned

    def filters(self) -> selectors.HistoryFilters:
        data = self.cleaned_data
        return selectors.HistoryFilters(
            credential_id=data.get("credential") or None,
            member_id=int(data["member"]) if data.get("member") else None,
            status=data.get("status") or "",
            scope=data.get("scope") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
