"""Localized titles and descriptions of a release (the videos resource's ``localizations``).

Each language has its own file, ``assets_library/localized/<language>.yaml``, written for its
listeners (no machine translation): Jinja2 title templates, the description's paragraphs, and
the forms of ``titles.yaml``'s English words (mood, instrument, activity, ambience, time) that
its templates need. ``localize`` fills them with the words the English metadata chose
(``ReleaseMetadata.title_words``), so every language describes the same release; the title
template is drawn with a seed of the channel, the date and the language, so a release's
localizations are the same every time they are made.

Languages are BCP-47 tags as YouTube takes them (``i18nLanguages.list``). The default
language (``DEFAULT_LANGUAGE``, English) is the snippet itself, not a localization. The audio
language of instrumental music is ``zxx``, ISO 639-2's code for "no linguistic content"
(Library of Congress, ISO 639-2 code list; W3C, "Indicating the language of a document",
non-linguistic content), set as ``snippet.defaultAudioLanguage`` (videos resource:
"the language spoken in the video's default audio track",
https://developers.google.com/youtube/v3/docs/videos#snippet.defaultAudioLanguage).

Every localized text is fitted to YouTube's limits in YouTube's units (title 100 characters,
description 5000 UTF-8 bytes) by ``metadata.fit_text``/``fit_paragraphs`` and judged by
``metadata.problems`` like the snippet.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.publish.metadata import (
    FORBIDDEN_REPLACEMENTS,
    MAX_DESCRIPTION_BYTES,
    MAX_TITLE_CHARS,
    ReleaseMetadata,
    fit_paragraphs,
    fit_text,
    problems,
    timestamp,
)
from lofi_assets.seeding import stable_seed

DEFAULT_LANGUAGE = "en"
DEFAULT_LANGUAGES = ("en", "es", "pt", "ja", "ko", "de", "fr")
INSTRUMENTAL_AUDIO_LANGUAGE = "zxx"  # ISO 639-2: no linguistic content
WORD_KINDS = ("mood", "instrument", "activity", "ambience", "time")
PARAGRAPHS = ("lead", "tracklist", "subscribe", "disclosure")
_ENVIRONMENT = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@dataclass(frozen=True)
class LanguageTemplates:
    """One language's file: title templates, paragraph templates (in ``PARAGRAPHS`` order),
    the paragraphs to drop first when the description is over 5000 bytes, the "full mix" line
    for Shorts, and ``words[kind][english word]``."""

    language: str
    titles: tuple[str, ...]
    paragraphs: dict[str, str]
    droppable: tuple[str, ...]
    full_mix: str
    words: dict[str, dict[str, str]]


@dataclass(frozen=True)
class ReleaseFacts:
    """What every language's text says about one release: the English words the title was
    drawn from (``mood`` … ``time``), the style names, ``duration`` as m:ss or h:mm:ss and the
    tracklist lines (``0:00 Amber Window``)."""

    words: dict[str, str]
    styles: list[str]
    duration: str
    tracklist: list[str]
    channel: str
    artist: str
    year: int


def localized_dir() -> Path:
    return assets_library_dir() / "localized"


@cache
def language_templates(language: str) -> LanguageTemplates:
    """The templates of ``language`` from ``assets_library/localized/<language>.yaml``.

    Raises:
        ConfigError: no file for the language, or a file without titles, paragraphs or words.
    """
    language = normalize_language(language)  # never a path outside localized/
    path = localized_dir() / f"{language}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in localized_dir().glob("*.yaml"))
        raise ConfigError(
            f"No templates for language {language!r} ({path}): use {DEFAULT_LANGUAGE} or one of "
            f"{available}, or write {path.name} in assets_library/localized/"
        )
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [
        key
        for key in ("titles", "paragraphs", "droppable", "full_mix", "words")
        if not document.get(key)
    ]
    missing += [f"paragraphs.{name}" for name in PARAGRAPHS if name not in document["paragraphs"]]
    if missing:
        raise ConfigError(f"{path} lacks {', '.join(missing)}")
    kinds = {
        "mood": "moods",
        "instrument": "instruments",
        "activity": "activities",
        "ambience": "ambiences",
        "time": "times",
    }
    return LanguageTemplates(
        language=language,
        titles=tuple(document["titles"]),
        paragraphs={name: document["paragraphs"][name] for name in PARAGRAPHS},
        droppable=tuple(document["droppable"]),
        full_mix=str(document["full_mix"]),
        words={kind: dict(document["words"].get(plural, {})) for kind, plural in kinds.items()},
    )


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def normalize_language(tag: str) -> str:
    """A BCP-47 tag in its conventional case (``PT-br`` → ``pt-BR``, `` ja `` → ``ja``, RFC
    5646 §2.1.1: tags are case-insensitive), as YouTube lists them. Raises ConfigError for
    something that is not a tag (a path, an empty string)."""
    text = tag.strip().replace("_", "-")
    if not _LANGUAGE_TAG.fullmatch(text):
        raise ConfigError(
            f"Language {tag!r} is not a BCP-47 tag: use e.g. {DEFAULT_LANGUAGE}, es, pt-BR"
        )
    first, *rest = text.split("-")
    parts = [first.lower()]
    for part in rest:
        parts.append(
            part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part.lower()
        )
    return "-".join(parts)


def validate_languages(languages: Sequence[str]) -> list[str]:
    """The localized languages of ``languages`` (normalized, ``normalize_language``; the
    default language left out), in order, without repeats. Raises ConfigError for a language
    that is not a tag or has no templates."""
    normalized = [normalize_language(language) for language in languages]
    wanted = [language for language in dict.fromkeys(normalized) if language != DEFAULT_LANGUAGE]
    for language in wanted:
        language_templates(language)
    return wanted


def _render(template: str, values: Mapping[str, Any], where: str) -> str:
    try:
        text = _ENVIRONMENT.from_string(template).render(**values)
    except jinja2.TemplateError as error:
        raise ConfigError(f"{where}: {error}") from error
    return " ".join(text.split(" ")).strip().translate(FORBIDDEN_REPLACEMENTS)


def localize_one(
    templates: LanguageTemplates, facts: ReleaseFacts, seed_parts: Sequence[str]
) -> dict[str, str]:
    """``{"title", "description"}`` of one language, fitted to YouTube's limits.

    Raises:
        ConfigError: a word of ``facts.words`` has no form in the language's file, or a
            template names a value that does not exist.
    """
    where = f"assets_library/localized/{templates.language}.yaml"
    words = {}
    for kind in WORD_KINDS:
        english = facts.words[kind]
        if english not in templates.words[kind]:
            raise ConfigError(f"{where}: no {kind} for {english!r}: add it under words")
        words[kind] = templates.words[kind][english]
    values = {
        **words,
        "styles": ", ".join(facts.styles),
        "duration": facts.duration,
        "tracklist": "\n".join(facts.tracklist),
        "channel": facts.channel,
        "artist": facts.artist,
        "year": facts.year,
    }
    rng = random.Random(stable_seed("localized title", *seed_parts, templates.language))
    title = _render(rng.choice(templates.titles), values, where)
    paragraphs = [_render(templates.paragraphs[name], values, where) for name in PARAGRAPHS]
    droppable = [PARAGRAPHS.index(name) for name in templates.droppable]
    return {
        "title": fit_text(title, max_chars=MAX_TITLE_CHARS),
        "description": fit_paragraphs(paragraphs, droppable, MAX_DESCRIPTION_BYTES),
    }


def localize(
    facts: ReleaseFacts, languages: Sequence[str], seed_parts: Sequence[str]
) -> dict[str, dict[str, str]]:
    """language → ``{"title", "description"}`` for every language of ``languages`` except
    the default one (English, the snippet's own text), sorted by language.

    Raises:
        ConfigError: a language without templates, or a word its file lacks.
    """
    return {
        language: localize_one(language_templates(language), facts, seed_parts)
        for language in sorted(validate_languages(languages))
    }


def localization_problems(localizations: Mapping[str, Mapping[str, str]]) -> list[str]:
    """``metadata.problems`` of each language's title and description, prefixed with the
    language (``localizations.ja: title is 104 characters …``)."""
    found = []
    for language, text in sorted(localizations.items()):
        found += [f"localizations.{language}: {problem}" for problem in problems(text)]
    return found


def localized_metadata(
    metadata: ReleaseMetadata,
    *,
    languages: Sequence[str],
    styles: Sequence[str],
    channel_name: str,
    artist: str,
    date: str,
) -> ReleaseMetadata:
    """``metadata`` with its ``localizations`` for ``languages`` (the default language is
    the snippet), ``default_language`` English and ``default_audio_language`` ``zxx``.

    Raises:
        ConfigError: a language without templates, or a word its file lacks.
    """
    facts = ReleaseFacts(
        words=dict(metadata.title_words),
        styles=sorted(set(styles)),
        duration=timestamp(metadata.duration_s),
        tracklist=[f"{timestamp(c.start_s)} {c.title}" for c in metadata.chapters],
        channel=channel_name,
        artist=artist,
        year=int(date[:4]),
    )
    return replace(
        metadata,
        default_language=DEFAULT_LANGUAGE,
        default_audio_language=INSTRUMENTAL_AUDIO_LANGUAGE,
        localizations=localize(facts, languages, [channel_name, date]),
    )
