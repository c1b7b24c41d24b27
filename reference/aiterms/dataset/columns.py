"""Column mappings of manifests and their presets (spec/dataset.md#columns).

A mapping names, for each field aiterms reads, the manifest column that holds it:

``id`` asset IRI (page URL) · ``url`` content URL · ``photo_id`` platform photo id · ``owner`` owner account ·
``license`` license IRI · ``tags`` free tags · ``hash`` content hash · ``depicted`` number of depicted persons.

``--columns url=URL,owner=uid,tags=usertags`` maps fields explicitly; ``--preset yfcc100m`` or ``--preset laion``
select the layouts of those datasets. Without either, columns are found by their usual names (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

FIELDS = ("id", "url", "photo_id", "owner", "license", "tags", "hash", "depicted")

# Usual header names of each field, compared case-insensitively (the first match wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "asset", "asset_iri", "page_url", "pageurl", "photo_page", "photo_url"),
    "url": ("url", "contenturl", "content_url", "downloadurl", "download_url", "image_url", "img_url"),
    "photo_id": ("photo_id", "photoid", "flickr_id", "flickr_photo_id"),
    "owner": ("owner", "owner_id", "uid", "nsid", "user_nsid", "account"),
    "license": ("license", "licenseurl", "license_url", "licence"),
    "tags": ("tags", "usertags", "user_tags"),
    "hash": ("hash", "contenthash", "content_hash", "sha256", "md5"),
    "depicted": ("depicted", "depictedpersons", "depicted_persons"),
}

# YFCC100M (Yahoo Webscope / multimedia-commons ``yfcc100m_dataset``): tab-separated, no header. The 25-column
# form starts with the line number and the photo hash (openai/CLIP data_md/yfcc100m.md); the original 23-column
# form does not (users.md 1.6).
YFCC100M_COLUMNS_25 = (
    "line_number", "photoid", "photo_hash", "uid", "unickname", "datetaken", "dateuploaded", "capturedevice",
    "title", "description", "usertags", "machinetags", "longitude", "latitude", "accuracy", "pageurl",
    "downloadurl", "licensename", "licenseurl", "serverid", "farmid", "secret", "secretoriginal", "ext", "marker",
)
YFCC100M_COLUMNS_23 = tuple(c for c in YFCC100M_COLUMNS_25 if c not in ("line_number", "photo_hash"))

# LAION-400M / LAION-5B metadata parquet (img2dataset dataset_examples): SAMPLE_ID, URL, TEXT, HEIGHT, WIDTH,
# LICENSE, NSFW, similarity (LAION-2B adds hash, punsafe, pwatermark; its "hash" hashes URL and text, not the
# image, so it is not a content hash).
LAION_COLUMNS = ("SAMPLE_ID", "URL", "TEXT", "HEIGHT", "WIDTH", "LICENSE", "NSFW", "similarity")


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which column holds each field; how to read the file around them.

    ``names``: the column names when the file has no header row (YFCC100M). ``tag_separator``: between tags in
    one cell. ``tags_encoding``: ``plain`` or ``url`` (URL-encoded, ``+`` for space, as YFCC100M writes them).
    ``platform``: the platform of bare photo ids and account ids (``flickr``).
    """

    fields: dict[str, str] = field(default_factory=dict)
    names: tuple[str, ...] | None = None
    alt_names: tuple[tuple[str, ...], ...] = ()
    delimiter: str | None = None
    tag_separator: str = ","
    tags_encoding: str = "plain"
    platform: str | None = None
    preset: str | None = None
    optional: frozenset[str] = frozenset()  # fields whose column may be absent (a preset's, not given explicitly)

    def resolve(self, header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
        """Column index of each field for a file with this header; unknown explicit columns are returned as
        errors (field=column pairs)."""
        index = {h: i for i, h in enumerate(header)}
        lower = {h.lower(): i for i, h in reversed(list(enumerate(header)))}
        out: dict[str, int] = {}
        missing: list[str] = []
        for name, column in self.fields.items():
            if column in index:
                out[name] = index[column]
            elif column.lower() in lower:
                out[name] = lower[column.lower()]
            else:
                missing.append(f"{name}={column}")
        if self.preset is None:
            for name in FIELDS:
                if name in out or name in self.fields:
                    continue
                for alias in ALIASES[name]:
                    if alias in lower:
                        out[name] = lower[alias]
                        break
        return out, missing


PRESETS: dict[str, ColumnMap] = {
    "yfcc100m": ColumnMap(
        fields={"photo_id": "photoid", "owner": "uid", "license": "licenseurl", "tags": "usertags",
                "hash": "photo_hash", "url": "downloadurl", "id": "pageurl"},
        names=YFCC100M_COLUMNS_25, alt_names=(YFCC100M_COLUMNS_23,), delimiter="\t", tag_separator=",",
        tags_encoding="url", platform="flickr", preset="yfcc100m",
        optional=frozenset(("photo_id", "owner", "license", "tags", "hash", "url", "id")),
    ),
    "laion": ColumnMap(fields={"url": "URL", "license": "LICENSE"}, preset="laion",
                       optional=frozenset(("license",))),
}


def parse_columns(spec: str, base: ColumnMap | None = None) -> ColumnMap:
    """Parse ``--columns field=column,field=column`` on top of ``base`` (a preset or the default mapping).

    Raises ValueError with a message naming the bad part.
    """
    fields = dict(base.fields) if base else {}
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise ValueError(f"{part!r}: expected field=column")
        if name not in FIELDS:
            raise ValueError(f"{name!r} is not a field aiterms reads (fields: {', '.join(FIELDS)})")
        fields[name] = column
    if base is None:
        return ColumnMap(fields=fields)
    # An explicit mapping on top of a preset keeps the preset's layout; the fields given explicitly must exist.
    given = {part.partition("=")[0].strip() for part in spec.split(",") if part.strip()}
    return replace(base, fields=fields, optional=base.optional - given)


def column_map(preset: str | None = None, columns: str | None = None, *, tag_separator: str | None = None,
               platform: str | None = None) -> ColumnMap:
    """The mapping for the command line options ``--preset``, ``--columns``, ``--tag-separator``, ``--platform``."""
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (presets: {', '.join(sorted(PRESETS))})")
    base = PRESETS[preset] if preset else None
    cm = parse_columns(columns, base) if columns else (base or ColumnMap())
    if tag_separator is not None:
        cm = replace(cm, tag_separator=tag_separator)
    if platform is not None:
        cm = replace(cm, platform=platform)
    return cm
