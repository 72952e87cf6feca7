"""The renderer: stored article HTML -> what the reader sees (Rich text, and plain text for
`docbao read`). Every test looks at the output a reader would get."""

from __future__ import annotations

import html as html_lib
import io
import re
import time
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text

from tests.helpers import DATA, shared_path
from tui.content.render import IMAGE_META, LINK_META, Rendered, render_article, render_html, rewrap, to_plain
from tui.content.sanitize import sanitize_html

SEED_HTML = DATA / "render" / "seed.html"
HOSTILE = ["[bold]", "[/]", "[@click=app.quit]", "[link=file:///etc/passwd]", "[RFC]", "[/bold]"]


def plain(html: str, width: int = 80, base_url: str = "") -> str:
    return to_plain(render_html(html, base_url=base_url), width)


def style_of(rendered: Rendered, needle: str) -> Style:
    """The combined style a terminal would give the first character of `needle`."""
    offset = rendered.text.plain.index(needle)
    styles = [span.style for span in rendered.text.spans if span.start <= offset < span.end]
    return Style.combine([Style(), *(s if isinstance(s, Style) else Style.parse(s) for s in styles)])


# In plain text the article's link, its media lines and each entry of the link list are
# one line however long: a URL folded over two lines is two broken links to copy.
_WHOLE_URL_LINE = re.compile(r" *(\[\d+\] +)?(.* · )?[a-zA-Z][a-zA-Z0-9+.-]*:\S+")


def assert_fits(text: str, width: int) -> None:
    for line in text.split("\n"):
        if _WHOLE_URL_LINE.fullmatch(line):
            continue
        assert cell_len(line) <= width, f"{cell_len(line)} cells > {width}: {line!r}"


def bad_characters(text: str) -> set[str]:
    """Characters that could drive a terminal: controls (but newline) and bidi overrides."""
    bidi = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x61C)}
    return {ch for ch in text if (unicodedata.category(ch) == "Cc" and ch != "\n") or ch in bidi}


def words(text: str) -> list[str]:
    return text.split()


# -- block structure -------------------------------------------------------------------------


def test_paragraphs_are_separated_by_one_blank_line_and_whitespace_collapses() -> None:
    html = "<p>  one\n   two\t\tthree  </p>\n\n\n<p>four <b> five </b> six</p>text after"
    assert plain(html) == "one two three\n\nfour five six\n\ntext after"


def test_headings_stand_apart_and_are_bold() -> None:
    rendered = render_html("<p>before</p><h2>The heading</h2>text<h3>Small</h3><p>after</p>")
    assert to_plain(rendered, 80) == "before\n\nThe heading\n\ntext\n\nSmall\n\nafter"
    assert style_of(rendered, "The heading").bold
    assert style_of(rendered, "The heading").underline
    assert style_of(rendered, "Small").bold
    assert not style_of(rendered, "text").bold


def test_line_breaks_are_kept_but_runs_of_them_show_one_blank_line() -> None:
    html = "<p>line one<br>line two<br/><br><br><br>line three</p><p><br>lead break</p>"
    assert plain(html) == "line one\nline two\n\nline three\n\nlead break"


def test_emphasis_styles() -> None:
    rendered = render_html(
        "<p><em>em</em> <i>i</i> <strong>strong</strong> <b>b</b> <u>u</u> <del>del</del> "
        "<s>s</s> <strong><em>both</em></strong></p>"
    )
    assert rendered.text.plain == "em i strong b u del s both"
    assert style_of(rendered, "em").italic and style_of(rendered, "i ").italic
    assert style_of(rendered, "strong").bold and style_of(rendered, "b ").bold
    assert style_of(rendered, "u ").underline
    assert style_of(rendered, "del").strike and style_of(rendered, "s ").strike
    both = style_of(rendered, "both")
    assert both.bold and both.italic
    assert not style_of(rendered, " i").italic  # the space between em and i is plain


def test_inline_code_is_styled_and_kept_exact() -> None:
    rendered = render_html("<p>Call <code>f(x) [1]</code> now</p>")
    assert rendered.text.plain == "Call f(x) [1] now"
    assert style_of(rendered, "f(x)").bgcolor is not None
    assert style_of(rendered, "Call").bgcolor is None


def test_pre_keeps_whitespace_verbatim_and_is_a_shaded_block() -> None:
    html = "<p>before</p><pre>\ndef f(x):\n    y  =  x   # spaced\n\treturn y\n\n  end</pre><p>after</p>"
    rendered = render_html(html, width=60)
    text = to_plain(rendered, 60)
    assert text == (
        "before\n\ndef f(x):\n    y  =  x   # spaced\n        return y\n\n  end\n\nafter"
    )
    assert style_of(rendered, "def f").bgcolor is not None
    # the block is shaded evenly: every line of it is padded to the same width
    lines = rendered.text.plain.split("\n")[2:7]
    assert len({cell_len(line) for line in lines}) == 1


def test_long_pre_lines_fold_without_losing_a_character() -> None:
    line = "x = [" + ", ".join(str(n) for n in range(40)) + "]"
    text = to_plain(render_html(f"<pre>{line}</pre>"), 30)
    assert_fits(text, 30)
    assert text.replace("\n", "") == line


def test_long_code_lines_wrap_on_screen_with_a_mark_and_lose_nothing() -> None:
    code = ("    result = compute(first_argument, second_argument, third_argument)\n"
            "short\n"
            "  x = '" + "y" * 70 + "'")
    rendered = render_html(f"<pre>{code}</pre>", width=30)
    shown = rendered.text.plain.split("\n")
    assert_fits(rendered.text.plain, 30)
    assert [line.rstrip() for line in shown[:4]] == [
        "    result = compute(",  # broken after the bracket, not inside a word
        "    ↪ first_argument,",  # continuations keep the line's indentation and say they continue
        "    ↪ second_argument,",
        "    ↪ third_argument)",
    ]
    assert shown[4].rstrip() == "short"
    assert all(line.startswith("  ↪ ") for line in shown[6:] if line.strip())
    # every character is on screen, in order, between the marks
    assert re.sub(r"\s|↪", "", rendered.text.plain) == re.sub(r"\s", "", code)
    assert to_plain(rendered, 30).replace("\n", "") == code.replace("\n", "")  # plain text: folded, no mark


