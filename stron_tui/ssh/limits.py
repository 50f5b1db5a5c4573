"""Limits that keep one source, one user or one careless client from taking the server from everyone.

Before authentication (as OpenSSH's MaxStartups, PerSourceMaxStartups and PerSourcePenalties):
- StartupGate caps connections that have not logged in yet, in total and per source address;
- AttemptLimiter counts every password attempt the moment it arrives (before anything is awaited, so a
  pipelined request that cancels the previous check is still counted), blocks a source address after too
  many attempts with a penalty that doubles each time it is earned again, and makes each further attempt
  for one user from one address wait longer (1, 2, 4 ... seconds). None of it locks an account: the
  database lockout is the services' business.
After authentication:
- SessionCaps caps sessions in total, per user and per source address.
And RateLimitedLog says each kind of refusal once per interval, never once per refused connection.

All of it is in memory: it guards this process's file descriptors and memory, and starts empty on restart.
"""

from __future__ import annotations

import ipaddress
import logging
import resource
import time
from collections import Counter, deque
from dataclasses import dataclass

# Bounds on what the limiter remembers, so a flood from many addresses or user names cannot grow it.
MAX_TRACKED = 10_000
USER_KEY_CHARS = 64


def source_key(address: str) -> str:
    """The unit a source is limited by: an IPv4 address, or an IPv6 /64 (one site's whole network)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class RateLimitedLog:
    """Logs each kind of event at most once per interval, and how many of that kind it left out since."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0):
        self._logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._left_out: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *args) -> bool:
        """Log `message` unless `kind` was logged less than `interval` ago; True when it was logged."""
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._left_out[kind] += 1
            return False
        left_out = self._left_out.pop(kind, 0)
        if left_out:
            message += " (%d more like it in the last %.0f s)"
            args = (*args, left_out, now - last)
        self._last[kind] = now
        self._logger.warning(message, *args)
        return True


class StartupGate:
    """Connections that have not logged in yet, in total and per source address."""

    def __init__(self, total: int, per_source: int):
        self.total = total
        self.per_source = per_source
        self._by_source: Counter[str] = Counter()
        self.count = 0

    def admit(self, address: str) -> str | None:
        """Count the connection in, or say why it is refused (nothing counted then)."""
        if self.count >= self.total:
            return "total"
        source = source_key(address)
        if self._by_source[source] >= self.per_source:
            return "source"
        self._by_source[source] += 1
        self.count += 1
        return None

    def release(self, address: str) -> None:
        """The connection logged in or went away: it no longer counts."""
        source = source_key(address)
        self.count -= 1
        self._by_source[source] -= 1
        if self._by_source[source] <= 0:
            del self._by_source[source]


@dataclass
class Attempt:
    """One password attempt, counted when it arrived; `allowed` False means it is refused unchecked."""

    user_key: tuple[str, str]
    source: str
    at: float
    allowed: bool


