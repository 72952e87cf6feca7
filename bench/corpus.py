"""Synthetic news text with a realistic vocabulary, shared by the benchmarks.

Three languages in three scripts: Vietnamese (syllables with their diacritics: the seed
article's at the top ranks, generated ones below), English (common words, then
English-like generated words) and Russian (common words in Cyrillic, then generated
ones). Word frequencies follow Zipf's law (the word of rank r is drawn with weight 1/r),
and each article also draws on the words of one of 200 topics, so that rare words cluster
in a few articles as they do in news. Titles have 6-14 words; bodies 0.5-5 KB of HTML
(most near 1.2 KB), 40% of them as full content and the rest as a summary.

Drawing every word with random.choices costs about a microsecond, too slow for a million
articles of some 250 words: each topic therefore keeps a pool of sentences drawn that
way, and articles are put together from their topic's pool.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

from tui.model import ParsedArticle, ParsedFeed

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = ROOT / "tests" / "data" / "search" / "article-thai-nguyen.txt"

EN_WORDS = """
the of and to in for on with by from at as that this it is was are be has have will would
could new more first after before over under about into through during between against
government minister council city state national local global market markets company shares
investors economy growth inflation rates bank policy report data study research science
scientists university students school health hospital patients doctors climate weather storm
rain energy solar power grid oil prices fuel transport rail airport flights road traffic
housing rents homes software developers open source release update security vulnerability
patch kernel browser cloud servers network internet users privacy court judge law ruling
election voters campaign parliament vote team season match league players coach final
record game fans stadium music film festival museum artists book writer culture food
restaurant travel officials said says announced plans expected according reported warned
agreed approved rejected launched opened closed raised cut increased fell rose million
billion percent year week month today yesterday morning evening people residents workers
families children community region district province café naïve résumé Zürich
""".split()
RU_WORDS = """
и в не на что с по он как это к а из у за от о так для же но то все она год было бы при
они мы уже только его ее быть до также может сегодня время люди более после страны сказал
правительство министр президент город области россии москва компания рынок цены экономика
банк ставка рост данные исследование университет школа здоровье больница врачи погода
энергия нефть газ транспорт дорога жилье программа безопасность обновление сеть интернет
пользователи суд закон выборы голосование команда сезон матч игроки тренер фильм музей
книга культура заявил сообщили планирует ожидается миллион миллиард процентов неделя месяц
утром вечером жители работники семьи дети район ёлка объём
""".split()
EN_AUTHORS = ["Jane Doe", "Sam O'Neill", "Priya Raman", "Lucas Müller", "Amara Okafor", "Élodie Martin"]
VI_AUTHORS = ["Nguyễn Văn An", "Trần Thị Bích Ngọc", "Lê Hoàng Phúc", "Phạm Thu Hà",
              "Đặng Quốc Việt", "Vũ Minh Châu", "Thu Hiền"]
RU_AUTHORS = ["Анна Смирнова", "Пётр Иванов", "Ольга Кузнецова", "Дмитрий Соколов"]
VI_FEEDS = ["Tin tức Thời sự", "Báo Điện tử Nhân Dân", "Kinh tế & Đầu tư", "Đời sống Xã hội",
            "Công nghệ Số", "Thể thao 24h", "Giáo dục Việt Nam", "Báo Thái Nguyên"]
EN_FEEDS = ["Daily Dispatch", "Tech Ledger", "The Harbor Times", "Open Source Weekly",
            "Metro Wire", "Science Notes", "Market Watch Blog", "Court Reporter"]
RU_FEEDS = ["Новости дня", "Экономика и рынки", "Наука сегодня", "Городская газета"]

VI_ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gi", "h", "k", "kh", "l", "m", "n", "ng", "nh",
             "ph", "qu", "r", "s", "t", "th", "tr", "v", "x"]
VI_NUCLEI = [("a", 0), ("ă", 0), ("â", 0), ("e", 0), ("ê", 0), ("i", 0), ("o", 0), ("ô", 0),
             ("ơ", 0), ("u", 0), ("ư", 0), ("y", 0), ("ai", 0), ("ao", 0), ("au", 0), ("ay", 0),
             ("âu", 0), ("ây", 0), ("eo", 0), ("êu", 0), ("ia", 0), ("iê", 1), ("iu", 0), ("oa", 1),
             ("oe", 1), ("oi", 0), ("ôi", 0), ("ơi", 0), ("ua", 0), ("uâ", 1), ("uê", 1), ("ui", 0),
             ("uô", 1), ("uy", 1), ("ưa", 0), ("ươ", 1), ("yê", 1)]
VI_CODAS = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t"]
VI_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
EN_ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
             "br", "cr", "dr", "fr", "gr", "pr", "tr", "st", "sp", "ch", "sh", "th", "pl", "cl"]
EN_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "y"]
EN_CODAS = ["", "n", "r", "s", "t", "l", "nd", "st", "ng", "ck", "m", "x"]
RU_ONSETS = ["б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ц",
             "ч", "ш", "щ", "пр", "ст", "кр", "тр", "зв", "сл", "дв"]
RU_VOWELS = ["а", "е", "ё", "и", "о", "у", "ы", "э", "ю", "я"]
RU_CODAS = ["", "", "н", "р", "л", "й", "ст", "сть", "ь", "к", "м"]


class Language:
    """A Zipf vocabulary with topics, and a pool of sentences per topic."""

    def __init__(self, rng: random.Random, words: list[str], size: int,
                 make_word: Callable[[random.Random], str], feeds: list[str], authors: list[str],
                 sentences_per_topic: int = 300) -> None:
        seen = set(words)
        while len(words) < size:
            word = make_word(rng)
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self.feeds = feeds
        self.authors = authors
        self.cum = list(accumulate(1.0 / (rank + 1) for rank in range(len(words))))
        self.topics = [rng.sample(words[50:], 120) for _ in range(200)]
        self.topic_cum = list(accumulate(1.0 / (rank + 1) ** 0.8 for rank in range(120)))
        self.pools = [[self.sentence(rng, topic, 8, 22) for _ in range(sentences_per_topic)]
                      for topic in self.topics]

    def tokens(self, rng: random.Random, topic: list[str], count: int) -> list[str]:
        common = rng.choices(self.words, cum_weights=self.cum, k=count)
        special = rng.choices(topic, cum_weights=self.topic_cum, k=count)
        return [special[i] if rng.random() < 0.35 else common[i] for i in range(count)]

    def sentence(self, rng: random.Random, topic: list[str], lo: int, hi: int) -> str:
        text = " ".join(self.tokens(rng, topic, rng.randint(lo, hi)))
        return text[:1].upper() + text[1:] + "."


def vi_syllable(rng: random.Random) -> str:
    nucleus, tone_at = rng.choice(VI_NUCLEI)
    word = (rng.choice(VI_ONSETS) + nucleus[:tone_at + 1] + rng.choice(VI_TONES)
            + nucleus[tone_at + 1:] + rng.choice(VI_CODAS))
    return unicodedata.normalize("NFC", word)


def en_word(rng: random.Random) -> str:
    return "".join(rng.choice(EN_ONSETS) + rng.choice(EN_VOWELS) + rng.choice(EN_CODAS)
                   for _ in range(rng.choice((1, 2, 2, 3))))


def ru_word(rng: random.Random) -> str:
    return "".join(rng.choice(RU_ONSETS) + rng.choice(RU_VOWELS) + rng.choice(RU_CODAS)
                   for _ in range(rng.choice((1, 2, 2, 3))))


def seed_syllables() -> list[str]:
    """Vietnamese syllables of the seed article, most frequent first."""
    words = Counter(w.strip(".,;:…/()\"'").lower() for w in SEED_TEXT.read_text("utf-8").split())
    return [w for w, _ in words.most_common() if w and w.isalpha()]


def languages(rng: random.Random, sentences_per_topic: int = 300) -> dict[str, Language]:
    return {
        "vi": Language(rng, seed_syllables(), 5000, vi_syllable, VI_FEEDS, VI_AUTHORS, sentences_per_topic),
        "en": Language(rng, list(EN_WORDS), 20000, en_word, EN_FEEDS, EN_AUTHORS, sentences_per_topic),
        "ru": Language(rng, list(RU_WORDS), 20000, ru_word, RU_FEEDS, RU_AUTHORS, sentences_per_topic),
    }


def language_of(feed: int) -> str:
    """Feed n's language: Vietnamese, English and Russian in turn, so a third each."""
    return ("vi", "en", "ru")[feed % 3]


