"""The spec side of the generator (``python -m aiterms._build``): code tables, anchors, extracted examples and the
tables between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->`` in ``spec/*.md``.

Also holds what both halves share -- :class:`BuildError`, the namespaces, :func:`dump_json` -- so that the class
is one object however the build is started (``python -m aiterms._build`` runs ``_build`` as ``__main__``).
``aiterms._build`` re-exports the names its callers use. Never imported by the library itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiterms._build import Vocab

NS = "https://w3id.org/aiterms/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
VANN = "http://purl.org/vocab/vann/"
PREFIXES = {"aiterms": NS, "dcterms": DCTERMS, "owl": OWL, "rdf": RDF, "rdfs": RDFS, "skos": SKOS, "vann": VANN,
            "xsd": XSD}
SEVERITIES = ("error", "warning", "info")
CODE_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SPEC_VERSION_RE = re.compile(r"<!--\s*spec-version:\s*(\S+)\s*-->")
GENERATED_RE = re.compile(r"(<!-- BEGIN GENERATED: ([a-z-]+) -->\n)(.*?)(<!-- END GENERATED: ([a-z-]+) -->)", re.S)
EXAMPLE_RE = re.compile(r"<!--\s*example:\s*(ex-[a-z0-9-]+)((?:\s+[a-z]+(?:=[^\s>]+)?)*)\s*-->")
ANCHOR_RE = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']|\{#([A-Za-z][\w.-]*)\}""")


class BuildError(Exception):
    """A source is malformed; the message says which file and what to fix."""


def dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BuildError(f"{path}: not readable JSON: {exc}") from exc


def _compact(iri: str) -> str:
    for prefix, base in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(base) and re.fullmatch(r"[A-Za-z][\w-]*", iri[len(base):]):
            return f"{prefix}:{iri[len(base):]}"
    return iri



# ---------------------------------------------------------------------------------------------------------------
# Spec: code tables, anchors, generated regions, examples


def anchors_of(text: str) -> list[str]:
    return [a or b for a, b in ANCHOR_RE.findall(text)]


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _unmark(cell: str) -> str:
    cell = cell.strip()
    link = re.fullmatch(r"\[[^\]]*\]\(#([^)]+)\)", cell)
    if link:
        return link.group(1)
    return cell.strip("`").strip()


def parse_codes(spec_dir: Path) -> dict[str, dict[str, str]]:
    """Every ``<!-- codes -->`` table of ``spec/*.md`` (except the generated codes.md) -> {code: entry}."""
    codes: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for md in sorted(spec_dir.glob("*.md")):
        if md.name == "codes.md":
            continue
        text = md.read_text("utf-8")
        anchors = set(anchors_of(text))
        lines = text.splitlines()
        open_at: int | None = None
        for n, line in enumerate(lines, 1):
            stripped = line.strip()
            if stripped == "<!-- codes -->":
                if open_at is not None:
                    problems.append(f"{md}:{n}: <!-- codes --> inside another codes table (opened at line {open_at})")
                open_at = n
                rows: list[tuple[int, str]] = []
                continue
            if stripped == "<!-- /codes -->":
                if open_at is None:
                    problems.append(f"{md}:{n}: <!-- /codes --> without <!-- codes -->")
                    continue
                _parse_table(md, open_at, rows, anchors=anchors, codes=codes, where=where, problems=problems)
                open_at = None
                continue
            if open_at is not None and stripped:
                rows.append((n, stripped))
        if open_at is not None:
            problems.append(f"{md}:{open_at}: <!-- codes --> is never closed by <!-- /codes -->")
    if problems:
        raise BuildError("malformed code tables:\n  " + "\n  ".join(problems))
    return codes


