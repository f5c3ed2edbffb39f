"""Platform limits as the platforms define them (issue 14): YouTube's in characters or bytes as
its API reference says, the stores' identifiers in their standards' syntax (UPC-A and EAN-13,
ISRC, DDEX party ids), and ISRCs that stay with a recording whatever the channel is called."""

import csv
import datetime as dt
import io
import json

import dagster as dg
import numpy as np
import pytest
from lxml import etree
from PIL import Image

from lofi_assets.audio.wav import write_wav
from lofi_assets.channel import Channel
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.publish_checks import streaming_check_results
from lofi_assets.defs.assets.release import release_metadata, release_mix, thumbnail
from lofi_assets.defs.assets.streaming import streaming_release
from lofi_assets.defs.records import (
    MasterRecord,
    MetadataRecord,
    ThumbnailRecord,
    record_to_document,
)
from lofi_assets.errors import ConfigError
from lofi_assets.publish.distribution import (
    DistributionError,
    ReleaseSettings,
    build_bundle,
    plan_release,
    release_problems,
)
from lofi_assets.publish.identifiers import (
    InvalidProductCodeError,
    IsrcRegistry,
    RecordingIdentity,
    UpcPool,
    parse_product_code,
    parse_registrant,
    release_key,
    valid_isrc,
)
from lofi_assets.publish.metadata import (
    ELLIPSIS,
    MAX_DESCRIPTION_BYTES,
    MAX_TITLE_CHARS,
    TrackFacts,
    build_metadata,
    fit_paragraphs,
    fit_tags,
    fit_text,
    is_blank,
    problems,
    tags_length,
    utf8_length,
)
from lofi_assets.publish.upload import ReleaseUpload, body_problems
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.storage import write_json_atomic
from lofi_assets_tests.conftest import make_resources

RATE = 44_100
DATE = "2026-11-27"
UPC_A = "036000291452"  # a GS1 US UPC-A (GTIN-12) with a correct check digit
EAN_13 = "4006381333931"
NIGHT = "夜"  # 1 character, 3 bytes in UTF-8


def _found(**fields) -> list[str]:
    return problems({"title": "Rainy jazz", "description": "", "tags": ["lofi"], **fields})


# -- YouTube: title in characters, description in bytes, tags in characters ----------------
@pytest.mark.parametrize(
    ("title", "passes"),
    [("x" * 100, True), ("x" * 101, False), (NIGHT * 100, True), (NIGHT * 101, False)],
)
def test_a_title_may_have_100_characters_whatever_their_bytes(title, passes):
    found = _found(title=title)
    assert (found == []) is passes
    if not passes:
        assert found == ["title is 101 characters (max 100 characters)"]


@pytest.mark.parametrize(
    ("description", "passes"),
    [
        ("y" * 5000, True),
        ("y" * 5001, False),
        (NIGHT * 1666 + "ab", True),  # 4998 + 2 = 5000 bytes in 1668 characters
        (NIGHT * 1666 + "abc", False),
        ("\N{HEADPHONE}" * 1250, True),  # 4-byte emoji: 5000 bytes in 1250 characters
        ("\N{HEADPHONE}" * 1250 + "z", False),
    ],
)
def test_a_description_may_have_5000_utf8_bytes(description, passes):
    found = _found(description=description)
    assert (found == []) is passes
    if not passes:
        assert found == [
            f"description is 5001 bytes in UTF-8 ({len(description)} characters; "
            "YouTube allows 5000 bytes)"
        ]


