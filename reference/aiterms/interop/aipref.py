"""IETF AI Preferences (aipref): the ``Content-Usage`` statement of preference (spec/interop.md#aipref).

A statement is an RFC 9651 Dictionary (parsed with ``http_sf``, never by hand) whose keys are category labels
and whose values are the Tokens ``y`` / ``n``. The category set changed with every draft; this module maps the
labels of every draft (vocab-01 to vocab-07) with the draft's own meaning and records which draft it read them
as (``source.version``). As an importer (KIND ``content-usage``) it reads a bare preference string; as an
exporter (TARGET ``content-usage``) it writes the vocab-07 field value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.report import Issue

KIND = "content-usage"
TARGET = "content-usage"
PRIORITY = 90  # a bare one-line preference string: the most generic text, so detected last

CURRENT = "vocab-07"
DRAFT_PREFIX = "draft-ietf-aipref-"

# Labels of every draft, oldest first (vocab-00 had categories but no labels).
DRAFTS: dict[str, frozenset[str]] = {
    "vocab-01": frozenset({"tdm", "ai", "genai", "search", "inference"}),
    "vocab-02": frozenset({"all", "train-ai", "train-genai", "ai-use", "search"}),
    "vocab-03": frozenset({"bots", "train-ai", "train-genai", "search"}),
    "vocab-04": frozenset({"bots", "train-ai", "ai-output", "search"}),
    "vocab-05": frozenset({"train-ai", "search"}),
    "vocab-06": frozenset({"train-ai", "search"}),
    "vocab-07": frozenset({"train-ai", "search"}),
}
ALL_LABELS = frozenset().union(*DRAFTS.values())


@dataclass(frozen=True, slots=True)
class Meaning:
    """req-aipref-meaning: what a label meant in a draft: the uses an ``n`` prohibits (at least what the draft's
    category covered) and the uses a ``y`` permits (at most what it covered; empty when no use of the taxonomy is
    narrow enough)."""

    prohibit: tuple[str, ...]
    permit: tuple[str, ...]
    category: str


_FOUNDATION = Meaning(("ai-training",), (), "Foundation Model Production")
MEANINGS: dict[tuple[str, str], Meaning] = {
    ("vocab-01", "tdm"): Meaning(("data-mining",), ("data-mining",), "Text and Data Mining"),
    ("vocab-01", "ai"): Meaning(("ai-training",), ("ai-training",), "AI Training"),
    ("vocab-01", "genai"): Meaning(("genai-training",), ("genai-training",), "Generative AI Training"),
    ("vocab-01", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
    ("vocab-01", "inference"): Meaning(("ai-inference",), ("ai-inference",), "AI Inference"),
    ("vocab-02", "all"): Meaning(("data-mining",), ("data-mining",), "Automated Processing"),
    ("vocab-02", "train-ai"): Meaning(("ai-training",), ("ai-training",), "AI Training"),
    ("vocab-02", "train-genai"): Meaning(("genai-training",), ("genai-training",), "Generative AI Training"),
    ("vocab-02", "ai-use"): Meaning(("ai-inference",), ("ai-inference",), "AI Use"),
    ("vocab-02", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
    ("vocab-03", "bots"): Meaning(("data-mining",), ("data-mining",), "Automated Processing"),
    ("vocab-03", "train-ai"): Meaning(("ai-training",), ("ai-training",), "AI Training"),
    ("vocab-03", "train-genai"): Meaning(("genai-training",), ("genai-training",), "Generative AI Training"),
    ("vocab-03", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
    ("vocab-04", "bots"): Meaning(("data-mining",), ("data-mining",), "Automated Processing"),
    ("vocab-04", "train-ai"): _FOUNDATION,
    # AI Output: using the asset in an AI system's outputs; search was its subset (handled in _meaning_uses).
    ("vocab-04", "ai-output"): Meaning(("ai-inference", "search-indexing"), ("ai-inference", "search-indexing"),
                                       "AI Output"),
    ("vocab-04", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
    ("vocab-05", "train-ai"): _FOUNDATION,
    ("vocab-05", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
    ("vocab-06", "train-ai"): Meaning(("genai-training",), ("genai-training",), "AI Model Training"),
    ("vocab-06", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
    ("vocab-07", "train-ai"): Meaning(("genai-training",), ("genai-training",), "AI Model Training"),
    ("vocab-07", "search"): Meaning(("search-indexing",), ("search-indexing",), "Search"),
}

# CC signals 0.1 (creativecommons/cc-signals): an ``exceptions`` parameter turns "n" into "n unless ...".
CC_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "cc-cr": ("attribution",),
    "cc-cr-dc": ("attribution", "compensate"),
    "cc-cr-ec": ("attribution", "compensate"),
}
CC_UNSUPPORTED = {"cc-cr-op": "the AI system must be open (MOF Class I/II or OSAID), which no obligation expresses"}


def draft_name(draft: str) -> str:
    return DRAFT_PREFIX + draft


def _span(drafts: list[str]) -> str:
    nums = [d.removeprefix("vocab-") for d in drafts]
    return "draft-ietf-aipref-vocab-" + "/-".join(nums)


def defined_in(label: str) -> list[str]:
    return [d for d, labels in DRAFTS.items() if label in labels]


@dataclass
class Preference:
    """The result of reading one statement of preference."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    version: str = draft_name(CURRENT)
    issues: list[Issue] = field(default_factory=list)
    parsed: bool = False


