"""``aiterms store build|add|export|info``: the declarations store (spec/dataset.md#store).

``store build SOURCE... -o STORE`` makes a new store, ``store add STORE SOURCE...`` adds to one; SOURCE is a file of
aiterms records (JSON Lines or JSON), an opt-out list (``--kind flickr-optout-accounts``, ``url-optout``,
``domain-optout``), or a signal an importer reads (``--kind xmp``, ``http-headers``, ``tdmrep``, ...; detected
when not given). ``store export STORE -o FILE`` writes every (key, statement) pair as Parquet (for Spark) or JSON
Lines; ``store info STORE`` describes a store.

Exit codes: 0 done; 1 done, but some entries were invalid (they were skipped); 2 usage error or a source or
store that cannot be read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
from typing import Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "store",
        help="build, extend and export the declarations store (SQLite) that annotate joins rows with",
        description="The declarations store: declarations from aiterms records, opt-out lists and imported "
        "signals, indexed by asset, URL, photo id, owner account, content hash and domain.",
        epilog="Exit codes: 0 done, 1 done with invalid entries (skipped), 2 usage error or unreadable input.",
    )
    ss = p.add_subparsers(dest="store_command", metavar="ACTION")

    def sources(q: argparse.ArgumentParser) -> None:
        q.add_argument("sources", nargs="+", metavar="SOURCE", help="records, opt-out lists or signal files")
        q.add_argument("--kind", metavar="KIND",
                       help="what the sources are: records, flickr-optout-accounts, url-optout, domain-optout, or an "
                       "importer kind (default: records for .json/.jsonl, else detected)")
        q.add_argument("--url", help="(importer kinds) the URL the source was fetched from; site-wide signals "
                       "(robots, tdmrep, ai.txt) are keyed by its domain")
        q.add_argument("--observed", metavar="DATE",
                       help="when the sources were observed (RFC 3339; default: now)")
        q.add_argument("--issued", metavar="DATE",
                       help="(opt-out lists) the date of the opt-outs whose line gives none (default: --observed)")
        q.add_argument("--optout-use", action="append", dest="optout_use", metavar="USE",
                       help="(opt-out lists) a use each entry prohibits; repeat for more (default: data-mining and "
                       "dataset-redistribution for accounts, ai-training for URLs and domains)")
        add_format(q)

    b = ss.add_parser("build", help="make a new store from sources")
    sources(b)
    b.add_argument("-o", "--output", required=True, metavar="STORE", help="the store file to create (replaced)")
    b.set_defaults(func=run, action="build")
    a = ss.add_parser("add", help="add sources to a store")
    a.add_argument("store", metavar="STORE")
    sources(a)
    a.set_defaults(func=run, action="add")
    e = ss.add_parser("export", help="write every (key, statement) pair as Parquet or JSON Lines")
    e.add_argument("store", metavar="STORE")
    e.add_argument("-o", "--output", required=True, metavar="FILE", help="*.parquet or *.jsonl")
    add_format(e)
    e.set_defaults(func=run, action="export")
    i = ss.add_parser("info", help="what a store holds")
    i.add_argument("store", metavar="STORE")
    add_format(i)
    i.set_defaults(func=run, action="info")
    p.set_defaults(func=_usage, parser=p)


def _usage(args: argparse.Namespace, io: IO) -> int:
    args.parser.print_usage(io.stderr)
    io.stderr.write("aiterms store: error: give an action: build, add, export or info\n")
    return EXIT_USAGE


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms.dataset.store import StoreError

    try:
        if args.action == "export":
            return _export(args, io)
        if args.action == "info":
            return _info(args, io)
        return _load(args, io)
    except StoreError as exc:
        io.stderr.write(f"aiterms store: error: {exc.issue.message} [{exc.issue.code}]\n")
        return EXIT_USAGE


def _check_date(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    from aiterms.model import parse_instant

    try:
        parse_instant(value)
    except ValueError as exc:
        raise ValueError(f"{what} {value!r} is not an RFC 3339 date or date-time") from exc
    return value


def _load(args: argparse.Namespace, io: IO) -> int:
    from aiterms.dataset import sources as S
    from aiterms.dataset.store import LIST_KINDS, RECORDS, Store, now_text

    try:
        observed = _check_date(args.observed, "--observed") or now_text()
        issued = _check_date(args.issued, "--issued")
    except ValueError as exc:
        io.stderr.write(f"aiterms store: error: {exc}\n")
        return EXIT_USAGE
    if args.optout_use:
        from aiterms.vocab import Vocabulary

        unknown = [u for u in args.optout_use if u not in Vocabulary.bundled().uses]
        if unknown:
            io.stderr.write(f"aiterms store: error: --optout-use: {', '.join(unknown)} is not a use id\n")
            return EXIT_USAGE
    plans = []
    for path in args.sources:
        if not os.path.isfile(path):
            io.stderr.write(f"aiterms store: error: {path}: no such file\n")
            return EXIT_USAGE
        kind = args.kind or S.detect_kind(path)
        if kind is None:
            io.stderr.write(f"aiterms store: error: {path}: cannot tell what kind of source this is; give --kind\n")
            return EXIT_USAGE
        if kind not in (RECORDS, *LIST_KINDS):
            from aiterms.interop import registry

            if registry.importer_for(kind) is None:
                io.stderr.write(f"aiterms store: error: unknown --kind {kind!r} ({S.KINDS_HELP})\n")
                return EXIT_USAGE
        plans.append((path, kind))
    target = args.output if args.action == "build" else args.store
    # A new store is built beside its final name and renamed when complete: a failed build leaves nothing behind.
    building = f"{target}.building-{os.getpid()}" if args.action == "build" else target
    store = Store.create(building) if args.action == "build" else Store.open(target, readonly=False)
    results = []
    error: BaseException | None = None
    info: dict[str, Any] = {}
    try:
        for path, kind in plans:
            reader = S.HashingReader(path)
            items = S.items_for(path, kind, reader, observed=observed, url=args.url, uses=args.optout_use,
                                issued=issued)
            result = store.load(path, kind, _after(items, reader, store), observed=observed)
            results.append(result)
        info = store.summary()
    except (sqlite3.Error, OSError) as exc:  # a full disk, an unwritable directory: nothing half-built is kept
        error = exc
    finally:
        with contextlib.suppress(sqlite3.Error, OSError):
            store.close()
    if args.action == "build":
        if error is None:
            try:
                os.replace(building, target)
            except OSError as exc:
                error = exc
        if error is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(building + suffix)
    if error is not None:
        io.stderr.write(f"aiterms store: error: {target}: {error}; "
                        f"{'nothing was written' if args.action == 'build' else 'the last source was not added'}\n")
        return EXIT_USAGE
    bad = sum(r.issue_count for r in results)
    if args.format == "json":
        io.stdout.write(json.dumps({"store": args.output if args.action == "build" else args.store,
                                    "sources": [r.to_json() for r in results], "statements": info["statements"]},
                                   indent=2, ensure_ascii=False) + "\n")
    else:
        for r in results:
            io.stdout.write(f"{r.name} ({r.kind}): {r.read:,} read, {r.statements:,} new statements, {r.keys:,} new "
                            f"keys, {r.issue_count:,} invalid entries\n")
            for i in r.issues[:20]:
                io.stdout.write(f"  {i.to_text()}\n")
        io.stdout.write(f"store: {info['statements']:,} statements from {len(info['sources'])} sources\n")
    return EXIT_FINDINGS if bad else EXIT_OK


def _after(items: Any, reader: Any, store: Any) -> Any:
    """Pass the items through, then record the source's SHA-256 (known once it was read to the end)."""
    yield from items
    store.conn.execute("UPDATE sources SET sha256=? WHERE id=(SELECT max(id) FROM sources)",
                       (reader.hasher.hexdigest(),))


