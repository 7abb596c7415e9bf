"""Page forms: they parse and check input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.validators import CleanTextFormMixin
from organisations.models import Region
from participants.forms import AccessibleFormMixin

from .models import EducationLevel, SessionLanguage, Weekday, WorkField
from .services import SlotInput

SLOT_ROWS = 4
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class SchoolRequestForm(AccessibleFormMixin, forms.Form):
    brin_code = forms.CharField(
        label=_("BRIN code"),
        max_length=8,
        help_text=_("Four characters, for example 12AB. Your school administration knows it."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    school_name = forms.CharField(
        label=_("Name of the school"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    street = forms.CharField(
        label=_("Street and number"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    city = forms.CharField(
        label=_("Town or city"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    region = forms.ModelChoiceField(
        label=_("Labour-market region"),
        queryset=Region.objects.all(),
        empty_label=_("Choose a region"),
    )
    contact_name = forms.CharField(
        label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    contact_email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label=_("Phone number"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    education_level = forms.ChoiceField(
        label=_("Education level"), choices=EducationLevel.choices, widget=forms.RadioSelect
    )
    pupils = forms.IntegerField(label=_("Number of pupils"), min_value=1, max_value=2000)
    classes = forms.IntegerField(label=_("Number of classes"), min_value=1, max_value=100)
    work_field = forms.ModelChoiceField(
        label=_("Preferred work field of the ambassador"),
        queryset=WorkField.objects.filter(is_active=True),
        required=False,
        empty_label=_("No preference"),
    )
    language = forms.ChoiceField(
        label=_("Language of the session"),
        choices=SessionLanguage.choices,
        initial=SessionLanguage.NL,
        widget=forms.RadioSelect,
    )
    wishes = forms.CharField(
        label=_("Other wishes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    ERROR_KEYS = {
        "school.brin_code": "brin_code",
        "school.name": "school_name",
        "school.street": "street",
        "school.postcode": "postcode",
        "school.city": "city",
        "school.region": "region",
        "contact.name": "contact_name",
        "contact.email": "contact_email",
        "slots": "slot1_date",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ERROR_KEYS = dict(self.ERROR_KEYS)
        for row in range(1, SLOT_ROWS + 1):
            required = row <= 2
            self.fields[f"slot{row}_date"] = forms.DateField(
                label=_("Date"), required=required, widget=DATE
            )
            self.fields[f"slot{row}_start"] = forms.TimeField(
                label=_("From"), required=required, widget=TIME
            )
            self.fields[f"slot{row}_end"] = forms.TimeField(
                label=_("Until"), required=required, widget=TIME
            )

    def slot_rows(self) -> list[dict]:
        """Bound fields per preferred date, for the template."""
        return [
            {
                "number": row,
                "required": row <= 2,
                "date": self[f"slot{row}_date"],
                "start": self[f"slot{row}_start"],
                "end": self[f"slot{row}_end"],
            }
            for row in range(1, SLOT_ROWS + 1)
        ]

    def clean(self):
        data = super().clean()
        for row in range(3, SLOT_ROWS + 1):
            parts = [data.get(f"slot{row}_{p}") for p in ("date", "start", "end")]
            if any(parts) and not all(parts):
                self.add_error(
                    f"slot{row}_date",
                    _("Fill in the date, start and end time, or leave all three empty."),
                )
        return data

    def service_kwargs(self, *, language: str) -> dict:
        data = self.cleaned_data
        slots = []
        for row in range(1, SLOT_ROWS + 1):
            if data.get(f"slot{row}_date"):
                index = len(slots)
                for part, field in (("date", "date"), ("start_time", "start"), ("end_time", "end")):
                    self.ERROR_KEYS[f"slots.{index}.{part}"] = f"slot{row}_{field}"
                slots.append(
                    SlotInput(
                        date=data[f"slot{row}_date"],
                        start_time=data[f"slot{row}_start"],
                        end_time=data[f"slot{row}_end"],
                    )
                )
        return {
            "school": {
                "brin_code": data["brin_code"],
                "name": data["school_name"],
                "street": data["street"],
                "postcode": data["postcode"],
                "city": data["city"],
                "region": data["region"],
            },
            "contact": {
                "name": data["contact_name"],
                "email": data["contact_email"],
                "phone": data["contact_phone"],
                "language": language,
            },
            "slots": slots,
            "education_level": data["education_level"],
            "pupils": data["pupils"],
            "classes": data["classes"],
            "work_field": data["work_field"],
            "language": data["language"],
            "wishes": data["wishes"],
        }


class AvailabilityForm(AccessibleFormMixin, forms.Form):
    KIND_CHOICES = [("weekly", _("Every week")), ("once", _("On one date"))]

    kind = forms.ChoiceField(
        label=_("How often"), choices=KIND_CHOICES, initial="weekly", widget=forms.RadioSelect
    )
    weekday = forms.TypedChoiceField(
        label=_("Weekday"),
        choices=[("", _("Choose a weekday")), *Weekday.choices],
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("For every week."),
    )
    date = forms.DateField(
        label=_("Date"), required=False, widget=DATE, help_text=_("For one date.")
    )
    start_time = forms.TimeField(label=_("From"), widget=TIME)
    end_time = forms.TimeField(label=_("Until"), widget=TIME)

    def clean(self):
        data = super().clean()
        if data.get("kind") == "weekly" and data.get("weekday") is None:
            self.add_error("weekday", _("Choose a weekday."))
        if data.get("kind") == "once" and not data.get("date"):
            self.add_error("date", _("Enter a date."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        weekly = data["kind"] == "weekly"
        return {
            "weekday": data["weekday"] if weekly else None,
            "on": None if weekly else data["date"],
            "start_time": data["start_time"],
            "end_time": data["end_time"],
        }


class FeedbackForm(AccessibleFormMixin, forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How did the session go? (1 = poor, 5 = excellent)"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    pupils_reached = forms.IntegerField(
        label=_("Number of pupils who actually took part"), min_value=0, max_value=2000
    )
    comments = forms.CharField(
        label=_("Comments"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class AssignForm(CleanTextFormMixin, forms.Form):
    ambassador = forms.IntegerField(widget=forms.HiddenInput)
    slot = forms.IntegerField(label=_("Date"))


class RescheduleForm(AccessibleFormMixin, forms.Form):
    date = forms.DateField(label=_("New date"), widget=DATE)
    start_time = forms.TimeField(label=_("From"), widget=TIME)
    end_time = forms.TimeField(label=_("Until"), widget=TIME)


class CancelForm(CleanTextFormMixin, forms.Form):
    reopen = forms.BooleanField(
        label=_("Put the request back on the planning board for another ambassador"),
        required=False,
        initial=True,
    )
