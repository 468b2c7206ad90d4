from django import forms

from portal.audit.describe import TARGET_KINDS, action_choices
from portal.audit.selectors import AuditFilters

OUTCOME_CHOICES = [
    ("", "Any result"),
    ("success", "Succeeded"),
    ("failure", "Failed"),
    ("denied", "Refused"),
]


class AuditFilterForm(forms.Form):
    """The log's filters and keyset position, read from the query string (GET).

    People choose in words: who (a member's name, suggested from the team), what (grouped
    actions), the result, the days, and what the event is about. ``target_id`` narrows the log to
    one object; links from a token's page set it, nobody types it."""

    actor = forms.CharField(
        required=False,
        max_length=150,
        label="Who",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "list": "audit-people", "placeholder": "Anyone"}
        ),
    )
    action = forms.ChoiceField(required=False, label="What")
    outcome = forms.ChoiceField(required=False, label="Result", choices=OUTCOME_CHOICES)
    date_from = forms.DateField(
        required=False, label="From day", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To day", widget=forms.DateInput(attrs={"type": "date"})
    )
    target_type = forms.ChoiceField(
        required=False, label="About", choices=[("", "Anything"), *TARGET_KINDS]
    )
    target_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, show_actor: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action"), *action_choices()]
        if not show_actor:
            # An issuer's log holds only their own events: a "who" filter could show no one
            # else, so it is not offered (a name in the link still narrows, never widens).
            self.fields["actor"].widget = forms.HiddenInput()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        for name in ("actor", "target_id"):
            value = cleaned.get(name) or ""
            if not value.isprintable():
                self.add_error(name, "Use printable characters only.")
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            target_type=data.get("target_type") or "",
            target_id=data.get("target_id") or "",
        )