def _parse_table(md: Path, start: int, rows: list[tuple[int, str]], *, anchors: set[str],
                 codes: dict[str, dict[str, str]], where: dict[str, str], problems: list[str]) -> None:
    if len(rows) < 2 or [c.lower() for c in _cells(rows[0][1])] != ["code", "severity", "condition", "anchor"]:
        problems.append(f"{md}:{start}: a codes table starts with the header | code | severity | condition | anchor |")
        return
    if not re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*){3}\|?", rows[1][1]):
        problems.append(f"{md}:{rows[1][0]}: the second line of a codes table must be |---|---|---|---|")
        return
    for n, line in rows[2:]:
        cells = _cells(line)
        if len(cells) != 4:
            problems.append(f"{md}:{n}: a code row has 4 cells (code, severity, condition, anchor); got {len(cells)}")
            continue
        code, sev, condition, anchor = _unmark(cells[0]), cells[1].strip("`").lower(), cells[2], _unmark(cells[3])
        if not CODE_RE.match(code):
            problems.append(f"{md}:{n}: code {code!r} is not kebab-case")
            continue
        if sev not in SEVERITIES:
            problems.append(f"{md}:{n}: {code}: severity {sev!r} is not one of {', '.join(SEVERITIES)}")
        if anchor not in anchors:
            problems.append(f"{md}:{n}: {code}: anchor {anchor!r} is not defined in {md.name} "
                            f"(add <a id=\"{anchor}\"></a>)")
        if code in codes:
            problems.append(f"{md}:{n}: code {code!r} is already defined at {where[code]}; a code has one home")
            continue
        where[code] = f"{md.name}:{n}"
        codes[code] = {"severity": sev, "condition": condition, "anchor": anchor, "section": md.stem}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def codes_md(codes: Mapping[str, Mapping[str, str]]) -> str:
    out = [
        "# Issue codes",
        "",
        "<!-- Generated by `python -m aiterms._build` from the code tables in spec/*.md. Do not edit. -->",
        "",
        "*This section is non-normative: it collects, in one place, the codes each section defines in its own",
        "code table, which stays the single normative home of each code.*",
        "",
        "An implementation reports every finding with one of these codes. Only `error` findings make a document",
        "invalid; `warning` and `info` findings never do (spec/validation.md).",
        "",
        "| code | severity | condition | defined in |",
        "|---|---|---|---|",
    ]
    for code in sorted(codes):
        c = codes[code]
        out.append(f"| `{code}` | {c['severity']} | {_md(c['condition'])} | "
                   f"[{c['section']}#{c['anchor']}]({c['section']}.md#{c['anchor']}) |")
    return "\n".join(out) + "\n"


@dataclass
class Example:
    slug: str
    section: str
    line: int
    lang: str
    text: str
    flags: dict[str, str] = field(default_factory=dict)


EXT = {"json": "json", "jsonld": "jsonld", "json-ld": "jsonld", "turtle": "ttl", "ttl": "ttl", "xml": "xml",
       "http": "txt", "text": "txt", "": "txt", "html": "html", "robots": "txt"}


def extract_examples(spec_dir: Path) -> list[Example]:
    """Fenced blocks preceded by ``<!-- example: ex-slug expect=valid|invalid [codes=a,b] | fragment -->``."""
    found: list[Example] = []
    seen: dict[str, str] = {}
    for md in sorted(spec_dir.glob("*.md")):
        lines = md.read_text("utf-8").splitlines()
        for i, line in enumerate(lines):
            m = EXAMPLE_RE.search(line)
            if not m:
                continue
            slug = m.group(1)
            flags = {}
            for part in m.group(2).split():
                k, _, val = part.partition("=")
                flags[k] = val
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            fence = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)", lines[j]) if j < len(lines) else None
            if fence is None:
                raise BuildError(f"{md}:{i + 1}: example {slug} is not followed by a fenced code block")
            indent, marker, lang = fence.group(1), fence.group(2), fence.group(3).lower()
            body: list[str] = []
            k = j + 1
            while k < len(lines) and not lines[k].strip().startswith(marker):
                body.append(lines[k][len(indent):] if lines[k].startswith(indent) else lines[k])
                k += 1
            if k >= len(lines):
                raise BuildError(f"{md}:{j + 1}: the fenced block of example {slug} is never closed")
            if slug in seen:
                raise BuildError(f"{md}:{i + 1}: example id {slug} is already used at {seen[slug]}")
            if "expect" in flags and flags["expect"] not in ("valid", "invalid"):
                raise BuildError(f"{md}:{i + 1}: example {slug}: expect= must be valid or invalid")
            seen[slug] = f"{md.name}:{i + 1}"
            found.append(Example(slug, md.stem, i + 1, lang, "\n".join(body) + "\n", flags))
    return found