def test_a_2000_character_japanese_description_is_refused_on_upload(tmp_path):
    description = NIGHT * 2000  # 2,000 characters, 6,000 bytes: passed when characters counted
    upload = ReleaseUpload(
        DATE, tmp_path / "v.mp4", tmp_path / "t.jpg", "深夜のローファイ", description, ["lofi"],
        [], "2026-11-27T14:00:00Z",
    )  # fmt: skip
    body = upload.video_body(now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert "description is 6000 bytes in UTF-8 (2000 characters" in body_problems(body)[0]


@pytest.mark.parametrize(
    ("tags", "passes"),
    [
        (["x" * 498, "y"], True),  # 498 + comma + 1 = 500
        (["x" * 499, "y"], False),
        (["a " + "x" * 496], True),  # 498 + the 2 quotes around a tag with a space = 500
        (["a " + "x" * 497], False),
        ([NIGHT * 500], True),  # characters, not bytes (1500 of them)
        ([NIGHT * 501], False),
    ],
)
def test_tags_may_take_500_characters_with_commas_and_quotes(tags, passes):
    assert tags_length(tags) == (500 if passes else 501)
    assert (_found(tags=tags) == []) is passes


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"title": "beats <3"}, "title contains < or >"),
        ({"description": "a > b"}, "description contains < or >"),
        ({"title": "bad \ud800 half"}, "title holds code points that are not valid UTF-8 (U+D800)"),
        ({"tags": ["ok", "\udcff"]}, "tags holds code points that are not valid UTF-8 (U+DCFF)"),
    ],
)
def test_characters_youtube_does_not_accept_are_refused(fields, problem):
    assert _found(**fields) == [problem]


def test_generated_text_is_cut_on_a_character_boundary_to_the_limit():
    assert fit_text("あいうえお", max_bytes=15) == "あいうえお"  # within: untouched
    assert fit_text("あいうえお", max_bytes=14) == "あいう…"  # 9 + 3 bytes
    assert fit_text("あいうえお", max_bytes=10) == "あい…"  # never half a character
    assert utf8_length(fit_text(NIGHT * 3000, max_bytes=5000)) == 4998  # 1665 × 3 + "…"
    assert fit_text("cafe\u0301s late", max_chars=5) == "caf…"  # é stays whole
    family = "ab\N{WOMAN}\u200d\N{GIRL}"
    assert fit_text(family, max_chars=4) == "ab…"  # no half of a joined emoji
    # A title over 100 characters: cut, the trailing space dropped, "…" added.
    assert fit_text("Late night " * 15, max_chars=100) == ("Late night " * 9).rstrip() + "…"
    # A description's longest paragraph is shortened, the others kept whole: 5000 bytes.
    fitted = fit_paragraphs(["Hook", NIGHT * 2000, "AI disclosure"], [], MAX_DESCRIPTION_BYTES)
    assert utf8_length(fitted) == 4998  # 5000 would need two thirds of a 3-byte character
    assert fitted.startswith("Hook\n\n夜") and fitted.endswith("夜…\n\nAI disclosure")


# What a reader sees as one character (one extended grapheme cluster, UAX #29), with the code
# points and UTF-8 bytes it takes: the cut must never fall inside one.
CLUSTERS = {
    "flag": ("\U0001f1ef\U0001f1f5", 2, 8),  # 🇯🇵: two regional indicators, 4 bytes each
    "zwj family": ("\U0001f468\u200d\U0001f469\u200d\U0001f467", 5, 18),  # 3 × 4 + 2 × 3
    "skin tone": ("\U0001f44d\U0001f3fd", 2, 8),  # 👍 + medium skin tone modifier
    "combining marks": ("e\u0301\u0323", 3, 5),  # e, acute, dot below: 1 + 2 + 2 bytes
    "hangul jamo": ("\u1112\u1161\u11ab", 3, 9),  # 한 spelt as L + V + T jamo, 3 bytes each
}


def test_half_a_flag_is_never_left_before_the_ellipsis():
    fitted = fit_text("\U0001f1ef\U0001f1f5" * 700, max_bytes=5000)
    assert fitted == "\U0001f1ef\U0001f1f5" * 624 + ELLIPSIS  # 624 × 8 + 3 = 4995 bytes
    assert utf8_length(fitted) == 4995


@pytest.mark.parametrize("prefix", ["", "a"])  # "a" moves the limit to another offset
@pytest.mark.parametrize("name", list(CLUSTERS))
def test_text_is_cut_between_grapheme_clusters_at_the_byte_and_character_limits(name, prefix):
    cluster, code_points, size_bytes = CLUSTERS[name]
    assert (len(cluster), utf8_length(cluster)) == (code_points, size_bytes)
    text = prefix + cluster * 2000  # over both limits for every cluster
    # As many whole clusters as fit beside the prefix and the 3-byte, 1-character "…".
    by_bytes = (MAX_DESCRIPTION_BYTES - 3 - len(prefix)) // size_bytes
    assert fit_text(text, max_bytes=MAX_DESCRIPTION_BYTES) == prefix + cluster * by_bytes + "…"
    by_chars = (MAX_TITLE_CHARS - 1 - len(prefix)) // code_points
    assert fit_text(text, max_chars=MAX_TITLE_CHARS) == prefix + cluster * by_chars + "…"


