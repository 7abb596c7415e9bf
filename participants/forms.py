"""Forms for the public booking, waiting-list and campaign-week sign-up pages.

Forms only parse and check the shape of input (formats, required fields). Business rules
(capacity, duplicate e-mail addresses, deadlines, answers to questions) live in
participants.services; their RuleViolation errors are mapped back onto these fields with
`apply_rule_violation` so the user sees them next to the right input.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from common.errors import RuleViolation
from common.money import format_euros
from common.validators import CleanTextFormMixin
from events.models import Event, Question, TicketType
from organisations.models import Organisation, Region
from organisations.validators import normalise_kvk, normalise_postcode
from participants.models import CampaignParticipation

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class AccessibleFormMixin(CleanTextFormMixin):
    """Ties error messages to their inputs (aria-invalid, aria-describedby); checks every text
    field with the common input-hygiene rule (common.validators).

    The ids match templates/participants/_field.html: `<auto_id>_error` and
    `<auto_id>_helptext`. Widget attributes are set when errors appear, which covers both
    validation errors and errors added later from a RuleViolation.
    """

    def full_clean(self) -> None:
        super().full_clean()
        self._mark_invalid_fields()

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        self._mark_invalid_fields()

    def _mark_invalid_fields(self) -> None:
        for name in self._errors or {}:
            if name not in self.fields:
                continue
            bound = self[name]
            ids = [f"{bound.auto_id}_error"]
            if self.fields[name].help_text:
                ids.append(f"{bound.auto_id}_helptext")
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(ids)


def _kvk_field(*, required: bool) -> forms.CharField:
    return forms.CharField(
        label=_("KvK number"),
        max_length=12,
        required=required,
        help_text=_("8 digits, as on the Chamber of Commerce extract."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


# --- Campaign-week sign-up ---------------------------------------------------------------


class ParticipationForm(AccessibleFormMixin, forms.Form):
    kvk_number = _kvk_field(required=True)
    name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind of organisation"),
        # Schools sign up through the school planning (they need a BRIN code), not here.
        choices=[c for c in Organisation.Kind.choices if c[0] != Organisation.Kind.SCHOOL],
        initial=Organisation.Kind.EMPLOYER,
    )
    sector = forms.ChoiceField(
        label=_("Sector"), choices=[("", _("Choose a sector"))] + Organisation.Sector.choices
    )
    size_band = forms.ChoiceField(
        label=_("Number of employees"),
        choices=[("", _("Choose a size"))] + Organisation.SizeBand.choices,
    )
    region = forms.ModelChoiceField(
        label=_("Labour-market region"),
        queryset=Region.objects.all(),
        empty_label=_("Choose a region"),
    )
    street = forms.CharField(
        label=_("Street and number"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=8,
        help_text=_("For example 1234 AB."),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    city = forms.CharField(
        label=_("City"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    website = forms.URLField(
        label=_("Website"),
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"autocomplete": "url"}),
    )
    contact_name = forms.CharField(
        label=_("Name of the contact person"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_email = forms.EmailField(
        label=_("E-mail address of the contact person"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label=_("Phone number of the contact person"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    activities = forms.MultipleChoiceField(
        label=_("Activities you plan during the campaign week"),
        choices=CampaignParticipation.Activity.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one activity.")},
    )
    activities_description = forms.CharField(
        label=_("Describe your activities"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    employees_reached = forms.IntegerField(
        label=_("How many employees do you expect to reach?"),
        min_value=1,
        max_value=1_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    listed_publicly = forms.ChoiceField(
        label=_("May we list your organisation on the public list of participants?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether your organisation may be listed.")},
    )

    # Keys that participants.services may use in RuleViolation.errors, mapped to fields.
    ERROR_KEYS = {
        "organisation.kvk_number": "kvk_number",
        "organisation.name": "name",
        "organisation.kind": "kind",
        "organisation.sector": "sector",
        "organisation.size_band": "size_band",
        "organisation.region": "region",
        "organisation.region_id": "region",
        "organisation.street": "street",
        "organisation.postcode": "postcode",
        "organisation.city": "city",
        "organisation.website": "website",
        "contact.name": "contact_name",
        "contact.email": "contact_email",
        "contact.phone": "contact_phone",
        "kvk": "kvk_number",
        "organisation": "kvk_number",
    }

    def clean_kvk_number(self) -> str:
        return normalise_kvk(self.cleaned_data["kvk_number"])

    def clean_postcode(self) -> str:
        return normalise_postcode(self.cleaned_data["postcode"])

    def service_kwargs(self, *, language: str) -> dict:
        data = self.cleaned_data
        return {
            "organisation": {
                "kvk_number": data["kvk_number"],
                "name": data["name"],
                "kind": data["kind"],
                "sector": data["sector"],
                "size_band": data["size_band"],
                "region": data["region"],
                "street": data["street"],
                "postcode": data["postcode"],
                "city": data["city"],
                "website": data["website"],
            },
            "contact": {
                "name": data["contact_name"],
                "email": data["contact_email"],
                "phone": data["contact_phone"],
                "language": language,
            },
            "activities": list(data["activities"]),
            "activities_description": data["activities_description"],
            "employees_reached": data["employees_reached"],
            "listed_publicly": data["listed_publicly"] == "yes",
        }


class ParticipationFilterForm(CleanTextFormMixin, forms.Form):
    """Filters of the public list of participating organisations (GET)."""

    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.all(),
        required=False,
        empty_label=_("All regions"),
    )
    sector = forms.ChoiceField(
        label=_("Sector"),
        required=False,
        choices=[("", _("All sectors"))] + Organisation.Sector.choices,
    )


# --- Booking ----------------------------------------------------------------------------------


class BookerForm(AccessibleFormMixin, forms.Form):
    booker_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    booker_email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_("We send the booking confirmation and your personal link here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    organisation_name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        required=False,
        help_text=_("Only when you book on behalf of your employer."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    kvk_number = _kvk_field(required=False)
    payment_method = forms.ChoiceField(
        label=_("How do you want to pay?"),
        choices=[
            ("online", _("Online now (iDEAL or card)")),
            ("invoice", _("By invoice to the organisation")),
        ],
        initial="online",
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Only for paid tickets. Paying by invoice needs an organisation and KvK."),
    )

    ERROR_KEYS = {
        "email": "booker_email",
        "name": "booker_name",
        "booker_email": "booker_email",
        "booker_name": "booker_name",
        "organisation": "kvk_number",
        "organisation.kvk_number": "kvk_number",
        "organisation.name": "organisation_name",
        "payment_method": "payment_method",
    }

    def __init__(self, *args, payment_methods=("online", "invoice"), **kwargs):
        """``payment_methods``: what a paid booking can be paid with now, in the order offered
        (the view asks payments.selectors.payment_methods_available). Only those are shown,
        so a way to pay that cannot work (iDEAL without a Stripe account) is never offered."""
        super().__init__(*args, **kwargs)
        field = self.fields["payment_method"]
        # Only what works is shown; every known value is still accepted, so a free booking
        # (or a page loaded before) is never refused here: the view asks payments whether
        # the chosen way can pay for the tickets chosen.
        field.widget.choices = [c for c in field.choices if c[0] in payment_methods]
        field.initial = field.widget.choices[0][0] if field.widget.choices else None
        if "online" not in payment_methods and "invoice" in payment_methods:
            field.help_text = _(
                "Paying online is not available at the moment. Paid tickets can only be booked "
                "on invoice to an organisation: fill in its name and KvK number."
            )
        elif "invoice" not in payment_methods:
            field.help_text = ""

    def clean_kvk_number(self) -> str:
        value = self.cleaned_data.get("kvk_number", "")
        return normalise_kvk(value) if value.strip() else ""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kvk_number") and not data.get("organisation_name", "").strip():
            self.add_error(
                "organisation_name",
                _("Enter the name of the organisation that goes with the KvK number."),
            )
        # Whether invoice needs a KvK number depends on the tickets (a free booking pays
        # nothing): the view asks payments (payment_method_refusal) once the tickets are known.
        if not data.get("payment_method"):
            data["payment_method"] = "online"
        return data


class AttendeeForm(AccessibleFormMixin, forms.Form):
    """One attendee row; question fields are added per event as `q_<question id>`."""

    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    ticket_type = forms.ModelChoiceField(
        label=_("Ticket"), queryset=TicketType.objects.none(), empty_label=None
    )

    def __init__(
        self, *args, event: Event, ticket_types, questions, sold_out_ids=frozenset(), **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        self.fields["ticket_type"].queryset = ticket_types
        # Still selectable: a place may free up, and the service has the final word (it then
        # offers the waiting list). The label warns before the form is sent.
        self.fields["ticket_type"].label_from_instance = lambda tt: _ticket_type_label(
            tt, full=tt.pk in sold_out_ids
        )
        if self.prefix and self.prefix.endswith("-0"):
            # The first row may be the booker themself; blank means "me".
            help_text = _("Leave empty if you attend yourself: we use your name and e-mail.")
            self.fields["name"].help_text = help_text
            self.fields["email"].help_text = help_text
        for question in self.questions:
            self.fields[f"q_{question.pk}"] = _question_field(question)

    @property
    def question_fields(self):
        return [self[f"q_{q.pk}"] for q in self.questions]

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not data.get("name", "").strip() and not data.get("email", "").strip()

    def clean(self) -> dict:
        data = super().clean()
        index = int(self.prefix.rsplit("-", 1)[1]) if self.prefix else 0
        if index == 0 or not self.is_blank():
            # Row 0 may be blank (the booker attends); the formset fills it in later.
            if index > 0 or data.get("name", "").strip() or data.get("email", "").strip():
                if not data.get("name", "").strip():
                    self.add_error("name", _("Enter the attendee's name."))
                if not data.get("email", "").strip() and "email" not in self.errors:
                    self.add_error("email", _("Enter the attendee's e-mail address."))
            for question in self.questions:
                key = f"q_{question.pk}"
                if question.required and not data.get(key) and key not in self.errors:
                    self.add_error(key, _("Answer this question."))
        return data

    def answers(self) -> dict[int, str]:
        return {
            q.pk: self.cleaned_data.get(f"q_{q.pk}", "")
            for q in self.questions
            if self.cleaned_data.get(f"q_{q.pk}", "") != ""
        }


def _ticket_type_label(ticket_type: TicketType, *, full: bool = False) -> str:
    price = str(_("free")) if ticket_type.is_free else format_euros(ticket_type.price_cents)
    if full:
        full_label = _("full")
        return f"{ticket_type.name} ({price}) - {full_label}"
    return f"{ticket_type.name} ({price})"


def _question_field(question: Question) -> forms.Field:
    # `required` is checked in AttendeeForm.clean, so a blank optional row stays valid;
    # `show_required` still marks the label.
    field = _question_form_field(question)
    field.show_required = question.required
    return field


def _question_form_field(question: Question) -> forms.Field:
    if question.kind == Question.Kind.CHOICE:
        return forms.ChoiceField(
            label=question.label,
            required=False,
            choices=[("", _("Choose an answer"))] + [(c, c) for c in question.choice_list],
        )
    if question.kind == Question.Kind.YES_NO:
        return forms.ChoiceField(
            label=question.label, required=False, choices=YES_NO, widget=forms.RadioSelect
        )
    return forms.CharField(label=question.label, required=False, max_length=1000)


class BaseAttendeeFormSet(BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.filled_forms():
            raise ValidationError(_("Add at least one attendee."))

    def filled_forms(self) -> list[AttendeeForm]:
        """Rows that hold an attendee: row 0 always (blank means the booker), others when
        they have a name or e-mail address (empty extra rows are ignored)."""
        return [f for i, f in enumerate(self.forms) if i == 0 or not f.is_blank()]


def attendee_formset_class(event: Event) -> type[BaseFormSet]:
    return formset_factory(
        AttendeeForm,
        formset=BaseAttendeeFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        max_num=event.max_tickets_per_booking,
        validate_max=True,
        # Never build more rows than a booking may have, whatever TOTAL_FORMS says.
        absolute_max=event.max_tickets_per_booking,
    )


class WaitlistForm(AccessibleFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("Your e-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    ticket_type = forms.ModelChoiceField(
        label=_("Ticket"), queryset=TicketType.objects.none(), empty_label=None
    )

    ERROR_KEYS = {"person.email": "email", "person.name": "name"}

    def __init__(self, *args, ticket_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ticket_type"].queryset = ticket_types
        self.fields["ticket_type"].label_from_instance = _ticket_type_label


class AttendeeNameForm(AccessibleFormMixin, forms.Form):
    name = forms.CharField(label=_("New name"), max_length=200)

    ERROR_KEYS = {"attendee.name": "name"}


# --- Mapping service errors and building the error summary ----------------------------------


def apply_rule_violation(
    exc: RuleViolation, *, form: forms.Form, formset: BaseFormSet | None = None, row_map=None
) -> None:
    """Put each message of a RuleViolation next to the field it is about.

    Keys look like `email`, `contact.email` or `attendees.0.answers.5`. Attendee indexes are
    the service's list positions; `row_map` turns them back into formset row numbers (empty
    rows are not sent). Anything that matches no field becomes a message at the top.
    """
    aliases = getattr(form, "ERROR_KEYS", {})
    unplaced: list[str] = []
    errors = exc.errors or {}
    for key, messages in errors.items():
        if isinstance(messages, str):
            messages = [messages]
        target, field = _resolve_error_key(
            key, form=form, formset=formset, aliases=aliases, row_map=row_map
        )
        for message in messages:
            if target is None:
                unplaced.append(str(message))
            else:
                target.add_error(field, str(message))
    if not errors or unplaced:
        message = str(exc.message)
        for extra in unplaced:
            if extra != message:
                form.add_error(None, extra)
        form.add_error(None, message)


def _resolve_error_key(key, *, form, formset, aliases, row_map):
    key = str(key)
    if key in aliases and aliases[key] in form.fields:
        return form, aliases[key]
    if key in form.fields:
        return form, key
    parts = key.split(".")
    if formset is not None and parts[0] == "attendees" and len(parts) >= 2 and parts[1].isdigit():
        index = int(parts[1])
        row = row_map[index] if row_map and index < len(row_map) else index
        if row < len(formset.forms):
            row_form = formset.forms[row]
            rest = parts[2:]
            if rest[:1] == ["answers"] and len(rest) == 2 and f"q_{rest[1]}" in row_form.fields:
                return row_form, f"q_{rest[1]}"
            if rest[:1] == ["ticket_type_id"]:
                return row_form, "ticket_type"
            if len(rest) == 1 and rest[0] in row_form.fields:
                if (
                    row == 0
                    and rest[0] in ("name", "email")
                    and not row_form.cleaned_data.get(rest[0])
                ):
                    # Row 0 was left blank: the booker's own details were used.
                    return form, f"booker_{rest[0]}"
                return row_form, rest[0]
            return row_form, None
    if parts[-1] in form.fields:
        return form, parts[-1]
    if key in ("__all__", "non_field_errors"):
        return form, None
    return None, None


def error_summary(*forms_or_formsets) -> list[dict]:
    """The list shown at the top of a page with errors: each message with a link to its input."""
    items: list[dict] = []

    def add_form(form, prefix=""):
        for message in form.non_field_errors():
            items.append({"anchor": "", "message": message})
        for name, field in form.fields.items():
            if name in form.errors:
                bound = form[name]
                anchor = bound.auto_id
                if isinstance(field.widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                    anchor = f"{bound.auto_id}_0"
                for message in form.errors[name]:
                    items.append(
                        {"anchor": anchor, "label": f"{prefix}{field.label}", "message": message}
                    )

    for thing in forms_or_formsets:
        if thing is None:
            continue
        if isinstance(thing, BaseFormSet):
            for message in thing.non_form_errors():
                items.append({"anchor": "", "message": message})
            for number, form in enumerate(thing.forms, start=1):
                if form.is_bound:
                    # Rows repeat the same labels; say which attendee the error is about.
                    add_form(form, prefix=_("Attendee %(n)s") % {"n": number} + ", ")
        elif thing.is_bound:
            add_form(thing)
    return items
