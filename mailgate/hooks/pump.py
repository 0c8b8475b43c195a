"""The hook pump: claim due hook calls, make them in threads of their own, record
the results, as the outbox does for mail.

Off the mail path: a call runs in a daemon thread and the worker never waits
for one. `mailgate run` drives the pump from a thread of its own
(`run_in_background`), which records results and claims more as soon as a
call ends, when the worker has queued new calls (`nudge`), and every few
seconds. `run --once` feeds it after each batch of mail and waits at most
`FINISH_BUDGET` seconds at the end of its round (what is still running then
stays claimed, and a later start takes it back).

A hook that is down delays only its own calls: each hook has at most
`PER_HOOK` calls in flight, and after a failure it rests (its other calls
wait) until the failed call's retry is due. Failed calls come back with
exponential backoff and jitter until `max_attempts`, then are marked failed,
kept, for `mailgate hooks retry`. Delivery is at least once: a worker killed
mid-call leaves its claim, which a restart on this host takes back at once
(another host waits out `LEASE`), so the receiver may see a call again, with
the same `X-Mailgate-Delivery`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mailgate.config import HookSettings
from mailgate.hooks import transport
from mailgate.owner import current_owner, is_dead_here
from mailgate.store.database import HookJob, Store

log = logging.getLogger(__name__)

PER_HOOK = 4  # calls of one hook in flight at once
LEASE = dt.timedelta(minutes=10)  # longer than any call (timeout <= MAX_TIMEOUT) and its record
FINISH_BUDGET = 30.0  # seconds `run --once` waits at most for the calls of its round
TEND_EVERY = 5.0  # seconds between two looks at the queue of a pump in the background
FIRST_RETRY = 30.0  # seconds; doubled at each attempt, with jitter, up to MAX_RETRY
MAX_RETRY = 3600.0

Clock = Callable[[], dt.datetime]


def backoff(attempts: int, *, jitter: float | None = None) -> dt.timedelta:
    """The wait after `attempts` failed attempts: 30 s, 60 s, ... up to an hour, each
    times a factor from 0.8 to 1.2 so that the calls of an outage do not come back
    all at once."""
    factor = random.uniform(0.8, 1.2) if jitter is None else jitter
    return dt.timedelta(seconds=min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY) * factor)


def make_call(hook: HookSettings, job: HookJob) -> str | None:
    return transport.call(hook, event=job.event, delivery=job.delivery,
                          body=job.payload.encode(), attempt=job.attempts + 1)  # fmt: skip


@dataclass(slots=True)
class HookReport:
    sent: Counter[str] = field(default_factory=Counter)  # by hook
    failed: Counter[str] = field(default_factory=Counter)  # attempts that failed, by hook


class HookPump:
    """The calls of one worker process. Fed by one thread: the worker's, or its own
    once it runs in the background."""

    def __init__(self, store: Store, hooks: Sequence[HookSettings], clock: Clock) -> None:
        self._store = store
        self._hooks = {hook.name: hook for hook in hooks}
        self._clock = clock
        self._owner = current_owner()
        # The results of calls, and None when the worker nudges a pump in the background.
        self._results: queue.Queue[tuple[HookJob, str | None] | None] = queue.Queue()
        self._in_flight: Counter[str] = Counter()
        self._resting: dict[str, float] = {}  # by hook: time.monotonic() it may be called again
        self._report = HookReport()
        self._report_lock = threading.Lock()  # the report is taken from the worker's thread
        self._recovered = False
        self._background: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def busy(self) -> bool:
        return sum(self._in_flight.values()) > 0

    def feed(self) -> None:
        """Record the results that came in, and start the calls now due. Never waits."""
        if not self._recovered:
            self._recover_dead_owners()
        self._record(self._drain())
        now, moment = self._clock(), time.monotonic()
        for name, hook in self._hooks.items():
            room = PER_HOOK - self._in_flight[name]
            if room <= 0 or self._resting.get(name, 0.0) > moment:
                continue
            with self._store.transaction() as tx:
                jobs = tx.claim_hook_calls(name, now, lease_until=now + LEASE, limit=room,
                                           owner=self._owner)  # fmt: skip
            for job in jobs:
                self._in_flight[name] += 1
                threading.Thread(target=self._call, args=(hook, job), daemon=True,
                                 name=f"hook-{name}").start()  # fmt: skip

    def nudge(self) -> None:
        """New calls may be queued: feed the pump now, or have its thread do it."""
        if self._background is not None:
            self._results.put(None)
        else:
            self.feed()

    def finish(self, budget: float = FINISH_BUDGET) -> None:
        """Make the due calls and wait for them, `budget` seconds at most."""
        deadline = time.monotonic() + budget
        self.feed()
        while self.busy and (left := deadline - time.monotonic()) > 0:
            if not self._wait_for_results(left):
                break
            self.feed()

    def run_in_background(self) -> None:
        """Feed the pump from a thread of its own (`mailgate run`) until `stop_background`;
        from then on only that thread feeds it."""

        def tend() -> None:
            while not self._stopping.is_set():
                try:
                    self.feed()
                    self._wait_for_results(TEND_EVERY)
                except Exception as exc:  # the database away: the worker's round says so
                    log.debug("hook calls not tended", extra={"error": repr(exc)[:200]})
                    self._stopping.wait(TEND_EVERY)
            # Stopped (a reload, a stop): record the calls under way, start none.
            deadline = time.monotonic() + FINISH_BUDGET
            with contextlib.suppress(Exception):  # unrecorded, a claim waits out its lease
                while self.busy and time.monotonic() < deadline:
                    self._wait_for_results(1.0)

        self._background = threading.Thread(target=tend, daemon=True, name="hooks")
        self._background.start()

    def stop_background(self) -> None:
        """The pump's thread starts no more calls, records those under way, and ends:
        the worker's run is over (stopped, or its config reloaded: a new pump goes on)."""
        self._stopping.set()
        self._results.put(None)  # wake it now

    def take_report(self) -> HookReport:
        """What was recorded since the last call (for a round's report)."""
        with self._report_lock:
            report, self._report = self._report, HookReport()
        return report

    def _wait_for_results(self, seconds: float) -> bool:
        """Wait up to `seconds` for a call to end (or a nudge), then record what came
        in; False when nothing did."""
        try:
            first = self._results.get(timeout=seconds)
        except queue.Empty:
            return False
        self._record([first, *self._drain()])
        return True

    def _call(self, hook: HookSettings, job: HookJob) -> None:
        try:
            error = make_call(hook, job)
        except Exception as exc:  # a bug must not lose the call: it is a failed attempt
            error = f"{type(exc).__name__}: {exc}"[:500]
        self._results.put((job, error))

    def _drain(self) -> list[tuple[HookJob, str | None] | None]:
        found = []
        while True:
            try:
                found.append(self._results.get_nowait())
            except queue.Empty:
                return found

    def _record(self, results: list[tuple[HookJob, str | None] | None]) -> None:
        ended = [result for result in results if result is not None]  # without nudges
        if not ended:
            return
        for job, _ in ended:  # ended, whether their results can be written now or not
            self._in_flight[job.hook] -= 1
        now = self._clock()
        with self._store.transaction() as tx:  # if it fails, the claims stand until the lease ends
            for job, error in ended:
                hook = self._hooks[job.hook]
                if error is None:
                    self._count(sent=job.hook)
                    tx.mark_hook_call(job.id, now=now, error=None, retry_at=None)
                    log.info("hook called", extra={"hook": job.hook, "event": job.event,
                                                   "call": job.id})  # fmt: skip
                    continue
                self._count(failed=job.hook)
                attempts = job.attempts + 1
                wait = backoff(attempts) if attempts < hook.max_attempts else None
                tx.mark_hook_call(job.id, now=now, error=error[:2000],
                                  retry_at=now + wait if wait is not None else None)  # fmt: skip
                if wait is None:
                    log.warning("hook call failed for good", extra={
                        "hook": job.hook, "call": job.id, "attempts": attempts, "error": error[:200]
                    })  # fmt: skip
                    continue
                resting = self._resting.get(job.hook, 0.0)
                if resting <= time.monotonic():  # one line per outage of a hook, not per call
                    log.warning("hook call failed; retrying later", extra={
                        "hook": job.hook, "call": job.id, "error": error[:200],
                        "in": round(wait.total_seconds())})  # fmt: skip
                self._resting[job.hook] = time.monotonic() + wait.total_seconds()

    def _count(self, *, sent: str = "", failed: str = "") -> None:
        with self._report_lock:
            if sent:
                self._report.sent[sent] += 1
            if failed:
                self._report.failed[failed] += 1

    def _recover_dead_owners(self) -> None:
        """Take back at once the claims of dead processes on this host (a kill mid-call)."""
        now = self._clock()
        with self._store.transaction() as tx:
            dead = [owner for owner in tx.hook_claim_owners()
                    if owner != self._owner and is_dead_here(owner)]  # fmt: skip
            released = tx.release_hook_claims(dead, now=now) if dead else 0
        self._recovered = True  # not before: with the database away, the next feed tries again
        if released:
            log.info("took back the hook calls of stopped workers", extra={"calls": released})