# ---------------------------------------------------------------------------------------------------------------
# Spec tables (<!-- BEGIN GENERATED: name --> ... <!-- END GENERATED: name -->)

TableFn = Callable[["Vocab", list[dict[str, Any]]], str]
GENERATORS: dict[str, TableFn] = {}


def generated(name: str) -> Callable[[TableFn], TableFn]:
    def deco(fn: TableFn) -> TableFn:
        GENERATORS[name] = fn
        return fn

    return deco


FAMILIES = {
    "aipref": "IETF AI Preferences (aipref) vocabulary drafts",
    "content-signal": "Cloudflare Content Signals",
    "cawg": "CAWG training and data mining assertion",
    "c2pa": "C2PA training and data mining assertion (1.3, 1.4)",
    "plus": "IPTC Photo Metadata / PLUS Data Mining (plus:DataMining)",
    "tdmrep": "W3C TDM Reservation Protocol (TDMRep)",
    "rsl": "Really Simple Licensing (RSL) usage and user tokens",
    "odrl-ai": "ODRL AI vocabulary profile (CG draft)",
    "odrl": "ODRL 2.2",
    "cc-rel": "Creative Commons Rights Expression Language (CC REL)",
    "noai": "noai / noimageai directives",
    "dpv": "Data Privacy Vocabulary (DPV)",
    "duo": "Data Use Ontology (DUO)",
}
SCHEME_TITLES = {"purpose": "Purposes", "actor": "Actor types", "role": "Roles", "obligation": "Obligations",
                 "consent-status": "Consent statuses", "effect": "Effects", "outcome": "Outcomes"}