def _export(args: argparse.Namespace, io: IO) -> int:
    from aiterms.dataset.store import EXPORT_COLUMNS, Store

    out_path = args.output
    rows = 0
    with Store.open(args.store) as store:
        if out_path.lower().endswith((".parquet", ".pq")):
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                io.stderr.write("aiterms store: error: Parquet export needs pyarrow (pip install 'aiterms[parquet]')\n")
                return EXIT_USAGE
            from aiterms.dataset.manifest import AtomicOutput

            schema = pa.schema([pa.field(c, pa.int64() if c == "line" else pa.string()) for c in EXPORT_COLUMNS])
            out = AtomicOutput(out_path)
            try:
                with pq.ParquetWriter(out.stream, schema) as writer:
                    for batch in store.iter_joined():
                        cols = list(zip(*batch, strict=True))
                        writer.write_table(pa.Table.from_arrays([pa.array(c, t.type) for c, t in
                                                                 zip(cols, schema, strict=True)], schema=schema))
                        rows += len(batch)
                out.commit()
            except BaseException:
                out.abort()
                raise
        else:
            import orjson

            from aiterms.dataset.manifest import AtomicOutput

            out = AtomicOutput(out_path)
            try:
                for batch in store.iter_joined():
                    out.stream.write(b"".join(orjson.dumps(dict(zip(EXPORT_COLUMNS, r, strict=True))) + b"\n"
                                              for r in batch))
                    rows += len(batch)
                out.commit()
            except BaseException:
                out.abort()
                raise
    if args.format == "json":
        io.stdout.write(json.dumps({"store": args.store, "output": out_path, "rows": rows}) + "\n")
    else:
        io.stdout.write(f"{out_path}: {rows:,} (key, statement) rows\n")
    return EXIT_OK


def _info(args: argparse.Namespace, io: IO) -> int:
    from aiterms.dataset.store import Store

    with Store.open(args.store) as store:
        info = store.stats()
    if args.format == "json":
        io.stdout.write(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    else:
        io.stdout.write(f"{args.store}: schema {info['schema']}, created {info['created']} by aiterms "
                        f"{info['aiterms']}\n{info['statements']:,} statements; keys: "
                        + ", ".join(f"{k} {v:,}" for k, v in sorted(info["keys"].items())) + "\n")
        for s in info["sources"]:
            io.stdout.write(f"  {s['name']} ({s['kind']}) loaded {s['loaded']}: {s['statements']:,} statements, "
                            f"sha256 {s['sha256']}\n")
    return EXIT_OK
