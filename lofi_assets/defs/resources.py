"""Resources: the channel's settings and where artifacts live."""

import enum
import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from lofi_assets.audio.soundfont import SoundFont, resolve_soundfont
from lofi_assets.catalog.site import DEFAULT_SITE_URL
from lofi_assets.channel import CHANNEL_TIMEZONE_ENV, DEFAULT_SLOTS, Channel, channel_timezone
from lofi_assets.defs.failures import DATA_DIR_ENV
from lofi_assets.defs.partitions import partition_path_parts
from lofi_assets.defs.records import RECORD_FILE, read_record
from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.publish.delivery import DeliveryTarget, DropFolder, SftpTarget
from lofi_assets.publish.distribution import ReleaseSettings
from lofi_assets.publish.feedback import (
    BOOSTS_FILE,
    StyleBoost,
    Thresholds,
    add_boost,
    read_boosts,
)
from lofi_assets.publish.localize import DEFAULT_LANGUAGES
from lofi_assets.publish.report import SMTP_HOST_ENV, SmtpSettings
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import (
    ENDPOINT_ENV,
    TOKEN_FILE_ENV,
    CredentialsError,
    YouTubeClients,
    build_clients,
    load_credentials,
    token_uri_for,
)
from lofi_assets.storage import confined_path

if TYPE_CHECKING:
    from lofi_assets.music.model.generate import MelodyModel

DEFAULT_DATA_DIR = "data"
WAREHOUSE_URL_ENV = "LOFI_WAREHOUSE_URL"
WAREHOUSE_FILE = "warehouse.duckdb"
SFTP_PASSWORD_ENV = "LOFI_SFTP_PASSWORD"
DROP_FOLDER_NAME = "distributor_dropbox"


def default_data_dir() -> str:
    return os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)


def field_or_environment(value: str | None, variable: str) -> str | None:
    """A resource field's value, or else the environment variable's, read when it is used.

    Why at use time: run config that configures a resource replaces *every* value given when
    the resource was constructed, ``dg.EnvVar`` wiring included (Dagster builds the resource
    from the run config alone; see "Configuring resources at launch time" in Dagster's
    resources docs). Overriding one field of ``distributor`` (say ``sftp_host``) then
    dropped ``LOFI_SFTP_PASSWORD``, and the error claimed the variable was missing while it
    was set. Reading the variable here keeps it for every configuration; an explicit value
    (literal or ``{"env": …}``) still wins.
    """
    return value or os.environ.get(variable) or None


class ChannelConfig(dg.ConfigurableResource):
    """Who the channel is and what it makes: name, timezone, daily slots, style mix."""

    channel_name: str = Field(default="Lofi Empire", description="Shown in titles and seeds")
    artist: str = Field(default="Lofi Empire", description="Primary artist on every release")
    timezone: str | None = Field(
        default=None,
        description=f"IANA timezone of the channel's publish hours; empty: ${CHANNEL_TIMEZONE_ENV} "
        "(which also sets the days of release_dates), else UTC",
    )
    slots: list[str] = Field(
        default=list(DEFAULT_SLOTS), description="Track slots per day (subset of 1, 2, 3)"
    )
    style_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Relative weight of each style preset; empty means all equally likely",
    )
    track_length_min_s: float = Field(default=165.0, description="Shortest default track")
    track_length_max_s: float = Field(default=210.0, description="Longest default track")
    publish_windows: list[str] = Field(
        default=["14-16", "20-22"],
        description="Best hours to publish, as start-end hours in the channel's timezone",
    )
    languages: list[str] = Field(
        default=list(DEFAULT_LANGUAGES),
        description="Languages of each release's title and description (BCP-47): English is the "
        "snippet, the others localizations written from assets_library/localized/<language>.yaml",
    )

    site_url: str = Field(
        default=DEFAULT_SITE_URL,
        description="Where the listening-room site is served (`lofi catalog serve` by default): "
        "links in its feed and in the UI's catalog_site metadata",
    )

    breakout_views_48h: int = Field(
        default=1_000, description="Views in a release's first 48 h that make it a breakout"
    )
    breakout_view_percentage: float = Field(
        default=40.0, description="Average percentage viewed that a breakout also needs"
    )

    def thresholds(self) -> Thresholds:
        return Thresholds(self.breakout_views_48h, self.breakout_view_percentage)

    def settings(self) -> Channel:
        """The channel's settings as the domain's ``Channel``.

        Raises:
            ConfigError: a slot that is not one of the track partitions' slots.
        """
        unknown_slots = sorted(set(self.slots) - set(DEFAULT_SLOTS))
        if unknown_slots:
            raise ConfigError(
                f"Slots {unknown_slots} are not track partitions; use some of {list(DEFAULT_SLOTS)}"
            )
        return Channel(
            name=self.channel_name,
            artist=self.artist,
            # The calendar's timezone unless set here (field_or_environment says why at use).
            timezone=self.timezone or channel_timezone(),
            slots=tuple(self.slots),
            style_weights=dict(self.style_weights),
            track_length_range_s=(self.track_length_min_s, self.track_length_max_s),
        )


