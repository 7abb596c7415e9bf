"""Organiser pages for mailings, and the public unsubscribe page."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import RuleViolation
from privacy.permissions import organiser_required

from . import selectors, services
from .forms import MailingForm, PreviewForm
from .links import unsubscribe_from_token
from .models import Mailing, Unsubscribe


@organiser_required
def mailing_list(request):
    page = Paginator(selectors.mailing_list(), 50).get_page(request.GET.get("page"))
    return render(request, "mailings/mailing_list.html", {"page": page})


@organiser_required
@require_http_methods(["GET", "POST"])
def mailing_edit(request, pk: int | None = None):
    mailing = get_object_or_404(Mailing, pk=pk) if pk else None
    if mailing and mailing.status != Mailing.Status.DRAFT:
        return redirect("mailings:detail", pk=mailing.pk)
    initial = MailingForm.initial_for(mailing) if mailing else None
    form = MailingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if mailing:
                mailing = services.mailing_update(
                    mailing=mailing, user=request.user, request=request, **form.service_kwargs()
                )
            else:
                mailing = services.mailing_create(
                    created_by=request.user, request=request, **form.service_kwargs()
                )
        except RuleViolation as exc:
            form.add_rule_errors(exc.errors or {None: [str(exc.message)]})
        else:
            messages.success(request, _("The mailing has been saved as a draft."))
            return redirect("mailings:detail", pk=mailing.pk)
    return render(
        request,
        "mailings/mailing_form.html",
        {"form": form, "mailing": mailing},
        status=400 if form.errors else 200,
    )


@organiser_required
def mailing_detail(request, pk: int):
    mailing = get_object_or_404(Mailing.objects.select_related("event", "region"), pk=pk)
    context: dict = {"mailing": mailing, "delivery": selectors.mailing_delivery(mailing=mailing)}
    if mailing.status == Mailing.Status.DRAFT:
        send, excluded = selectors.mailing_recipients(mailing=mailing)
        context.update(recipients=send, excluded_count=len(excluded))
        form = PreviewForm(request.GET or None, recipients=send[:500])
        chosen = None
        if form.is_valid():
            chosen = next(r for r in send if r.email == form.cleaned_data["recipient"])
        elif send and not form.is_bound:
            chosen = send[0]
        context["preview_form"] = form
        if chosen:
            context["preview"] = selectors.mailing_preview(mailing=mailing, recipient=chosen)
            context["preview_recipient"] = chosen
    return render(request, "mailings/mailing_detail.html", context)


@organiser_required
@require_POST
def mailing_send(request, pk: int):
    mailing = get_object_or_404(Mailing, pk=pk)
    try:
        count = services.mailing_send(mailing=mailing, user=request.user, request=request)
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The mailing has been queued for %(count)s recipients.") % {"count": count}
        )
    return redirect("mailings:detail", pk=mailing.pk)


# Mail clients send the RFC 8058 one-click POST without a CSRF token or cookies; the signed
# token is what authorises it, and all it can do is unsubscribe the address it was made for.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        _hash, scope = unsubscribe_from_token(token)
    except RuleViolation as exc:
        return render(request, "mailings/unsubscribe.html", {"error": exc.message}, status=400)
    if request.method == "POST":
        everything = request.POST.get("scope") == Unsubscribe.ALL
        services.unsubscribe_record(token=token, scope=Unsubscribe.ALL if everything else None)
        return render(
            request, "mailings/unsubscribe.html", {"done": True, "everything": everything}
        )
    return render(request, "mailings/unsubscribe.html", {"token": token, "scope": scope})