@pytest.mark.parametrize(
    ("name", "prefix", "bytes_kept", "chars_kept"),
    [  # the counts above, worked by hand: (5000 - 3 - prefix) // bytes, (99 - prefix) // points
        ("flag", "", 624, 49),
        ("zwj family", "", 277, 19),  # 4997 = 277 × 18 + 11, 99 = 19 × 5 + 4: mid-sequence
        ("skin tone", "a", 624, 49),
        ("combining marks", "", 999, 33),
        ("hangul jamo", "a", 555, 32),  # 98 = 32 × 3 + 2: the limit falls between L+V and T
    ],
)
def test_grapheme_cut_keeps_the_worked_number_of_clusters(name, prefix, bytes_kept, chars_kept):
    cluster = CLUSTERS[name][0]
    text = prefix + cluster * 2000  # over both limits for every cluster
    assert fit_text(text, max_bytes=5000).count(cluster) == bytes_kept
    assert fit_text(text, max_chars=100).count(cluster) == chars_kept


def test_a_cut_drops_what_shows_nothing_before_the_ellipsis():
    assert fit_text("ab\u200b\u200bcd", max_chars=4) == "ab…"  # not "ab\u200b…"
    assert fit_text("ab \u3000cd", max_chars=5) == "ab…"


INVISIBLE = ["", " ", "\u200b", "\u200d", "\ufeff", "\u200e\u200f", "\u2066\u2069", "\u3164",
             "\u115f\u1160", "\u2800", "\u00a0\u3000\t", "\ufe0f", "\u200b \u200b"]  # fmt: skip


@pytest.mark.parametrize("text", INVISIBLE)
def test_text_that_shows_nothing_is_empty_wherever_a_name_or_title_is_needed(text):
    assert is_blank(text)
    assert _found(title=text) == ["title is empty"]
    assert _found(description=f"{text}\nhook below") == [
        "description's first line is empty: start it with the line viewers see"
    ]
    assert _found(playlists=["Rain Lofi", text]) == ["playlist 2 title is empty"]
    with pytest.raises(ConfigError, match="The channel needs a name: set channel_name to visible"):
        Channel(name=text)
    with pytest.raises(ConfigError, match="The channel needs an artist name: set artist to vis"):
        Channel(artist=text)
    with pytest.raises(ConfigError, match="A streaming release needs an artist and a label"):
        ReleaseSettings(artist=text, label="Lofi Empire Records")
    found = release_problems(_release(UPC_A, title=text, track_title=text))
    assert "title is empty" in found and "track 1 title is empty" in found


@pytest.mark.parametrize("text", ["夜", "é", "e\u0301", "\U0001f1ef\U0001f1f5", "-", "\u200bLo"])
def test_any_visible_character_is_not_empty(text):
    assert not is_blank(text)
    assert _found(title=text, playlists=[text], description=text) == []
    assert Channel(name=text, artist=text).name == text


def test_the_channel_error_names_the_invisible_code_points():
    with pytest.raises(ConfigError) as refused:
        Channel(name="\u200b\u3164")
    assert str(refused.value) == (
        "The channel needs a name: set channel_name to visible text (it holds U+200B U+3164)"
    )


def test_tags_youtube_would_split_or_refuse_are_refused_with_the_reason():
    assert _found(tags=["lofi, chill", "a<b"]) == [
        "tag 'lofi, chill' contains a comma, which YouTube reads as the end of a tag: give "
        "'lofi' and 'chill' as separate tags",
        "tag 'a<b' contains < or >, which YouTube refuses in tags: remove them",
    ]
    assert _found(tags=["lofi", "\u200b"]) == ["tag 2 is empty: remove it"]
    assert _found(tags=["lofi", "chill beats", "夜"]) == []


def test_generated_tags_are_cleaned_of_what_youtube_splits_or_refuses():
    candidates = ["Lofi, Chill", "a<b>", "lofi chill", " \u200b ", "rain\u3000 lofi", "study"]
    assert fit_tags(candidates) == ["lofi chill", "a b", "rain lofi", "study"]
    assert _found(tags=fit_tags(candidates)) == []