class ArtifactStore(dg.ConfigurableResource):
    """The data root (``$LOFI_DATA_DIR``, default ``./data``): ``<asset>/<date>/<slot>/…``."""

    data_dir: str = Field(default=DEFAULT_DATA_DIR, description="Root folder of every artifact")

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    def partition_dir(self, asset_name: str, partition_key: str | dg.MultiPartitionKey) -> Path:
        """``<root>/<asset>/<date>[/<slot>]``; keys come from run tags and the UI, so the folder
        is confined under the root (``PathEscapeError`` otherwise)."""
        parts = partition_path_parts(partition_key)
        return confined_path(self.root, asset_name, *parts, what="partition key")

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def resolve(self, relative_path: str) -> Path:
        """A record's path under the root (records are files anyone may edit: confined)."""
        return confined_path(self.root, relative_path, what="artifact path")

    def read_json(self, relative_path: str) -> Any:
        return json.loads(self.resolve(relative_path).read_text(encoding="utf-8"))

    def read_record(self, asset_name: str, partition_key: str) -> Any | None:
        """The record ``asset_name`` wrote for ``partition_key`` (``records.read_record``), or
        None when that partition has none: for the assets that look up partitions other than
        their inputs' (the week's masters, a breakout's sketch)."""
        path = self.partition_dir(asset_name, partition_key) / RECORD_FILE
        return read_record(path) if path.is_file() else None


# Where melody_model writes its files under the data root (replaced whole on each run) and
# the file written last, whose presence says a model is complete.
MELODY_MODEL_FOLDER = Path("melody_model") / "current"
MELODY_MODEL_REPORT = "report.json"


@functools.lru_cache(maxsize=2)
def _load_melody_model(folder: str, version_stamp: float) -> "MelodyModel":
    # Keyed by the report's mtime too, so a retrained model is loaded again in a long-lived
    # process; the import waits for the first style that asks for the model.
    from lofi_assets.music.model.generate import MelodyModel

    return MelodyModel(Path(folder))


class MelodyModelResource(dg.ConfigurableResource):
    """The trained melody model (``melody_model``'s files under the data root), for the styles
    whose ``melody.generator`` is ``model``: the seam through which midi_sketch reads what
    another asset trained, loaded once per process and version."""

    store: dg.ResourceDependency[ArtifactStore]

    def folder(self) -> Path:
        return self.store.root / MELODY_MODEL_FOLDER

    def load(self) -> "MelodyModel | None":
        """The current model, or None until melody_model has been materialized."""
        report = self.folder() / MELODY_MODEL_REPORT
        if not report.is_file():
            return None
        return _load_melody_model(str(self.folder()), report.stat().st_mtime)


class StyleBoostStore(dg.ConfigurableResource):
    """The style boosts (``publish.feedback.StyleBoost``) that breakout_feedback adds and
    midi_sketch weighs styles by: ``feedback/style_boosts.json`` under the data root."""

    store: dg.ResourceDependency[ArtifactStore]

    @property
    def path(self) -> Path:
        return self.store.root / BOOSTS_FILE

    def read(self) -> list[StyleBoost]:
        return read_boosts(self.path)

    def add(self, boost: StyleBoost) -> bool:
        """Record ``boost`` once; False when the same video's boost is already there."""
        return add_boost(self.path, boost)