def test_unordered_lists_use_bullets_and_hanging_indent() -> None:
    html = (
        "<ul><li>first item</li><li>second item that is long enough to wrap onto another line"
        "<ul><li>nested one</li><li>nested two<ul><li>third level</li></ul></li></ul></li>"
        "<li>last</li></ul>"
    )
    assert plain(html, 30) == (
        "• first item\n"
        "• second item that is long\n"
        "  enough to wrap onto another\n"
        "  line\n"
        "  ◦ nested one\n"
        "  ◦ nested two\n"
        "    ▪ third level\n"
        "• last"
    )


def test_ordered_lists_number_and_align_their_markers() -> None:
    items = "".join(f"<li>item {n}</li>" for n in range(1, 12))
    text = plain(f"<ol>{items}</ol>")
    lines = text.split("\n")
    assert lines[0] == " 1. item 1"
    assert lines[8] == " 9. item 9"
    assert lines[10] == "11. item 11"
    assert plain('<ol start="4"><li>four<li>five</ol>') == "4. four\n5. five"
    assert plain('<ol reversed><li>three<li>two<li>one</ol>') == "3. three\n2. two\n1. one"
    assert plain('<ol type="a"><li>x<li>y</ol>') == "a. x\nb. y"
    assert plain('<ol type="I" start="3"><li>x<li>y</ol>') == "III. x\n IV. y"


def test_ordered_list_wraps_under_the_text_not_the_number() -> None:
    items = "".join(f"<li>{'word ' * (n % 3 + 1)}</li>" for n in range(9)) + "<li>" + "long " * 12 + "</li>"
    last = plain(f"<ol>{items}</ol>", 30).split("\n")[-3:]
    assert last == ["10. long long long long long", "    long long long long long", "    long long"]


def test_list_items_with_paragraphs_are_loose() -> None:
    html = "<ul><li><p>para one</p><p>para two</p></li><li><p>next</p></li></ul>"
    assert plain(html) == "• para one\n\n  para two\n\n• next"


def test_block_quotes_put_a_gutter_on_every_wrapped_line() -> None:
    html = (
        "<p>intro</p><blockquote><p>" + "quoted words " * 10 + "</p><p>second</p>"
        "<blockquote>inner quote</blockquote></blockquote><p>outro</p>"
    )
    for rendered_text in (plain(html, 40), render_html(html, width=40).text.plain):
        lines = rendered_text.split("\n")
        assert lines[0] == "intro" and lines[-1] == "outro"
        quote = lines[2:-2]
        assert len(quote) > 4
        assert all(line.startswith("▌") for line in quote), quote
        assert "▌ ▌ inner quote" in quote
        assert "▌" in quote  # the blank line between quoted paragraphs keeps its gutter
        assert_fits(rendered_text, 40)


def test_definition_lists() -> None:
    rendered = render_html("<dl><dt>Term</dt><dd>" + "definition " * 8 + "</dd><dt>Other</dt><dd>x</dd></dl>")
    text = to_plain(rendered, 40)
    assert text.split("\n") == [
        "Term",
        "    definition definition definition",
        "    definition definition definition",
        "    definition definition",
        "Other",
        "    x",
    ]
    assert style_of(rendered, "Term").bold


TABLE = (
    "<table><caption>Results</caption><thead><tr><th>Name</th><th>Score</th><th>Note</th></tr></thead>"
    "<tbody><tr><td>Lan</td><td>9</td><td>đứng đầu lớp</td></tr>"
    "<tr><td>Minh Khôi</td><td>10</td><td>tiến bộ</td></tr></tbody></table>"
)


def test_tables_line_up_in_columns() -> None:
    text = plain(TABLE)
    lines = text.split("\n")
    assert lines[0] == "Results"
    rows = [line for line in lines[1:] if "│" in line]
    assert len(rows) == 3
    columns = {tuple(m.start() for m in re.finditer("│", row)) for row in rows}
    assert len(columns) == 1  # the separators are at the same place on every row
    assert rows[0].split("│")[0].strip() == "Name"
    assert [cell.strip() for cell in rows[2].split("│")] == ["Minh Khôi", "10", "tiến bộ"]
    assert re.fullmatch("─+┼─+┼─+", lines[2])  # a rule under the header


def test_tables_wrap_cells_in_narrow_columns_and_stack_when_too_narrow() -> None:
    long_cells = "<table><tr><th>Key</th><th>Value</th></tr><tr><td>k</td><td>" + "long words " * 8 + "</td></tr></table>"
    text = plain(long_cells, 30)
    assert_fits(text, 30)
    assert words(text.replace("│", " ").replace("─", " ").replace("┼", " ")) == ["Key", "Value", "k"] + ["long", "words"] * 8
    stacked = plain(TABLE, 16)
    assert_fits(stacked, 16)
    assert "Name:\n  Lan\nScore:\n  9\nNote:\n  đứng đầu lớp" in stacked
    assert "Minh Khôi" in stacked


def test_table_cells_keep_their_links_and_colspans() -> None:
    html = (
        '<table><tr><td colspan="2">wide <a href="https://example.org/t">cell</a></td></tr>'
        "<tr><td>a</td><td>b</td></tr></table>"
    )
    rendered = render_html(html)
    text = to_plain(rendered, 80)
    assert "wide cell[1]" in text
    assert rendered.links == ["https://example.org/t"]
    assert text.split("\n")[1].startswith("a") and text.split("\n")[1].rstrip().endswith("b")