def infer_drafts(labels: set[str]) -> tuple[dict[str, str], bool]:
    """req-aipref-draft: the draft a statement is read as is the latest draft that defines every known label
    it uses; when no single draft does, each label is read as the latest draft that defines it (mixed)."""
    known = {lab for lab in labels if lab in ALL_LABELS}
    candidates = [d for d, defined in DRAFTS.items() if known <= defined]
    if candidates:
        chosen = candidates[-1]
        return {lab: chosen for lab in known}, False
    return {lab: defined_in(lab)[-1] for lab in known}, True


def parse_preference(value: bytes, *, line: int | None = None, where: str = "Content-Usage",
                     draft: str | None = None) -> Preference:
    """req-aipref-parse: a statement of preference is parsed as an RFC 9651 Dictionary; if parsing fails the
    whole statement is discarded (every category stays unknown) with the warning ``aipref-parse-error``."""
    import http_sf

    pref = Preference()
    duplicates: list[str] = []

    def on_dup(name: str, kind: str) -> None:
        if kind == "dictionary":
            duplicates.append(name)

    try:
        parsed = http_sf.parse(value, tltype="dictionary", on_duplicate_key=on_dup)
    except Exception as exc:  # StructuredFieldError, or anything odd from the parser: discard the field
        shown = value.decode("latin-1")
        pref.issues.append(_web.issue(
            "aipref-parse-error", _web.WARNING,
            f"{where} {shown!r} is not an RFC 9651 Dictionary ({exc}); the whole statement is discarded and "
            "every category stays unknown", line=line, value=shown))
        return pref
    pref.parsed = True
    if not isinstance(parsed, dict):  # pragma: no cover - tltype="dictionary" always yields a dict
        return pref
    for name in dict.fromkeys(duplicates):
        pref.issues.append(_web.issue(
            "aipref-duplicate-label", _web.INFO,
            f"{where}: label {name!r} appears more than once; the last one wins (RFC 9651)", line=line))

    labels = set(parsed)
    if draft is not None:
        by_label = {lab: draft for lab in labels if (draft, lab) in MEANINGS}
        mixed = False
    else:
        by_label, mixed = infer_drafts(labels)
    drafts_used = sorted(set(by_label.values()))
    pref.version = "+".join(draft_name(d) for d in drafts_used) if drafts_used else draft_name(CURRENT)
    if mixed:
        pref.issues.append(_web.issue(
            "aipref-mixed-drafts", _web.WARNING,
            f"{where}: labels {sorted(by_label)} were never defined together by one aipref draft; each is read "
            "with the meaning of the latest draft that defines it", line=line))

    values: dict[str, str | None] = {}
    for label, member in parsed.items():
        item, params = member if isinstance(member, tuple) else (member, {})
        token = str(item) if isinstance(item, http_sf.Token) else None
        if label not in ALL_LABELS:
            pref.issues.append(_web.issue(
                "aipref-unknown-label", _web.WARNING,
                f"{where}: {label!r} is not a category label of any aipref draft (vocab-01 to vocab-07); ignored",
                line=line, value=label))
            continue
        if token not in ("y", "n"):
            shown = _describe(item)
            pref.issues.append(_web.issue(
                "aipref-invalid-value", _web.WARNING,
                f"{where}: the value of {label!r} is {shown}, not the token y or n; the preference is unknown",
                line=line, value=label))
            values[label] = None
        else:
            values[label] = token
        for pname in params:
            if pname != "exceptions":
                pref.issues.append(_web.issue(
                    "aipref-parameter-ignored", _web.INFO,
                    f"{where}: parameter {pname!r} of {label!r} has no defined meaning and is ignored", line=line))

    for label, token in values.items():
        if token is None:
            continue
        d = by_label[label]
        meaning = MEANINGS[(d, label)]
        _warn_version(pref, label, d, meaning, where=where, line=line)
        prohibit, permit = _meaning_uses(d, label, meaning, values)
        member = parsed[label]
        params = member[1] if isinstance(member, tuple) else {}
        exception = params.get("exceptions") if isinstance(params, Mapping) else None
        if token == "y":
            if exception is not None:
                pref.issues.append(_web.issue(
                    "aipref-cc-exception-unsupported", _web.WARNING,
                    f"{where}: an exceptions parameter on {label}=y has no meaning (CC signals attach exceptions "
                    "to n); ignored", line=line))
            if not permit:
                pref.issues.append(_web.issue(
                    "aipref-permit-dropped", _web.WARNING,
                    f"{where}: {label}=y as {draft_name(d)} ({meaning.category}) names no use of the taxonomy "
                    "narrow enough to permit without granting more than was said; not read as a permission",
                    line=line))
            pref.rules.extend(_web.rule("permit", u) for u in permit)
            continue
        if exception is None:
            pref.rules.extend(_web.rule("prohibit", u) for u in prohibit)
            continue
        pref.rules.extend(_cc_exception(pref, label, exception, prohibit=prohibit, permit=permit, where=where,
                                        line=line))
    pref.rules = _web.dedupe_rules(pref.rules)
    return pref