class SoundFontResource(dg.ConfigurableResource):
    """The SoundFont for rendering: a path, else $LOFI_SOUNDFONT, Debian's FluidR3_GM, then
    the small GM font bundled with pretty_midi."""

    path: str | None = Field(default=None, description="An .sf2 file; empty for the default chain")

    def resolve(self) -> SoundFont:
        return resolve_soundfont(self.path)


class YouTubeMode(enum.StrEnum):
    """Whether YouTube is published to: enum fields make bad values fail at launch."""

    auto = "auto"  # live when a token file is configured, else dry-run
    dry_run = "dry_run"  # every request built and written to a manifest, no socket opened
    live = "live"


class Delivery(enum.StrEnum):
    """Where streaming release bundles go."""

    drop_folder = "drop_folder"
    sftp = "sftp"


class YouTubeResource(dg.ConfigurableResource):
    """YouTube Data and Analytics API clients (google-api-python-client, static discovery).

    ``auto`` (the default) publishes live only when a token file is configured; otherwise it
    is dry-run: every request is built and written to a manifest, and no socket is opened.
    """

    mode: YouTubeMode = Field(
        default=YouTubeMode.auto, description="auto (live with a token file), dry_run or live"
    )
    token_file: str | None = Field(
        default=None,
        description=f"OAuth token file from `lofi auth youtube`; empty: ${TOKEN_FILE_ENV}",
    )
    endpoint: str | None = Field(
        default=None, description=f"Another API server, e.g. a local one; empty: ${ENDPOINT_ENV}"
    )
    chunk_mb: int = Field(default=8, ge=1, description="Upload chunk size in MiB")

    @property
    def resolved_token_file(self) -> str | None:
        """The token file: this field, else ``$YOUTUBE_TOKEN_FILE`` (read now, see
        field_or_environment)."""
        return field_or_environment(self.token_file, TOKEN_FILE_ENV)

    @property
    def resolved_endpoint(self) -> str | None:
        """The API server: this field, else ``$YOUTUBE_API_ENDPOINT``, else Google's (None)."""
        return field_or_environment(self.endpoint, ENDPOINT_ENV)

    @property
    def live(self) -> bool:
        token_file = self.resolved_token_file
        if self.mode == "live" and not token_file:
            raise CredentialsError(
                f"YouTube mode is live but no token file is set (neither token_file nor "
                f"${TOKEN_FILE_ENV}): run `lofi auth youtube` and set {TOKEN_FILE_ENV}"
            )
        return self.mode == "live" or (self.mode == "auto" and bool(token_file))

    def clients(self) -> YouTubeClients:
        endpoint = self.resolved_endpoint
        credentials = (
            load_credentials(self.resolved_token_file, token_uri_for(endpoint))
            if self.live
            else None
        )
        return build_clients(credentials, endpoint)


class WarehouseResource(dg.ConfigurableResource):
    """Where the upload ledger and analytics live: a DuckDB file, or PostgreSQL in production.

    A URL with a password belongs in ``$LOFI_WAREHOUSE_URL`` (wired as ``dg.EnvVar``): a literal
    here would be stored with the job's snapshot and shown in the UI.
    """

    url: str = Field(
        default=str(Path(DEFAULT_DATA_DIR) / WAREHOUSE_FILE),
        description=f"A .duckdb path, or a postgresql:// (or postgresql+psycopg2://) URL; "
        f"with a password, from ${WAREHOUSE_URL_ENV}",
    )

    def client(self) -> Warehouse:
        """The warehouse at ``url`` (opened per query; see ``publish.warehouse.Warehouse``)."""
        return Warehouse(self.url)