def test_images_show_their_alt_text_and_number_their_url() -> None:
    html = (
        '<p>See <img src="https://example.org/a.jpg" alt="a map of the  province"> and '
        '<img src="data:image/png;base64,AAAA" alt="inline"> and <img src="https://example.org/b.png">'
        '<img src="https://tracker.example/p.gif" width="1" height="1" alt="pixel"></p>'
    )
    rendered = render_html(html)
    text = to_plain(rendered, 80)
    assert text.split("\n")[0] == "See [image: a map of the province][1] and [image: inline] and [image][2]"
    assert rendered.links == ["https://example.org/a.jpg", "https://example.org/b.png"]
    assert "pixel" not in text and "tracker" not in text
    assert style_of(rendered, "[image: a map").italic


def test_horizontal_rules_span_the_width() -> None:
    text = plain("<p>above</p><hr><p>below</p>", 33)
    assert text == "above\n\n" + "─" * 33 + "\n\nbelow"
    quoted = plain("<blockquote>q<hr>r</blockquote>", 20).split("\n")
    assert "▌ " + "─" * 18 in quoted


def test_links_are_numbered_in_order_of_first_appearance() -> None:
    html = (
        '<p><a href="https://a.example/">one</a> <a href="https://b.example/x?y=1&amp;z=2">two</a> '
        '<a href="https://a.example/">again</a> <a href="javascript:alert(1)">script</a> '
        '<a href="file:///etc/passwd">file</a> <a href="mailto:toasoan@example.org">mail</a> '
        '<a href="/tin-tuc/bai-2">relative</a> <a href="#top">anchor</a> <a>no href</a></p>'
    )
    rendered = render_html(html, base_url="https://news.example/a/b.html")
    text = to_plain(rendered, 200)
    assert text.split("\n")[0] == (
        "one[1] two[2] again[1] script file mail[3] relative[4] anchor no href"
    )
    assert rendered.links == [
        "https://a.example/",
        "https://b.example/x?y=1&z=2",
        "mailto:toasoan@example.org",
        "https://news.example/tin-tuc/bai-2",
    ]
    assert text.split("\n")[-4:] == [
        "[1] https://a.example/",
        "[2] https://b.example/x?y=1&z=2",
        "[3] mailto:toasoan@example.org",
        "[4] https://news.example/tin-tuc/bai-2",
    ]
    # the Rich text carries the same list, and link text is underlined
    assert rendered.text.plain.endswith("[4] https://news.example/tin-tuc/bai-2")
    assert style_of(rendered, "one").underline
    # without a base a relative link cannot be opened, so it gets no number
    assert plain('<a href="/x">rel</a>') == "rel"


def test_unknown_tags_show_their_text() -> None:
    html = "<custom-card><blink>blinking</blink> <marquee>moving</marquee> <x:tag>ns</x:tag></custom-card>"
    assert plain(html) == "blinking moving ns"


def test_script_style_and_comments_are_never_shown() -> None:
    html = (
        "<p>a</p><script>alert('x')<p>no</p></script><style>p { color: red }</style>"
        "<SCRIPT type=text/javascript >var y = '</scr' + 'ipt>';</SCRIPT ><!-- hidden --><template><p>t</p></template>"
        "<p>b</p><script>never closed <p>z</p>"
    )
    text = plain(html)
    assert words(text) == ["a", "b"]
    assert "alert" not in text and "color" not in text and "hidden" not in text and "never" not in text


def test_entities_are_decoded() -> None:
    html = "<p>AT&amp;T &lt;b&gt; &eacute;&#233;&#xE9; &#x1EA1; a&nbsp;b &copy; &hellip; &bogus;</p>"
    assert plain(html) == "AT&T <b> ééé ạ a\u00a0b © … &bogus;"


def test_broken_html_still_shows_all_text_in_order() -> None:
    cases = {
        "<p>one<p>two<div>three</div>four": ["one", "two", "three", "four"],
        "<b><i>bold italic</b> italic?</i> plain": ["bold", "italic", "italic?", "plain"],
        "<ul><li>a<li>b</ul></li></ul>c": ["•", "a", "•", "b", "c"],
        "<table><tr><td>x<td>y<tr><td>z</table>after": ["x", "│", "y", "z", "after"],
        "<table><tr><td>x<td>y<tr><td colspan=2>z</table>": ["x", "│", "y", "z"],
        "text <a href=https://e.org/ unclosed link": ["text"],
        "</p></div></span>stray ends<br/>": ["stray", "ends"],
        "<p>1 < 2 and 3 > 2</p>": ["1", "<", "2", "and", "3", ">", "2"],
        "<<p>>x": ["<", ">x"],
        "<p attr='unterminated>gone": [],
    }
    for html, expected in cases.items():
        assert words(plain(html)) == expected, html


# -- safety ----------------------------------------------------------------------------------


def test_rich_markup_in_feed_text_stays_literal() -> None:
    body = "<p>" + " ".join(html_lib.escape(h) for h in HOSTILE) + "</p>"
    rendered = render_article(
        title="[bold red]Title[/] [@click=app.quit]",
        feed="[link=file:///etc/passwd]Feed[/link]",
        author="[/]",
        published=None,
        link="https://example.org/a",
        html=body + '<p><img alt="[@click=app.quit]" src="https://example.org/i.png"></p>',
    )
    text = rendered.text.plain
    for hostile in HOSTILE:
        assert hostile in text
    assert text.startswith("[bold red]Title[/] [@click=app.quit]\n[link=file:///etc/passwd]Feed[/link] · [/]")
    assert "[image: [@click=app.quit]]" in text
    for span in rendered.text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
        # no terminal link or action-bearing spans: the only meta are the image's own index
        # and a link's number (which the reader opens through its browser rules)
        assert style.link is None and set(style.meta) <= {IMAGE_META, LINK_META}
        assert all(isinstance(value, int) for value in style.meta.values())
    # what a terminal receives shows the brackets too
    terminal = io.StringIO()
    Console(width=100, file=terminal, force_terminal=True, color_system="truecolor").print(rendered.text)
    exported = terminal.getvalue()
    assert "[@click=app.quit]" in exported and "[link=file:///etc/passwd]Feed[/link]" in exported


