"""Organiser pages for the outbox: what was mailed to whom, what failed, and resending.

In the embedded default (make run) mail goes to files under var/mail; this page is where a
newcomer sees it. Staff only: the outbox holds every attendee's address.
"""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from common.errors import RuleViolation
from common.permissions import user_is_organiser_admin
from common.validators import CleanTextFormMixin
from events.models import Event

from . import selectors, services
from .models import OutboxMail
from .sending import render_mail

PAGE_SIZE = 50


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_is_organiser_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class OutboxFilterForm(CleanTextFormMixin, forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All statuses")), *OutboxMail.Status.choices],
    )
    template = forms.ChoiceField(label=gettext_lazy("Mail"), required=False)
    event = forms.ModelChoiceField(
        label=gettext_lazy("Event"),
        required=False,
        queryset=Event.objects.order_by("-starts_at"),
        empty_label=gettext_lazy("All events"),
    )
    recipient = forms.CharField(
        label=gettext_lazy("Recipient"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Part of the e-mail address or name."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", _("All mails"))] + [
            (name, name) for name in selectors.outbox_templates()
        ]

    def full_clean(self):
        super().full_clean()
        # Tie each error message to its field for screen readers (ids used in the template).
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                described = [f"{bound.auto_id}_error"]
                if self.fields[name].help_text:
                    described.append(f"{bound.auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)


@staff_required
def outbox_list(request):
    form = OutboxFilterForm(request.GET or None)
    filters: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data["status"],
            "template": data["template"],
            "event_id": data["event"].pk if data["event"] else None,
            "recipient": data["recipient"].strip(),
        }
    if form.is_bound and not form.is_valid():
        # Field errors are shown next to the filters; no list for a filter we cannot apply.
        mails = OutboxMail.objects.none()
    else:
        mails = selectors.outbox_list(**filters)
    page = Paginator(mails, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "communications/outbox_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@staff_required
def outbox_detail(request, pk: int):
    mail = get_object_or_404(OutboxMail.objects.select_related("event"), pk=pk)
    subject = body = ""
    render_error = ""
    try:
        preview = selectors.mail_preview(mail)
        subject, body = preview.subject, preview.text
    except Exception as exc:  # noqa: BLE001 - show why it cannot render instead of a 500
        render_error = f"{type(exc).__name__}: {exc}"
    return render(
        request,
        "communications/outbox_detail.html",
        {
            "mail": mail,
            "subject": subject,
            "body": body,
            "render_error": render_error,
            "history": selectors.outbox_resends(mail=mail),
            "can_resend": mail.status
            in (OutboxMail.Status.SENT, OutboxMail.Status.FAILED, OutboxMail.Status.RETRYING),
        },
    )


@staff_required
def outbox_html(request, pk: int):
    """The HTML version as the recipient's mail client would show it, sandboxed."""
    mail = get_object_or_404(OutboxMail, pk=pk)
    try:
        html = render_mail(mail).alternatives[0][0]
    except Exception:  # noqa: BLE001
        html = "<p>" + _("This mail cannot be rendered.") + "</p>"
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    # Mail HTML is inline-styled; allow exactly that, in a sandbox without scripts or forms.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'"
    )
    return response


@staff_required
@require_POST
def outbox_resend(request, pk: int):
    mail = get_object_or_404(OutboxMail, pk=pk)
    try:
        queued = services.mail_resend(mail=mail)
    except RuleViolation as exc:
        messages.error(request, exc.message)
        return redirect("communications:outbox_detail", pk=mail.pk)
    from privacy.services import audit_record

    audit_record(
        actor=request.user, action="mail.resend", obj=mail, request=request, queued_id=queued.pk
    )
    messages.success(request, _("The mail has been queued to be sent again."))
    return redirect("communications:outbox_detail", pk=queued.pk)
