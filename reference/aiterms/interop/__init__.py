"""Importers and exporters for existing AI-usage signals (spec/interop.md). They live at the edge: they turn a
signal into declarations of a canonical record (with provenance) or a record into a signal, and report every
loss or oddity as a coded Issue."""
