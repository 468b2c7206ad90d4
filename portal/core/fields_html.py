"""A form's fields as HTML without a template per widget, for the list pages' filter forms.

The history and audit pages are read far more than anything else, and their filter form was a
tenth of such a page's time: Django renders every field through ``includes/_field.html``, its
widget's template, an attrs template and an option template per ``<option>`` (the audit's
"What" has forty). ``fields_html`` writes the same markup directly for the widgets those forms
use - text-like inputs and single selects, optgroups included - and hands any other widget to
Django's own rendering. Tests compare it with ``BoundField.as_field_group()`` on every filter
form, bound and unbound, valid and not, with values that need escaping.
"""

from __future__ import annotations

from html import escape

from django import forms
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString, mark_safe

# Widgets whose markup is written here; anything else (checkboxes, radio lists, multiple
# selects, hidden inputs...) is rendered by Django.
_INPUTS = (forms.TextInput, forms.DateInput, forms.NumberInput, forms.EmailInput, forms.URLInput)


def _esc(value) -> str:
    """Escaped like a template's ``{{ value }}``: safe strings (``__html__``) as they are."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


def _attrs(attrs: dict) -> str:
    """Django's ``attrs.html``: ``name="value"``, a bare ``name`` for True, nothing for False."""
    out = []
    for name, value in attrs.items():
        if value is True:
            out.append(f" {escape(name)}")
        elif value is not False:
            out.append(f' {escape(name)}="{_esc(value)}"')
    return "".join(out)


def _widget_attrs(bf: BoundField, widget) -> dict:
    attrs = bf.build_widget_attrs({}, widget)
    if bf.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", bf.auto_id)
    return widget.build_attrs(widget.attrs, attrs)


def _input(bf: BoundField, widget) -> str:
    value = widget.format_value(bf.value())
    shown = "" if value is None else f' value="{_esc(value)}"'
    return (
        f'<input type="{escape(widget.input_type)}" name="{escape(bf.html_name)}"{shown}'
        f"{_attrs(_widget_attrs(bf, widget))}>"
    )


def _options(choices, chosen: set[str], state: list[bool]) -> str:
    out = []
    for value, label in choices:
        text = str(value)
        # A single select marks only the first matching option, as Django's does.
        selected = not state[0] and text in chosen
        if selected:
            state[0] = True
        out.append(
            f'<option value="{_esc(text)}"{" selected" if selected else ""}>{_esc(label)}</option>'
        )
    return "".join(out)


def _select(bf: BoundField, widget) -> str:
    chosen = set(widget.format_value(bf.value()))
    state = [False]
    parts = []
    for value, label in widget.choices:
        if value is None:  # at the top level only, as in Django's ``ChoiceWidget.optgroups``
            value = ""
        if isinstance(label, (list, tuple)):
            parts.append(
                f'<optgroup label="{_esc(value)}">{_options(label, chosen, state)}</optgroup>'
            )
        else:
            parts.append(_options([(value, label)], chosen, state))
    return (
        f'<select name="{escape(bf.html_name)}"{_attrs(_widget_attrs(bf, widget))}>'
        f"{''.join(parts)}</select>"
    )


def _errors(bf: BoundField) -> str:
    errors = bf.errors
    if not errors:
        return ""
    field_id = f' id="{escape(errors.field_id)}_error"' if errors.field_id else ""
    items = "".join(f"<li>{_esc(e)}</li>" for e in errors)
    return f'<ul class="{escape(errors.error_class)}"{field_id}>{items}</ul>'


def _written_here(widget) -> bool:
    if isinstance(widget, forms.Select):
        return type(widget) is forms.Select  # not NullBoolean, multiple or radio variants
    return isinstance(widget, _INPUTS) and not widget.is_hidden


def field_html(bf: BoundField) -> str:
    """One field in the portal's field layout (``includes/_field.html``'s plain case)."""
    widget = bf.field.widget
    if not _written_here(widget) or bf.use_fieldset:
        return str(bf.as_field_group())
    control = _select(bf, widget) if isinstance(widget, forms.Select) else _input(bf, widget)
    help_text = (
        f'<p class="helptext" id="{escape(bf.auto_id)}_helptext">{_esc(bf.help_text)}</p>'
        if bf.help_text
        else ""
    )
    error_class = " field-error" if bf.errors else ""
    return (
        f'<div class="field{error_class}">'
        f'<label for="{escape(bf.id_for_label)}">{_esc(bf.label)}</label>'
        f"{help_text}{_errors(bf)}{control}</div>"
    )


def fields_html(form: forms.Form) -> SafeString:
    """Every visible field of ``form``, each in the portal's field layout."""
    # Safe because every piece of text above - labels, help, errors, values, attribute names
    # and values, option labels - went through ``_esc`` (html.escape, or a value's own
    # ``__html__`` as a template would use it), the markup around them is literal, and the
    # fields handed to Django come back from its own autoescaping templates. Tests compare the
    # result with Django's rendering on hostile values (tests/core/test_fields_html.py).
    return mark_safe("".join(field_html(bf) for bf in form.visible_fields()))  # noqa: S308