def test_control_characters_never_reach_the_output() -> None:
    nasty = "&#x1b;[31mred&#x1B;]0;title&#7; \x1b[2J\x9b1m bell\x07 nul\x00 &#0; &#x9b; rtl\u202eevil\u2066x"
    rendered = render_article(
        title="tit\x1b[0mle\u202e",
        feed="fe\x07ed",
        author="au\x9bthor",
        published=0,
        link="https://example.org/\x1b]8;;x",
        html=f'<p title="x">{nasty}</p><p><img alt="a&#x1b;[1mlt" src="https://e.org/i.png"></p><pre>{nasty}</pre>'
        f'<a href="https://e.org/&#x1b;[1m">l</a>',
    )
    for text in (rendered.text.plain, to_plain(rendered, 40), to_plain(rendered, 80)):
        assert bad_characters(text) == set()
        assert "[31mred" in text  # the harmless rest stays
    assert all(bad_characters(url) == set() for url in rendered.links)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.text(),
            st.sampled_from(
                ["<p>", "</p>", "<ul>", "<li>", "</ul>", "<ol start=9>", "<blockquote>", "</blockquote>",
                 "<pre>", "</pre>", "<table>", "<tr>", "<td>", "<th>", "</table>", "<br>", "<hr>", "<b>",
                 "</i>", "<a href='https://x.org/'>", "</a>", "<img src=https://x.org/i alt='&#x1b;'>",
                 "<script>", "</script>", "<!--", "-->", "&#x1b;", "&#x202e;", "&amp;", "\t", "\u0301",
                 "中文", "🇻🇳", "<dl><dt>", "<dd>", "<h2>", "<code>", "\x1b[31m", "[bold]", "[/]"]
            ),
        ),
        max_size=40,
    ).map("".join),
    st.integers(min_value=2, max_value=120),
)
@example(html="<PRE>00⺀", width=3)  # a wide character after the wrap mark overflowed the line
@example(html="<LI><TABLE>yy zz中文", width=8)  # a column as wide as its longest word got a cell more
@example(html="<A HREF=0>0", width=3)  # a link list line, whole in plain text, lost its "[1] " to the width
def test_any_input_renders_without_error_or_control_characters(html: str, width: int) -> None:
    rendered = render_html(html, base_url="https://example.org/a/")
    assert bad_characters(rendered.text.plain) == set()
    text = to_plain(rendered, width)
    assert bad_characters(text) == set()
    assert_fits(text, width)
    assert_fits(render_html(html, width=width).text.plain, width)


# -- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "opening, closing",
    [("<div>", "</div>"), ("<blockquote>", "</blockquote>"), ("<ul><li>", "</li></ul>"),
     ("<b>", "</b>"), ("<table><tr><td>", "</td></tr></table>"), ("<span><p>", "</p></span>")],
)
def test_ten_thousand_levels_of_nesting(opening: str, closing: str) -> None:
    html = opening * 10_000 + "deepest words" + closing * 10_000 + "<p>after</p>"
    rendered = render_html(html)
    text = to_plain(rendered, 80)
    assert "deepest words" in text and text.rstrip().endswith("after")
    assert_fits(text, 80)  # indentation stops growing instead of pushing text off screen


def test_unclosed_nesting_and_runs_of_tag_openers() -> None:
    assert plain("<blockquote>" * 10_000 + "x") == "▌ " * 8 + "x"
    assert plain("<ol><li>" * 10_000 + "x") == "1. " * 9 + "x"  # 8 levels indent, the item shows its number
    assert plain("<a href='https://e.org/'>" * 5000 + "x") == "x[1]\n\n[1] https://e.org/"
    # inputs the standard library's parser needs minutes for
    assert plain("<!--" * 50_000) == ""
    assert plain("<?" * 50_000) == ""
    assert plain("</" * 50_000) == ""
    assert set(plain("<" * 50_000, 1000).replace("\n", "")) == {"<"}


def test_a_five_megabyte_article_renders_completely() -> None:
    paragraph = (
        "<p>Lãnh đạo <b>Trung ương</b> làm việc với <a href='https://example.org/{n}'>Ban Thường vụ</a> "
        "Tỉnh ủy Thái Nguyên &amp; công tác xây dựng, chỉnh đốn Đảng.</p>\n"
    )
    count = 5_000_000 // len(paragraph)
    html = "".join(paragraph.replace("{n}", str(n % 1000)) for n in range(count))
    rendered = render_html(html, width=100)
    assert len(rendered.links) == 1000
    text = rendered.text.plain
    assert text.count("Lãnh đạo Trung ương") == count
    assert_fits(to_plain(rendered, 80), 80)


# -- the seed article ------------------------------------------------------------------------


def seed_paragraphs() -> list[str]:
    """The text of each block of the fixture, read with a regex, not with the renderer."""
    source = SEED_HTML.read_text(encoding="utf-8")
    found = re.findall(r"<(h1|p|figcaption)[^>]*>(.*?)</\1>", source)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", inner)) for _, inner in found]


def render_seed(width: int | None = None) -> Rendered:
    return render_article(
        title="Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên",
        feed="Báo Thái Nguyên",
        author="Thu Hiền",
        published=1590243720,
        link="https://example.org/thoi-su/lanh-dao-trung-uong",
        html=SEED_HTML.read_text(encoding="utf-8"),
        width=width,
    )


