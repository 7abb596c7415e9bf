"""Press pages: thin. Parse input, call one service or selector, render.

Every route that serves a press file calls `selectors.material_may_download`; the files live
outside MEDIA_ROOT, so there is no other way to them.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.errors import RuleViolation
from common.permissions import user_is_organiser_admin
from communications.models import OutboxMail
from communications.selectors import mail_preview

from . import links, selectors, services
from .forms import (
    AccreditationForm,
    InviteConfirmForm,
    InviteSelectionForm,
    JournalistFilterForm,
    MaterialForm,
    MomentForm,
    RemovalForm,
    SlotForm,
)
from .models import InterviewSlot, Journalist, MediaMoment, PressInvitation, PressMaterial


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_is_organiser_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "press/invalid_link.html", status=404)


def _file_response(material: PressMaterial) -> FileResponse:
    response = FileResponse(
        material.file.open("rb"),
        as_attachment=True,
        filename=material.file.name.rsplit("/", 1)[-1],
        content_type=material.content_type,
    )
    # Embargoed files must not sit in shared caches after the link was used.
    response["Cache-Control"] = "private, no-store"
    return response


# --- public press page -----------------------------------------------------------------------


def press_page(request: HttpRequest) -> HttpResponse:
    moments = []
    for moment in selectors.moment_list_public().prefetch_related("materials"):
        moments.append(
            {
                "moment": moment,
                "public": selectors.material_public(moment=moment),
                "materials": list(moment.materials.all()),
            }
        )
    return render(request, "press/press_page.html", {"moments": moments})


def material_download(request: HttpRequest, pk: int) -> HttpResponse:
    material = get_object_or_404(PressMaterial.objects.select_related("moment"), pk=pk)
    if not selectors.material_may_download(material=material, user=request.user):
        # 404, not 403: before the embargo the file does not exist for the public.
        raise Http404
    return _file_response(material)


# --- a journalist's personal links ----------------------------------------------------------------


def _invitation_or_none(token: str) -> PressInvitation | None:
    try:
        return links.invitation_from_token(token)
    except RuleViolation:
        return None


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    inv = _invitation_or_none(token)
    if inv is None:
        return _invalid_link(request)
    inv = PressInvitation.objects.select_related(
        "moment__event", "journalist__person", "journalist__outlet"
    ).get(pk=inv.pk)
    moment = inv.moment
    accreditation_form = AccreditationForm(
        initial={
            "name": inv.accreditation_name or inv.journalist.person.name,
            "outlet_name": inv.accreditation_outlet or inv.journalist.outlet.name,
            "crew_size": inv.crew_size or 1,
            "camera": inv.camera,
            "photo": inv.photo,
        }
    )
    slot_form = SlotForm(slots=selectors.free_slots(moment=moment))
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("accept", "decline"):
                services.press_invitation_respond(invitation=inv, accept=action == "accept")
                messages.success(
                    request,
                    _("Thank you, you have accepted.")
                    if action == "accept"
                    else _("Thank you, you have declined."),
                )
                return redirect("press:invitation", token=token)
            if action == "accreditation":
                accreditation_form = AccreditationForm(request.POST)
                if accreditation_form.is_valid():
                    data = accreditation_form.cleaned_data
                    services.press_accreditation_request(
                        invitation=inv,
                        name=data["name"],
                        outlet_name=data["outlet_name"],
                        crew_size=data["crew_size"],
                        camera=data["camera"],
                        photo=data["photo"],
                    )
                    messages.success(request, _("Your accreditation request has been received."))
                    return redirect("press:invitation", token=token)
            elif action == "book":
                slot_form = SlotForm(request.POST, slots=selectors.free_slots(moment=moment))
                if slot_form.is_valid():
                    services.interview_slot_book(
                        invitation=inv, slot=slot_form.cleaned_data["slot"]
                    )
                    messages.success(request, _("Your interview has been booked."))
                    return redirect("press:invitation", token=token)
            else:
                messages.error(request, _("Choose what you want to do."))
        except RuleViolation as exc:
            form = accreditation_form if action == "accreditation" else slot_form
            if action in ("accreditation", "book"):
                form.add_rule_errors(exc)
            else:
                messages.error(request, exc.message)
        inv.refresh_from_db()
    booked = (
        InterviewSlot.objects.filter(invitation=inv).select_related("spokesperson__person").first()
    )
    return render(
        request,
        "press/invitation.html",
        {
            "invitation": inv,
            "moment": moment,
            "event": moment.event,
            "token": token,
            "accreditation_form": accreditation_form,
            "slot_form": slot_form,
            "has_slots": moment.slots.exists(),
            "booked_slot": booked,
            "materials": list(moment.materials.all()),
            "under_embargo": moment.under_embargo(),
            "removed": inv.journalist.removed_at is not None,
            "may_download": inv.journalist.removed_at is None,
            "removal_url": links.removal_url(inv.journalist),
        },
        status=400 if request.method == "POST" else 200,
    )


def invitation_material(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    inv = _invitation_or_none(token)
    if inv is None:
        raise Http404
    material = get_object_or_404(PressMaterial.objects.select_related("moment"), pk=pk)
    if not selectors.material_may_download(material=material, invitation=inv, user=request.user):
        raise Http404
    return _file_response(material)


def my_invitations(request: HttpRequest, token: str) -> HttpResponse:
    try:
        journalist = links.journalist_from_token(token)
    except RuleViolation:
        return _invalid_link(request)
    invitations = [
        {"invitation": inv, "url": links.invitation_url(inv)}
        for inv in selectors.invitation_list_for_journalist(journalist=journalist)
    ]
    return render(
        request,
        "press/my_invitations.html",
        {"journalist": journalist, "invitations": invitations},
    )


@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, token: str) -> HttpResponse:
    try:
        journalist = links.journalist_from_removal_token(token)
    except RuleViolation:
        return _invalid_link(request)
    form = RemovalForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.journalist_remove(journalist=journalist, note="removed through the mail link")
        return render(request, "press/removed.html", {"journalist": journalist})
    return render(
        request,
        "press/remove.html",
        {"journalist": journalist, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- staff ------------------------------------------------------------------


@staff_required
def staff_moments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "press/staff_moments.html",
        {
            "moments": selectors.moment_list_staff(),
            "totals": selectors.coverage_totals_per_campaign(),
            "hooks": selectors.media_hook_list(upcoming_only=True)[:10],
        },
    )


@staff_required
def staff_hooks(request: HttpRequest) -> HttpResponse:
    return render(request, "press/staff_hooks.html", {"hooks": selectors.media_hook_list()})


def _preview(moment: MediaMoment, journalist: Journalist) -> dict:
    person = journalist.person
    mail = OutboxMail(
        key="press_invitation:preview",
        template="press_invitation",
        to_email=person.email,
        to_name=person.name,
        language=person.preferred_language,
        context={"preview_moment_id": moment.pk, "preview_journalist_id": journalist.pk},
    )
    preview = mail_preview(mail)
    return {"journalist": journalist, "subject": preview.subject, "body": preview.text}


@staff_required
@require_http_methods(["GET", "POST"])
def staff_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite journalists in two steps: tick them on the press list (nothing is ticked for the
    organiser, whatever the filter), then confirm the exact list (name, outlet, address) on a
    second page. Only that confirm queues invitations, to exactly the journalists listed; the
    list travels signed (press.links) and press.services checks it again."""
    moment = get_object_or_404(MediaMoment.objects.select_related("event"), pk=pk)
    form = JournalistFilterForm(request.GET or None)
    journalists = selectors.journalist_list()
    if form.is_valid():
        journalists = selectors.journalist_list(**form.cleaned_data)
    invited = set(moment.invitations.values_list("journalist_id", flat=True))
    invitable = selectors.journalist_list().exclude(pk__in=invited)
    selection = InviteSelectionForm(invitable=invitable)
    status = 200
    if request.method == "POST" and request.POST.get("step") == "confirm":
        confirm = InviteConfirmForm(request.POST, moment_id=moment.pk, user_id=request.user.pk)
        if confirm.is_valid():
            try:
                sent = services.press_invitations_send_confirmed(
                    moment=moment,
                    journalist_ids=confirm.cleaned_data["selection"],
                    user=request.user,
                    request=request,
                )
            except RuleViolation as exc:
                messages.error(request, exc.message)
                status = 409 if exc.conflict else 400
            else:
                messages.success(request, _("%(count)s invitations queued.") % {"count": len(sent)})
                return redirect("press:staff_invite", pk=moment.pk)
        else:
            for error in confirm.errors.get("selection", []):
                messages.error(request, error)
            status = 400
    elif request.method == "POST":
        # Step 1: the ticked journalists, shown back for confirmation; nothing is queued.
        selection = InviteSelectionForm(request.POST, invitable=invitable)
        if selection.is_valid():
            chosen = list(selection.cleaned_data["journalist"].order_by("person__name", "pk"))
            token = links.invite_selection_token(
                moment_id=moment.pk, user_id=request.user.pk, journalist_ids=[j.pk for j in chosen]
            )
            return render(
                request,
                "press/staff_invite_confirm.html",
                {
                    "moment": moment,
                    "chosen": chosen,
                    "confirm": InviteConfirmForm(
                        initial={"selection": token}, moment_id=moment.pk, user_id=request.user.pk
                    ),
                    "under_embargo": moment.under_embargo(),
                    "query": request.GET.urlencode(),
                },
            )
        status = 400
    preview = None
    preview_id = request.GET.get("preview", "")
    if preview_id.isdigit():
        journalist = selectors.journalist_list().filter(pk=int(preview_id)).first()
        if journalist is not None:
            preview = _preview(moment, journalist)
    return render(
        request,
        "press/staff_invite.html",
        {
            "moment": moment,
            "form": form,
            "selection": selection,
            "journalists": journalists,
            "invited": invited,
            "preview": preview,
            "query": request.GET.urlencode(),
        },
        status=status,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def staff_material(request: HttpRequest, pk: int) -> HttpResponse:
    moment = get_object_or_404(MediaMoment.objects.select_related("event"), pk=pk)
    form = MaterialForm(request.POST, request.FILES) if request.method == "POST" else MaterialForm()
    if request.method == "POST" and form.is_valid():
        try:
            services.press_material_add(
                moment=moment,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                file=form.cleaned_data["file"],
                user=request.user,
                request=request,
            )
        except RuleViolation as exc:
            form.add_rule_errors(exc)
        else:
            messages.success(request, _("The material has been uploaded."))
            return redirect("press:staff_material", pk=moment.pk)
    return render(
        request,
        "press/staff_material.html",
        {"moment": moment, "form": form, "materials": moment.materials.all()},
        status=400 if request.method == "POST" else 200,
    )


def _moment_fields(data: dict) -> dict:
    return {
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
        "venue_name": data["venue_name"],
        "venue_address": data["venue_address"],
        "online_url": data["online_url"],
        "description": data["description"],
        "embargo_until": data["embargo_until"],
        "spokespersons": data["spokespersons"],
    }


@staff_required
@require_http_methods(["GET", "POST"])
def staff_moment_create(request: HttpRequest) -> HttpResponse:
    form = MomentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            moment = services.media_moment_create(
                campaign=data["campaign"],
                title=data["title"],
                sub_kind=data["sub_kind"],
                user=request.user,
                request=request,
                **_moment_fields(data),
            )
        except RuleViolation as exc:
            form.add_rule_errors(exc)
        else:
            messages.success(request, _("The media moment has been saved."))
            return redirect("press:staff_moment_edit", pk=moment.pk)
    return render(
        request,
        "press/staff_moment_form.html",
        {"form": form, "moment": None},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def staff_moment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    moment = get_object_or_404(MediaMoment.objects.select_related("event"), pk=pk)
    event = moment.event
    initial = {
        "campaign": event.campaign_id,
        "title": event.title,
        "sub_kind": moment.sub_kind,
        "starts_at": timezone.localtime(event.starts_at),
        "ends_at": timezone.localtime(event.ends_at),
        "venue_name": event.venue_name,
        "venue_address": event.venue_address,
        "online_url": event.online_url,
        "description": event.description,
        "embargo_until": timezone.localtime(moment.embargo_until) if moment.embargo_until else None,
        "spokespersons": list(moment.spokespersons.all()),
    }
    form = MomentForm(request.POST if request.method == "POST" else None, initial=initial)
    form.fields["campaign"].disabled = True
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                services.media_moment_cancel(moment=moment, user=request.user, request=request)
                messages.success(request, _("The media moment has been cancelled."))
                return redirect("press:staff_moment_edit", pk=moment.pk)
            if form.is_valid():
                data = form.cleaned_data
                services.media_moment_update(
                    moment=moment,
                    title=data["title"],
                    sub_kind=data["sub_kind"],
                    user=request.user,
                    request=request,
                    **_moment_fields(data),
                )
                messages.success(request, _("The media moment has been saved."))
                return redirect("press:staff_moment_edit", pk=moment.pk)
        except RuleViolation as exc:
            form.add_rule_errors(exc)
    return render(
        request,
        "press/staff_moment_form.html",
        {"form": form, "moment": moment},
        status=400 if request.method == "POST" else 200,
    )