def _describe(item: Any) -> str:
    import http_sf

    if item is True:
        return "a bare label (Boolean true)"
    if isinstance(item, bool):
        return f"the Boolean {item!r}"
    if isinstance(item, http_sf.Token):
        return f"the token {str(item)!r}"
    if isinstance(item, str):
        return f"the String {item!r}"
    if isinstance(item, list):
        return "an Inner List"
    return f"{type(item).__name__} {item!r}"


def _meaning_uses(draft: str, label: str, meaning: Meaning,
                  values: Mapping[str, str | None]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if (draft, label) == ("vocab-04", "ai-output") and values.get("search") is not None:
        # Search refined AI Output in vocab-04; an explicit search preference overrides the general one.
        return ("ai-inference",), ("ai-inference",)
    return meaning.prohibit, meaning.permit


def _warn_version(pref: Preference, label: str, draft: str, meaning: Meaning, *, where: str,
                  line: int | None) -> None:
    reading = (f"n prohibits {', '.join(meaning.prohibit)}; "
               + (f"y permits {', '.join(meaning.permit)}" if meaning.permit else "y permits nothing"))
    if label not in DRAFTS[CURRENT]:
        drafts = defined_in(label)
        pref.issues.append(_web.issue(
            "aipref-old-label", _web.WARNING,
            f"{where}: {label!r} is not a label of the current draft ({draft_name(CURRENT)}); it was defined by "
            f"{_span(drafts)} as {meaning.category!r} and is honoured with that meaning ({reading})",
            line=line, value=label))
    elif MEANINGS[(draft, label)] != MEANINGS[(CURRENT, label)]:
        pref.issues.append(_web.issue(
            "aipref-old-meaning", _web.WARNING,
            f"{where}: the statement uses labels of {draft_name(draft)}, where {label!r} meant "
            f"{meaning.category!r}, not today's 'AI Model Training' (generative models only); it is read with "
            f"that meaning ({reading})", line=line, value=label))


def _cc_exception(pref: Preference, label: str, exception: Any, *, prohibit: tuple[str, ...],
                  permit: tuple[str, ...], where: str, line: int | None) -> list[dict[str, Any]]:
    """req-aipref-cc-exception: ``<label>=n;exceptions=<cc-signal>`` is a prohibition unless the CC signal's
    conditions are met: a permission with the signal's obligations for what the label permits, and the
    prohibition kept for the rest of what it covered."""
    import http_sf

    name = str(exception) if isinstance(exception, (http_sf.Token, str)) else None
    duties = CC_EXCEPTIONS.get(name) if name else None
    if duties is None or not permit:
        why = CC_UNSUPPORTED.get(name or "", "it is not a CC signal this version knows") if permit else (
            "the label names no use narrow enough to permit")
        pref.issues.append(_web.issue(
            "aipref-cc-exception-unsupported", _web.WARNING,
            f"{where}: exception {_describe(exception)} on {label}=n cannot be expressed ({why}); the prohibition "
            "is kept without the exception", line=line))
        return [_web.rule("prohibit", u) for u in prohibit]
    pref.issues.append(_web.issue(
        "aipref-cc-exception", _web.INFO,
        f"{where}: {label}=n;exceptions={name} (CC signals 0.1) is read as a permission of {', '.join(permit)} "
        f"with the obligations {', '.join(duties)}", line=line))
    rules = [_web.rule("permit", u, duties=duties) for u in permit]
    rules.extend(_web.rule("prohibit", u) for u in prohibit if u not in permit)
    return rules


def declarations(value: bytes, *, location: str, origin: str | None, line: int | None = None,
                 where: str = "Content-Usage", raw: str | None = None) -> tuple[list[dict[str, Any]], list[Issue]]:
    """One declaration for one statement of preference (none when it states nothing)."""
    pref = parse_preference(value, line=line, where=where)
    if not pref.rules:
        return [], pref.issues
    if raw is None:
        raw = value.decode("utf-8", "replace")
    return [_web.declaration(pref.rules, signal=_web.AIPREF, version=pref.version, location=location, raw=raw,
                             origin=origin)], pref.issues


# ---------------------------------------------------------------------------------------------------------
# Importer: a bare preference string (the draft examples are such strings)


def detect(name: str, head: bytes) -> bool:
    if not _web.is_text(head):
        return False
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if len(lines) != 1 or b":" in lines[0] or b"<" in lines[0] or lines[0].lstrip()[:1] in (b"{", b"["):
        return False
    first = lines[0].strip()
    return first[:1].islower() and (b"=" in first or b";" in first or first.split(b",")[0].strip() in
                                    {lab.encode() for lab in ALL_LABELS})


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """A bare Content-Usage value: line breaks end it (a second non-empty line is an error of the input).

    security#req-limits: an input over 16 MiB is not parsed: ``limit-input-size`` and no declaration."""
    from aiterms.limits import MAX_DOCUMENT_BYTES, check_size

    too_big = check_size(len(data), MAX_DOCUMENT_BYTES, what=source_name)
    if too_big is not None:
        return ImportResult({}, (too_big,))
    origin, bad = _web.check_url(url)
    issues: list[Issue] = [bad] if bad else []
    text = data.rstrip(b"\r\n")
    if b"\n" in text or b"\r" in text:
        issues.append(_web.issue(
            "aipref-parse-error", _web.WARNING,
            f"{source_name}: a statement of preference is one line; the input has several, so it is discarded"))
        return ImportResult({}, tuple(issues))
    decls, more = declarations(text, location="Content-Usage value", origin=origin)
    issues.extend(more)
    record: dict[str, Any] = {"declarations": decls} if decls else {}
    return ImportResult(record, tuple(issues))


# ---------------------------------------------------------------------------------------------------------
# Exporter

EXPRESSIBLE = {"genai-training": "train-ai", "search-indexing": "search"}


def content_usage_value(record: Mapping[str, Any]) -> tuple[str, list[Issue]]:
    """The vocab-07 field value for a record (empty when it decides neither category) and the warnings about
    outcomes it had to write as ``n``."""
    import http_sf

    issues: list[Issue] = []
    members: dict[str, Any] = {}
    for use, label in EXPRESSIBLE.items():
        outcome, obligations = _web.decide(record, use)
        if outcome == "allowed":
            members[label] = (http_sf.Token("y"), {})
        elif outcome in ("notAllowed", "constrained"):
            members[label] = (http_sf.Token("n"), {})
            if outcome == "constrained":
                issues.append(_web.issue(
                    "export-not-expressible", _web.WARNING,
                    f"{use} is allowed only with obligations ({', '.join(obligations) or 'narrower exclusions'}); "
                    f"Content-Usage has no conditions, so {label}=n is written (fail closed)"))
    return (http_sf.ser(members) if members else ""), issues


def export(record: dict[str, Any]) -> ExportResult:
    """req-aipref-export: the vocab-07 field value carries only ``train-ai`` (genai-training) and ``search``
    (search-indexing); ``y`` for allowed, ``n`` for notAllowed and for constrained (a preference has no
    conditions), nothing for unspecified. Everything else the record says is listed as a warning."""
    value, issues = content_usage_value(record)
    issues.extend(not_expressible(record, set(EXPRESSIBLE), "Content-Usage (aipref vocab-07)"))
    if not value:
        issues.append(_web.issue(
            "export-not-expressible", _web.WARNING,
            "the record decides neither genai-training nor search-indexing; the Content-Usage value is empty"))
        return ExportResult(b"", "text/plain", tuple(issues))
    return ExportResult((value + "\n").encode("ascii"), "text/plain", tuple(issues))


def not_expressible(record: Mapping[str, Any], expressible: set[str], target: str) -> list[Issue]:
    """Warnings for every use, purpose/actor/jurisdiction constraint, time window and tag the target drops."""
    out: list[Issue] = []
    seen: set[str] = set()
    for di, d in enumerate(record.get("declarations") or ()):
        if not isinstance(d, Mapping):
            continue
        for ri, r in enumerate(d.get("rules") or ()):
            if not isinstance(r, Mapping):
                continue
            use = r.get("use")
            pointer = f"/declarations/{di}/rules/{ri}"
            if isinstance(use, str) and use not in expressible and use not in seen:
                seen.add(use)
                out.append(_web.issue("export-not-expressible", _web.WARNING,
                                      f"{target} cannot carry a rule on {use}", path=pointer))
            dims = [k for k in ("purpose", "actor", "jurisdiction", "from", "until") if r.get(k)]
            if dims and use in expressible:
                out.append(_web.issue("export-not-expressible", _web.WARNING,
                                      f"{target} cannot carry the {', '.join(dims)} of this rule", path=pointer))
        consent = d.get("consent")
        if consent:
            out.append(_web.issue("export-not-expressible", _web.WARNING,
                                  f"{target} cannot carry depicted persons' consent", path=f"/declarations/{di}"))
    if record.get("tags"):
        out.append(_web.issue("export-not-expressible", _web.WARNING,
                              f"{target} cannot carry the record's tags; the rules they stand for are decided above "
                              "only where they bear on an expressible use", path="/tags"))
    return out
