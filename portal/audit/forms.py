from django import forms

from portal.audit.models import Action, Outcome
from portal.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    """The log's filters and keyset position, read from the query string (GET)."""

    actor = forms.CharField(
        required=False,
        max_length=150,
        label="Actor (username)",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *Outcome.choices])
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    target_type = forms.CharField(
        required=False,
        max_length=40,
        label="Target type",
        help_text="e.g. teams.team, teams.membership",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    target_id = forms.CharField(
        required=False,
        max_length=64,
        label="Target id",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        for name in ("actor", "target_type", "target_id"):
            value = cleaned.get(name) or ""
            if not value.isprintable():
                self.add_error(name, "Use printable characters only.")
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            target_type=data.get("target_type") or "",
            target_id=data.get("target_id") or "",
        )
