"""Reader mode: the article comes out of its page, the site around it does not.

The seed page is a Vietnamese provincial news article wrapped in its site's chrome (menus,
hotline bar, share buttons, related and most-read lists, comments box, footer), once in UTF-8
and once in windows-1258. The corpus pages are real article pages kept by readability,
newspaper4k and trafilatura for the same purpose.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.content.charset import decode_html
from tui.content.extract import Extract, extract_article
from tui.model import FeedError

PAGES = Path(__file__).parent / "data" / "pages"
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
VIETNAM = timezone(timedelta(hours=7))
SEED_URL = "https://baothainguyen.vn/chinh-tri/202005/lanh-dao-trung-uong-lam-viec-voi-ban-thuong-vu-tinh-uy-thai-nguyen-2729036/"
IMAGE_URL = "https://baothainguyen.vn/file/oldimage/baothainguyen/UserFiles/image/2020/05/23/da-ps-2305.jpg"


def corpus_file(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


# --- the seed article ---------------------------------------------------------------------------


def seed_article() -> dict[str, object]:
    """The seed text split as its page dump is: nav, date bar, headline, time, lead, image alt +
    caption, body paragraphs, author."""
    text = (PAGES / "article-thai-nguyen.txt").read_text(encoding="utf-8")
    blocks = [block.strip() for block in text.split("\n\n") if block.strip()]
    alt, caption = blocks[5].split("\n", 1)
    return {
        "nav": blocks[0], "date_bar": blocks[1], "title": blocks[2], "time": blocks[3],
        "lead": blocks[4], "alt": alt, "caption": caption, "body": blocks[6:-1], "author": blocks[-1],
    }


SEED = seed_article()
# Everything around the article on the page; none of it may reach the reader.
SEED_CHROME = [
    "RSS", "Youtube", "Facebook", "Hotline", "0913.068.624", "0912.194.333", "0912.132.008",
    "Thứ ba 26/05/2020", "Trang chủ", "Văn hóa - Văn nghệ", "Quốc phòng - An ninh", "Tìm kiếm",
    "Chia sẻ", "Zalo", "In bài", "Gửi email", "Từ khóa", "Tin liên quan",
    "Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 28", "Lấy ý kiến góp ý vào dự thảo văn kiện",
    "Ý kiến bạn đọc", "Gửi bình luận", "Bình luận của bạn sẽ được biên tập",
    "Tin cùng chuyên mục", "Nâng cao chất lượng sinh hoạt chi bộ", "Thời gian qua, nhiều chi bộ",
    "Các đại biểu đã thông báo tới cử tri", "Tin mới", "Xuất khẩu chè tăng mạnh", "Đọc nhiều",
    "Mưa lớn gây ngập úng", "Quảng cáo", "Giới thiệu", "Liên hệ", "BÁO THÁI NGUYÊN ĐIỆN TỬ",
    "Báo Thái Nguyên điện tử", "Giấy phép", "Bộ Thông tin và Truyền thông", "Bến Tượng",
    "0208.3855.001", "toasoan@baothainguyen.vn", "Ghi rõ nguồn",
]
SEED_VARIANTS = [
    ("seed-page.html", ""),
    ("seed-page.html", "text/html; charset=utf-8"),
    ("seed-page-windows-1258.html", "text/html"),
    ("seed-page-windows-1258.html", "text/html; charset=windows-1258"),
]


@pytest.fixture(scope="module", params=SEED_VARIANTS, ids=lambda v: f"{v[0]}|{v[1] or 'no header'}")
def seed_extract(request: pytest.FixtureRequest) -> Extract:
    name, content_type = request.param
    return extract_article((PAGES / name).read_bytes(), url=SEED_URL, content_type=content_type)


def test_seed_page_keeps_every_paragraph_of_the_article(seed_extract: Extract) -> None:
    lines = seed_extract.text.split("\n")
    for paragraph in [SEED["lead"], SEED["caption"], *SEED["body"]]:  # type: ignore[list-item]
        assert paragraph in lines
    assert lines[0] == SEED["lead"]
    assert lines[-1] == "Thu Hiền"
    body_html = seed_extract.html
    assert body_html.count("<p>") >= len(SEED["body"]) + 2  # type: ignore[arg-type]
    assert "Phát biểu tai Hội nghị, đồng chí Bí thư Tỉnh ủy Nguyễn Thanh Hải" in body_html


def test_seed_page_drops_the_site_around_the_article(seed_extract: Extract) -> None:
    for chrome in SEED_CHROME:
        assert chrome not in seed_extract.text, chrome
        assert chrome not in seed_extract.html, chrome
    assert SEED["date_bar"] not in seed_extract.text
    # the headline is shown from `title`, not repeated atop the body
    assert not seed_extract.text.startswith(str(SEED["title"]))


def test_seed_page_metadata(seed_extract: Extract) -> None:
    assert seed_extract.title == SEED["title"]
    assert seed_extract.author == "Thu Hiền" == SEED["author"]
    assert seed_extract.published is not None
    shown = datetime.fromtimestamp(seed_extract.published, VIETNAM)
    assert shown.strftime("%H:%M | %d/%m/%Y") == SEED["time"] == "21:22 | 23/05/2020"
    assert seed_extract.lead == SEED["lead"]
    assert seed_extract.image == IMAGE_URL


def test_seed_page_image_is_resolved_and_keeps_its_alt_text(seed_extract: Extract) -> None:
    # the page has src="/file/..."; the reader needs an address it can open
    assert f'<img src="{IMAGE_URL}" alt="{SEED["alt"]}">' in seed_extract.html
    # a one-column layout table (image, caption) becomes an image and a paragraph, not a grid
    assert "<table" not in seed_extract.html
    assert f"<p>{SEED['caption']}</p>" in seed_extract.html


def seed_page_with_a_figure(figure: str) -> str:
    """The seed page with its picture in a <figure> (as the site now writes it) instead of
    its old layout table."""
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    table = re.search(r'<table class="image center".*?</table>', page, flags=re.S)
    assert table is not None
    return page[: table.start()] + figure + page[table.end() :]


def test_a_figure_keeps_its_caption_under_the_picture() -> None:
    # the alt text is written without diacritics; the figcaption is the caption people read
    src = "/file/oldimage/baothainguyen/UserFiles/image/2020/05/23/da-ps-2305.jpg"
    page = seed_page_with_a_figure(
        f'<figure class="image"><img src="{src}" alt="{SEED["alt"]}" width="600" height="400">'
        f'<figcaption>{SEED["caption"]}</figcaption></figure>')
    extract = extract_article(page.encode(), url=SEED_URL)
    picture = f'<img src="{IMAGE_URL}" alt="{SEED["alt"]}">'
    assert picture in extract.html
    assert f"<p>{SEED['caption']}</p>" in extract.html
    assert extract.html.index(picture) < extract.html.index(SEED["caption"])  # beneath the picture
    lines = extract.text.split("\n")
    assert lines.index(SEED["caption"]) == lines.index(SEED["body"][0]) - 1  # type: ignore[index]
    assert lines[0] == SEED["lead"] and lines[-1] == "Thu Hiền"


def test_a_teaser_card_in_a_figure_stays_out() -> None:
    # a figure whose caption is a link to another article is a teaser, not the article's picture
    teaser = ('<figure><a href="/chinh-tri/202005/tiep-xuc-cu-tri-2728950/"><img src="/file/thumb/tiep-xuc-cu-tri.jpg"'
              ' alt="tiep xuc cu tri"></a><figcaption><a href="/chinh-tri/202005/tiep-xuc-cu-tri-2728950/">'
              "Các đại biểu đã thông báo tới cử tri kết quả kỳ họp</a></figcaption></figure>")
    page = seed_page_with_a_figure(teaser)
    extract = extract_article(page.encode(), url=SEED_URL)
    assert "Các đại biểu đã thông báo tới cử tri" not in extract.text
    assert "tiep-xuc-cu-tri.jpg" not in extract.html


def test_windows_1258_page_decodes_to_the_same_text_as_utf8() -> None:
    utf8 = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    legacy = (PAGES / "seed-page-windows-1258.html").read_bytes()
    # the fixture really is windows-1258 with tone marks as separate combining bytes
    assert b"charset=windows-1258" in legacy
    with pytest.raises(UnicodeDecodeError):
        legacy.decode("utf-8")
    assert "quốc".encode("utf-8") not in legacy
    assert b"qu\xf4\xecc" in legacy  # "ố" is "ô" (0xF4) then the combining acute (0xEC)
    text = decode_html(legacy)
    assert unicodedata.is_normalized("NFC", text)
    assert not re.search("[\u0300-\u036f]", text)  # no combining mark left over
    expected = utf8.replace('<meta charset="utf-8">',
                            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">')
    assert text == expected
    # without any declaration, detection still reads it as Vietnamese
    undeclared = re.sub(rb'<meta http-equiv="Content-Type"[^>]*>', b"", legacy)
    assert decode_html(undeclared) == utf8.replace('<meta charset="utf-8">', "")


def test_published_time_wins_over_a_generic_date_meta() -> None:
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    page = page.replace('<meta name="robots"', '<meta name="date" content="2020-05-26T20:33:00+07:00">\n<meta name="robots"', 1)
    extract = extract_article(page.encode(), url=SEED_URL)
    assert extract.published == int(datetime(2020, 5, 23, 21, 22, tzinfo=VIETNAM).timestamp())


def test_visible_date_next_to_the_headline_when_the_page_has_no_date_markup() -> None:
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    page = re.sub(r'<meta property="article:published_time"[^>]*>', "", page)
    assert "2020-05-23" not in page
    extract = extract_article(page.encode(), url=SEED_URL)
    assert extract.published is not None
    # the site's "today" bar (26/05/2020) and related-article dates (20/05/2020) are not it;
    # a bare date is noon UTC, the same calendar day from UTC-12 to UTC+11
    for hours in (-12, 0, 7, 11):
        day = datetime.fromtimestamp(extract.published, timezone(timedelta(hours=hours))).date()
        assert day == date(2020, 5, 23)


def test_a_related_links_list_after_the_byline_goes_and_the_byline_stays() -> None:
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    signed = '<p style="text-align: right;"><strong>Thu Hiền</strong></p>'
    related = (
        "<p><strong>Tin liên quan:</strong></p>\n<ul>\n"
        '<li><a href="/chinh-tri/202005/so-ket-cong-tac-chuan-bi-dai-hoi-2728600/">Sơ kết công tác chuẩn bị'
        " Đại hội Đảng bộ các cấp</a></li>\n"
        '<li><a href="/chinh-tri/202005/kiem-tra-dai-hoi-diem-2728500/">Kiểm tra công tác tổ chức đại hội'
        " điểm cấp cơ sở</a></li>\n</ul>"
    )
    assert signed in page
    page = page.replace(signed, signed + "\n" + related)
    extract = extract_article(page.encode(), url=SEED_URL)
    assert extract.author == "Thu Hiền"
    assert extract.text.endswith("\nThu Hiền")
    for gone in ("Tin liên quan", "Sơ kết công tác chuẩn bị", "Kiểm tra công tác tổ chức"):
        assert gone not in extract.text and gone not in extract.html


def test_a_site_wide_description_in_the_footer_is_not_taken_for_the_lead() -> None:
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    footer_line = "Cơ quan của Đảng bộ Đảng Cộng sản Việt Nam tỉnh Thái Nguyên"
    page = page.replace(f'content="{SEED["lead"]}"', f'content="{footer_line}"')
    page = re.sub(r'<h2 class="detail-sapo">.*?</h2>', "", page, flags=re.S)
    # many sites build the footer from divs, not a <footer> element
    page = page.replace('<footer class="footer">', '<div class="site-bottom">').replace("</footer>", "</div>")
    extract = extract_article(page.encode(), url=SEED_URL)
    assert footer_line not in extract.text
    assert extract.text.split("\n")[0] == SEED["caption"]


def test_base_href_decides_where_relative_images_point() -> None:
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    page = page.replace("<head>", '<head>\n<base href="https://static.baothainguyen.vn/">', 1)
    page = page.replace('<meta property="og:image"', '<meta property="og:imagex"', 1)
    extract = extract_article(page.encode(), url=SEED_URL)
    cdn = "https://static.baothainguyen.vn/file/oldimage/baothainguyen/UserFiles/image/2020/05/23/da-ps-2305.jpg"
    assert f'src="{cdn}"' in extract.html
    assert extract.image == cdn


def test_hostile_markup_in_the_article_is_neutralised() -> None:
    page = (PAGES / "seed-page.html").read_text(encoding="utf-8")
    first = SEED["body"][0]  # type: ignore[index]
    hostile = (
        f'{first} <a href="javascript:alert(1)" onclick="steal()">bấm vào đây</a>'
        '<script>document.cookie</script> \x1b[2J\x1b]8;;http://evil\x07xóa màn hình\u202e'
        ' <a href="/chinh-tri/202005/bai-viet-khac/">bài viết khác</a>'
    )
    page = page.replace(first, hostile, 1)
    extract = extract_article(page.encode(), url=SEED_URL)
    assert "bấm vào đây" in extract.text and "xóa màn hình" in extract.text
    for text in (extract.text, extract.html):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "javascript:" not in text and "onclick" not in text
        assert "<script" not in text and "document.cookie" not in text
    assert '<a href="https://baothainguyen.vn/chinh-tri/202005/bai-viet-khac/">bài viết khác</a>' in extract.html


# --- encodings -----------------------------------------------------------------------------------


QQ_TITLE = "DeepMind新电脑已可利用记忆自学 人工智能迈上新台阶"


def test_qq_page_declared_gb2312_decodes_right() -> None:
    data = (PAGES / "readability-qq.html").read_bytes()
    assert b"charset=gb2312" in data[:4096]
    text = decode_html(data)
    assert QQ_TITLE in text and "\ufffd" not in text
    extract = extract_article(data, url="https://tech.qq.com/a/20161014/004473.htm", content_type="text/html")
    assert extract.title == QQ_TITLE
    assert "DeepMind表示，这款名为DNC（可微神经计算机）的AI模型" in extract.text
    assert "About Tencent" not in extract.text and "Copyright" not in extract.text


def test_qq_page_as_gb18030_bytes_reads_the_same() -> None:
    """The page as QQ's server sent it: GB bytes under the gb2312 declaration, header too."""
    utf8 = (PAGES / "readability-qq.html").read_bytes()
    gb = utf8.decode("utf-8").encode("gb18030")
    assert gb != utf8
    for content_type in ("", "text/html", "text/html; charset=GB2312"):
        assert decode_html(gb, content_type) == decode_html(utf8)
    assert extract_article(gb, url="https://tech.qq.com/a/x.htm").title == QQ_TITLE