class AttemptLimiter:
    """Password attempts per source address and per user and address, counted before any check runs."""

    def __init__(self, limit: int, window: float, *, backoff_base: float = 1.0, backoff_max: float = 60.0,
                 penalty_max: float = 24 * 3600.0):
        self.limit = limit  # attempts from one source within `window` ...
        self.window = window  # ... block it for `window`, doubled each time it is blocked again
        self.backoff_base = backoff_base  # after n failures for one user from one source: base * 2**(n-1)
        self.backoff_max = backoff_max
        self.penalty_max = penalty_max
        self._attempts: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._penalties: dict[str, tuple[int, float]] = {}  # source -> (times blocked, when last blocked)
        self._user_failures: dict[tuple[str, str], tuple[int, float]] = {}  # -> (failures, last failure)

    # Sources ------------------------------------------------------------------------

    def blocked(self, address: str) -> bool:
        return self._blocked_until.get(source_key(address), 0.0) > time.monotonic()

    def _recent(self, source: str, now: float) -> deque[float]:
        attempts = self._attempts.setdefault(source, deque())
        while attempts and attempts[0] < now - self.window:
            attempts.popleft()
        return attempts

    def _block(self, source: str, now: float) -> None:
        times, last = self._penalties.get(source, (0, 0.0))
        if now - last > self.penalty_max:
            times = 0  # a long good spell forgives earlier penalties
        times += 1
        self._penalties[source] = (times, now)
        self._blocked_until[source] = now + min(self.window * 2 ** (times - 1), self.penalty_max)
        self._attempts.pop(source, None)

    # Attempts -----------------------------------------------------------------------

    def begin(self, username: str, address: str) -> Attempt:
        """Count an attempt now, synchronously; the caller checks the password only if it is allowed.

        Every attempt counts as a failure until `succeeded` says otherwise, so one that is cancelled
        (a client pipelining its next request) or still running counts as well.
        """
        now = time.monotonic()
        self._forget_old(now)
        source = source_key(address)
        user_key = (username[:USER_KEY_CHARS].casefold(), source)
        if self._blocked_until.get(source, 0.0) > now:
            return Attempt(user_key, source, now, allowed=False)
        recent = self._recent(source, now)
        recent.append(now)
        if len(recent) > self.limit:
            self._block(source, now)
            return Attempt(user_key, source, now, allowed=False)
        failures, last = self._user_failures.get(user_key, (0, 0.0))
        allowed = failures == 0 or now >= last + self.backoff(failures)
        if allowed:  # a refused attempt does not lengthen the wait: it ends when it was said to
            self._user_failures[user_key] = (failures + 1, now)
        return Attempt(user_key, source, now, allowed)

    def backoff(self, failures: int) -> float:
        return min(self.backoff_base * 2 ** (failures - 1), self.backoff_max)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the attempt is forgiven and the user's wait from this source ends."""
        self._user_failures.pop(attempt.user_key, None)
        attempts = self._attempts.get(attempt.source)
        if attempts is not None:
            try:
                attempts.remove(attempt.at)
            except ValueError:
                pass

    def _forget_old(self, now: float) -> None:
        """Drop what no longer limits anything, once the tables are large."""
        if len(self._user_failures) > MAX_TRACKED:
            horizon = self.backoff_max + self.window
            self._user_failures = {key: value for key, value in self._user_failures.items()
                                   if now - value[1] < horizon}
            if len(self._user_failures) > MAX_TRACKED:  # all fresh: keep the newest half
                newest = sorted(self._user_failures.items(), key=lambda item: item[1][1])[MAX_TRACKED // 2:]
                self._user_failures = dict(newest)
        if len(self._attempts) > MAX_TRACKED:
            self._attempts = {source: attempts for source, attempts in self._attempts.items()
                              if attempts and attempts[-1] >= now - self.window}
        if len(self._blocked_until) > MAX_TRACKED:
            self._blocked_until = {source: until for source, until in self._blocked_until.items() if until > now}
        if len(self._penalties) > MAX_TRACKED:
            self._penalties = {source: value for source, value in self._penalties.items()
                               if now - value[1] <= self.penalty_max}


class SessionCaps:
    """Open sessions (terminal or SFTP) in total, per user and per source address."""

    def __init__(self, total: int, per_user: int, per_source: int):
        self.total = total
        self.per_user = per_user
        self.per_source = per_source
        self.count = 0
        self._by_user: Counter[str] = Counter()
        self._by_source: Counter[str] = Counter()

    def claim(self, user_key: str, address: str) -> str | None:
        """Count a session in, or say (in words for the station) why it is refused."""
        source = source_key(address)
        if self.count >= self.total:
            return f"the server already has {self.count} sessions open, the most it allows"
        if self._by_user[user_key] >= self.per_user:
            return f"this user already has {self._by_user[user_key]} sessions open, the most allowed"
        if self._by_source[source] >= self.per_source:
            return f"this address already has {self._by_source[source]} sessions open, the most allowed"
        self.count += 1
        self._by_user[user_key] += 1
        self._by_source[source] += 1
        return None

    def release(self, user_key: str, address: str) -> None:
        source = source_key(address)
        self.count -= 1
        for counter, key in ((self._by_user, user_key), (self._by_source, source)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]


def raise_file_limit() -> tuple[int, int]:
    """Raise this process's soft limit on open files to its hard limit; returns (soft, hard) after.

    Each connection holds a socket and each session a pty and a pipe or two; a soft limit of 1024 (the
    usual default) is reached long before the hard one. Raising the hard limit is the host's job
    (systemd LimitNOFILE=, see docs/security.md).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft, hard
