"""html_to_text on markup the corpus showed it mishandling: an unclosed ``<head>``, links."""

from __future__ import annotations

from bot.mail import strip_quoted
from bot.mail.html2text import html_to_text


def test_an_unclosed_head_ends_where_the_body_starts() -> None:
    # ruby-mail's error_emails__cant_parse_from.eml and similar_boundaries.eml: no </head>
    assert html_to_text("<html><head>\n<body>\nFrom one piece.<br></body></html>") == (
        "From one piece."
    )
    html = '<html><head><meta charset="utf-8"><title>T</title>\n<body><p>Test</p></body>'
    assert html_to_text(html) == "Test"
    assert html_to_text("<head><title>T</title><p>no body tag</p>") == "no body tag"


def test_a_closed_head_and_its_content_stay_hidden() -> None:
    html = "<head><title>Title</title><style>p {x: y;}</style></head><body>shown</body>"
    assert html_to_text(html) == "shown"
    assert html_to_text("<head><script>var a = '<p>';</script></head><p>b</p>") == "b"


def test_links_keep_their_address_after_the_text() -> None:
    html = (
        '<p>See <a href="https://status.example/incident/42">the status page</a> and write to '
        '<a href="mailto:ops@provider.example">us</a>.</p>'
    )
    assert html_to_text(html) == (
        "See the status page (https://status.example/incident/42) and write to "
        "us (ops@provider.example)."
    )


def test_a_link_shown_as_its_address_is_not_repeated() -> None:
    html = (
        '<a href="https://x.example/">https://x.example</a> '
        '<a href="mailto:a@b.example">a@b.example</a> '
        '<a href="https://x.example/a">x.example/a</a>'
    )
    assert html_to_text(html) == "https://x.example a@b.example x.example/a"


def test_links_without_a_web_or_mail_address_or_text_add_nothing() -> None:
    html = (
        '<a href="#top">top</a> <a href="javascript:alert(1)">run</a> '
        '<a href="https://t.example/p.gif"><img src="x"></a> <a name="x">anchor</a>'
    )
    assert html_to_text(html) == "top run anchor"


def test_a_reply_in_html_leaves_neither_history_nor_its_rule() -> None:
    # talon's comcast.eml, HTML part: the history follows an <hr>
    html = (
        "<div>Hello</div><br><hr><div><b>From: </b>bob@example.com<br><b>To: </b>"
        "ann@example.com<br><b>Sent: </b>Monday, April 2, 2012 5:44:22 PM<br><b>Subject: </b>"
        "Test<br><br>Hi</div>"
    )
    assert strip_quoted(html_to_text(html)) == "Hello"


def test_a_gmail_reply_in_html_keeps_only_the_answer() -> None:
    html = (
        '<div dir="ltr">Restarted, works.</div><div class="gmail_quote"><div>On Mon, Apr 2, '
        "2012 at 6:26 PM, Ann &lt;ann@example.com&gt; wrote:<br></div><blockquote "
        'class="gmail_quote">Can you restart it?</blockquote></div>'
    )
    assert strip_quoted(html_to_text(html)) == "Restarted, works."