def test_seed_article_keeps_every_paragraph_and_diacritic() -> None:
    rendered = render_seed()
    text = to_plain(rendered, 100_000)  # wide enough that every paragraph is one line
    lines = text.split("\n")
    paragraphs = seed_paragraphs()
    assert len(paragraphs) == 10
    for paragraph in paragraphs:
        assert paragraph in lines, paragraph[:60]
    assert unicodedata.is_normalized("NFC", text)
    assert "[image: lanh dao trung uong lam viec voi ban thuong vu tinh uy][1]" in lines
    assert rendered.links == ["https://example.org/anh/lanh-dao-trung-uong.jpg"]
    assert lines[-3:] == ["Thu Hiền", "", "[1] https://example.org/anh/lanh-dao-trung-uong.jpg"]
    assert style_of(rendered, "Ngày 23/5").bold  # the lead is strong


def test_seed_article_matches_the_original_text() -> None:
    original = shared_path("seed", "article-thai-nguyen.txt").read_text(encoding="utf-8")
    blocks = original.split("\n\n")
    body = [blocks[2], blocks[4], blocks[5].split("\n")[1], *blocks[6:11], blocks[11].strip()]
    lines = to_plain(render_seed(), 100_000).split("\n")
    for paragraph in body:
        assert paragraph in lines, paragraph[:60]


def test_decomposed_input_comes_out_composed() -> None:
    nfc = SEED_HTML.read_text(encoding="utf-8")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert render_html(nfd).text.plain == render_html(nfc).text.plain


@pytest.mark.parametrize("width", [40, 80])
def test_seed_article_wraps_to_the_width_and_keeps_all_words(width: int) -> None:
    rendered = render_seed()
    unwrapped = to_plain(rendered, 100_000)
    text = to_plain(rendered, width)
    assert_fits(text, width)

    def body_of(text: str) -> str:  # between the header's rule and the link list
        return text.split("─\n\n", 1)[1].rpartition("\n\n[1] ")[0]

    assert words(body_of(text)) == words(body_of(unwrapped))
    link_list = text.rpartition("\n\n[1] ")[2]
    assert link_list == "https://example.org/anh/lanh-dao-trung-uong.jpg"  # one line, whole
    # the Rich text laid out at the same width fits too
    assert_fits(rewrap(rendered, width).text.plain, width)


def test_seed_rich_text_equals_plain_layout() -> None:
    rendered = render_seed(width=60)
    assert rendered.text.plain.rstrip() == "\n".join(
        line.rstrip() for line in rendered.text.plain.split("\n")
    ).rstrip()
    assert [line.rstrip() for line in rendered.text.plain.split("\n")] == to_plain(rendered, 60).split("\n")


# -- the article header ----------------------------------------------------------------------


@pytest.fixture
def hanoi_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "ICT-7")  # POSIX form of UTC+7, needs no zone database
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_article_header(hanoi_time: None) -> None:
    rendered = render_seed(width=80)
    lines = rendered.text.plain.split("\n")
    assert lines[0] == "Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên"
    assert lines[1] == "Báo Thái Nguyên · Thu Hiền · 2020-05-23 21:22"
    assert lines[2] == "https://example.org/thoi-su/lanh-dao-trung-uong"
    assert lines[3] == "─" * 80
    assert lines[4] == ""
    assert style_of(rendered, "Lãnh đạo").bold
    assert not style_of(rendered, "Báo Thái").bold


def test_article_header_leaves_out_what_is_missing() -> None:
    rendered = render_article(title="T", feed="F", author="", published=None, link="", html="")
    assert rendered.text.plain == "T\nF\n" + "─" * 40
    assert rendered.links == []


def test_an_undated_article_has_the_date_it_was_first_seen_said_so(hanoi_time: None) -> None:
    # the list shows that date for it: the header says the same, and what it is
    seen = render_article(title="T", feed="F", author="A", published=None, link="", html="", seen=1_590_243_720)
    assert seen.text.plain.split("\n")[1] == "F · A · seen 2020-05-23 21:22"
    dated = render_article(title="T", feed="F", author="", published=1_590_243_720, link="", html="", seen=1)
    assert dated.text.plain.split("\n")[1] == "F · 2020-05-23 21:22"


def test_relative_links_resolve_against_the_article_link() -> None:
    rendered = render_article(
        title="T", feed="F", author="A", published=None, link="https://news.example/2020/05/bai.html",
        html='<p><a href="../06/tiep.html">next</a> <img src="anh.jpg" alt="x"></p>',
    )
    assert rendered.links == ["https://news.example/2020/06/tiep.html", "https://news.example/2020/05/anh.jpg"]


# -- widths ----------------------------------------------------------------------------------


def test_wide_and_combining_characters_are_measured_in_cells() -> None:
    cjk = "<p>" + "中文新闻阅读器测试" * 6 + " 한국어 뉴스 リーダー</p>"
    thai = "<p>" + "กำลังอ่านข่าวที่นี่ " * 8 + "</p>"
    for html in (cjk, thai):
        for width in (7, 10, 33):
            text = to_plain(render_html(html), width)
            assert_fits(text, width)
            assert text.replace("\n", "").replace(" ", "") == plain(html, 10_000).replace(" ", "")
            for line in text.split("\n"):
                assert not line or unicodedata.category(line[0]) != "Mn"  # marks stay with their letter
    # wide text fills the line instead of leaving half of it empty
    assert to_plain(render_html("<p>" + "中" * 20 + "</p>"), 10).split("\n") == ["中" * 5] * 4


def test_long_words_and_urls_fold_instead_of_overflowing() -> None:
    url = "https://example.org/" + "a" * 150
    rendered = render_html(f"<p>see {url} here</p><p><a href='{url}'>link</a></p>")
    text = to_plain(rendered, 40)
    assert_fits(text, 40)
    body, _, listed = text.partition("\n\n[1] ")
    assert url in body.replace("\n", "").replace("    ", "")  # text folds
    assert listed == url  # the link list keeps it on one line
    assert cell_len(render_html(f"<p><a href='{url}'>link</a></p>", width=40).text.plain.split("\n")[-1]) == 40


