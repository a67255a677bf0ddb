"""HTML to text and quote stripping: the bot's own modules against kept libraries, on
``../shared/corpus`` and the labelled replies of ``bench/text_cases.py``.

    .venv/bin/python bench/text_bench.py [--list]

HTML (every distinct ``text/html`` part of the corpus, read with the bot's MIME helpers):

- ``recall``: of the words of the ``text/plain`` alternative (when the part has one, in a
  ``multipart/alternative``), the share found in the converted text (word counts, case folded):
  how much of the visible text survives;
- ``noise``: of the converted text's words, the share the plain alternative lacks (markup,
  leaked styles, Markdown link syntax, ...);
- ``links``: of the ``<a href>`` targets (http, https, mailto) whose anchor text is not already
  the address, the share whose address is in the text;
- ``leaks``: parts whose text shows CSS rules, script code, comments, tags or entities
  (``{...:...;}``, ``function(``, ``<!--``, ``<tag``, ``&name;``);
- ``replies``: of talon's HTML replies, how many give exactly "Hello" after the bot's
  ``strip_quoted`` (``<blockquote>`` history must come out marked as quoted; outlook.eml is
  left out: its HTML part answers something else than its plain part);
- ms per part (median and worst, over 5 rounds), and parts where the converter raised.

Quotes (the labelled cases; corpus mail read with ``parse_message``): ``kept`` every fragment of
the new text still there, ``cut`` no fragment of the history left, ``exact`` the expected reply
exactly (where known), with ms per reply. Prints figures, asserts nothing, exits 0. Needs the
bench extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import email
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import html2text as h2t  # noqa: E402
import html_text  # noqa: E402
import inscriptis  # noqa: E402
import quotequail  # noqa: E402
from email_reply_parser import EmailReplyParser as ErpParser  # noqa: E402
from mailparser_reply import EmailReplyParser as MprParser  # noqa: E402

from bench.text_cases import CORPUS, HELD_OUT, WRITTEN, Case  # noqa: E402
from bot.mail import parse_message, strip_quoted  # noqa: E402
from bot.mail.html2text import html_to_text  # noqa: E402
from bot.mail.mime import children, content_type, part_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
WORD = re.compile(r"\w+")
LEAK = re.compile(
    r"\{[^{}]*:[^{}]*;|function\s*\(|<!--|-->|<\s*/?\s*[a-z][a-z0-9]*[\s>/]|&[a-z]{2,8};", re.I
)
ROUNDS = 5


def _html2text(html: str) -> str:
    conv = h2t.HTML2Text()
    conv.body_width = 0  # no re-wrapping
    return conv.handle(html)


HTML_CONVERTERS: dict[str, Callable[[str], str]] = {
    "bot": html_to_text,
    "inscriptis": inscriptis.get_text,
    "html-text": html_text.extract_text,
    "html2text": _html2text,
}

MPR = MprParser(languages=["en", "de", "fr", "nl", "es", "it", "sv", "da", "pl", "cs"])


def _quotequail(text: str) -> str:
    parts = quotequail.quote(text, quote_intro_line=True)  # the attribution goes with the quote
    return "\n".join(part for new, part in parts if new).strip()


QUOTE_STRIPPERS: dict[str, Callable[[str], str]] = {
    "bot": strip_quoted,
    "mail-parser-reply": lambda t: MPR.parse_reply(t) or "",
    "email-reply-parser": ErpParser.parse_reply,
    "quotequail": _quotequail,
}


@dataclass
class HtmlPart:
    name: str
    html: str
    plain: str | None


def _links(html: str) -> list[str]:
    """``href`` targets whose anchor text is not the address itself."""

    class Anchors(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.found: list[tuple[str, list[str]]] = []
            self.open: tuple[str, list[str]] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            href = dict(attrs).get("href") or ""
            if tag == "a" and re.match(r"(https?|mailto):", href.strip(), re.I):
                self.open = (href.strip(), [])
                self.found.append(self.open)

        def handle_endtag(self, tag: str) -> None:
            if tag == "a":
                self.open = None

        def handle_data(self, data: str) -> None:
            if self.open is not None:
                self.open[1].append(data)

    parser = Anchors()
    try:
        parser.feed(html)
    except Exception:
        return []
    out = []
    for href, text in parser.found:
        shown = "".join(text).strip()
        bare = re.sub(r"^mailto:", "", href, flags=re.I)
        if shown and shown.rstrip("/") not in (href.rstrip("/"), bare.rstrip("/")):
            out.append(bare)
    return out


def html_parts() -> list[HtmlPart]:
    """Each ``text/html`` part of the corpus, with its plain alternative if it has one."""
    found: list[HtmlPart] = []

    def walk(name: str, part: Message, depth: int) -> None:
        if depth > 20:
            return
        ctype = content_type(part)
        kids = children(part)
        if ctype == "multipart/alternative":
            plain = next((k for k in kids if content_type(k) == "text/plain"), None)
            for kid in kids:
                if content_type(kid) == "text/html":
                    text = part_text(plain)[0] if plain is not None else None
                    found.append(HtmlPart(name, part_text(kid)[0], text))
            kids = [k for k in kids if content_type(k) not in ("text/html", "text/plain")]
        elif ctype == "text/html":
            found.append(HtmlPart(name, part_text(part)[0], None))
        for kid in kids:
            walk(name, kid, depth + 1)

    for path in sorted(SHARED.rglob("*")):
        if not path.is_file() or path.suffix in (".tsv", ".md") or "LICENSES" in path.parts:
            continue
        msg = email.message_from_bytes(path.read_bytes(), policy=compat32)
        walk(str(path.relative_to(SHARED)), msg, 0)
    seen: set[str] = set()
    unique = []
    for part in found:  # the same part repeated (the nesting bomb's ~3000) counts once
        if part.html.strip() and part.html not in seen:
            seen.add(part.html)
            unique.append(part)
    return unique


@dataclass
class HtmlFigures:
    recall: list[float] = field(default_factory=list)
    noise: list[float] = field(default_factory=list)
    links: list[int] = field(default_factory=lambda: [0, 0])
    leaks: list[str] = field(default_factory=list)
    replies: list[int] = field(default_factory=lambda: [0, 0])
    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _words(text: str) -> Counter[str]:
    return Counter(w.casefold() for w in WORD.findall(text))


def measure_html(parts: list[HtmlPart], convert: Callable[[str], str]) -> HtmlFigures:
    fig = HtmlFigures()
    for part in parts:
        times = []
        text = ""
        try:
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                text = convert(part.html)
                times.append(time.perf_counter() - t0)
        except Exception as exc:
            fig.errors.append(f"{part.name}: {type(exc).__name__}")
            continue
        fig.ms.append(statistics.median(times) * 1000)
        got = _words(text)
        if part.plain is not None and part.plain.strip():
            want = _words(part.plain)
            if want:
                fig.recall.append(sum((got & want).values()) / sum(want.values()))
            if got:
                fig.noise.append(sum((got - want).values()) / sum(got.values()))
        targets = _links(part.html)
        fig.links[1] += len(targets)
        fig.links[0] += sum(1 for t in targets if t in text)
        if LEAK.search(text):
            fig.leaks.append(part.name)
        if part.name.startswith("talon/standard_replies") and "outlook" not in part.name:
            fig.replies[1] += 1
            fig.replies[0] += strip_quoted(text) == "Hello"
    return fig


def _mean(values: list[float]) -> str:
    return f"{statistics.mean(values) * 100:5.1f}%" if values else "    -"


def report_html(show: bool) -> None:
    parts = html_parts()
    paired = sum(1 for p in parts if p.plain and p.plain.strip())
    print(
        f"HTML: {len(parts)} text/html parts of {len({p.name for p in parts})} corpus files, "
        f"{paired} with a plain alternative\n"
    )
    print(
        f"{'converter':12s} {'recall':>7s} {'noise':>7s} {'links':>9s} {'leaks':>6s} "
        f"{'replies':>8s} {'ms p50':>7s} {'ms max':>7s} {'errors':>6s}"
    )
    for name, convert in HTML_CONVERTERS.items():
        fig = measure_html(parts, convert)
        ms = fig.ms or [0.0]
        print(
            f"{name:12s} {_mean(fig.recall):>7s} {_mean(fig.noise):>7s} "
            f"{fig.links[0]:4d}/{fig.links[1]:<4d} {len(fig.leaks):6d} "
            f"{fig.replies[0]:3d}/{fig.replies[1]:<4d} {statistics.median(ms):7.2f} "
            f"{max(ms):7.1f} {len(fig.errors):6d}"
        )
        if show:
            for leak in fig.leaks:
                print(f"    leak: {leak}")
            for error in fig.errors:
                print(f"    error: {error}")


def case_text(case: Case) -> str:
    if case.text is not None:
        return case.text
    assert case.file is not None
    data = (SHARED / case.file).read_bytes()
    return parse_message(data).text if case.file.endswith(".eml") else data.decode("utf-8")


def judge(case: Case, reply: str) -> tuple[bool, bool, bool | None]:
    kept = all(k in reply for k in case.keep)
    cut = not any(g in reply for g in case.gone)
    exact = None if case.exact is None else reply.strip() == case.exact
    return kept, cut, exact


def report_quotes(show: bool) -> None:
    cases = [(c, case_text(c)) for c in [*CORPUS, *WRITTEN, *HELD_OUT]]
    langs = sorted({c.lang for c, _ in cases})
    print(
        f"\nQuotes: {len(CORPUS)} corpus replies (English), {len(WRITTEN)} written and "
        f"{len(HELD_OUT)} held out ({', '.join(langs)})\n"
    )
    print(
        f"{'stripper':19s} {'source':7s} {'kept':>7s} {'cut':>7s} {'exact':>7s} {'all':>7s} "
        f"{'ms p50':>7s}  failed"
    )
    for name, strip in QUOTE_STRIPPERS.items():
        for source in ("corpus", "written", "held-out"):
            rows = [(c, t) for c, t in cases if c.source == source]
            kept = cut = exact = whole = n_exact = 0
            ms: list[float] = []
            failed: list[str] = []
            for case, text in rows:
                t0 = time.perf_counter()
                try:
                    reply = strip(text)
                except Exception as exc:
                    reply = f"<{type(exc).__name__}>"
                ms.append((time.perf_counter() - t0) * 1000)
                k, c, e = judge(case, reply)
                kept += k
                cut += c
                n_exact += e is not None
                exact += bool(e)
                ok = k and c and e is not False
                whole += ok
                if not ok:
                    failed.append(case.name)
                    if show:
                        print(f"    {name} {case.name}: {reply[:160]!r}")
            n = len(rows)
            print(
                f"{name:19s} {source:7s} {kept:3d}/{n:<3d} {cut:3d}/{n:<3d} "
                f"{exact:3d}/{n_exact:<3d} {whole:3d}/{n:<3d} {statistics.median(ms):7.3f}  "
                f"{', '.join(failed)}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="name each leak, error and failed reply")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"no corpus at {SHARED}: nothing to measure")
        return
    report_html(args.list)
    report_quotes(args.list)


if __name__ == "__main__":
    main()