def test_gb2312_label_decodes_as_gb18030() -> None:
    # 镕 (as in 朱镕基) is not in GB2312; pages declared gb2312 use it all the same
    page = '<html><head><meta charset="gb2312"><title>朱镕基</title></head><body><p>朱镕基总理</p></body></html>'
    data = page.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")
    assert decode_html(data) == page
    assert decode_html(data, "text/html; charset=gb2312") == page


def test_windows_1252_and_its_latin_1_label() -> None:
    page = "<html><head><title>Café “déjà vu” – 5 €</title></head><body><p>Noël à l’œuvre</p></body></html>"
    data = page.encode("cp1252")
    assert decode_html(data, "text/html; charset=windows-1252") == page
    # iso-8859-1 has no € or curly quotes at 0x80-0x9f: browsers read the label as windows-1252
    assert decode_html(data, "text/html; charset=ISO-8859-1") == page
    meta = page.replace("<head>", '<head><meta http-equiv="content-type" content="text/html; charset=iso-8859-1">')
    assert decode_html(meta.encode("cp1252")) == meta
    # no declaration at all
    assert decode_html(data) == page


def test_declarations_in_order() -> None:
    page = "<html><head><meta charset='koi8-r'></head><body><p>Привет, мир</p></body></html>"
    # the HTTP header is asked before <meta>
    assert "Привет" in decode_html(page.encode("cp1251"), "text/html; charset=windows-1251")
    assert "Привет" in decode_html(page.encode("koi8-r"), "text/html")
    # an unknown label is skipped, not fatal
    assert "Привет" in decode_html(page.encode("koi8-r"), "text/html; charset=x-no-such-thing")
    # a byte-order mark outranks everything
    bom = "\ufeff" + page
    assert decode_html(bom.encode("utf-16-le"), "text/html; charset=iso-8859-1") == page
    assert decode_html(bom.encode("utf-8"), "text/html; charset=iso-8859-1") == page


