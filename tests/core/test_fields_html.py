"""``core.fields_html``: the filter forms' fields without templates, the same HTML as Django's."""

import datetime

import pytest
from django import forms
from django.test.html import parse_html
from django.utils.safestring import mark_safe

from portal.audit.forms import AuditFilterForm
from portal.core.fields_html import fields_html
from portal.tokens.forms import HistoryFilterForm
from tests.factories import credential_create

ODD = "a\"<b>&'é <script>alert(1)</script>"


def django_html(form) -> str:
    return "".join(str(bf.as_field_group()) for bf in form.visible_fields())


def assert_same_html(form):
    if form.is_bound:
        form.is_valid()
    assert parse_html(str(fields_html(form))) == parse_html(django_html(form))


@pytest.fixture
def team_with_odd_names(acme, alice):
    credential_create(team=acme, actor=alice, name=ODD)
    archived = credential_create(team=acme, actor=alice, name="Payments")
    archived.archived_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    archived.save()
    alice.username = "al<i>ce"
    alice.save()
    return acme


HISTORY_DATA = [
    None,
    {},
    {"team": "x", "before": "broken"},
    {"search": ODD, "status": "revoked", "scope": "read"},
    {"search": "  two  words ", "date_from": "2026-02-03", "date_to": "2026-01-01"},
    {"scope": "x y", "status": "nonsense", "member": "999", "credential": "not-a-uuid"},
    {"date_from": "yesterday", "search": "x" * 500},
]


@pytest.mark.parametrize("data", HISTORY_DATA)
def test_history_filter_fields_match_djangos(team_with_odd_names, data):
    form = HistoryFilterForm(data, team=team_with_odd_names)
    assert_same_html(form)


def test_history_filter_with_a_chosen_credential_and_member(team_with_odd_names, alice):
    form = HistoryFilterForm({"team": "x"}, team=team_with_odd_names)
    credential = form.fields["credential"].choices[1][0]
    form = HistoryFilterForm(
        {"credential": credential, "member": str(alice.pk)}, team=team_with_odd_names
    )
    assert_same_html(form)
    assert "selected" in str(fields_html(form))


AUDIT_DATA = [
    {},
    {"action": "token.issued", "outcome": "failure", "actor": ODD},
    {"action": "no.such", "date_from": "2026-03-01", "date_to": "2026-02-01"},
    {"target_type": "tokens.issuance", "target_id": "x", "before": "0", "actor": "a\x00b"},
]


@pytest.mark.parametrize("show_actor", [True, False])
@pytest.mark.parametrize("data", AUDIT_DATA)
def test_audit_filter_fields_match_djangos(db, data, show_actor):
    assert_same_html(AuditFilterForm(data, show_actor=show_actor))


class EveryCase(forms.Form):
    """What the filter forms do not use yet: required fields, help, initial values, safe labels,
    duplicate options and widgets left to Django."""

    name = forms.CharField(help_text="Your <b>name</b>", initial=ODD)
    day = forms.DateField(initial=datetime.date(2026, 1, 2), widget=forms.DateInput)
    count = forms.IntegerField(required=False, disabled=True, initial=3)
    mail = forms.EmailField(required=False, label=mark_safe("E-<i>mail</i>"))
    kind = forms.ChoiceField(
        choices=[("a", "A"), ("a", "A again"), ("Group <1>", [("b", "B & b"), (None, "none")])],
        help_text="Pick one",
    )
    flag = forms.BooleanField(required=False, help_text="A checkbox")
    many = forms.MultipleChoiceField(
        required=False, choices=[("x", "X"), ("y", "Y")], widget=forms.CheckboxSelectMultiple
    )
    tags = forms.MultipleChoiceField(required=False, choices=[("x", "X"), ("y", ODD)])
    secret = forms.CharField(required=False, widget=forms.PasswordInput)
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"name": ODD, "day": "2026-13-40", "kind": "a", "flag": "on", "many": ["y"], "mail": "x"},
        {"kind": "b", "tags": ["x", "y"], "count": "9", "secret": "s"},
        {"kind": "zzz", "name": ""},
    ],
)
def test_every_widget_matches_djangos_or_is_djangos(data):
    assert_same_html(EveryCase(data))


def test_values_are_escaped(team_with_odd_names):
    html = str(fields_html(HistoryFilterForm({"search": ODD}, team=team_with_odd_names)))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_the_filter_forms_never_fall_back_to_templates(team_with_odd_names, monkeypatch):
    from django.forms.boundfield import BoundField

    def refuse(self):
        raise AssertionError(f"{self.name} rendered through Django's templates")

    monkeypatch.setattr(BoundField, "as_field_group", refuse)
    fields_html(HistoryFilterForm({"scope": "x y"}, team=team_with_odd_names))
    fields_html(AuditFilterForm({"date_from": "x"}, show_actor=True))
