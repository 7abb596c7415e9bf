from django import forms
from django.utils.translation import gettext_lazy as _

from common.permissions import organiser_users
from common.validators import CleanTextFormMixin
from events.models import Event


class AccessibleFormMixin(CleanTextFormMixin):
    """Ties each error (and help text) to its field with aria-describedby; ids are used in
    templates/privacy/_field.html."""

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                described = [f"{bound.auto_id}_error"]
                if self.fields[name].help_text:
                    described.append(f"{bound.auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)
                self.fields[name].widget.attrs["aria-invalid"] = "true"

    def add_rule_errors(self, errors: dict) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        self.full_clean_aria()

    def full_clean_aria(self) -> None:
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"
                self.fields[name].widget.attrs["aria-invalid"] = "true"


class AuditFilterForm(AccessibleFormMixin, forms.Form):
    actor = forms.ModelChoiceField(
        label=_("Organiser"),
        required=False,
        queryset=organiser_users().order_by("email"),
        empty_label=_("All organisers"),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions"))] + [(a, a) for a in actions]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class PersonSearchForm(AccessibleFormMixin, forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("The address the person used with us."),
    )


class ErasureForm(PersonSearchForm):
    confirm = forms.BooleanField(
        label=_("I have checked the request; erase this person's data now."),
        required=True,
    )


class RetentionPolicyForm(AccessibleFormMixin, forms.Form):
    event = forms.ModelChoiceField(label=_("Event"), queryset=Event.objects.order_by("-starts_at"))
    retention_days = forms.IntegerField(
        label=_("Keep personal data for (days after the end)"), min_value=0, max_value=3650
    )
