"""Benchmark of mail intake: SMTP acceptance, 250-to-registered latency, registration throughput.

    .venv/bin/python bench/intake_bench.py [--messages N] [--backend sqlite|postgresql|both]
                                           [--pg-url URL] [--backlog M] [--profile]

Sections, per storage backend (SQLite: WAL + synchronous=FULL in a temp dir; PostgreSQL: a fresh
schema in ``--pg-url``, dropped at the end):

1. Acceptance. The server runs in this process on its own event-loop thread, served exactly as in
   production (``SmtpIntake`` -> ``loop.create_server(aiosmtpd SMTP)``). The clients run in a
   separate process (``multiprocessing``, spawn), one thread per client with a persistent smtplib
   connection, so the clients' Python work does not compete with the server for this process's
   GIL. Each level (1, 8, 32 clients) sends N small realistic messages (EN/NL/FR support reports,
   ~1 KB), split evenly over the clients. Two servers: (a) a do-nothing aiosmtpd handler
   (``handle_DATA`` returns "250 OK") = the ceiling, and (b) ``SupportHandler`` + ``InboundStore``
   (the 250 is sent only after the row is committed: fsync on SQLite, WAL flush on PostgreSQL).
   Latency per message = from the moment the client's socket send of the message body and its
   end-of-data line ``<CRLF>.<CRLF>`` returns (the DATA command's 354 has already been received)
   to the moment the 250 reply is read (``time.perf_counter`` in the client, i.e. client-side
   wall time, loopback). Throughput = messages / (time from all clients released, connections
   already open and EHLO done, to the last reply); it includes the MAIL and RCPT round trips.
   Group commit = messages stored / commits made by the writer during the level.
   Level runs of (b) here have no processing worker; (b) at 8 clients is also run with the
   worker (section 2), as in production.
2. From 250 to registered: the 8-client level again (``--worker-messages``, default 500, as
   processing is far slower than acceptance), with ``IntakeWorker`` notified by
   ``store.on_stored``. For each message: ``inbound.processed_at`` (stamped by the worker when it
   starts processing the message: ``clock.now()`` at the top of ``MailIntake._process``) minus
   the client's 250 instant (``time.time()``, UTC, same machine clock), and also the commit
   instant (the worker's ``after`` callback, which runs after the transaction committed) minus
   the 250 instant.
3. Registration throughput from a backlog: M realistic messages (new reports EN/NL/FR, some
   HTML-only; replies threading by In-Reply-To and by ``[T-...]`` in the subject; out-of-office
   auto-replies; real bounces, auto-replies, plain, HTML, charset and reply-chain mail from
   /work/shared/corpus, each file once) stored through the inbound writer, then
   ``app.mail.process_pending()`` is called until nothing is pending, timed. With
   ``--parse-processes N`` (default 1, the shipped default) the parser process parses ahead;
   ``--backlog-only`` runs this section alone (after registering 300 tickets, untimed).

Prints only; asserts nothing about timings; exit code 0. ``--profile`` adds in-process stack
samples of the server threads (durable 8 clients, with and without the worker) and of the backlog
run, the inbound writer's transaction durations and the SQL statements per processed message;
``--cprofile`` runs the backlog under cProfile. In-process samples over-weight frames that release
the GIL; for CPU shares use py-spy from outside (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake.clients import Clients  # noqa: E402
from bench.intake.figures import machine  # noqa: E402
from bench.intake.sections.acceptance import LEVELS, section1  # noqa: E402
from bench.intake.sections.backlog import section3, seed_tickets  # noqa: E402
from bench.intake.sections.registered import section2  # noqa: E402
from bench.intake.server import Db, LoopThread, open_db  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def run_backend(backend: str, args: argparse.Namespace, clients: Clients) -> None:
    print(f"\n{'=' * 100}\n{backend}" + (f" ({args.pg_url}, fresh schemas, dropped at the end)"
                                          if backend == "postgresql" else
                                          " (WAL, synchronous=FULL, temp dir)"))
    print("=" * 100)
    tmp = Path(tempfile.mkdtemp(prefix="intake_bench_"))
    lt = LoopThread()
    dbs: list[Db] = []
    if args.backlog_only:
        try:
            main_db = open_db(backend, args.pg_url, "main", tmp, args.parse_processes)
            dbs.append(main_db)
            refs = seed_tickets(main_db, args.seed + 100)
            print("\n3. Registration throughput from a backlog")
            section3(main_db, args.backlog, args.seed + 200, refs, args.profile, args.cprofile)
        finally:
            for d in dbs:
                d.cleanup()
            lt.close()
            shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        accept_db = open_db(backend, args.pg_url, "accept", tmp,
                            args.parse_processes)
        dbs.append(accept_db)
        report1 = section1(accept_db, clients, lt, args.messages, args.repeat, args.seed,
                           args.profile)

        main_db = open_db(backend, args.pg_url, "main", tmp, args.parse_processes)
        dbs.append(main_db)
        worker_row, refs, report2 = section2(main_db, clients, lt,
                                             min(args.messages, args.worker_messages),
                                             args.seed + 100, args.profile)
        print("\n1. Acceptance (client-side latency: end-of-data sent -> 250 read)")
        report1(worker_row)
        print("\n2. From 250 to registered (8 clients, processing worker running)")
        report2()
        print("\n3. Registration throughput from a backlog")
        section3(main_db, args.backlog, args.seed + 200, refs, args.profile, args.cprofile)
    finally:
        for d in dbs:
            try:
                d.cleanup()
            except Exception as e:
                print(f"  cleanup failed: {e}")
        lt.close()
        shutil.rmtree(tmp, ignore_errors=True)


METHOD = """\
method: server = this process (SmtpIntake on an asyncio loop thread + the inbound writer thread);
clients = one separate process (spawn) with one thread and one persistent smtplib connection per
client, so client work does not take the server's GIL (on {cores} cores both processes share the
CPU). Latency: from the return of the client's send() of the message and its <CRLF>.<CRLF> (after
the 354) to the 250 being read, client-side perf_counter. msg/s: messages / time from the release
of all connected clients to the last reply (includes MAIL/RCPT round trips). Group commit:
stored/commits of the writer during the level. Each level sends N distinct ~1 KB reports
(EN/NL/FR, 1 in 13 HTML-only). 250 -> registered (8 clients, --worker-messages messages, worker
running): processed_at and the worker's after-commit callback, both time.time() UTC on this
machine, minus the client's 250 instant. Backlog: stored first, then process_pending() timed
until nothing is pending (one processing thread, MailIntake.batch_size messages per transaction,
writes held back and sent one statement per table; batches after the first of each call parsed
ahead by the parser process when --parse-processes > 0; its start-up is part of the time)."""


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000,
                    help="messages per acceptance level (default 2000)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--backlog", type=int, default=1000,
                    help="messages in the registration backlog (default 1000)")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of the 8-client level (the target); the median is shown")
    ap.add_argument("--worker-messages", type=int, default=500,
                    help="messages of the 8-client run with the worker (section 2; default 500:"
                         " processing is much slower than acceptance)")
    ap.add_argument("--parse-processes", type=int, default=1,
                    help="[mail] parse_processes for the processing runs (default 1, as "
                         "configured by default; 0: the processing thread parses)")
    ap.add_argument("--backlog-only", action="store_true",
                    help="only section 3 (the backlog), after registering 300 tickets untimed "
                         "for its [T-...] replies")
    ap.add_argument("--profile", action="store_true",
                    help="also profile: server threads (sampled), writer transactions, SQL "
                         "statements per processed message")
    ap.add_argument("--cprofile", action="store_true",
                    help="also run the backlog under cProfile (slow; call counts)")
    args = ap.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    t_start = time.perf_counter()
    print("Mail intake benchmark: SMTP acceptance, 250 -> registered, registration from a "
          "backlog")
    machine(backends, args.pg_url)
    print(METHOD.format(cores=os.cpu_count()))
    print(f"levels: {', '.join(map(str, LEVELS))} clients x {args.messages} messages; backlog "
          f"{args.backlog} messages; [mail] parse_processes = {args.parse_processes}")
    clients = Clients()
    try:
        for b in backends:
            try:
                run_backend(b, args, clients)
            except Exception as e:  # e.g. no PostgreSQL here: report it, carry on
                print(f"\n{b}: could not run: {type(e).__name__}: {e}")
    finally:
        clients.close()
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
