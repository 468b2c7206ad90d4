"""One layout for every form field in the portal (``FORM_RENDERER``).

``{{ form }}`` and ``{{ field.as_field_group }}`` render ``templates/includes/_form.html`` and
``_field.html``: label (no colon), help, error, then the input - checkboxes before their label.
Errors are listed once, in the summary above the form (``{% error_summary form %}``).
"""

from django.forms.renderers import TemplatesSetting


class PortalFormRenderer(TemplatesSetting):
    form_template_name = "includes/_form.html"
    field_template_name = "includes/_field.html"