def test_the_upload_body_refuses_a_supplied_tag_youtube_would_split(tmp_path):
    upload = ReleaseUpload(
        DATE, tmp_path / "v.mp4", tmp_path / "t.jpg", "Rain", "Hook", ["lofi, chill"], [],
        "2026-11-27T14:00:00Z",
    )  # fmt: skip
    found = body_problems(upload.video_body(now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    assert found == [
        "tag 'lofi, chill' contains a comma, which YouTube reads as the end of a tag: give "
        "'lofi' and 'chill' as separate tags"
    ]


def test_generated_metadata_is_fitted_to_youtube_in_any_script():
    name = "深夜のローファイ喫茶" * 12  # a long Japanese channel and artist name, 360 bytes
    tracks = [TrackFacts("jazz", "ジャズ", "D dorian", 85, "cafe", 59, seed) for seed in range(60)]
    starts = [30.0 * index for index in range(60)]
    metadata = build_metadata(
        channel_name=name, artist=name, timezone="Asia/Tokyo", date=DATE, tracks=tracks,
        chapter_starts_s=starts, duration_s=1800.0,
    ).to_document()  # fmt: skip
    assert problems(metadata) == []
    description = metadata["description"]
    assert utf8_length(description) <= MAX_DESCRIPTION_BYTES
    # The least needed paragraphs went first, only as many as needed; the rest stay whole.
    assert "Made for studying" not in description and "Credits:" not in description
    assert f"Subscribe to {name} for a new mix every day" in description
    assert "Tracklist\n0:00 " in description and "AI disclosure:" in description
    assert description.endswith(f"with credit to {name}.")
    assert all(f"{chapter['timestamp']} " in description for chapter in metadata["chapters"])


# -- Stores: UPC-A and EAN-13, ISRC, DDEX party ids, text ---------------------------------
def test_upc_a_and_ean_13_are_accepted_as_the_gtins_they_are():
    upc = parse_product_code(UPC_A)
    assert (upc.digits, upc.kind, upc.gtin13) == (UPC_A, "UPC-A (GTIN-12)", "0" + UPC_A)
    ean = parse_product_code(EAN_13)
    assert (ean.digits, ean.kind, ean.gtin13) == (EAN_13, "EAN-13 (GTIN-13)", EAN_13)
    assert parse_product_code("0 36000 29145 2").digits == UPC_A  # as printed under the bars


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "036000291453",
            "UPC-A (GTIN-12) 036000291453 fails the GS1 check digit (it ends in 3, "
            "the digits before it give 2)",
        ),
        ("4006381333932", "EAN-13 (GTIN-13) 4006381333932 fails the GS1 check digit"),
        ("03600029145", "'03600029145' is not a product code"),  # 11 digits
        (  # an EAN-8 is a GTIN, but not one stores take for a release
            "73513537",
            "UPC/EAN '73513537' is an EAN-8 (GTIN-8), a code for packages too small for an "
            "EAN-13: stores and DDEX take a release's code as the 12 digits of a UPC-A or the 13 "
            "of an EAN-13 (DDEX ICPN)",
        ),
        (  # a valid GTIN-14 (check digit 9) of a case of trade items: indicator digit 1
            "10036000291459",
            "GTIN-14 10036000291459 has indicator digit 1: it numbers a case or carton",
        ),
        (
            "00036000291453",
            "GTIN-14 00036000291453 fails the GS1 check digit (it ends in 3, the digits before "
            "it give 2)",
        ),
        ("03600029145X", "is not a product code"),
    ],
)
def test_a_bad_product_code_is_refused_naming_it(code, message):
    with pytest.raises(InvalidProductCodeError) as refused:
        parse_product_code(code)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("gtin_14", "digits", "kind"),
    [
        ("00036000291452", UPC_A, "UPC-A (GTIN-12)"),  # two leading zeros: a GTIN-12
        ("04006381333931", EAN_13, "EAN-13 (GTIN-13)"),  # one: a GTIN-13
        ("0 0036000 29145 2", UPC_A, "UPC-A (GTIN-12)"),
    ],
)
def test_a_zero_padded_gtin_14_is_the_upc_a_or_ean_13_it_pads(gtin_14, digits, kind):
    code = parse_product_code(gtin_14)
    assert (code.digits, code.kind, code.gtin13) == (digits, kind, digits.zfill(13))