def test_rewrap_lays_the_same_article_out_at_a_new_width() -> None:
    rendered = render_html("<blockquote>" + "một hai ba bốn năm " * 20 + "</blockquote>", width=80)
    narrow = rewrap(rendered, 30)
    assert narrow.links == rendered.links
    assert [w for w in words(narrow.text.plain) if w != "▌"] == ["một", "hai", "ba", "bốn", "năm"] * 20
    assert_fits(narrow.text.plain, 30)
    assert len(narrow.text.plain.split("\n")) > len(rendered.text.plain.split("\n"))
    assert all(line.startswith("▌ ") for line in narrow.text.plain.split("\n"))


def test_without_a_width_paragraphs_stay_whole_for_the_widget_to_wrap() -> None:
    rendered = render_html("<p>" + "word " * 100 + "</p><p>second</p>")
    assert rendered.text.plain == ("word " * 100).strip() + "\n\nsecond"
    assert isinstance(rendered.text, Text)


def test_to_plain_of_a_hand_made_rendered() -> None:
    rendered = Rendered(Text("alpha beta gamma delta"), [])
    assert to_plain(rendered, 11) == "alpha beta\ngamma delta"


def test_stored_html_with_a_noscript_fallback_shows_the_image_not_markup() -> None:
    """Lazy-loading plugins put the real <img> in <noscript>; the sanitizer must not turn
    it into escaped markup that the reader would see as text."""
    feed_html = (
        '<p>Ảnh:</p><img data-src="https://example.org/a.jpg" alt="cầu">'
        '<noscript><img src="https://example.org/a.jpg" alt="cầu"></noscript><p>Hết.</p>'
    )
    rendered = render_html(sanitize_html(feed_html))
    text = to_plain(rendered, 80)
    assert "<img" not in text and "&lt;" not in text
    assert "[image: cầu][1]" in text
    assert rendered.links == ["https://example.org/a.jpg"]


def test_blocks_inside_quotes_and_list_items_keep_their_prefix() -> None:
    quoted_table = plain("<blockquote><table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table></blockquote>")
    assert quoted_table == "▌ A │ B\n▌ ──┼──\n▌ 1 │ 2"
    code_in_item = plain("<ul><li>item<pre>code  line\n  two</pre>after</li></ul>")
    assert code_in_item == "• item\n\n  code  line\n    two\n\n  after"
    nested = plain("<table><tr><td>outer<table><tr><td>in1</td><td>in2</td></tr></table></td><td>x</td></tr></table>")
    assert words(nested.replace("│", " ")) == ["outer", "x", "in1", "in2"]


def test_embedded_frames_show_no_fallback_markup() -> None:
    assert plain("<p>a <iframe src='https://v.example/'><p>fallback</p></iframe>b</p>") == "a b"


def test_stored_frames_show_their_fallback_as_markup_never_as_tags() -> None:
    stored = sanitize_html("<p>a <iframe src='https://v.example/e'><a href='https://v.example/w'>watch</a>"
                           "</iframe> b</p>")
    assert plain(stored) == "a watch[1] b\n\n[1] https://v.example/w"


def test_stored_mathml_and_svg_keep_their_text_not_their_scripts() -> None:
    stored = sanitize_html(
        "<p>so <math><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow></math> holds</p>"
        "<svg viewBox='0 0 9 9'><title>Chart</title><script>alert(1)</script><style>t{}</style>"
        "<text>left</text><text>right</text><circle r='4'/></svg>"
    )
    assert words(plain(stored)) == ["so", "a+b", "holds", "Chart", "left", "right"]


def test_stored_cdata_markers_and_unclosed_comments_hide_no_text() -> None:
    assert plain(sanitize_html("<p>one <![CDATA[<b>two</b>]]> three</p>")) == "one <![CDATA[two]]> three"
    assert plain(sanitize_html("<p>one <!-- never closed > two</p><p>three</p>")) == "one two\n\nthree"
    assert plain(sanitize_html("<p>one <!-- closed --> two</p>")) == "one two"


def test_a_tag_reads_the_same_however_long_the_fragment() -> None:
    # One tokenizer for the sanitizer's rebuild (fragments of more than 64 tags) and the
    # renderer: an unquoted value ending in "/" right before ">" keeps its slash, as in
    # browsers and as nh3 alone reads a short fragment, and <image> is the void <img>.
    tail = '<p><a href=mailto:news@e.org/>write</a> <IMAGE src=https://e.org/i.png alt=pic>after</p>'
    short, long = sanitize_html(tail), sanitize_html("<p>x</p>" * 70 + tail)
    assert long == "<p>x</p>" * 70 + short
    assert '<a href="mailto:news@e.org/">write</a>' in short
    assert plain(long).endswith("write[1] [image: pic][2]after\n\n[1] mailto:news@e.org/\n[2] https://e.org/i.png")


@pytest.mark.parametrize("width", [40, 74, 76, 116])
def test_the_header_never_parts_a_date_from_its_time(hanoi_time: None, width: int) -> None:
    # the reader at 80x24 showed "… · Thu Hiền (tt@baothainguyen.vn) · 2024-11-20" / "08:00"
    published = int(time.mktime((2024, 11, 20, 8, 0, 0, 0, 0, -1)))
    rendered = render_article(
        title="Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên",
        feed="Báo Thái Nguyên – Tin tức", author="Thu Hiền (tt@baothainguyen.vn)", published=published,
        link="https://baothainguyen.vn/chinh-tri/202411/lanh-dao-trung-uong-3166512.html", html="<p>Nội dung</p>",
        width=width)
    text = rendered.text.plain
    assert_fits(text, width)
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("Báo Thái"))
    meta = lines[first : next(i for i, line in enumerate(lines) if line.startswith("https://"))]
    assert any(line.endswith("2024-11-20 08:00") for line in meta), meta
    assert not any(line.startswith("·") for line in meta), meta  # a line breaks after a "·"
    assert " ".join(meta) == "Báo Thái Nguyên – Tin tức · Thu Hiền (tt@baothainguyen.vn) · 2024-11-20 08:00"
    if width >= 78:
        assert len(meta) == 1
    # docbao read prints ordinary spaces, for scripts that read the date
    assert "Thu Hiền (tt@baothainguyen.vn) · 2024-11-20 08:00" in to_plain(rendered, 200)
    assert "\u00a0" not in to_plain(rendered, width) and "\u00a0" not in text