class DistributorResource(dg.ConfigurableResource):
    """How streaming releases are labelled, identified and delivered.

    Delivery goes to a local drop folder by default, or to a distributor's SFTP server. The
    SFTP password comes from the environment (``$LOFI_SFTP_PASSWORD``, read when delivering,
    so it survives run config that overrides other fields), never from a file in the repo.
    """

    delivery: Delivery = Field(default=Delivery.drop_folder, description="drop_folder or sftp")
    drop_folder: str | None = Field(
        default=None,
        description=f"Where bundles are dropped for pick-up; empty: ${DATA_DIR_ENV}/"
        f"{DROP_FOLDER_NAME} (./data/{DROP_FOLDER_NAME})",
    )
    sftp_host: str | None = Field(default=None, description="The distributor's SFTP host")
    sftp_port: int = Field(default=22)
    sftp_username: str | None = Field(default=None)
    sftp_password: str | None = Field(
        default=None, description=f"Empty: ${SFTP_PASSWORD_ENV}, read when delivering"
    )
    sftp_private_key_file: str | None = Field(default=None)
    sftp_known_hosts: str | None = Field(
        default=None, description="known_hosts file with the server's key (default ~/.ssh)"
    )
    sftp_remote_dir: str = Field(default="incoming")
    label: str = Field(default="Lofi Empire Records", description="Label on ℗/© lines")
    genre: str = Field(default="Hip-Hop/Rap")
    subgenre: str = Field(default="Lo-Fi")
    lead_days: int = Field(default=14, description="Days between a track's date and its store date")
    isrc_registrant: str = Field(
        default="QZ-LFE", description="Country and registrant code from your ISRC agency"
    )
    upc_pool_file: str | None = Field(
        default=None,
        description="EAN-13 codes, one a line; empty: assets_library/upc_pool_dev.txt, "
        "restricted-circulation codes for development only",
    )
    ddex_party_id: str = Field(default="PADPIDA0000000001X", description="Our DDEX party id")

    def target(self) -> DeliveryTarget:
        """Where bundles go. Raises ConfigError naming the missing setting."""
        if self.delivery == "drop_folder":
            folder = self.drop_folder or str(Path(default_data_dir()) / DROP_FOLDER_NAME)
            return DropFolder(Path(folder).resolve())
        if not self.sftp_host or not self.sftp_username:
            raise ConfigError("SFTP delivery needs sftp_host and sftp_username")
        password = field_or_environment(self.sftp_password, SFTP_PASSWORD_ENV)
        if not password and not self.sftp_private_key_file:
            # Read just now from this process's environment: the message is true when it runs.
            raise ConfigError(
                f"SFTP delivery to {self.sftp_username}@{self.sftp_host} needs a password or a "
                f"key: neither sftp_password nor sftp_private_key_file is set, and "
                f"{SFTP_PASSWORD_ENV} is not set in the environment of this run; set one of them"
            )
        return SftpTarget(
            host=self.sftp_host,
            port=self.sftp_port,
            username=self.sftp_username,
            remote_dir=self.sftp_remote_dir,
            password=password,
            private_key_file=self.sftp_private_key_file,
            known_hosts=self.sftp_known_hosts,
        )

    def settings(self, artist: str) -> ReleaseSettings:
        return ReleaseSettings(
            artist=artist,
            label=self.label,
            genre=self.genre,
            subgenre=self.subgenre,
            lead_days=self.lead_days,
        )

    def upc_codes(self) -> list[str]:
        path = Path(self.upc_pool_file or assets_library_dir() / "upc_pool_dev.txt")
        if not path.is_file():
            raise ConfigError(f"No UPC pool at {path}: give a file with one EAN-13 code a line")
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


class ReportResource(dg.ConfigurableResource):
    """Where the owner's weekly report goes: ``auto`` (the default) sends over SMTP when
    ``$LOFI_SMTP_HOST`` is set and writes an .eml otherwise; ``dry_run`` always writes the
    .eml; ``live`` needs the host. Settings are read from the environment when the report is
    made (``LOFI_SMTP_HOST``, ``LOFI_SMTP_PORT``, ``LOFI_SMTP_USER``, ``LOFI_SMTP_PASSWORD``,
    ``LOFI_SMTP_STARTTLS``, ``LOFI_REPORT_TO``, ``LOFI_REPORT_FROM``): the password never
    appears in run config or the UI."""

    mode: str = Field(default="auto", description="auto, dry_run or live")

    def settings(self) -> SmtpSettings | None:
        """The SMTP settings, or None for a dry run. Raises ConfigError for an unknown mode,
        or live without ``$LOFI_SMTP_HOST``."""
        if self.mode not in ("auto", "dry_run", "live"):
            raise ConfigError(f"Report mode {self.mode!r}: use auto, dry_run or live")
        if self.mode == "dry_run":
            return None
        settings = SmtpSettings.from_environment()
        if settings is None and self.mode == "live":
            raise ConfigError(f"Report mode is live but {SMTP_HOST_ENV} is not set")
        return settings