def _tree_order(concepts: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Depth-first order of a polyhierarchy, each concept under its first broader term (sorted)."""
    children: dict[str, list[str]] = {}
    for cid, c in concepts.items():
        for b in sorted(c["broader"])[:1]:
            children.setdefault(b, []).append(cid)
    order: list[tuple[int, str]] = []

    def walk(cid: str, depth: int) -> None:
        order.append((depth, cid))
        for child in sorted(children.get(cid, ())):
            walk(child, depth + 1)

    for cid in sorted(c for c in concepts if not concepts[c]["broader"]):
        walk(cid, 0)
    return order


@generated("uses")
def _uses_table(v: Vocab, tags: list[dict[str, Any]]) -> str:
    uses = v.schemes["use"]
    rows = ["| id | label | broader | definition |", "|---|---|---|---|"]
    for depth, cid in _tree_order(uses):
        c = uses[cid]
        broader = ", ".join(f"`{b}`" for b in c["broader"]) or "—"
        rows.append(f"| {'&nbsp;&nbsp;' * depth}`{cid}` | {_md(c['label'])} | {broader} | {_md(c['definition'])} |")
    return "\n".join(rows) + "\n"


@generated("mappings")
def _mappings_tables(v: Vocab, tags: list[dict[str, Any]]) -> str:
    by_family: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for scheme, concepts in v.schemes.items():
        for cid, c in concepts.items():
            for m in c["mappings"]:
                by_family.setdefault(m["scheme"], []).append((scheme, cid, m))
    parts = []
    for family in sorted(by_family, key=lambda f: (list(FAMILIES).index(f) if f in FAMILIES else 99, f)):
        parts.append(f"**{_md(FAMILIES.get(family, family))}** (`{family}`)\n")
        parts.append("| token | version | aiterms term | relation | effect | note |")
        parts.append("|---|---|---|---|---|---|")
        for scheme, cid, m in sorted(by_family[family], key=lambda x: (x[2]["token"], x[2].get("version", ""), x[1])):
            token = f"[`{m['token']}`]({m['iri']})" if m.get("iri") else f"`{m['token']}`"
            parts.append(f"| {token} | {m.get('version', '')} | {scheme} `{cid}` | {m['relation']} | "
                         f"{m.get('effect', '')} | {_md(m.get('note', ''))} |")
        parts.append("")
    return "\n".join(parts)


@generated("schemes")
def _scheme_tables(v: Vocab, tags: list[dict[str, Any]]) -> str:
    parts = []
    for scheme, title in SCHEME_TITLES.items():
        base = v.schemes[scheme][min(v.schemes[scheme])]["iri"].rsplit("/", 1)[0]
        parts.append(f"**{title}** (`{scheme}`, IRIs `{base}/<id>`)\n")
        parts.append("| id | label | definition |")
        parts.append("|---|---|---|")
        for cid in sorted(v.schemes[scheme]):
            c = v.schemes[scheme][cid]
            parts.append(f"| `{cid}` | {_md(c['label'])} | {_md(c['definition'])} |")
        parts.append("")
    return "\n".join(parts)


@generated("properties")
def _properties_table(v: Vocab, tags: list[dict[str, Any]]) -> str:
    rows = ["| JSON key | IRI | values | definition |", "|---|---|---|---|"]
    for c in v.classes:
        if c["term"] != "Mapping":
            rows.append(f"| `{c['term']}` (class) | `aiterms:{c['term']}` | — | {_md(c['definition'])} |")
    for p in sorted(v.properties, key=lambda p: p["term"]):
        values = {"@id": "IRI", "@vocab": f"{p['scheme']} id"}.get(p["type"] or "", "literal")
        if p["container"] == "@set":
            values = f"array of {values}"
        rows.append(f"| `{p['term']}` | `{_compact(p['iri'])}` | {values} | {_md(p['definition'])} |")
    return "\n".join(rows) + "\n"


@generated("tags")
def _tags_table(v: Vocab, tags: list[dict[str, Any]]) -> str:
    rows = ["| id | label | status | meaning (rules) | variant spellings | change controller |",
            "|---|---|---|---|---|---|"]
    for t in tags:
        rules = "; ".join(
            f"{r['effect']} `{r['use']}`" + "".join(f" {k}={','.join(r[k])}" for k in ("purpose", "actor",
                                                                                       "jurisdiction", "duties")
                                                   if r.get(k))
            for r in t.get("rules", ()))
        status = t["status"] + (f" (replaced by `{t['replacedBy']}`)" if t.get("replacedBy") else "")
        variants = ", ".join(f"`{_md(x)}`" for x in t.get("variants", ()))
        rows.append(f"| `{t['id']}` | {_md(t['label'])} | {status} | {rules} | {variants} | "
                    f"{_md(t['changeController'])} |")
    return "\n".join(rows) + "\n"



def _read_spec_version(spec_dir: Path) -> str:
    index = spec_dir / "index.md"
    if not index.exists():
        raise BuildError(f"{index}: missing (it carries <!-- spec-version: X.Y -->)")
    m = SPEC_VERSION_RE.search(index.read_text("utf-8"))
    if not m:
        raise BuildError(f"{index}: needs a line <!-- spec-version: X.Y -->")
    return m.group(1)


def fill_regions(path: Path, text: str, v: Vocab, tags: list[dict[str, Any]]) -> str:
    def repl(m: re.Match[str]) -> str:
        name, end = m.group(2), m.group(5)
        if name != end:
            raise BuildError(f"{path}: BEGIN GENERATED: {name} is closed by END GENERATED: {end}")
        if name not in GENERATORS:
            raise BuildError(f"{path}: unknown generated region {name!r}; known: {', '.join(sorted(GENERATORS))}")
        return m.group(1) + GENERATORS[name](v, tags) + m.group(4)

    out = GENERATED_RE.sub(repl, text)
    if out.count("<!-- BEGIN GENERATED:") != out.count("<!-- END GENERATED:"):
        raise BuildError(f"{path}: unbalanced BEGIN/END GENERATED markers")
    return out