def test_a_gtin_14_in_the_pool_is_one_code_with_its_shorter_forms(tmp_path):
    pool = UpcPool(Warehouse(str(tmp_path / "w.duckdb")), ["00036000291452"])
    assert pool.assign("a") == UPC_A  # written in the 12 digits stores and DDEX take
    for other in (UPC_A, "0" + UPC_A):
        with pytest.raises(
            ConfigError, match=f"00036000291452 is the same GTIN as {other}, which is already"
        ):
            UpcPool(Warehouse(str(tmp_path / "x.duckdb")), [other, "00036000291452"])


def test_a_upc_pool_of_upc_a_codes_is_used_and_bad_codes_are_named(tmp_path):
    pool = UpcPool(Warehouse(str(tmp_path / "w.duckdb")), [UPC_A, EAN_13])
    assert [pool.assign("a"), pool.assign("b")] == [UPC_A, EAN_13]
    with pytest.raises(ConfigError, match="036000291453 fails the GS1 check digit"):
        UpcPool(Warehouse(str(tmp_path / "w.duckdb")), [EAN_13, "036000291453"])
    with pytest.raises(ConfigError, match="0036000291452 is the same GTIN as 036000291452"):
        UpcPool(Warehouse(str(tmp_path / "w.duckdb")), [UPC_A, "0" + UPC_A])
    # A code already given out in one form is not given again in the other.
    padded = UpcPool(Warehouse(str(tmp_path / "w.duckdb")), ["0" + UPC_A, "2000000000015"])
    assert padded.assign("c") == "2000000000015"


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    """Three 8-second stereo masters (different tones) and a 3000×3000 cover."""
    folder = tmp_path_factory.mktemp("limits")
    paths = []
    for index in range(3):
        t = np.arange(8 * RATE) / RATE
        tone = 0.25 * np.sin(2 * np.pi * (220 + 55 * index) * t)
        paths.append(write_wav(folder / f"m{index}.wav", np.stack([tone, tone]).astype("f4"), RATE))
    cover = folder / "cover.jpg"
    Image.new("RGB", (3000, 3000), (40, 60, 90)).save(cover, "JPEG", quality=80)
    return {"paths": paths, "cover": cover}


def _release(upc, isrcs=("QZ-LFE-26-00001", "QZ-LFE-26-00002", "QZ-LFE-26-00003"), **changes):
    settings = ReleaseSettings(artist="Lofi Empire", label="Lofi Empire Records")
    tracks = [(changes.get("track_title", f"Track {i}"), isrc, 8.0) for i, isrc in enumerate(isrcs)]
    return plan_release(DATE, changes.get("title", "Jazz & Rain"), upc, settings, tracks)


@pytest.mark.parametrize("upc", [UPC_A, EAN_13])
def test_ddex_and_the_bulk_sheet_carry_the_code_as_given(masters, tmp_path, upc):
    folder = tmp_path / "bundle"
    folder.mkdir()
    build_bundle(folder, _release(upc), masters["paths"], masters["cover"], "PADPIDA0000000001X")
    root = etree.parse(str(folder / "ern.xml")).getroot()
    assert root.findtext("ReleaseList/Release/ReleaseId/ICPN") == upc  # 12 digits: a UPC
    rows = list(csv.DictReader(io.StringIO((folder / "metadata.csv").read_text())))
    assert {row["upc"] for row in rows} == {upc}
    assert f"UPC: {upc} " in (folder / "CHECKLIST.txt").read_text()


