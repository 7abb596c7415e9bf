"""Forms parse input only; the rules are in press.services."""

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from common.validators import CleanTextFormMixin
from events.models import Campaign
from organisations.models import Organisation, Region

from .links import invite_selection_from_token
from .models import Journalist, MediaMoment, PressMaterial, Spokesperson


class DescribedForm(CleanTextFormMixin, forms.Form):
    """Ties each error (and help text) to its field with aria-describedby; checks every text
    field with the common input-hygiene rule (common.validators)."""

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

    def add_rule_errors(self, exc) -> None:
        """Put a service's field errors next to the fields (others on top)."""
        placed = False
        for field, messages in (exc.errors or {}).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
                placed = True
        if not placed:
            self.add_error(None, str(exc.message))
        self.full_clean_errors_only()

    def full_clean_errors_only(self) -> None:
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"
                self.fields[name].widget.attrs["aria-invalid"] = "true"


class AccreditationForm(DescribedForm):
    name = forms.CharField(label=_("Name on the accreditation"), max_length=200)
    outlet_name = forms.CharField(label=_("Outlet"), max_length=200)
    crew_size = forms.IntegerField(
        label=_("Crew size"),
        min_value=1,
        max_value=20,
        initial=1,
        help_text=_("Everyone who comes with you, yourself included."),
    )
    camera = forms.BooleanField(label=_("We bring a film or TV camera"), required=False)
    photo = forms.BooleanField(label=_("We bring a photographer"), required=False)


class SlotForm(DescribedForm):
    slot = forms.ModelChoiceField(label=_("Interview slot"), queryset=None, empty_label=None)

    def __init__(self, *args, slots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].queryset = slots
        self.fields["slot"].label_from_instance = lambda s: (
            f"{s.spokesperson.person.name} ({s.spokesperson.get_role_display()}): "
            f"{_local(s.starts_at)}-{_local(s.ends_at, '%H:%M')}"
        )


def _local(value, fmt="%d-%m-%Y %H:%M") -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime(fmt)


class JournalistFilterForm(DescribedForm):
    media_type = forms.ChoiceField(
        label=_("Media type"),
        required=False,
        choices=[("", _("All media types")), *Journalist.MediaType.choices],
    )
    region = forms.ModelChoiceField(
        label=_("Region"),
        required=False,
        queryset=Region.objects.all(),
        empty_label=_("All regions"),
    )
    topic = forms.CharField(label=_("Topic"), required=False, max_length=100)
    outlet = forms.ModelChoiceField(
        label=_("Outlet"),
        required=False,
        queryset=Organisation.objects.filter(kind=Organisation.Kind.MEDIA_OUTLET),
        empty_label=_("All outlets"),
    )


class InviteSelectionForm(DescribedForm):
    """Step 1 of inviting: the journalists ticked on the press list (nothing is ticked for
    the organiser). Only journalists still on the list and not yet invited can be chosen."""

    journalist = forms.ModelMultipleChoiceField(
        label=_("Journalists"),
        queryset=Journalist.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Select at least one journalist."),
            "invalid_choice": _(
                "A selected journalist is not on the press list or has been invited already."
            ),
            "invalid_pk_value": _(
                "A selected journalist is not on the press list or has been invited already."
            ),
        },
    )

    def __init__(self, *args, invitable, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["journalist"].queryset = invitable


class InviteConfirmForm(DescribedForm):
    """Step 2: the confirm button carries the signed selection of step 1 (press.links)."""

    selection = forms.CharField(widget=forms.HiddenInput, max_length=4000)

    def __init__(self, *args, moment_id: int, user_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.moment_id, self.user_id = moment_id, user_id

    def clean_selection(self) -> list[int]:
        try:
            return invite_selection_from_token(
                self.cleaned_data["selection"], moment_id=self.moment_id, user_id=self.user_id
            )
        except signing.BadSignature as exc:
            raise forms.ValidationError(
                _(
                    "This confirmation is not valid (changed or expired). Nothing has been "
                    "sent; please select the journalists again."
                ),
                code="invalid_selection",
            ) from exc


class MaterialForm(DescribedForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=PressMaterial.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(
        label=_("File"), help_text=_("PDF, JPEG, PNG or Word (.docx), at most 20 MB.")
    )


class RemovalForm(DescribedForm):
    confirm = forms.BooleanField(label=_("Yes, remove me from the press list"))


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _when(label, required=True, help_text=""):
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=LocalDateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M"],
        help_text=help_text,
    )


class MomentForm(DescribedForm):
    """Create or change a media moment (times in Amsterdam time)."""

    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.all())
    title = forms.CharField(label=_("Title"), max_length=200)
    sub_kind = forms.ChoiceField(
        label=_("Type of media moment"), choices=MediaMoment.SubKind.choices
    )
    starts_at = _when(_("Starts at"))
    ends_at = _when(_("Ends at"))
    venue_name = forms.CharField(label=_("Venue"), max_length=200, required=False)
    venue_address = forms.CharField(label=_("Venue address"), max_length=300, required=False)
    online_url = forms.URLField(label=_("Online link"), required=False, assume_scheme="https")
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    embargo_until = _when(
        _("Under embargo until"),
        required=False,
        help_text=_("Empty means the press material is public at once."),
    )
    spokespersons = forms.ModelMultipleChoiceField(
        label=_("Spokespersons"),
        queryset=Spokesperson.objects.select_related("person"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
