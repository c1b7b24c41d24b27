"""Fuzz targets, strategies and regressions (spec/security.md#fuzzing)."""
