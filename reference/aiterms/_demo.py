"""``make run``: validate the bundled example records and answer research-use questions about them."""

from __future__ import annotations

import sys
from importlib.resources import as_file, files

from aiterms.cli import run

QUESTIONS = (
    ("computer-vision", "research", "research-organization", "US-IL"),
    ("face-recognition", "research", "research-organization", "US-IL"),
    ("ai-training", "research", "research-organization", "EU"),
)


def main() -> int:
    with as_file(files("aiterms") / "examples") as folder:
        examples = sorted(folder.glob("*.json"))
        print(f"== aiterms validate ({len(examples)} bundled example records)")
        status = run(["validate", *map(str, examples)])
        for use, purpose, actor, jurisdiction in QUESTIONS:
            print(f"\n== May a {actor} use these images for {use} ({purpose}, {jurisdiction})?")
            for path in examples:
                print(f"\n-- {path.name}")
                sys.stdout.flush()
                code = run(["check", str(path), "--use", use, "--purpose", purpose, "--actor", actor,
                            "--jurisdiction", jurisdiction, "--at", "2026-01-01T00:00:00Z"])
                status = max(status, code)
    return 0 if status in (0, 1) else status


if __name__ == "__main__":
    sys.exit(main())
