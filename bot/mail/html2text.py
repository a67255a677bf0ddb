"""HTML to readable text with the stdlib parser: nothing is executed, fetched or followed."""

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
        if tag in SKIPPED and tag not in VOID:
            self.skip_stack.append(tag)
            return
        if self.skip_stack:
            return
        if tag == "br":
            self._newline()
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
        if tag in BLOCKS or tag == "li":
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
        if self.current:
            self._newline()
        joined = "\n".join(line.rstrip().replace("\xa0", " ") for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


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