def test_a_date_format_of_several_words_stays_on_one_line(hanoi_time: None) -> None:
    published = int(time.mktime((2024, 11, 20, 8, 0, 0, 0, 0, -1)))
    rendered = render_article(title="T", feed="Báo Thái Nguyên – Tin tức", author="Thu Hiền", published=published,
                              link="", html="", width=44, date_format="%a %d %b %Y %H:%M")
    lines = rendered.text.plain.split("\n")
    assert lines[1:3] == ["Báo Thái Nguyên – Tin tức · Thu Hiền ·", "Wed 20 Nov 2024 08:00"]


def test_a_links_text_and_its_number_carry_the_number_a_click_opens() -> None:
    rendered = render_html('<p>See <a href="https://a.example/x">the <b>docs</b></a> or '
                           '<a href="https://a.example/y">that</a>, not this.</p>')
    text = rendered.text
    numbers = {}
    for span in text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
        if LINK_META in style.meta:
            numbers[text.plain[span.start:span.end]] = style.meta[LINK_META]
    assert numbers == {"the ": 1, "docs": 1, "[1]": 1, "that": 2, "[2]": 2,  # in the text
                       "[1] ": 1, "https://a.example/x": 1, "[2] ": 2, "https://a.example/y": 2}  # listed at the end
    assert rendered.links == ["https://a.example/x", "https://a.example/y"]


def test_a_tracking_pixel_is_dropped_and_a_body_of_one_is_empty() -> None:
    """An image 1 by 1 (pixel.wp.com's, in every item of a WordPress feed) is never fetched
    nor drawn; an item whose description is only that has no text, and says so."""
    pixel = ('<img alt="" border="0" src="http://pixel.wp.com/b.gif?host=indianexpress.com&#038;blog=53855017"'
             ' width="1" height="1" />')
    assert sanitize_html(pixel) == ""
    assert sanitize_html(f"<p>Lãnh đạo</p>{pixel}") == "<p>Lãnh đạo</p>"
    assert sanitize_html("<img src='https://a.example/t.gif' width='0' height='0px'>") == ""
    for kept in ('<img src="https://a.example/line.png" width="600" height="1">',
                 '<img src="https://a.example/photo.jpg">'):
        assert sanitize_html(kept) == kept
    from tui.feeds.parse import parse_feed

    feed = parse_feed(f"""<?xml version="1.0"?><rss version="2.0"><channel><title>World</title>
        <item><title>China takes global lead</title><link>https://a.example/1</link>
        <description><![CDATA[{pixel}]]></description></item></channel></rss>""".encode())
    assert feed.articles[0].content == ""


def test_superscripts_and_subscripts_keep_their_meaning() -> None:
    """Flattened, N<sup>2</sup>/2 read "N2/2" and 1101<sub>2</sub> "11012": where Unicode
    writes the characters raised or lowered they are, else the text is marked ^(…) or _(…)."""
    rendered = render_html("<p>H<sub>2</sub>O and x<sup>2</sup>, N<sup>2</sup>/2, 1101<sub>2</sub>, "
                           "x<sup>n+1</sup>; 2<sup>H</sup>, e<sup>i&pi;</sup>, x<sub>i,j</sub>, "
                           "a<sup><b>bold</b></sup></p>")
    assert rendered.text.plain == ("H₂O and x², N²/2, 1101₂, xⁿ⁺¹; 2^(H), e^(iπ), x_(i,j), a^(bold)")


def test_narrow_table_columns_keep_whole_words_when_they_fit() -> None:
    """At 60 columns a six-column table broke "Canonical" into "Canonica" and "l" while
    other columns had room: each column is at least as wide as its longest word when
    all of them fit."""
    rendered = render_html("<table><tr><th>Size</th><th>Canonical</th><th>All</th><th>All, Cumulative</th>"
                           "<th>Generate</th><th>Search</th></tr><tr><td>0</td><td>1</td><td>1</td><td>1</td>"
                           "<td>1µs</td><td>1µs</td></tr></table>")
    text = to_plain(rendered, 56)
    assert all(len(line) <= 56 for line in text.splitlines())
    header = text.splitlines()[0]
    assert "Canonical" in header and "Generate" in header and "Search" in header
    assert "Cumulative" in text  # wrapped at its space, whole


def test_code_is_turned_round_for_a_light_theme() -> None:
    """The renderer's code greys are light on dark; in a light theme (solarized-light) the
    reader shows them dark on light, and leaves a dark theme's as they are."""
    from rich.segment import Segment

    from tui.content.render import CODE, CODE_BLOCK
    from tui.ui.widgets.article_view import code_for_theme

    lines = [[Segment("x = 1", CODE_BLOCK), Segment(" and "), Segment("y", CODE)]]
    assert code_for_theme(lines, dark=True) is lines
    block, plain_text, inline = code_for_theme(lines, dark=False)[0]
    assert (block.text, plain_text, inline.text) == ("x = 1", Segment(" and "), "y")
    for segment in (block, inline):
        assert segment.style is not None and segment.style.color is not None and segment.style.bgcolor is not None
        foreground, background = segment.style.color.get_truecolor(), segment.style.bgcolor.get_truecolor()
        assert sum(foreground) < sum(background)  # dark text on a light ground


# -- the list of links -----------------------------------------------------------------------

