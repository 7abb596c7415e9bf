from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from common.validators import CleanTextFormMixin


class MagicLinkRequestForm(CleanTextFormMixin, forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class OTPTokenForm(CleanTextFormMixin, forms.Form):
    token = forms.CharField(
        label=_("6-digit code"),
        max_length=16,
        help_text=_("The code your authenticator app shows now, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class LoginForm(CleanTextFormMixin, AuthenticationForm):
    """Django's login form with the common input-hygiene check on the e-mail address."""
