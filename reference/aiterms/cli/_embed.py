"""``aiterms embed IMAGE --record RECORD (-o OUT | --in-place | --sidecar) [--force] [--format text|json]``
(spec/embedding.md#cli).

Writes the record's terms into the image's XMP (``plus:DataMining``, ``plus:OtherConstraints``, ``cc:license`` and
``xmpRights`` where they fit, the full record in ``aiterms:record``), or into ``IMAGE.xmp`` with ``--sidecar``.

Exit codes: 0 written, 1 refused (invalid record, malformed or truncated image, malformed or oversized XMP,
C2PA-signed image without ``--force``), 2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "embed",
        help="write a record's terms into an image's XMP (or an XMP sidecar)",
        description="Embed a record's AI-usage terms in IMAGE without touching the image data: plus:DataMining "
        "(the closest PLUS value), plus:OtherConstraints (a readable summary), cc:license and xmpRights where they "
        "fit, and the full record in aiterms:record. JPEG, PNG, WebP and TIFF are written; AVIF/HEIF take --sidecar.",
        epilog="Exit codes: 0 written, 1 refused (see the message), 2 usage error or unreadable input.",
    )
    p.add_argument("image", metavar="IMAGE", help="the image file")
    p.add_argument("--record", required=True, metavar="RECORD", help="the canonical record (JSON) to embed")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="OUT", help="write the new image to OUT")
    where.add_argument("--in-place", action="store_true", help="replace IMAGE (atomically)")
    where.add_argument("--sidecar", action="store_true", help="write IMAGE.xmp next to IMAGE; IMAGE is not changed")
    p.add_argument("--force", action="store_true",
                   help="embed into a C2PA-signed image although its signature will no longer match")
    add_format(p)
    p.set_defaults(func=run)


def _load_record(path: str, io: IO) -> tuple[Any, list[Any]] | int:
    from aiterms import parse
    from aiterms._io import InputTooLarge, read_bytes

    try:
        data = read_bytes(path)
    except (OSError, InputTooLarge) as exc:
        io.stderr.write(f"aiterms embed: cannot read record {path}: {exc}\n")
        return EXIT_USAGE
    docs = parse.load_bytes(data, name=path)
    if len(docs) != 1:
        return (None, [i for d in docs for i in d.issues])
    doc = docs.documents[0]
    return (doc.value if doc.usable else None, list(doc.issues))


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms.embedding import EmbedError, embed_file

    loaded = _load_record(args.record, io)
    if isinstance(loaded, int):
        return loaded
    record, issues = loaded
    fmt = args.format
    if record is None or any(str(i.severity) == "error" for i in issues):
        if not issues:
            from aiterms.interop.containers import coded

            issues = [coded("embed-record-invalid", f"{args.record} must hold exactly one record")]
        return _report(io, fmt, args, None, issues, code=EXIT_FINDINGS)
    try:
        done = embed_file(args.image, record, output=args.output, in_place=args.in_place, sidecar=args.sidecar,
                          force=args.force)
    except EmbedError as exc:
        return _report(io, fmt, args, None, list(exc.issues), code=EXIT_FINDINGS)
    except OSError as exc:
        io.stderr.write(f"aiterms embed: {exc}\n")
        return EXIT_USAGE
    return _report(io, fmt, args, done, list(issues) + list(done.result.issues), code=EXIT_OK)


def _report(io: IO, fmt: str, args: argparse.Namespace, done: Any, issues: list[Any], *, code: int) -> int:
    if fmt == "json":
        out: dict[str, Any] = {"image": args.image, "written": done is not None}
        if done is not None:
            out.update({"output": done.path, "format": done.result.format,
                        "mode": "sidecar" if args.sidecar else "image",
                        "dataMining": "http://ns.useplus.org/ldf/vocab/" + done.result.data_mining})
        out["issues"] = [i.to_json() for i in issues]
        io.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return code
    for i in issues:
        (io.stdout if done is not None else io.stderr).write(f"{args.image}: {i.to_text()}\n")
    if done is not None:
        io.stdout.write(f"wrote {done.path} (plus:DataMining {done.result.data_mining})\n")
    else:
        io.stderr.write(f"{args.image}: nothing written\n")
    return code