@pytest.mark.parametrize(
    ("party_id", "passes"),
    [
        ("PADPIDA0000000001X", True),  # 18 characters
        ("PADPIDA000000001X", False),  # 17
        ("PADPIDA00000000001X", False),  # 19
        ("PA-DPIDA-0000000001-X", False),  # the printed form: no hyphens in a message
    ],
)
def test_ddex_party_ids_have_the_dpid_syntax(party_id, passes):
    found = release_problems(_release(UPC_A), [party_id])
    assert (found == []) is passes
    if not passes:
        assert found == [
            f"DDEX party id {party_id!r} is not PADPIDA followed by 11 letters or digits "
            "(18 characters, no hyphens): use the DPID DDEX allocated you"
        ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"title": "Jazz\x00Rain"}, "title 'Jazz\\x00Rain' holds characters a DDEX message"),
        ({"title": "Jazz\nRain"}, "(U+000A)"),
        ({"track_title": " "}, "track 1 title is empty"),
        ({"isrcs": ("XX-LFE-26-00001",)}, "ISRC 'XX-LFE-26-00001' is not CC-XXX-YY-NNNNN"),
        ({"isrcs": ("QZ-LFE-26-00001",) * 2}, "track 2: ISRC QZ-LFE-26-00001 is on another"),
        ({"upc": "036000291453"}, "036000291453 fails the GS1 check digit"),
    ],
)
def test_a_release_the_stores_cannot_take_is_refused_before_a_byte_is_written(
    masters, tmp_path, changes, problem
):
    upc = changes.pop("upc", UPC_A)
    isrcs = changes.pop("isrcs", None)
    plan = _release(upc, **({"isrcs": isrcs} if isrcs else {}), **changes)
    count = len(plan.tracks)
    with pytest.raises(DistributionError, match="The release cannot go to stores"):
        build_bundle(
            tmp_path, plan, masters["paths"][:count], masters["cover"], "PADPIDA0000000001X"
        )
    assert any(problem in found for found in release_problems(plan))
    assert list(tmp_path.iterdir()) == []


def test_the_blocking_store_checks_fail_on_a_bad_release():
    plan = _release("036000291453", isrcs=("XX-LFE-26-00001", "QZ-LFE-26-00002"))
    isrcs = [track.isrc for track in plan.tracks]
    checks = streaming_check_results([], [], isrcs, 0, release_problems(plan), [])
    results = {result.check_name: result for result in checks}
    assert results["isrc_valid"].passed is False
    assert results["metadata_complete"].passed is False
    good = _release(UPC_A)
    assert release_problems(good, ["PADPIDA0000000001X"]) == []


def test_isrcs_have_a_known_country_code():
    assert valid_isrc("QZ-LFE-26-00001") and valid_isrc("GB-AAA-26-99999")
    assert not valid_isrc("XX-LFE-26-00001") and not valid_isrc("QZLFE2600001")
    assert parse_registrant("qz-lfe") == ("QZ", "LFE")
    with pytest.raises(ConfigError, match="XX is neither an ISO 3166-1 country code"):
        parse_registrant("XX-LFE")


# -- ISRCs belong to recordings ------------------------------------------------------------
def test_an_isrc_is_keyed_on_the_recording_and_old_rows_keep_theirs(tmp_path):
    warehouse = Warehouse(str(tmp_path / "w.duckdb"))
    registry = IsrcRegistry(warehouse, "QZ-LFE")
    first = RecordingIdentity(DATE, "1", "a" * 64)
    isrc = registry.issue(first, year=2026, channel_name="Lofi Empire")
    assert registry.issue(first, year=2026, channel_name="Renamed") == isrc
    remade = RecordingIdentity(DATE, "1", "b" * 64)  # another sound in the same slot
    assert registry.issue(remade, year=2026) not in (isrc, None)

    # Rows issued before recording identities: "<channel>|<date>|<slot>".
    legacy = [("QZ-LFE-26-00050", "Old Name|2026-11-28|1"), ("QZ-LFE-26-00051", "New|2026-11-28|2"),
              ("QZ-LFE-26-00052", "Old Name|2026-11-28|2")]  # fmt: skip
    for code, key in legacy:
        warehouse.execute(
            "INSERT INTO isrc_registry VALUES (?, ?, '26', ?, '2026-11-28T00:00:00+00:00')",
            [code, key, int(code[-5:])],
        )
    slot_1 = RecordingIdentity("2026-11-28", "1", "c" * 64)
    slot_2 = RecordingIdentity("2026-11-28", "2", "d" * 64)
    # Renamed since: the slot's only row is taken over, whatever name it was issued under.
    assert registry.issue(slot_1, year=2026, channel_name="New") == "QZ-LFE-26-00050"
    # Two rows (the rename bug's second set): the current name's row is the one kept.
    assert registry.issue(slot_2, year=2026, channel_name="New") == "QZ-LFE-26-00051"
    assert registry.issue(slot_2, year=2026, channel_name="Other") == "QZ-LFE-26-00051"
    # Once a slot is keyed by recording, a different sound there is a new recording.
    other = registry.issue(RecordingIdentity("2026-11-28", "2", "e" * 64), year=2026)
    assert other not in ("QZ-LFE-26-00051", "QZ-LFE-26-00052")
    assert registry.issued()[slot_1.key] == "QZ-LFE-26-00050"


