"""Join keys between manifest rows, records and the declarations store (spec/dataset.md#keys).

Six kinds of key identify what a declaration is about:

``asset``  the asset IRI (a record's ``id``), normalized as a URL;
``url``    a content URL (``contentUrl``, a manifest's download URL), normalized;
``photo``  a platform photo id, ``<platform>:<id>`` (``flickr:5020123456``), also derived from Flickr page IRIs;
``owner``  an account, ``<platform>:<id>`` (``flickr:12345678@N00``): one declaration covers the whole account;
``hash``   a content hash ``<algorithm>:<lowercase hex>`` (``sha256:…``, ``md5:…``);
``domain`` a host name (``example.com``): a declaration keyed by a domain covers that host and its subdomains.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

ASSET = "asset"
URL = "url"
PHOTO = "photo"
OWNER = "owner"
HASH = "hash"
DOMAIN = "domain"
KINDS = (ASSET, URL, PHOTO, OWNER, HASH, DOMAIN)

_FLICKR_PAGE = re.compile(r"^https?://(?:www\.|m\.)?flickr\.com/photos/([^/?#]+)/(\d+)(?:[/?#].*)?$", re.I)
_FLICKR_STATIC = re.compile(r"^https?://(?:live|farm\d+|c\d*)\.static\.?flickr\.com/(?:\d+/)+(\d+)_[0-9a-f]+", re.I)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_NSID = re.compile(r"^\d+@[A-Z]\d{2}$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalize_url(value: str) -> str | None:
    """req-key-url: the comparison form of a URL: scheme and host lower-cased, default port and fragment removed,
    an empty path made ``/``; ``http`` and ``https`` compare equal (the scheme is written ``https``).

    Returns None for anything that is not an absolute http(s) URL.
    """
    text = value.strip()
    if not text or " " in text:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    netloc = host if port is None or str(port) == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))


@lru_cache(maxsize=65536)
def host_of(url: str) -> str | None:
    """The lower-cased host of an http(s) URL (None when there is none)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def normalize_domain(value: str) -> str | None:
    """A domain key: a bare host name, or the host of a URL or origin (``https://example.com`` -> ``example.com``)."""
    text = value.strip().lower().rstrip(".")
    if "://" in text:
        return host_of(text)
    if not text or any(c in text for c in "/ @:") or "." not in text:
        return None
    return text


def domains_for_lookup(host: str) -> Iterator[str]:
    """The host and each parent domain with at least two labels (``a.b.example.com`` -> itself, ``b.example.com``,
    ``example.com``), so a declaration keyed by a domain covers its subdomains."""
    labels = host.split(".")
    for i in range(len(labels) - 1):
        yield ".".join(labels[i:])


def normalize_hash(value: str) -> str | None:
    """req-key-hash: ``<algorithm>:<lowercase hex>``; a bare hex string gets its algorithm from its length
    (32 md5, 40 sha1, 64 sha256, 128 sha512)."""
    text = value.strip()
    alg, sep, digest = text.partition(":")
    if not sep:
        alg, digest = _HASH_LENGTHS.get(len(text), ""), text
        if not alg:
            return None
    alg = alg.lower().replace("-", "")
    if not digest or not _HEX.match(digest):
        return None
    return f"{alg}:{digest.lower()}"


def account_key(value: str, platform: str | None = None) -> str | None:
    """req-key-owner: an account as ``<platform>:<id>``. A bare Flickr NSID (``12345678@N00``) gets the platform
    given (or ``flickr``, the only platform whose ids are recognisable on their own); a Flickr profile URL
    becomes ``flickr:<id>``; an IRI stays as it is."""
    text = value.strip()
    if not text:
        return None
    if text.startswith(("http://", "https://")):
        m = re.match(r"^https?://(?:www\.)?flickr\.com/(?:photos|people)/([^/?#]+)/?$", text, re.I)
        if m:
            return f"flickr:{m.group(1)}"
        return normalize_url(text)
    if ":" in text:
        platform_part, _, ident = text.partition(":")
        return f"{platform_part.lower()}:{ident}" if ident else None
    if platform:
        return f"{platform.lower()}:{text}"
    if _NSID.match(text):
        return f"flickr:{text}"
    return None


