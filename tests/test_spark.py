"""aiterms.spark on a real local Spark session (local[2]): the same decisions as the single-machine path
(spec/dataset.md#spark). Skips when pyspark, pyarrow, pandas (pyspark's mapInArrow needs it) or Java is absent."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiterms.cli import run

for _mod in ("pyspark", "pyarrow", "pandas"):
    pytest.importorskip(_mod, reason=f"{_mod} is not installed (pip install 'aiterms[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime (Spark needs Java 17 or later)", allow_module_level=True)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def csv_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a CSV/TSV output file (closed before returning: no ResourceWarning)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    try:
        session = (SparkSession.builder.master("local[2]").appName("aiterms-test")
                   .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                   .config("spark.default.parallelism", "2").config("spark.driver.memory", "1g")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    except Exception as exc:
        pytest.skip(f"cannot start a local Spark session: {exc}")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_decisions_equal_the_single_machine_path(spark: Any, tmp_path: Path) -> None:
    from aiterms.bench.synth import manifest_rows
    from aiterms.model import Query
    from aiterms.spark import annotate_dataframe

    rows = list(manifest_rows(200, 21))
    m = tmp_path / "m.csv"
    with m.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    owners = sorted({r["owner"] for r in rows})[::3]
    lst = tmp_path / "optouts.txt"
    lst.write_text("\n".join(owners) + "\n", "utf-8")
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(r["url"] for r in rows[::11]) + "\n", "utf-8")
    store = tmp_path / "s.sqlite"
    assert cli("store", "build", str(lst), "--kind", "flickr-optout-accounts", "-o", str(store),
               "--observed", "2026-01-01T00:00:00Z")[0] == 0
    assert cli("store", "add", str(store), str(urls), "--kind", "url-optout",
               "--observed", "2026-01-01T00:00:00Z")[0] == 0
    decls = tmp_path / "decls.parquet"
    assert cli("store", "export", str(store), "-o", str(decls))[0] == 0
    expected: dict[str, tuple[str, tuple[str, ...], str]] = {}
    for use in ("genai-training",):
        out = tmp_path / f"o-{use}.csv"
        code, _o, err = cli("annotate", str(m), "--use", use, "--purpose", "research", "--declarations", str(store),
                            "--at", "2026-12-01", "-o", str(out), "-q")
        assert code == 0, err
        for r in csv_rows(out):
            expected[f"{use} {r['id']}"] = (r["aiterms_outcome"], tuple(x for x in r["aiterms_obligations"].split(";")
                                                                        if x), r["aiterms_reason"])
        df = spark.read.option("header", True).csv(str(m))
        got = annotate_dataframe(df, spark.read.parquet(str(decls)),
                                 Query(use=use, purpose="research", at="2026-12-01"), columns={"owner": "owner"})
        result = {f"{use} {r['id']}": (r["aiterms_outcome"], tuple(r["aiterms_obligations"]), r["aiterms_reason"])
                  for r in got.collect()}
        assert {k: v for k, v in expected.items() if k.startswith(use)} == result
    assert any(v[2] == "rights-holder:prohibit:data-mining" for v in expected.values())
    assert any(v[2] == "rights-holder:prohibit:ai-training" for v in expected.values())
