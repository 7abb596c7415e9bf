"""Portal forms. They check the shape of input only; rules (deadlines, capacity, roles) live in
the services, whose RuleViolation messages `apply_rule_violation` puts next to the fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.errors import RuleViolation
from common.validators import CleanTextFormMixin
from events.models import Question, TicketType

from .models import Membership

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def apply_rule_violation(form: forms.Form, exc: RuleViolation) -> None:
    """Show a service error next to the field it names (keys like `email`, `attendee.email`,
    `attendees.0.answers.5`); anything else goes at the top of the form."""
    placed = False
    for key, messages in (exc.errors or {}).items():
        name = _field_name(str(key))
        for message in [messages] if isinstance(messages, str) else messages:
            if name in form.fields:
                form.add_error(name, str(message))
                placed = True
            else:
                form.add_error(None, str(message))
                placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _field_name(key: str) -> str:
    parts = key.split(".")
    while parts and (parts[0] in ("attendee", "attendees") or parts[0].isdigit()):
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "answers":
        return f"q_{parts[1]}"
    if parts and parts[0] in ("ticket_type_id",):
        return "ticket_type"
    return ".".join(parts)


class AttendeeForm(CleanTextFormMixin, forms.Form):
    """Add an attendee to a booking; the event's questions are added as `q_<question id>`."""

    name = forms.CharField(
        label=_("Name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    email = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    ticket_type = forms.ModelChoiceField(
        label=_("Ticket"), queryset=TicketType.objects.none(), empty_label=None
    )

    def __init__(self, *args, ticket_types, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        self.fields["ticket_type"].queryset = ticket_types
        for question in self.questions:
            self.fields[f"q_{question.pk}"] = _question_field(question)

    def answers(self) -> dict[int, str]:
        return {
            q.pk: self.cleaned_data[f"q_{q.pk}"]
            for q in self.questions
            if self.cleaned_data.get(f"q_{q.pk}")
        }


def _question_field(question: Question) -> forms.Field:
    if question.kind == Question.Kind.CHOICE:
        return forms.ChoiceField(
            label=question.label,
            required=question.required,
            choices=[("", _("Choose an answer"))] + [(c, c) for c in question.choice_list],
        )
    if question.kind == Question.Kind.YES_NO:
        return forms.ChoiceField(
            label=question.label,
            required=question.required,
            choices=YES_NO,
            widget=forms.RadioSelect,
        )
    return forms.CharField(label=question.label, required=question.required, max_length=1000)


class AttendeeChangeForm(CleanTextFormMixin, forms.Form):
    """Correct the name, or swap the place to a colleague (new name and e-mail address)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("A new address sends the ticket to that person instead."),
    )


class InvitationForm(CleanTextFormMixin, forms.Form):
    email = forms.EmailField(label=_("E-mail address of your colleague"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        help_text=_("Administrators may also invite colleagues and manage API keys."),
    )


class RoleForm(CleanTextFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class ApiTokenForm(CleanTextFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Name of the key"),
        max_length=100,
        help_text=_("For example the system that will use it, such as “HR system”."),
    )


class InvitationAcceptForm(CleanTextFormMixin, forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Optional. Without a password you log in with a link we e-mail to you."),
    )