def photo_key(value: str, platform: str | None = None) -> str | None:
    """req-key-photo: a platform photo id as ``<platform>:<id>`` (a bare id needs the platform)."""
    text = value.strip()
    if not text:
        return None
    if ":" in text and not text.startswith(("http://", "https://")):
        platform_part, _, ident = text.partition(":")
        return f"{platform_part.lower()}:{ident}" if ident else None
    if text.startswith(("http://", "https://")):
        return flickr_photo_from_url(text)
    if platform:
        return f"{platform.lower()}:{text}"
    return None


def flickr_photo_from_url(url: str) -> str | None:
    """``flickr:<photo id>`` from a Flickr photo page or static image URL."""
    m = _FLICKR_PAGE.match(url)
    if m:
        return f"flickr:{m.group(2)}"
    m = _FLICKR_STATIC.match(url)
    if m:
        return f"flickr:{m.group(1)}"
    return None


def flickr_owner_from_url(url: str) -> str | None:
    """``flickr:<user>`` from a Flickr photo page URL (the user part may be an NSID or a path alias)."""
    m = _FLICKR_PAGE.match(url)
    return f"flickr:{m.group(1)}" if m else None


def record_keys(rec: dict[str, object], *, with_owner: bool = True) -> list[tuple[str, str]]:
    """Every key of a canonical record: its asset IRI, content URL (and domain), content hash, photo id and,
    when ``with_owner``, its owner account. Values that cannot be keys are skipped."""
    out: list[tuple[str, str]] = []
    rid = rec.get("id")
    if isinstance(rid, str):
        k = normalize_url(rid) if rid.startswith(("http://", "https://")) else rid.strip() or None
        if k:
            out.append((ASSET, k))
        photo = flickr_photo_from_url(rid)
        if photo:
            out.append((PHOTO, photo))
    url = rec.get("contentUrl")
    if isinstance(url, str):
        k = normalize_url(url)
        if k:
            out.append((URL, k))
            photo = flickr_photo_from_url(url)
            if photo and (PHOTO, photo) not in out:
                out.append((PHOTO, photo))
    h = rec.get("contentHash")
    if isinstance(h, str):
        k = normalize_hash(h)
        if k:
            out.append((HASH, k))
    if with_owner:
        owner = rec.get("owner")
        if isinstance(owner, str):
            k = account_key(owner)
            if k:
                out.append((OWNER, k))
    return out


def lookup_keys(*, asset: str | None = None, url: str | None = None, photo: str | None = None,
                owner: str | None = None, hash: str | None = None) -> list[tuple[str, str]]:
    """req-join-keys: the keys a manifest row (or record) is looked up by, already normalized: the asset, the URL,
    the photo, the owner account, the hash, and the domain of the URL (and of the asset IRI) with its parents."""
    out: list[tuple[str, str]] = []
    if asset:
        out.append((ASSET, asset))
    if url:
        out.append((URL, url))
    if photo:
        out.append((PHOTO, photo))
    if owner:
        out.append((OWNER, owner))
    if hash:
        out.append((HASH, hash))
    hosts = []
    for u in (url, asset):
        if u and u.startswith("https://"):
            h = host_of(u)
            if h and h not in hosts:
                hosts.append(h)
    for h in hosts:
        for d in domains_for_lookup(h):
            if (DOMAIN, d) not in out:
                out.append((DOMAIN, d))
    return out


def lookup_keys_of_record(rec: dict[str, object]) -> list[tuple[str, str]]:
    """The lookup keys of a canonical record (see :func:`lookup_keys`)."""
    found = dict(record_keys(rec))
    return lookup_keys(asset=found.get(ASSET), url=found.get(URL), photo=found.get(PHOTO),
                       owner=found.get(OWNER), hash=found.get(HASH))