def test_valid_utf8_outranks_a_stale_declaration() -> None:
    """Pages re-served or saved as UTF-8 keep their old declaration; trusting it garbles them."""
    page = "<html><head><meta charset='iso-8859-1'></head><body><p>Lãnh đạo Trung ương</p></body></html>"
    assert decode_html(page.encode("utf-8"), "text/html; charset=iso-8859-1") == page


def test_corpus_gb2312_feed_needs_the_gb18030_superset() -> None:
    data = corpus_file("legacy-encodings", "rsparser__kc0011.rss").read_bytes()
    text = decode_html(data)
    assert "投资资讯" in text and "\ufffd" not in text


def test_corpus_undeclared_latin_1_reads_as_windows_1252() -> None:
    data = corpus_file("legacy-encodings", "rss-parser__uolNoticias.rss").read_bytes()
    assert b"encoding=" not in data[:200]
    assert "UOL Noticias - Últimas Notícias" in decode_html(data)


@given(st.binary(max_size=2048), st.sampled_from(["", "text/html", "text/html; charset=gb2312",
                                                  "text/html; charset=windows-1258", "text/html; charset=bogus"]))
@settings(max_examples=200, deadline=None)
def test_decode_html_always_returns_nfc_text(data: bytes, content_type: str) -> None:
    text = decode_html(data, content_type)
    assert isinstance(text, str)
    assert unicodedata.is_normalized("NFC", text)


