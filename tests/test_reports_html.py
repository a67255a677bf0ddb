"""The HTML report read as a browser would: parsed, its tables and its legend as text, and every
SVG label inside its drawing (no browser is installed here: the width of a label is estimated
from its length at the 12px font the page sets, generously)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from bot.model import EventKind
from bot.reports import render
from bot.reports.text import csv_rows
from tests.test_reports import SPRINT, bxl, report, ticket

CHAR_PX = 7.2
"""Average width of a character of 12px system-ui (0.6 em): wider than most of them."""


class Page(HTMLParser):
    """Tables under their heading, the legend's text, and each SVG's width and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = ""
        self.tables: dict[str, list[list[str]]] = {}
        self.legend: list[str] = []
        self.svgs: list[tuple[float, list[tuple[float, str]]]] = []
        self._stack: list[str] = []
        self._text: list[str] = []
        self._in_legend = 0
        self._label_x: float | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._stack.append(tag)
        if tag in ("h2", "td", "th"):
            self._text = []
        if tag == "tr" and self._stack.count("table"):
            self.tables.setdefault(self.heading, []).append([])
        if "legend" in (a.get("class") or "").split():
            self._in_legend = len(self._stack)
        if tag == "svg":
            self.svgs.append((float(a["width"] or 0), []))
        if tag == "text" and self.svgs:
            self._label_x = float(a.get("x") or 0)
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        text = " ".join("".join(self._text).split())
        if tag == "h2":
            self.heading = text
        elif tag in ("td", "th") and self._stack.count("table"):
            self.tables[self.heading][-1].append(text)
        elif tag == "text" and self._label_x is not None:
            self.svgs[-1][1].append((self._label_x, text))
            self._label_x = None
        if self._in_legend == len(self._stack):
            self._in_legend = 0
        self._stack.pop()

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._in_legend:
            self.legend.append(data)


def parsed(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    return p


def sample():  # type: ignore[no-untyped-def]
    mon = bxl(2026, 11, 23, 9)
    return report([
        ticket(1, mon, "P1", (EventKind.RESPONDED, bxl(2026, 11, 23, 10)),
               (EventKind.CAUSE_CONFIRMED, bxl(2026, 11, 23, 10)),
               (EventKind.RESOLVED, bxl(2026, 11, 25, 12))),  # resolution late
        ticket(2, mon, "P3", (EventKind.RESPONDED, bxl(2026, 11, 23, 11))),
        ticket(3, bxl(2026, 11, 24, 14), "P2"),  # never answered: response breached
    ], SPRINT, datetime(2026, 12, 10, tzinfo=UTC))


def test_the_html_report_has_the_per_ticket_table_md_and_csv_have() -> None:
    r = sample()
    page = parsed(render(r, "html"))
    head, *rows = page.tables["Tickets"]
    assert head[:4] == ["Ticket", "Priority", "Subject", "Registered"]
    assert head[-1] == "Hours logged"
    assert [row[0] for row in rows] == [t.reference for t in r.tickets] == \
        ["T-1001", "T-1002", "T-1003"]
    for row, want in zip(rows, csv_rows(r), strict=True):
        cells = dict(zip(head, row, strict=True))
        assert cells["Subject"] == want["subject"] and cells["Registered"] == want["registered"]
        for clock in r.clock_names:
            assert cells[f"{clock}"].startswith(want[f"{clock}_outcome"])
            assert cells[f"{clock} due"] == want[f"{clock}_due"]
            assert cells[f"{clock} stopped"] == want[f"{clock}_stopped"]
            assert cells[f"{clock} used"] == want[f"{clock}_used"]
    assert dict(zip(head, rows[2], strict=True))["response"].startswith("breached")


def test_the_chart_legend_is_whole_and_explains_every_colour() -> None:
    page = parsed(render(sample(), "html"))
    legend = " ".join("".join(page.legend).split())
    assert "Bars, left to right in each priority: response, resolution." in legend, legend
    assert "Blue bar: the share of clocks met (response darker, resolution lighter)" in legend
    assert "Red bar: below the target share" in legend
    assert "Black tick: the target share" in legend
    assert "Dash: no clock counted" in legend
    # every label of every chart lies inside its drawing: nothing is cut off
    for width, labels in page.svgs:
        for x, text in labels:
            assert x + len(text) * CHAR_PX <= width, f"{text!r} at x={x} overflows {width}px"


def test_the_legend_swatches_use_the_chart_colours() -> None:
    page = render(sample(), "html")
    legend = page.split('class="legend"', 1)[1].split("</ul>", 1)[0]
    bars = set(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"', page.split("<svg", 2)[1]))
    swatches = set(re.findall(r"background:(#[0-9a-f]{6})", legend))
    assert bars <= swatches | {"#c0392b"} and "#c0392b" in swatches and "#000000" in swatches
