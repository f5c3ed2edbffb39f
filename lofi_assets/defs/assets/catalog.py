"""Catalog group: the listening-room site (issue 18), rebuilt as each day's release lands."""

import dagster as dg

from lofi_assets.catalog.site import (
    CatalogRelease,
    CatalogTrack,
    SiteSettings,
    write_index,
    write_release,
)
from lofi_assets.defs.assets.common import (
    ALL_SLOTS_OF_THE_DAY,
    day_tracks_deps,
    read_plan,
    release_asset_options,
)
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import date_and_slot
from lofi_assets.defs.records import (
    CatalogSiteRecord,
    MasterRecord,
    MetadataRecord,
    SketchRecord,
    ThumbnailRecord,
)
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    DistributorResource,
    WarehouseResource,
)
from lofi_assets.lineage import input_hashes
from lofi_assets.publish.distribution import recording_sha256
from lofi_assets.publish.identifiers import IsrcRegistry, RecordingIdentity
from lofi_assets.publish.metadata import document_chapters
from lofi_assets.storage import atomic_directory

SITE_FOLDER = "catalog_site"


@dg.asset(
    group_name="catalog",
    kinds={"python", "html"},
    code_version="1",
    ins={
        "mastered_wav": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY),
        "midi_sketch": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY),
    },
    deps=day_tracks_deps("mastered_wav", "midi_sketch"),
    **release_asset_options(CatalogSiteRecord),
)
def catalog_site(
    context: dg.AssetExecutionContext,
    mastered_wav: dict[str, MasterRecord],
    midi_sketch: dict[str, SketchRecord],
    release_metadata: MetadataRecord,
    thumbnail: ThumbnailRecord,
    channel: ChannelConfig,
    distributor: DistributorResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """The day's release on the listening-room site: pages with players, artwork, chapters,
    key/BPM/style, piano rolls, ISRCs and licence; the index, feed and licences page rebuilt."""
    date = str(context.partition_key)
    site_root = artifact_store.root / SITE_FOLDER
    with domain_failures(artifact_store.root):
        settings = channel.settings()
        site = SiteSettings(settings.name, settings.artist, channel.site_url)
        slots = sorted(mastered_wav, key=lambda key: int(date_and_slot(key)[1]))
        metadata = artifact_store.read_json(release_metadata.metadata_path)
        # ISRCs are issued by streaming_release; until it ran for the day, the page says so.
        issued = IsrcRegistry(warehouse.client(), distributor.isrc_registrant).issued()
        tracks = []
        for position, (key, title, chapter) in enumerate(
            zip(slots, metadata["track_titles"], document_chapters(metadata), strict=True), start=1
        ):
            slot = date_and_slot(key)[1]
            plan = read_plan(artifact_store, midi_sketch[key])
            master = artifact_store.resolve(mastered_wav[key].wav_path)
            identity = RecordingIdentity(date, slot, recording_sha256(master, position))
            tracks.append(
                CatalogTrack(
                    slot=slot, title=title, style=plan.style,
                    style_name=plan.style_display_name, key=plan.key, bpm=float(plan.bpm),
                    duration_s=plan.duration_s, start_s=chapter.start_s,
                    isrc=issued.get(identity.key), master_path=master,
                    piano_roll_path=artifact_store.resolve(midi_sketch[key].piano_roll_path),
                )
            )  # fmt: skip
        release = CatalogRelease(
            date=date,
            title=metadata["title"],
            description=metadata["description"],
            mood=metadata.get("title_words", {}).get("mood", ""),
            cover_path=artifact_store.resolve(thumbnail.cover_path),
            tracks=tuple(tracks),
        )
        inputs = input_hashes(
            artifact_store.root,
            [release_metadata.metadata_path, thumbnail.cover_path]
            + [mastered_wav[key].wav_path for key in slots],
        )
        folder = artifact_store.partition_dir(SITE_FOLDER, date)
        with atomic_directory(folder) as staging:
            write_release(staging, release, site)
        listed = write_index(site_root, site)
    page_url = site.url_of(f"{date}/index.html")
    context.log.info(f"{date}: {len(tracks)} track pages; the index lists {len(listed)} releases")
    return dg.MaterializeResult(
        value=CatalogSiteRecord(
            page_path=artifact_store.relative(folder / "index.html"),
            page_url=page_url,
            track_pages=[
                artifact_store.relative(folder / "tracks" / t.slot / "index.html") for t in tracks
            ],
            isrcs=[t.isrc or "" for t in tracks],
            input_sha256=inputs,
        ),
        metadata={
            "release_page": dg.MetadataValue.url(page_url),
            "index": dg.MetadataValue.url(site.url_of("index.html")),
            "feed": dg.MetadataValue.url(site.url_of("feed.xml")),
            "tracks": dg.MetadataValue.int(len(tracks)),
            "releases_listed": dg.MetadataValue.int(len(listed)),
            "isrcs_issued": dg.MetadataValue.int(sum(1 for t in tracks if t.isrc)),
            "site_root": dg.MetadataValue.path(str(site_root)),
        },
    )


CATALOG_ASSETS = [catalog_site]

catalog_site_job = dg.define_asset_job(
    "catalog_site_job",
    selection=dg.AssetSelection.assets(catalog_site),
    description="The day's release on the listening-room site (after its publish run, so the "
    "pages carry the ISRCs streaming_release issued).",
)