# --- real article pages --------------------------------------------------------------------------

# page: (sentences of the article body, boilerplate of the page around it)
CORPUS_PAGES: dict[str, tuple[list[str], list[str]]] = {
    "newspaper4k__arabic_article.html": (
        ["أكدت جهات سورية معارضة أن فصائل مسلحة معارضة", "وقال المرصد السوري لحقوق الإنسان"],
        ["الصفحة الرئيسية"]),
    "newspaper4k__chinese_article.html": (
        ["香港行政长官梁振英在各方压力下就其大宅的违章建筑", "民主党此前计划在星期三（11日）对梁振英提出不信任动议"],
        ["与内文相关的链接", "myshare书签"]),
    "newspaper4k__chinese_article_001.html": (
        ["在美国旧金山举行的中美元首会晤吸引了全世界的目光", "美方需要作出更令人放心的承诺"],
        ["中国日报版权所有", "China Daily Homepage"]),
    "newspaper4k__japanese_article.html": (
        ["６月12日の歴史的な米朝首脳会談を巡って戦っていたのは"],
        ["アクセスランキング", "プレスリリース"]),
    "newspaper4k__latvian_article.html": (
        # the lead sits outside the body container, shown in its own block
        ["Norvēģijas glābšanas komanda četras dienas pēc tam", "Bojāgājušo vidū ir arī kāda Lietuvas pilsone"],
        ["Latvijas Sabiedriskie Mediji", "Vārda dienas", "Kļūda rakstā?", "sīkdatnes"]),
    "newspaper4k__spanish_article.html": (
        ["Las discrepancias jurídicas entre el juez José Castro y el fiscal anticorrupción Pedro Horrach",
         "Esta es la segunda ocasión en que el juez Castro imputa a la esposa de Iñaki Urdangarin"],
        ["Ibiza y Formentera", "PORTADA", "Lo importante no es si imputa o no"]),
    "newspaper4k__thai_article.html": (
        ["ผลการตรวจ DNA", "ภูชนะ (นามแฝง) เป็นคนใกล้ชิดของนายสุรชัย"],
        ["บล็อกกาซีน", "ปฏิทินกิจกรรม"]),
    "newspaper4k__yna_co_kr.html": (
        ["North Korea's official newspaper blasted South Korea on Tuesday"],
        ["All Headlines", "spy satellite launches heat up arms race", "Most Viewed"]),
    "readability__aktualne.html": (
        ["Pět vítězných soutěžních duelů v řadě", "Tohle musí být náš standard"],
        ["Zahraničí", "Ekonomika"]),
    "readability__bbc-1.html": (
        ["President Barack Obama has admitted that his failure to pass",
         "Mr Obama will become the first US president to address the African Union"],
        ["Accessibility links", "Skip to content", "BBC navigation"]),
    "readability__cnn.html": (
        ["The U.S. has long been heralded as a land of opportunity",
         "The report concluded that the American safety net was ineffective"],
        ["Wilbur Ross pledges not to intimidate climate scientists", "Premarkets", "Rich are paying more in taxes"]),
    "readability__folha.html": (
        ["o técnico Tite declarou que errou ao levar a taça da Copa Libertadores",
         "misturar esporte e política não é legal"],
        ["Fechar sidebar menu", "Mercado da bola"]),
    "readability__gmw.html": (
        ["翱翔于距地球数千公里的太空中", "不幸的是，对于希望能喝上一杯的太空探险者"],
        ["值班总编推荐"]),
    "readability__guardian-1.html": (
        ["Whale whisperer Hori Parata was just seven years old", "We need to listen."],
        ["The Guardian - Back to home", "Contribute"]),
    "readability__heise.html": (
        ["AgileBits hat Version 5.3 seines bekannten Passwortmanagers 1Password für OS X freigegeben",
         "1Password kostet aktuell knapp 50 Euro"],
        ["Heise-Foren", "Einloggen"]),
    "readability__herald-sun-1.html": (
        ["A HIGH-powered federal government team has been doing the rounds",
         "would undoubtedly make Abbott sit up and take notice"],
        ["Breaking News", "TOM ELLIOTT", "Let’s make local issues a priority"]),
    "readability__la-nacion.html": (
        ["Abdullah Ocalan, el líder independentista kurdo", "Gobernar sigue siendo poblar, pero también integrar"],
        ["Últimas Noticias", "Más Leídas"]),
    "readability__lemonde-1.html": (
        ["Les députés ont, sans surprise, adopté à une large majorité",
         "Aucune mesure de rétorsion ne pourra viser l’agent"],
        ["Édition globale", "Que sont les IMSI-catchers"]),
    "readability__nytimes-1.html": (
        ["After nearly 20 years of hostile relations", "had made a “deal with the devil.”"],
        ["Skip to navigation", "SUBSCRIBE NOW"]),
    "readability__pixnet.html": (
        ["一波波接續性低溫寒流報到", "玉峰道路一路上雲氣山嵐滯留山頭"],
        ["新竹一日遊(世博館)"]),
    "readability__qq.html": (
        ["这款产品具有极其重要的意义", "DeepMind希望DNC可以推动计算行业实现更多突破"],
        ["About Tencent", "Copyright © 1998 - 2016 Tencent"]),
    "readability__seattletimes-1.html": (
        ["From the deck of his 106-year-old halibut schooner",
         "It’s Seattle old school meets Seattle new school with Amazon."],
        ["Traffic Lab", "Project Homeless"]),
    "readability__wapo-1.html": (
        ["Gunmen opened fire on visitors at Tunisia’s most renowned museum", "Heba Habib contributed to this report."],
        ["Accessibility for screenreader", "PostTV", "Why Tunisia, Arab Spring’s sole success story", "Read more:"]),
    "readability__yahoo-4.html": (
        ["トレンドマイクロは3月9日、Wi-Fi利用時の通信を暗号化し保護する"],
        ["プライバシーポリシー", "ヘルプ・お問い合わせ", "巣立ち後も親のすねをかじるペンギン"]),
    "trafilatura__football.ua.podolski.html": (
        ["Ветеран сборной Германии Лукаш Подольски принял решение",
         "Ранее об уходе из сборной заявил другой ее гвардеец"],
        ["Матчи и турниры", "Футбол на ТВ"]),
    "trafilatura__nhk.or.jp.k100.html": (
        ["子どもへの虐待をなくすための法律ができて", "親の叱る権利をなくしたり変えたりすることも話し合うと決めています"],
        ["nol_showCmnFooter"]),
    "trafilatura__xinhuanet.com.c_1125597921.html": (
        ["在抗击新冠肺炎疫情的日子里", "正是有了英勇的你们，才有这座英雄的城"],
        ["王毅会见越南副总理兼外长范平明", "河南81家上市公司已复工75家"]),
}


