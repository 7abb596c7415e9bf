"""Points where the event services tell press about a change to an event.

Called by events.services inside the change's transaction (the caller holds the event lock),
whichever path changed the event: the press staff page, the Django admin or another service.
The bodies live in press.services; these stay the stable entry points.
"""


def on_event_changed(*, event, method: str) -> None:
    """The event moved (time, place or link; ``method`` REQUEST) or was cancelled (CANCEL),
    and ``event.revision`` is the new one. For a media moment, journalists who accepted get the
    updated or cancelled calendar invitation, once per revision."""
    from . import services

    services.media_moment_event_changed(event=event, method=method)