def test_a_upc_is_keyed_on_the_release_and_old_rows_keep_theirs(tmp_path):
    warehouse = Warehouse(str(tmp_path / "w.duckdb"))
    warehouse.execute(
        "INSERT INTO upc_assignments VALUES (?, ?, '2026-11-27T00:00:00+00:00')",
        ["2000000000022", f"Lofi Empire|{DATE}"],
    )
    pool = UpcPool(warehouse, ["2000000000015", "2000000000022"])
    assert pool.assign(release_key(DATE), legacy_key=f"Renamed|{DATE}") == "2000000000022"
    assert pool.assign(release_key(DATE), legacy_key=f"Again|{DATE}") == "2000000000022"
    assert pool.assign(release_key("2026-11-28"), legacy_key="Renamed|2026-11-28") == (
        "2000000000015"
    )


def _write_day(data, masters, wav_for_slot):
    """The records streaming_release reads, as the upstream assets leave them on disk."""
    for slot, source in wav_for_slot.items():
        folder = data / "mastered_wav" / DATE / slot
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "master.wav").write_bytes(source.read_bytes())
        record = MasterRecord(f"mastered_wav/{DATE}/{slot}/master.wav", "", "", -14.0, -1.5,
                              8.0, "jazz", 85.0)  # fmt: skip
        write_json_atomic(folder / "record.json", record_to_document(record))
    metadata = data / "release_metadata" / DATE
    write_json_atomic(metadata / "metadata.json", {"track_titles": ["Rain", "Tea", "Moon"]})
    record = MetadataRecord(
        f"release_metadata/{DATE}/metadata.json", "Jazz", "2026-11-27T14:00:00Z"
    )
    write_json_atomic(metadata / "record.json", record_to_document(record))
    thumbnail = data / "thumbnail" / DATE
    thumbnail.mkdir(parents=True, exist_ok=True)
    (thumbnail / "cover.jpg").write_bytes(masters["cover"].read_bytes())
    record = ThumbnailRecord({}, f"thumbnail/{DATE}/cover.jpg", "jazz and rain")
    write_json_atomic(thumbnail / "record.json", record_to_document(record))


def test_renaming_the_channel_keeps_every_isrc_and_the_upc(masters, tmp_path, instance):
    data = tmp_path / "data"
    resources = make_resources(data)
    _write_day(data, masters, dict(zip("123", masters["paths"], strict=True)))

    def release(channel_name):
        result = dg.materialize(
            [midi_sketch, stems, mastered_wav, release_mix, release_metadata, thumbnail,
             streaming_release],
            selection=[streaming_release], partition_key=DATE, resources=resources, instance=instance,
            run_config={"resources": {"channel": {"config": {"channel_name": channel_name}}}},
        )  # fmt: skip
        assert result.success
        return json.loads((data / "streaming_release" / DATE / "record.json").read_text())["fields"]

    first = release("Lofi Empire")
    renamed = release("深夜のローファイ")
    assert renamed["isrcs"] == first["isrcs"] and len(set(first["isrcs"])) == 3
    assert renamed["upc"] == first["upc"]
    keys = Warehouse(str(data / "warehouse.duckdb")).query("SELECT track_key FROM isrc_registry")
    assert all(row["track_key"].startswith(f"recording|{DATE}|") for row in keys)

    # Slot 2 re-made as a different recording: a new ISRC for it alone.
    t = np.arange(8 * RATE) / RATE
    other = np.stack([0.2 * np.sin(2 * np.pi * 440 * t)] * 2).astype("f4")
    write_wav(data / "mastered_wav" / DATE / "2" / "master.wav", other, RATE)
    remade = release("深夜のローファイ")
    assert remade["isrcs"][0] == first["isrcs"][0] and remade["isrcs"][2] == first["isrcs"][2]
    assert remade["isrcs"][1] not in first["isrcs"]