def test_every_corpus_article_page_has_expectations() -> None:
    folder = corpus_file("html-articles")
    assert sorted(p.name for p in folder.glob("*.html")) == sorted(CORPUS_PAGES)


@pytest.mark.parametrize("name", sorted(CORPUS_PAGES))
def test_corpus_page_yields_the_article_not_the_site(name: str) -> None:
    data = corpus_file("html-articles", name).read_bytes()
    body, boilerplate = CORPUS_PAGES[name]
    extract = extract_article(data, url="https://news.example/section/article.html")
    assert extract.title
    for sentence in body:
        assert sentence in extract.text
    for chrome in boilerplate:
        assert chrome not in extract.text
        assert chrome not in extract.html
    # plain text is plain: no markdown links or images leak into it
    assert "](" not in extract.text
    assert extract.image == "" or extract.image.startswith(("http://", "https://"))


def test_extraction_from_worker_threads_matches_one_at_a_time() -> None:
    pages = [(PAGES / name).read_bytes() for name in ("seed-page.html", "seed-page-windows-1258.html",
                                                      "readability-qq.html")]
    folder = CORPUS / "html-articles"
    if folder.exists():
        pages += [path.read_bytes() for path in sorted(folder.glob("*.html"))[:10]]

    def run(data: bytes) -> Extract:
        return extract_article(data, url="https://news.example/a.html")

    alone = [run(data) for data in pages]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(run, pages * 3))
    assert together == alone * 3


