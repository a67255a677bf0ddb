"""HTML to readable text with the stdlib parser: nothing is executed, fetched or followed.

Kept over the libraries (issue 15), measured by ``bench/text_bench.py`` on the 42 distinct HTML
parts of ``../shared/corpus`` (28 with a plain alternative); recall is the share of the plain
alternative's words found in the text, noise the share of the text's words it lacks:

=============  ======  =====  =====  =====  =======  ===========
converter      recall  noise  links  leaks  replies  ms/part p50
=============  ======  =====  =====  =====  =======  ===========
this, before   78.6%   13.4%  1/69   0      5/6      0.08
this, now      87.8%   14.1%  65/69  1      6/6      0.09
inscriptis     85.6%   12.4%  1/69   0      2/6      0.09
html-text      87.1%   16.5%  1/69   1      5/6      0.07
html2text      86.6%   20.7%  69/69  1      3/6      0.18
=============  ======  =====  =====  =====  =======  ===========

``replies``: talon's HTML replies that give exactly their answer after ``strip_quoted``. No
library marks ``<blockquote>`` history as quoted (inscriptis and html-text lose it into the
reply), html2text writes Markdown (``**``, ``[text](url)``: the noise) and is GPL-3.0, and
inscriptis and html-text bring lxml for no better text. What the libraries did better, taken
here instead: a ``<head>`` left unclosed ends at the first body element (two corpus mails came
out empty), and a link's address follows its text, ``text (https://...)`` as Slack links are
stored, unless the text shows the address already. The one leak is a tag cut off by the end of
the part (``<a href="http://...``), printed as the text it is.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SKIPPED = frozenset({"script", "style", "head", "title", "template", "object", "iframe", "svg"})
"""Elements whose content is never shown."""

BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "nav", "aside", "main",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "table", "thead",
        "tbody", "tfoot", "tr", "pre", "address", "center", "form", "fieldset", "figure",
        "blockquote", "hr", "body", "html",
    }
)  # fmt: skip
"""Elements that start and end a line."""

CELLS = frozenset({"td", "th"})
WHITESPACE = re.compile(r"\s+")
NOT_A_TAG = re.compile(r"<(?![A-Za-z/!?])")
MAX_QUOTE_DEPTH = 10
MAX_TAG_CHARS = 16 * 1024
"""A ``<`` with no ``>`` this close is text: keeps the stdlib parser linear on broken markup."""
HEAD_CONTENT = frozenset({"title", "meta", "link", "style", "script", "base", "noscript"})
"""What may stand in ``<head>``; any other start tag ends a ``<head>`` left unclosed."""
LINK_TARGET = re.compile(r"\s*(https?://\S+|mailto:\S+)\s*$", re.I)
SCHEME = re.compile(r"^(https?://|mailto:)(www\.)?", re.I)
VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.has_text = False  # the current line holds more than whitespace
        self.tail = ""  # the last characters appended to the current line
        self.skip_stack: list[str] = []
        self.quote_depth = 0
        self.line_depth = 0
        self.pre = 0
        self.link: tuple[str, list[str]] | None = None  # the open <a>: address, text shown

    def _end_link(self) -> None:
        """After a link's text, its address in parentheses, unless the text shows it already."""
        if self.link is None:
            return
        address, shown = self.link
        self.link = None
        text = "".join(shown).strip()
        if text and _bare(text) != _bare(address):
            shown_address = address[7:] if address[:7].lower() == "mailto:" else address
            self._append(f" ({shown_address})")

    def _append(self, text: str) -> None:
        self.current.append(text)
        self.has_text = self.has_text or bool(text.strip())
        self.tail = (self.tail + text)[-2:]

    def _newline(self) -> None:
        text = "".join(self.current).rstrip()
        depth = min(self.line_depth, MAX_QUOTE_DEPTH)
        prefix = "> " * depth if text else ">" * depth
        self.lines.append(prefix + text if self.line_depth else text)
        self.current = []
        self.has_text = False
        self.tail = ""
        self.line_depth = self.quote_depth

    def _block(self) -> None:
        if self.has_text:
            self._newline()
        elif self.current:
            self.current = []
            self.tail = ""
        self.line_depth = self.quote_depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_stack and self.skip_stack[0] == "head":
            if tag == "body":
                self.skip_stack.clear()
            elif self.skip_stack == ["head"] and tag not in HEAD_CONTENT:
                self.skip_stack.pop()
        if tag in SKIPPED and tag not in VOID:
            self.skip_stack.append(tag)
            return
        if self.skip_stack:
            return
        if tag == "br":
            self._newline()
        elif tag == "a":
            self._end_link()
            href = LINK_TARGET.match(dict(attrs).get("href") or "")
            if href:
                self.link = (href.group(1), [])
        elif tag == "li":
            self._block()
            self._append("- ")
        elif tag in CELLS:
            if self.has_text:
                self._append("  ")
        elif tag in BLOCKS:
            self._block()
            if tag == "blockquote":
                self.quote_depth += 1
                self.line_depth = self.quote_depth
            elif tag == "pre":
                self.pre += 1
            elif tag == "hr":
                self.lines.append("-" * 8)

    def handle_endtag(self, tag: str) -> None:
        if self.skip_stack:
            if tag == self.skip_stack[-1] or tag in self.skip_stack:
                while self.skip_stack and self.skip_stack.pop() != tag:
                    pass
            return
        if tag == "a":
            self._end_link()
        elif tag in BLOCKS or tag == "li":
            self._block()
            if tag == "blockquote" and self.quote_depth:
                self.quote_depth -= 1
                self.line_depth = self.quote_depth
            elif tag == "pre" and self.pre:
                self.pre -= 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip_stack and tag == "br":
            self._newline()
        elif not self.skip_stack and tag == "hr":
            self._block()
            self.lines.append("-" * 8)

    def handle_data(self, data: str) -> None:
        if self.skip_stack:
            return
        if self.link is not None:
            self.link[1].append(data)
        if self.pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._newline()
                self._append(part)
            return
        text = WHITESPACE.sub(" ", data)
        if not self.current or self.tail.endswith(" "):
            text = text.lstrip()
        if text:
            self._append(text)

    def text(self) -> str:
        self._end_link()
        if self.current:
            self._newline()
        joined = "\n".join(line.rstrip().replace("\xa0", " ") for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


def _bare(address: str) -> str:
    return SCHEME.sub("", address.strip()).rstrip("/").casefold()


def _defuse(html: str) -> str:
    """Escape every ``<`` that cannot start a tag (no ``>`` within ``MAX_TAG_CHARS``); the
    stdlib parser rescans the rest of the input for each such ``<``."""
    html = NOT_A_TAG.sub("&lt;", html)
    out: list[str] = []
    pos = 0
    close = -1
    lt = html.find("<")
    while lt != -1:
        if close < lt:
            close = html.find(">", lt)
            if close == -1:
                out.append(html[pos:lt])
                out.append(html[lt:].replace("<", "&lt;"))
                return "".join(out)
        if close - lt > MAX_TAG_CHARS:
            out.append(html[pos:lt])
            out.append("&lt;")
            pos = lt + 1
        lt = html.find("<", lt + 1)
    out.append(html[pos:])
    return "".join(out)


def html_to_text(html: str) -> str:
    """Visible text of ``html``: scripts/styles dropped, block elements on their own lines,
    entities unescaped, ``<blockquote>`` content prefixed with ``> `` like a quoted reply."""
    builder = _TextBuilder()
    try:
        builder.feed(_defuse(html))
        builder.close()
    except (AssertionError, ValueError, IndexError):  # malformed markup: keep what was read
        pass
    return builder.text()
