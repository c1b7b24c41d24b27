"""Annotate LAION-scale manifests on a Spark cluster (spec/dataset.md#spark), optional extra ``aiterms[spark]``.

``annotate_dataframe(manifest_df, declarations_df, query, columns=...)`` returns the manifest with
``aiterms_outcome``, ``aiterms_obligations`` (array of strings) and ``aiterms_reason`` added, computed by the same
code as ``aiterms annotate`` on one machine (:class:`aiterms.dataset.decide.Worker`: the row's record, the fast
path's signatures and decision cache, the reference resolver on a miss):

1. every row gets a row number and its join keys (asset, URL, photo id, owner account, content hash, domain), by
   ``mapInArrow`` over Arrow batches, with :mod:`aiterms.dataset.keys`;
2. the keys are joined with ``declarations_df`` -- ``aiterms store export STORE -o declarations.parquet`` read with
   ``spark.read.parquet`` (columns ``key_kind``, ``key``, ``digest``, ``statement_kind``, ``body``) -- and the
   statements of each row are collected (each once);
3. the rows with their statements are annotated by ``mapInArrow``: one :class:`~aiterms.dataset.decide.Worker` per
   Python worker process and query, reused across batches, so its decision cache warms up once per executor core.

pyspark and pyarrow are imported only when this module is used; ``import aiterms`` never imports them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aiterms.dataset.columns import ColumnMap, column_map
from aiterms.model import Query

ROW = "_aiterms_row"
STATEMENTS = "_aiterms_statements"
OUTPUT_COLUMNS = ("aiterms_outcome", "aiterms_obligations", "aiterms_reason")

_WORKERS: dict[Any, Any] = {}


def _columns(columns: ColumnMap | Mapping[str, str] | str | None) -> ColumnMap:
    if columns is None:
        return ColumnMap()
    if isinstance(columns, ColumnMap):
        return columns
    if isinstance(columns, str):
        return column_map(columns if columns in ("yfcc100m", "laion") else None,
                          None if columns in ("yfcc100m", "laion") else columns)
    return ColumnMap(fields=dict(columns))


def _fixed(query: Query) -> Query:
    from aiterms.dataset.annotate import prepare_query

    return prepare_query(query)


def _index(names: list[str], cm: ColumnMap) -> dict[str, int]:
    index, missing = cm.resolve(names)
    if missing:
        raise ValueError(f"no column for {', '.join(missing)} (columns: {', '.join(names)})")
    return index


def _keys_fn(cm: ColumnMap, names: list[str]) -> Any:
    def fn(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from aiterms.dataset.decide import Options
        from aiterms.dataset.manifest import rows_of_batch

        index = _index(names, cm)
        worker = _worker(Options(query=Query(use="data-mining", at="2000-01-01"), columns=cm))
        for batch in batches:
            ids = batch.column(batch.schema.get_field_index(ROW)).to_pylist()
            rows = rows_of_batch(batch, index)
            out_rows: list[int] = []
            kinds: list[str] = []
            values: list[str] = []
            for rid, row in zip(ids, rows, strict=True):
                if row is None:
                    continue
                _rec, keys = worker.record_of_row(row, cm, 0)
                for kind, value in keys:
                    out_rows.append(rid)
                    kinds.append(kind)
                    values.append(value)
            yield pa.RecordBatch.from_arrays(
                [pa.array(out_rows, pa.int64()), pa.array(kinds, pa.string()), pa.array(values, pa.string())],
                names=[ROW, "key_kind", "key"])

    return fn


def _worker(opts: Any) -> Any:
    """One Worker per Python process and options (its decision cache is reused across batches and tasks)."""
    from aiterms.dataset.decide import Worker

    key = repr(opts)
    w = _WORKERS.get(key)
    if w is None:
        if len(_WORKERS) > 8:
            _WORKERS.clear()
        w = _WORKERS[key] = Worker(opts)
    return w


def _annotate_fn(opts: Any, names: list[str]) -> Any:
    def fn(batches: Iterator[Any]) -> Iterator[Any]:
        import orjson
        import pyarrow as pa

        from aiterms.dataset.manifest import rows_of_batch

        index = _index(names, opts.columns)
        worker = _worker(opts)
        for batch in batches:
            rows = rows_of_batch(batch, index)
            st_col = batch.column(batch.schema.get_field_index(STATEMENTS)).to_pylist()
            joined: list[tuple[list[Any], list[str]]] = []
            for statements in st_col:
                decls: list[Any] = []
                tags: list[str] = []
                for s in sorted(statements or (), key=lambda x: x["digest"]):
                    body = orjson.loads(s["body"])
                    if s["statement_kind"] == "declaration":
                        decls.append(body)
                    else:
                        tags.extend(body.get("tags", ()))
                joined.append((decls, tags))
            entries, _stats = worker.rows(1, rows, joined)
            keep = [i for i, _ in enumerate(entries)]
            cols = [batch.column(i) for i, n in enumerate(batch.schema.names) if n not in (ROW, STATEMENTS)]
            out_names = [n for n in batch.schema.names if n not in (ROW, STATEMENTS)]
            yield pa.RecordBatch.from_arrays(
                [*cols, pa.array([entries[i].outcome for i in keep], pa.string()),
                 pa.array([list(entries[i].obligations) for i in keep], pa.list_(pa.string())),
                 pa.array([entries[i].reason for i in keep], pa.string())],
                names=[*out_names, *OUTPUT_COLUMNS])

    return fn


def annotate_dataframe(manifest_df: Any, declarations_df: Any | None, query: Query, *,
                       columns: ColumnMap | Mapping[str, str] | str | None = None) -> Any:
    """spec/dataset.md#spark: the manifest DataFrame with the three annotation columns, decided as ``aiterms
    annotate`` decides on one machine. ``declarations_df`` may be None (no store); ``columns`` is a
    :class:`ColumnMap`, a mapping field -> column, a preset name (``laion``, ``yfcc100m``) or a ``--columns``
    string."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from aiterms.dataset.decide import Options

    cm = _columns(columns)
    opts = Options(query=_fixed(query), columns=cm)
    names = list(manifest_df.columns)
    _index(names, cm)  # fail early, on the driver, when a column is missing
    with_id = manifest_df.withColumn(ROW, F.monotonically_increasing_id())
    statement = T.StructType([T.StructField("digest", T.StringType()), T.StructField("statement_kind", T.StringType()),
                              T.StructField("body", T.StringType())])
    if declarations_df is not None:
        keys_schema = T.StructType([T.StructField(ROW, T.LongType()), T.StructField("key_kind", T.StringType()),
                                    T.StructField("key", T.StringType())])
        keys = with_id.mapInArrow(_keys_fn(cm, [*names, ROW]), keys_schema)
        decls = declarations_df.select("key_kind", "key", "digest", "statement_kind", "body")
        matched = (keys.join(decls, on=["key_kind", "key"], how="inner")
                   .dropDuplicates([ROW, "digest"])
                   .groupBy(ROW)
                   .agg(F.collect_list(F.struct("digest", "statement_kind", "body")).alias(STATEMENTS)))
        joined = with_id.join(matched, on=ROW, how="left")
    else:
        joined = with_id.withColumn(STATEMENTS, F.lit(None).cast(T.ArrayType(statement)))
    out_fields = [f for f in manifest_df.schema.fields]
    out_schema = T.StructType([*out_fields, T.StructField("aiterms_outcome", T.StringType()),
                               T.StructField("aiterms_obligations", T.ArrayType(T.StringType())),
                               T.StructField("aiterms_reason", T.StringType())])
    ordered = joined.select(*names, ROW, STATEMENTS)
    return ordered.mapInArrow(_annotate_fn(opts, [*names, ROW, STATEMENTS]), out_schema)


def read_declarations(spark: Any, path: str) -> Any:
    """The declarations DataFrame from ``aiterms store export STORE -o declarations.parquet``."""
    return spark.read.parquet(path)