# --- what is not an article page -----------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x1f\x15\xc4\x89" * 8
NOT_PAGES = [
    (b"", "text/html", "empty"),
    (b"   \n\t  ", "text/html", "empty"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/feed+json", "not an HTML page"),
    (b'{"title": "<p>tin</p>"}', "application/json", "not an HTML page"),
    (b'[{"title": "tin"}]', "", "not an HTML page"),
    (PNG, "image/png", "not an HTML page"),
    (PNG, "", "not an HTML page"),
    (PNG, "text/html", "not an HTML page"),
    (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04", "application/octet-stream",
     "not an HTML page"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>", "application/pdf", "not an HTML page"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>',
     "application/rss+xml", "not an HTML page"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>', "",
     "not an HTML page"),
    (b"Just some words, not a page.", "text/plain", "not an HTML page"),
    ('<html><head><title>Trang chủ</title></head><body><nav><a href="/">Trang chủ</a> '
     '<a href="/tin/">Tin tức</a></nav><footer>© 2020</footer></body></html>'.encode(), "text/html",
     "no article found on the page"),
]


@pytest.mark.parametrize(("data", "content_type", "message"), NOT_PAGES)
def test_what_is_not_an_article_page_is_a_feed_error(data: bytes, content_type: str, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        extract_article(data, url="https://news.example/a", content_type=content_type)


def test_a_corpus_feed_is_not_an_article_page() -> None:
    data = corpus_file("rss2", "rss-parser__guardian.rss").read_bytes()
    with pytest.raises(FeedError, match="not an HTML page"):
        extract_article(data, url="https://www.theguardian.com/uk/rss", content_type="application/rss+xml")


HTMLISH = st.lists(
    st.sampled_from([
        "<html>", "<head>", "<meta charset='gb2312'>", "<meta charset=windows-1258>", "<body>", "<p>",
        "</p>", "<div class='detail-content'>", "</div>", "<h1>", "</h1>", "<a href='/x'>", "</a>",
        "<img src='a.png' alt='x'>", "<table><tr><td>", "</td></tr></table>", "<script>", "</script>",
        "<!--", "-->", "<base href='javascript:x'>", "Lãnh đạo Trung ương ", "đ", "\u0301", "\x00",
        "\x1b[31m", "&#0;", "&amp;", "<meta property='article:published_time' content='2020-13-45'>",
        "<meta name='description' content='Lãnh đạo Trung ương làm việc với Ban Thường vụ'>",
        "<ul><li><a href='/a'>a</a></li><li><a href='/b'>b</a></li></ul>", "<br>", "</body></html>",
    ]),
    max_size=60,
)


@given(st.binary(max_size=4096), st.sampled_from(["", "text/html", "application/octet-stream", "text/plain"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_give_an_extract_or_a_feed_error(data: bytes, content_type: str) -> None:
    try:
        extract = extract_article(data, url="https://news.example/a", content_type=content_type)
    except FeedError:
        return
    assert isinstance(extract.html, str) and isinstance(extract.text, str)


@given(HTMLISH, st.sampled_from(["", "text/html", "text/html; charset=windows-1258"]),
       st.sampled_from(["utf-8", "cp1258", "gb18030"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_html_gives_an_extract_or_a_feed_error(parts: list[str], content_type: str, codec: str) -> None:
    data = "".join(parts).encode(codec, "replace")
    try:
        extract = extract_article(data, url="https://news.example/a", content_type=content_type)
    except FeedError:
        return
    for text in (extract.html, extract.text, extract.title, extract.author, extract.lead):
        assert "\x00" not in text and "\x1b" not in text
    assert extract.image == "" or extract.image.startswith(("http://", "https://"))


def test_importing_the_module_does_not_load_the_extractor() -> None:
    """Start-up stays fast: trafilatura and lxml load on the first extraction, not on import."""
    code = ("import sys\nimport tui.content.extract\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('trafilatura', 'lxml', 'charset_normalizer', 'htmldate'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
