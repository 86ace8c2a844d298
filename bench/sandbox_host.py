"""The end-to-end benchmark's sandbox platforms, in a process of their own.

``python -m bench.sandbox_host CONTACTS [--throttled] [--leads N] [--calm]`` starts the
demo's five sandboxes on 127.0.0.1 (HubSpot holding ``CONTACTS`` contacts, unthrottled, or
with ``--throttled`` under its documented limits — 5 searches a second, 100 other requests
per rolling 10 seconds — as the sandbox enforces them by default; the other platforms keep
their demo limits and sizes, or hold ``N`` leads each; unless ``--calm``, each holds, once,
a truncated body and a mid-body disconnect on a later lead page, as in the demo), writes one
JSON line to stdout — ``{"ready": true, "urls": {...}, "config": ...}``, ``config`` being
the demo configuration with :data:`WAREHOUSE_PLACEHOLDER` where the warehouse URL goes —
and then serves until told to stop. Kept apart from the sync so the sync's peak RSS is its
own and the servers do not compete for the sync's GIL.

The control channel is stdin, one command a line, each answered by one JSON line on stdout:

``change``  update 1% of the HubSpot contacts (every 100th) → ``{"changed": N}``
``rss``     → ``{"peak_rss_mb": X}``, this process's peak RSS so far
``requests`` → ``{"requests": {platform: {requests, searches, throttled, first, last}}}``,
            the requests each sandbox answered since the last ``requests`` (then forgotten)
``cpu``     → ``{"cpu_s": X}``, this process's CPU seconds so far (user + system)
``stop``    → ``{"peak_rss_mb": X, "stopped": true}``, then the servers stop and it exits

End of input (the parent closed the pipe or died) stops it too, so the host never outlives
the process that started it. :class:`SandboxHost` is that parent's side.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import IO, Any

WAREHOUSE_PLACEHOLDER = "__LEADFLOW_BENCH_WAREHOUSE_URL__"
STOP_TIMEOUT_S = 30.0


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bench_sandboxes(
    contacts: int, *, throttled: bool = False, leads: int | None = None, weather: bool = True
) -> Iterator[Any]:
    """The demo's five sandboxes, HubSpot with ``contacts`` contacts, unthrottled unless
    ``throttled`` (then HubSpot's documented limits), the others with ``leads`` leads each
    (default: the demo's sizes), with the demo's weather (``Sandboxes.with_weather``)
    unless ``weather`` is false."""
    from leadflow.cli.demo import TOKENS, Sandboxes
    from leadflow.sandbox.data import iter_hubspot_contacts
    from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
    from leadflow.sandbox.google_ads.data import google_ads_dataset
    from leadflow.sandbox.hubspot.app import HubSpotSandbox
    from leadflow.sandbox.linkedin.app import LinkedInSandbox
    from leadflow.sandbox.linkedin.data import linkedin_dataset
    from leadflow.sandbox.mailchimp.app import MailchimpSandbox
    from leadflow.sandbox.mailchimp.data import mailchimp_dataset
    from leadflow.sandbox.meta.app import MetaSandbox
    from leadflow.sandbox.meta.data import meta_dataset

    token = TOKENS["LEADFLOW_DEMO_HUBSPOT_TOKEN"]
    with ExitStack() as stack:
        make = HubSpotSandbox if throttled else HubSpotSandbox.unthrottled
        # One contact at a time: the store holds each compactly as it comes, so the million
        # generated dicts never exist at once.
        hubspot = make(iter_hubspot_contacts(contacts), token=token, handed_over=True)
        size = () if leads is None else (leads,)  # each dataset's first argument: its size
        boxes = Sandboxes(
            hubspot=stack.enter_context(hubspot),
            meta=stack.enter_context(MetaSandbox(meta_dataset(*size))),
            google=stack.enter_context(GoogleAdsSandbox(google_ads_dataset(*size))),
            linkedin=stack.enter_context(LinkedInSandbox(linkedin_dataset(*size))),
            mailchimp=stack.enter_context(MailchimpSandbox(mailchimp_dataset(*size))),
        )
        # As in `leadflow demo`: a truncated body and a mid-body disconnect on a later lead
        # page of each platform, retried inside the first timed sync.
        yield boxes.with_weather() if weather else boxes


def bench_config(boxes: Any, warehouse_url: str, *, throttled: bool = False) -> str:
    """The demo configuration for ``boxes``; unthrottled, HubSpot's search pace is raised to
    match its sandbox (throttled, the connector keeps its own default pace)."""
    from leadflow.cli.demo import demo_config

    text = demo_config(boxes, warehouse_url)
    if throttled:
        return text
    portal = '    portal_id: "sandbox-portal"\n'
    return text.replace(portal, portal + "    search_requests_per_second: 1000\n", 1)


def change_one_percent(boxes: Any) -> int:
    """Give every 100th HubSpot contact a new city (and so a new ``lastmodifieddate``),
    then rebuild the search order the next incremental read uses (outside its timing)."""
    hubspot = boxes.hubspot
    chosen = hubspot.contact_ids()[::100]
    for contact_id in chosen:
        object_id = hubspot.store.get(contact_id)["properties"]["hs_object_id"]
        hubspot.upsert_contact({"hs_object_id": object_id, "city": "Lisbon"})
    hubspot.prepare()
    return len(chosen)


def request_counts(boxes: Any) -> dict[str, dict[str, Any]]:
    """Per platform, the requests its sandbox answered since the last call (then forgotten):
    how many, how many searches (HubSpot's separately limited ``…/search`` endpoints), how
    many answered 429, and the first and last one's arrival (epoch seconds)."""
    counts: dict[str, dict[str, Any]] = {}
    for platform, box in boxes.platforms().items():
        seen = box.requests
        box.clear_requests()
        if not seen:
            continue
        counts[platform] = {
            "requests": len(seen),
            "searches": sum(r.path.rstrip("/").endswith("/search") for r in seen),
            "throttled": sum(r.status == 429 for r in seen),
            "first": min(r.time for r in seen),
            "last": max(r.time for r in seen),
        }
    return counts


def cpu_seconds() -> float:
    """This process's CPU time so far (user + system)."""
    times = os.times()
    return times.user + times.system


def serve(
    contacts: int,
    commands: IO[str],
    replies: IO[str],
    *,
    throttled: bool = False,
    leads: int | None = None,
    weather: bool = True,
) -> int:
    """Start the sandboxes, announce them on ``replies``, obey ``commands`` until stopped."""

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    began = time.perf_counter()
    # Millions of long-lived dicts: with the cyclic GC on, building them costs several
    # full collections over everything built so far, and each later full collection would
    # walk them all again while serving. None of them is garbage, so the GC is paused while
    # they are built and they are then frozen out of its generations.
    gc.disable()
    with bench_sandboxes(contacts, throttled=throttled, leads=leads, weather=weather) as boxes:
        # The sales data (millions of engagements at 1M contacts) and the search orders
        # are built now, not inside the first sales request of the timed sync.
        sales_s = boxes.hubspot.prepare()
        gc.freeze()
        gc.enable()
        reply(
            {
                "ready": True,
                "pid": os.getpid(),
                "contacts": contacts,
                "urls": boxes.urls(),
                "config": bench_config(boxes, WAREHOUSE_PLACEHOLDER, throttled=throttled),
                "throttled": throttled,
                "startup_s": round(time.perf_counter() - began, 3),
                "hubspot_sales_s": round(sales_s, 3),
            }
        )
        for line in commands:
            command = line.strip()
            if command == "change":
                reply({"changed": change_one_percent(boxes)})
            elif command == "rss":
                reply({"peak_rss_mb": peak_rss_mb()})
            elif command == "requests":
                reply({"requests": request_counts(boxes)})
            elif command == "cpu":
                reply({"cpu_s": cpu_seconds()})
            elif command == "stop":
                break
            elif command:
                reply({"error": f"unknown command {command!r}"})
    reply({"peak_rss_mb": peak_rss_mb(), "stopped": True})
    return 0


class SandboxHost:
    """The parent's handle on a ``bench.sandbox_host`` process: start it, send commands,
    stop it. Use it as a context manager: the process is stopped on exit whatever happened
    (politely, then terminated, then killed)."""

    def __init__(
        self,
        contacts: int,
        *,
        throttled: bool = False,
        leads: int | None = None,
        weather: bool = True,
        startup_timeout_s: float = 600.0,
    ) -> None:
        self.contacts = contacts
        self.throttled = throttled
        self.options = ["--throttled"] if throttled else []
        self.options += [] if leads is None else ["--leads", str(leads)]
        self.options += [] if weather else ["--calm"]
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}
        self.final: dict[str, Any] = {}

    def __enter__(self) -> SandboxHost:
        command = [sys.executable, "-m", "bench.sandbox_host", str(self.contacts)]
        command += self.options
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        try:
            self.ready = self._read()
            if not self.ready.get("ready"):
                raise RuntimeError(f"sandbox host did not start: {self.ready}")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def config(self, warehouse_url: str) -> str:
        """The configuration file's text for the sandboxes and ``warehouse_url``."""
        return self.ready["config"].replace(WAREHOUSE_PLACEHOLDER, warehouse_url)

    def command(self, name: str) -> dict[str, Any]:
        """Send one command line; its JSON reply."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(name + "\n")
        self.process.stdin.flush()
        return self._read()

    def change_one_percent(self) -> int:
        """Change 1% of the HubSpot contacts in the host; how many."""
        return int(self.command("change")["changed"])

    def requests(self) -> dict[str, dict[str, Any]]:
        """Per platform, the requests answered since the last call (``request_counts``)."""
        return dict(self.command("requests")["requests"])

    def cpu_seconds(self) -> float:
        """The host's CPU time so far (user + system seconds)."""
        return float(self.command("cpu")["cpu_s"])

    def peak_rss_mb(self) -> float:
        """The host's peak RSS so far (MB)."""
        return float(self.command("rss")["peak_rss_mb"])

    def stop(self) -> None:
        """Ask the host to stop, and make sure it is gone; keeps its last report in
        ``final``. Safe to call more than once."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            out, _ = process.communicate(input="stop\n", timeout=STOP_TIMEOUT_S)
            lines = [line for line in (out or "").splitlines() if line.strip()]
            if lines:
                self.final = json.loads(lines[-1])
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def _read(self, timeout_s: float | None = None) -> dict[str, Any]:
        """One reply line. Replies come one per command, so nothing waits in the reader's
        buffer when ``select`` is asked whether the pipe has more."""
        assert self.process is not None and self.process.stdout is not None
        wait = self.startup_timeout_s if timeout_s is None else timeout_s
        if not select.select([self.process.stdout], [], [], wait)[0]:
            raise RuntimeError(f"sandbox host did not answer within {wait:g} s")
        line = self.process.stdout.readline()
        if not line:
            code = self.process.poll()
            raise RuntimeError(f"sandbox host exited (code {code}) without answering")
        return json.loads(line)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.sandbox_host CONTACTS``: serve until ``stop`` or end of input."""
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_host")
    parser.add_argument("contacts", type=int, help="HubSpot contacts to hold")
    parser.add_argument("--throttled", action="store_true", help="HubSpot's documented limits")
    parser.add_argument("--leads", type=int, help="leads of each other platform (demo sizes)")
    parser.add_argument("--calm", action="store_true", help="no weather (faults) queued")
    args = parser.parse_args(argv)
    return serve(
        args.contacts, sys.stdin, sys.stdout, throttled=args.throttled, leads=args.leads,
        weather=not args.calm,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
