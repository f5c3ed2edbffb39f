"""Issue 17 §2: localized titles and descriptions, from each language's templates in
assets_library/localized/, within YouTube's limits in YouTube's units, sent as the videos
resource's ``localizations`` with ``defaultLanguage`` and ``defaultAudioLanguage`` zxx."""

import dataclasses
import datetime as dt

import pytest
import yaml

from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.publish.localize import (
    DEFAULT_LANGUAGES,
    INSTRUMENTAL_AUDIO_LANGUAGE,
    WORD_KINDS,
    language_templates,
    localized_metadata,
)
from lofi_assets.publish.metadata import (
    MAX_DESCRIPTION_BYTES,
    MAX_TITLE_CHARS,
    TrackFacts,
    build_metadata,
    utf8_length,
)
from lofi_assets.publish.upload import Publisher, UploadLedger, body_problems
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import build_clients
from lofi_assets_tests.youtube_server import UPLOAD_CHUNK_BYTES, LocalYouTube, five_chunk_release

LOCALIZED = sorted(set(DEFAULT_LANGUAGES) - {"en"})
TRACK = TrackFacts("japanese", "Japanese", "D minor", 72.0, "rain_heavy", 24, 3)
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


def _metadata(date="2026-11-27", channel="Lofi Empire", languages=DEFAULT_LANGUAGES, tracks=3):
    metadata = build_metadata(
        channel_name=channel, artist=channel, timezone="UTC", date=date,
        tracks=[TRACK] * tracks, chapter_starts_s=[60.0 * i for i in range(tracks)],
        duration_s=60.0 * tracks,
    )  # fmt: skip
    return localized_metadata(
        metadata, languages=languages, styles=["Japanese"], channel_name=channel,
        artist=channel, date=date,
    )  # fmt: skip


def test_every_language_has_a_form_of_every_title_word():
    titles = yaml.safe_load((assets_library_dir() / "titles.yaml").read_text(encoding="utf-8"))
    english = {
        "mood": {w for words in titles["moods"].values() for w in words},
        "instrument": {w for words in titles["instruments"].values() for w in words},
        "activity": set(titles["activities"]),
        "ambience": {w for words in titles["ambiences"].values() for w in words},
        "time": set(titles["times"]),
    }
    for language in LOCALIZED:
        templates = language_templates(language)
        for kind in WORD_KINDS:
            missing = english[kind] - set(templates.words[kind])
            assert not missing, f"{language}.yaml lacks {kind} forms for {sorted(missing)}"


@pytest.mark.parametrize("day", range(1, 31))
def test_every_language_is_written_and_within_youtube_limits(day):
    metadata = _metadata(date=f"2026-11-{day:02d}")
    assert sorted(metadata.localizations) == LOCALIZED
    assert metadata.default_language == "en"
    assert metadata.default_audio_language == INSTRUMENTAL_AUDIO_LANGUAGE == "zxx"
    titles = {text["title"] for text in metadata.localizations.values()}
    assert len(titles) == len(LOCALIZED) and metadata.title not in titles  # no copy of English
    for language, text in metadata.localizations.items():
        assert 0 < len(text["title"]) <= MAX_TITLE_CHARS, language
        assert utf8_length(text["description"]) <= MAX_DESCRIPTION_BYTES, language
        assert "{{" not in text["title"] + text["description"], language
        assert "0:00 " in text["description"], language  # the tracklist, in every language
    assert _metadata(date=f"2026-11-{day:02d}") == metadata  # deterministic


def test_long_text_is_fitted_in_bytes_for_three_byte_scripts(release):
    """A channel name of 300 kana and 60 tracks push every description past 5000 bytes:
    each is cut to fit (paragraphs dropped, then shortened), never refused."""
    metadata = _metadata(channel="ローファイ" * 60, tracks=60)
    for language, text in metadata.localizations.items():
        assert utf8_length(text["description"]) <= MAX_DESCRIPTION_BYTES, language
        assert len(text["title"]) <= MAX_TITLE_CHARS, language
    body = _upload(release, metadata).video_body(NOW)
    assert body_problems(body) == []


def test_languages_are_configurable_and_unknown_ones_refused():
    assert sorted(_metadata(languages=["en", "ja"]).localizations) == ["ja"]
    assert _metadata(languages=["en"]).localizations == {}
    with pytest.raises(ConfigError, match=r"No templates for language 'xx'.*'de'"):
        _metadata(languages=["en", "xx"])


@pytest.mark.parametrize(
    ("languages", "localized"),
    [
        (["EN", "ES", " ja "], ["es", "ja"]),  # tags are case-insensitive (RFC 5646)
        (["en", "es", "Es", "es"], ["es"]),
        (["en", "De", "FR"], ["de", "fr"]),
    ],
)
def test_language_tags_are_normalized(languages, localized):
    """ "ES" or " ja " once found no template (or, on a case-insensitive disk, sent "ES" to
    YouTube), and "EN" was localized as a language of its own."""
    assert sorted(_metadata(languages=languages).localizations) == localized


@pytest.mark.parametrize("bad", ["../../styles/jazz", "", "e", "ja/../../x"])
def test_a_language_that_is_not_a_tag_is_refused(bad):
    with pytest.raises(ConfigError, match="not a BCP-47 tag"):
        _metadata(languages=["en", bad])


@pytest.fixture
def release(tmp_path):
    return five_chunk_release(tmp_path)


def _upload(release, metadata, **changes):
    fields = {
        "title": metadata.title, "description": metadata.description,
        "localizations": metadata.localizations,
        "default_audio_language": metadata.default_audio_language,
    }  # fmt: skip
    return dataclasses.replace(release, **{**fields, **changes})


def test_the_upload_body_carries_localizations_and_the_audio_language(release):
    metadata = _metadata()
    upload = _upload(release, metadata)
    body = upload.video_body(NOW)
    assert upload.parts == "snippet,status,localizations"
    assert body["snippet"]["defaultLanguage"] == "en"
    assert body["snippet"]["defaultAudioLanguage"] == "zxx"
    assert body["localizations"] == metadata.localizations
    assert body_problems(body) == []


def test_a_localization_over_a_limit_is_a_problem_in_youtube_units(release):
    metadata = _metadata()
    long_ja = {"title": "あ" * 101, "description": "雨" * 1667}  # 101 characters; 5001 bytes
    localizations = {**metadata.localizations, "ja": long_ja}
    body = _upload(release, metadata, localizations=localizations).video_body(NOW)
    found = body_problems(body)
    assert "localizations.ja: title is 101 characters (max 100 characters)" in found
    assert any(p.startswith("localizations.ja: description is 5001 bytes") for p in found)
    no_default = _upload(release, metadata, default_language="").video_body(NOW)
    assert "localizations need snippet.defaultLanguage" in body_problems(no_default)


def test_localizations_reach_youtube_with_the_upload(release, tmp_path):
    metadata = _metadata()
    with LocalYouTube() as server:
        publisher = Publisher(
            build_clients(None, server.endpoint), UploadLedger(Warehouse(str(tmp_path / "w.duckdb"))),
            chunk_bytes=UPLOAD_CHUNK_BYTES, sleep=lambda s: None, now=lambda: NOW,
        )  # fmt: skip
        outcome = publisher.publish(_upload(release, metadata))
        video = server.fake.videos[outcome.video_id]
        assert video["localizations"] == metadata.localizations
        assert video["snippet"]["defaultAudioLanguage"] == "zxx"
