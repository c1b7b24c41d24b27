"""Dataset scale (spec/dataset.md): annotate and filter million-row manifests, the declarations store, reports.

Modules: :mod:`~aiterms.dataset.columns` (column mappings and presets), :mod:`~aiterms.dataset.keys` (join keys),
:mod:`~aiterms.dataset.manifest` (JSONL, CSV/TSV and Parquet readers and writers), :mod:`~aiterms.dataset.store`
(the SQLite declarations store), :mod:`~aiterms.dataset.fastpath` (policy signatures and the decision cache),
:mod:`~aiterms.dataset.annotate` (the annotate/filter engine), :mod:`~aiterms.dataset.report` and
:mod:`~aiterms.dataset.html` (the summary report), :mod:`~aiterms.dataset.diff` (re-checking a release) and
:mod:`~aiterms.dataset.progress`. Nothing here is imported by ``aiterms/__init__.py``; pyarrow is imported only
when a Parquet file is read or written.
"""