# A "Top stories - Google News" item (extractus/feed-extractor's realworld RSS, MIT): five
# stories and the full coverage, each link a redirect of 120 to 240 characters.
GOOGLE_NEWS_URLS = [
    "https://news.google.com/__i/rss/rd/articles/CBMiWWh0dHBzOi8vd3d3LmNubi5jb20vMjAyMi8wNy8yNy9wb2xpdGljcy9zY2h1"
    "bWVyLW1hbmNoaW4tZGVhbC1idWlsZC1iYWNrLWJldHRlci9pbmRleC5odG1s0gFdaHR0cHM6Ly9hbXAuY25uLmNvbS9jbm4vMjAyMi8wNy8y"
    "Ny9wb2xpdGljcy9zY2h1bWVyLW1hbmNoaW4tZGVhbC1idWlsZC1iYWNrLWJldHRlci9pbmRleC5odG1s?oc=5",
    "https://news.google.com/__i/rss/rd/articles/CBMiZWh0dHBzOi8vd3d3LmZveG5ld3MuY29tL3BvbGl0aWNzL21hbmNoaW4tc2No"
    "dW1lci1hZ3JlZS1yZWNvbmNpbGlhdGlvbi1kZWFsLWFmdGVyLW1vcmUtdGhhbi15ZWFyLXRhbGtz0gEA?oc=5",
    "https://news.google.com/__i/rss/rd/articles/CBMiK2h0dHBzOi8vd3d3LnlvdXR1YmUuY29tL3dhdGNoP3Y9bGxYQzJhNVcwR2fSAQA?oc=5",
    "https://news.google.com/__i/rss/rd/articles/CBMiTGh0dHBzOi8vd3d3Lm55dGltZXMuY29tLzIwMjIvMDcvMjcvdXMvcG9saXRp"
    "Y3MvbWFuY2hpbi1jbGltYXRlLXRheC1iaWxsLmh0bWzSAQA?oc=5",
    "https://news.google.com/__i/rss/rd/articles/CBMiWmh0dHBzOi8vd3d3LmZveG5ld3MuY29tL3BvbGl0aWNzL2xhd21ha2Vycy1y"
    "ZWFjdC1tYW5jaGluLXNjaHVtZXItYWdyZWUtcmVjb25jaWxpYXRpb24tZGVhbNIBAA?oc=5",
    "https://news.google.com/stories/CAAqNggKIjBDQklTSGpvSmMzUnZjbmt0TXpZd1NoRUtEd2l5MV9uU0JSRXJHak9UYVpSMTJpZ0FQAQ?oc=5",
]
GOOGLE_NEWS_TITLES = [
    "In a major boost to Democrats, Manchin and Schumer announce deal for energy and health care bill",
    "Manchin, Schumer agree to vastly pared back version of Build Back Better",
    "Senate Democrats reach deal on Inflation Reduction Act",
    "Manchin, in Reversal, Agrees to Quick Action on Climate and Tax Plan",
    "Lawmakers react after Manchin, Schumer agree to reconciliation deal: 'Build Back Broke'",
]
GOOGLE_NEWS_ITEM = "<ol>" + "".join(
    f'<li><a href="{url}">{html_lib.escape(title)}</a>&nbsp;&nbsp;<font>News</font></li>'
    for url, title in zip(GOOGLE_NEWS_URLS, GOOGLE_NEWS_TITLES)
) + f'<li><strong><a href="{GOOGLE_NEWS_URLS[-1]}">View Full Coverage on Google News</a></strong></li></ol>'


@pytest.mark.parametrize("width", [76, 116, 40])
def test_each_listed_link_takes_one_line_on_screen_its_start_and_end_kept(width: int) -> None:
    rendered = render_article(title="In a major boost to Democrats - CNN", feed="Top stories - Google News",
                              author="", published=None, link=GOOGLE_NEWS_URLS[0], html=GOOGLE_NEWS_ITEM,
                              width=width)
    lines = rendered.text.plain.split("\n")
    assert_fits(rendered.text.plain, width)
    first = next(index for index, line in enumerate(lines) if line.startswith("[1] "))
    listed = lines[first:]
    # one line a link, where each wrapped to two to four
    assert [line.split(" ", 1)[0] for line in listed] == [f"[{n}]" for n in range(1, 7)]
    for number, (line, url) in enumerate(zip(listed, GOOGLE_NEWS_URLS), 1):
        shown = line.split(" ", 1)[1]
        start, mark, end = shown.partition("…")
        assert mark and url.startswith(start) and url.endswith(end), line
        assert start.startswith("https://news.google.com/") and end.endswith("?oc=5")
        # the whole line, the mark too, opens that link when clicked
        offset = rendered.text.plain.index(line)
        for position in range(offset, offset + len(line.rstrip())):
            assert style_of_offset(rendered, position).meta.get(LINK_META) == number, (line, position)
    # the number keys and the link prompt open the whole link
    assert rendered.links == GOOGLE_NEWS_URLS


def style_of_offset(rendered: Rendered, offset: int) -> Style:
    styles = [span.style for span in rendered.text.spans if span.start <= offset < span.end]
    return Style.combine([Style(), *(s if isinstance(s, Style) else Style.parse(s) for s in styles)])


def test_docbao_read_lists_the_links_whole() -> None:
    # plain text (docbao read, the pipe command) is for scripts and pagers: every link whole
    rendered = render_html(GOOGLE_NEWS_ITEM)
    text = to_plain(rendered, 76)
    listed = text.rpartition("\n\n[1] ")[2]
    assert "…" not in text
    assert listed.split("\n") == [f"[{n}] {url}" if n > 1 else url for n, url in enumerate(GOOGLE_NEWS_URLS, 1)]


def test_a_short_link_in_the_list_is_shown_whole() -> None:
    rendered = render_html('<p><a href="https://vnexpress.net/da-nang-4790123.html">Đà Nẵng</a></p>', width=50)
    assert rendered.text.plain.split("\n")[-1] == "[1] https://vnexpress.net/da-nang-4790123.html"
