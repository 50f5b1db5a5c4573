"""Textual's Linux driver for a station's session, with an input thread that sleeps while the station does.

The stock driver's input thread wakes ten times a second to look for its stop signal and for a lone
Esc's timeout, key or no key: one idle session costs little, but a host with hundreds of stations spends
a tenth of a core on sessions nobody is typing at. This one sleeps in select() until a key arrives or it
is told to stop (through a pipe), and wakes on a timer only while the key parser waits for the rest of an
escape sequence.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder

from textual._time import get_time
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

ESCAPE_TICK = 0.1  # seconds: the stock driver's tick, kept where the parser's due time cannot be read


class _WakingEvent(threading.Event):
    """The driver's stop flag: setting it also wakes the input thread out of its select()."""

    def __init__(self, wake_fd: int):
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        if self._wake_fd < 0:
            return
        try:
            os.write(self._wake_fd, b"\0")
        except BlockingIOError:  # the pipe is full: a wake is pending anyway
            pass

    def close(self) -> None:
        """Close the pipe's end: later sets only set the flag (never write to a number reused since)."""
        descriptor, self._wake_fd = self._wake_fd, -1
        if descriptor >= 0:
            os.close(descriptor)


class StationDriver(LinuxDriver):
    """LinuxDriver whose input thread waits for input, its stop, or a pending escape sequence only."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(wake_write, False)
        self.exit_event = _WakingEvent(wake_write)

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def timeout() -> float | None:
            # The parser notes when a partial sequence (a lone Esc so far) is to be taken as it is: sleep
            # until then, or until input when nothing is pending. A Textual that keeps it elsewhere is ticked
            # as the stock driver does.
            if not hasattr(parser, "_timeout_time"):
                return ESCAPE_TICK
            due = parser._timeout_time
            return None if due is None else max(0.0, due - get_time())

        def process(events, final: bool = False) -> None:
            for key, mask in events:
                if key.fd == self._wake_read:
                    try:
                        while os.read(self._wake_read, 64):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                if mask & selectors.EVENT_READ:
                    text = decode(os.read(self.fileno, 4096), final=final)
                    if not text:
                        break
                    for event in parser.feed(text):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(self.fileno)
            selector.unregister(self._wake_read)
            process(selector.select(0), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):  # ended: what was left half-typed is dropped, as the stock driver does
                    pass
            except (EOFError, ParseError):
                pass

    def close(self) -> None:
        super().close()
        self.exit_event.close()
        descriptor, self._wake_read = self._wake_read, -1
        if descriptor >= 0:
            os.close(descriptor)
