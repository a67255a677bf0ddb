"""``supportbot import``: a mailbox's history in as tickets, at their original dates, with
progress (``adapters/mail/history.py`` says how: answered to nobody, resumable, bad mail
quarantined).

Progress goes to stderr (``adapters/cli/progress.py``: a bar on a terminal, else a line at
each tenth of the way); the summary goes to stdout. Ctrl-C stops after the message
being taken (which is then imported or not at all), prints the summary so far and exits 130;
running the command again goes on where it stopped.
"""

from __future__ import annotations

import contextlib
import mailbox
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import click

from adapters.cli.options import pass_app

if TYPE_CHECKING:
    from adapters.bootstrap import App

limit_option = click.option("--limit", type=click.IntRange(min=1), default=None,
                            help="look at the first N messages only (a later run goes on)")


@click.group("import")
def import_group() -> None:
    """Bring a mailbox's history in as tickets, at the messages' own dates.

    From an mbox FILE, a Maildir DIRECTORY or a folder of the ``[imap]`` account.

    Nobody is answered or paged for what is imported; messages stored before (by an earlier
    import, or by any intake) are skipped, so a stopped import goes on when run again.
    """


@import_group.command("mbox")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@limit_option
@pass_app
def import_mbox(app: App, file: Path, limit: int | None) -> None:
    """The messages of an mbox FILE (each behind a ``From `` postmark line), in file order."""
    try:
        box = mailbox.mbox(file, factory=None, create=False)
        keys = box.keys()  # a table of offsets: the messages are read one at a time
    except OSError as e:
        raise click.FileError(str(file), e.strerror or str(e)) from None
    # with its postmark, as ``ingest`` keeps an mbox's messages (the parser reads it)
    messages = (box.get_bytes(key, from_=True) for key in keys)
    _import(app, f"mbox:{file.resolve()}", messages, len(keys), limit)


@import_group.command("maildir")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@limit_option
@pass_app
def import_maildir(app: App, directory: Path, limit: int | None) -> None:
    """The messages of a Maildir DIRECTORY (its ``new`` and ``cur``), in name order."""
    if not ((directory / "cur").is_dir() and (directory / "new").is_dir()):
        raise click.BadParameter(f"{directory} is not a maildir (no cur/ and new/ in it)",
                                 param_hint="DIRECTORY")
    box = mailbox.Maildir(directory, factory=None, create=False)
    keys = sorted(box.keys())  # names start with the delivery time: roughly oldest first

    def messages() -> Iterator[bytes]:
        for key in keys:
            try:
                yield box.get_bytes(key)
            except KeyError:  # taken away meanwhile (by a mail client): nothing to import
                continue

    _import(app, f"maildir:{directory.resolve()}", messages(), len(keys), limit)


@import_group.command("imap")
@click.option("--folder", default=None, help="the folder to read (default: imap.folder)")
@limit_option
@pass_app
def import_imap(app: App, folder: str | None, limit: int | None) -> None:
    """The messages of a folder of the ``[imap]`` account, oldest first, read only (nothing
    is marked seen or moved; the poller's own position is left as it is)."""
    from adapters.mail.imap_history import folder_messages, imap_config

    config = imap_config(app.settings, folder)
    count, messages = folder_messages(config)
    with contextlib.closing(messages):
        _import(app, f"imap:{config.key}", messages, count, limit)


def _import(app: App, source: str, messages: Iterable[bytes], total: int,
            limit: int | None) -> None:
    from adapters.mail.history import HistoryImport, Summary

    if limit is not None:
        total = min(total, limit)
        messages = islice(messages, limit)
    importer = HistoryImport(app.uow, app.mail.intake, app.clock, source=source)
    from adapters.cli.progress import Progress

    summary = Summary()
    bar = Progress(unit="msg", what="messages")
    try:
        importer.run(messages, summary, lambda s: bar.advance(
            s.seen, total, taken=s.taken, dup=s.duplicates, quarantined=s.quarantined))
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"interrupted: {summary.line()}; run the same command again to go on")
        raise SystemExit(130) from None
    bar.close()
    click.echo(summary.line())
