"""The one way a screen calls a service: in a thread worker, never on the UI thread.

`call_service(screen, fn, *args, on_success=..., busy="Saving...")` runs `fn(ctx, actor, *args)`
in a thread worker (a database call on the UI thread freezes every key and repaint until the
database answers), shows `busy` on the screen's message line while it runs (a service's own
`progress=` callback passes through: see `from_worker`), hands the result
to `on_success` on the UI thread, and routes a failure by its type and its `field`, never by the
words of its message:

- an error with a `field` the screen has a `#field-<name>` for is shown beside that field, which
  takes the focus (`fields=` maps a service's field name to the screen's, e.g. payment_password -> pin);
- every error goes on the screen's message line too (`StronScreen.say`);
- errors that stop the operator's work (locked, no longer permitted) are also notified, so they are
  seen even where the message line is off screen.

A screen that must do more on failure passes `on_error` (it gets the error on the UI thread and may
call `show_failure` itself). Only StronError is expected: anything else is a bug or the database
going away, and crashes the worker as before unless `unexpected=` gives the words to show instead
("The sale did not go through ({kind}); nothing was recorded.").
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.widgets import Input
from textual.worker import Worker

from stron_tui.errors import AccountLocked, PermissionDenied, StronError
from widgets.fields import LabeledField

# Errors that end what the operator was doing, whatever the screen: they also pop up.
STOPPING_ERRORS = (AccountLocked, PermissionDenied)


def call_service(node: DOMNode, fn: Callable[..., Any], *args: Any,
                 on_success: Callable[[Any], Any] | None = None,
                 on_error: Callable[[StronError], Any] | None = None,
                 busy: str = "",
                 fields: Mapping[str, str] | None = None,
                 unexpected: str | None = None,
                 group: str = "service",
                 exclusive: bool = True,
                 with_actor: bool = True,
                 **kwargs: Any) -> Worker:
    """Run `fn(app.ctx, app.actor, *args, **kwargs)` (or `fn(*args, **kwargs)` when `with_actor` is
    False) in a thread worker of `node` (a screen or a widget on one).

    A newer call in the same `group` marks an older one cancelled (`exclusive`); a thread cannot be
    stopped, so the older one still finishes and its answer is still shown: a sale or a change it made
    is never kept from the operator. Screens whose answers can go stale check them (TopUpScreen does).
    """
    app = node.app
    screen = node if hasattr(node, "say") else getattr(node, "screen", node)
    if busy:
        _say(screen, busy)
    call_args = (app.ctx, app.actor, *args) if with_actor else args
    # Started by an Enter just pressed: the keys typed after it wait for this answer (StronScreen.hold_key).
    claim = getattr(screen, "claim_held_keys", None)
    hold = claim() if claim is not None else None

    def deliver(callback: Callable[..., Any], value: Any, succeeded: bool = True) -> Any:
        # Runs on the UI thread: the screen may have closed meanwhile.
        if not node.is_attached:
            release_unanswered()
            return None
        if busy and getattr(screen, "said", None) == busy:
            _say(screen, "")
        if hold is None:
            return callback(value)  # call_from_thread awaits it when the callback is async
        was_open, hold.window_open = hold.window_open, True  # a call the answer starts (load the meter found)
        try:                                                 # is waited for too
            result = callback(value)
        finally:
            hold.window_open = was_open
        if not inspect.isawaitable(result):
            screen.answer_arrived(hold, succeeded)
            return result

        async def finish() -> Any:
            try:
                return await result
            finally:
                screen.answer_arrived(hold, succeeded)

        return finish()

    def release_unanswered() -> None:
        if hold is not None:
            screen.answer_arrived(hold, False)

    def failed(error: StronError) -> None:
        if on_error is not None:
            return on_error(error)
        show_failure(screen, error, fields=fields, say=True)

    def run() -> None:
        try:
            result = fn(*call_args, **kwargs)
        except StronError as error:
            app.call_from_thread(deliver, failed, error, False)
            return
        except BaseException as error:
            if unexpected is None or not isinstance(error, Exception):
                if hold is not None and app.is_running:
                    app.call_from_thread(release_unanswered)  # keys are never held for an answer that never comes
                raise
            app.call_from_thread(deliver, failed, StronError(unexpected.format(kind=type(error).__name__)), False)
            return
        if on_success is not None:
            app.call_from_thread(deliver, on_success, result)
        elif hold is not None:
            app.call_from_thread(deliver, lambda _: None, None)

    return node.run_worker(run, name=getattr(fn, "__qualname__", "service call"), group=group, exclusive=exclusive,
                           thread=True)


def from_worker(node: DOMNode, callback: Callable[..., Any]) -> Callable[..., None]:
    """A progress callback a service may call from the worker thread: it runs `callback` on the UI thread."""

    def report(*args: Any) -> None:
        node.app.call_from_thread(callback, *args)

    return report


def show_failure(screen: DOMNode, error: StronError, *, fields: Mapping[str, str] | None = None,
                 say: bool = False) -> str | None:
    """Show `error` where it belongs; return the name of the field it was shown at (None: the message line).

    `say` puts it on the message line too, even when it was shown beside a field.
    """
    shown_at = show_field_errors(screen, error, fields=fields)
    if shown_at is None or say:
        _say(screen, error.message)
    if isinstance(error, STOPPING_ERRORS):
        screen.app.notify(error.message, severity="error", markup=False)
    return shown_at


def show_field_errors(screen: DOMNode, error: StronError, *, fields: Mapping[str, str] | None = None,
                      focus: bool = True) -> str | None:
    """Put the error's message (or each of its per-field messages) beside the fields it names; focus the first.

    Returns the first field shown at, None when the screen has none of the fields named.
    """
    fields = fields or {}
    named = dict(getattr(error, "errors", None) or {})
    field = getattr(error, "field", None)
    if field and field not in named:
        named = {field: error.message, **named}
    first = None
    for name, message in named.items():
        target = field_widget(screen, fields.get(name, name))
        if target is None:
            continue
        target.show_error(message)
        if first is None:
            first = fields.get(name, name)
            if focus:
                target.query_one(Input).focus()
    return first


def field_widget(screen: DOMNode, name: str) -> LabeledField | None:
    try:
        return screen.query_one(f"#field-{name}", LabeledField)
    except NoMatches:
        return None


def _say(screen: DOMNode, text: str) -> None:
    say = getattr(screen, "say", None)
    if say is not None:
        say(text)
    elif text:
        screen.app.notify(text, markup=False)