def feed_url(feed: int) -> str:
    return f"https://feeds.example.org/f{feed:04d}.xml"


def make_article(rng: random.Random, language: Language, feed: int, number: int, published: int) -> ParsedArticle:
    topic = rng.randrange(len(language.topics))
    pool = language.pools[topic]
    paragraphs: list[str] = []
    size = rng.triangular(500, 5000, 1200)
    length = 0
    while length < size:
        body = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 5)))
        if rng.random() < 0.3:
            body = f"<strong>{body}</strong>"
        if rng.random() < 0.4:
            anchor = language.sentence(rng, language.topics[topic], 2, 4)
            body += f' <a href="https://example.org/{feed}/{number}">{anchor}</a>'
        paragraphs.append(f"<p>{body}</p>")
        length += len(paragraphs[-1])
    html = "\n".join(paragraphs)
    full = rng.random() < 0.4
    return ParsedArticle(
        guid=f"f{feed}-{number}",
        link=f"https://example.org/{feed}/{number}",
        title=language.sentence(rng, language.topics[topic], 6, 14).rstrip("."),
        author=rng.choice(language.authors),
        published=published,
        summary=html if not full else paragraphs[0],
        content=html if full else "",
    )


def make_feed(rng: random.Random, langs: dict[str, Language], feed: int, numbers: range, items: int,
              now: int, span: int = 2 * 365 * 86400) -> tuple[str, ParsedFeed]:
    """The articles numbered `numbers` of feed `feed`, which publishes `items` articles evenly
    over the `span` seconds before `now`, oldest first."""
    language = langs[language_of(feed)]
    spacing = max(1, span // max(1, items))
    articles = [make_article(rng, language, feed, n, now - (items - n) * spacing + rng.randrange(spacing))
                for n in numbers]
    title = f"{language.feeds[feed % len(language.feeds)]} #{feed}"
    return feed_url(feed), ParsedFeed(title=title, articles=articles)
