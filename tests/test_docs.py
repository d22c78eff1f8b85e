"""The README and docs/ stand alone: a reader of the repository alone can follow every reference."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_docs_never_point_outside_the_repository():
    outside = re.compile(r"\.\./|/work/")
    offenders = [
        f"{doc.name}:{n}"
        for doc in DOCS
        for n, line in enumerate(doc.read_text().splitlines(), 1)
        if outside.search(line)
    ]
    assert offenders == []


def test_every_repository_path_the_docs_name_exists():
    # Backticked paths such as `docs/DEPLOY.md` or `infra/package.py` must be real files.
    named = re.compile(r"`((?:docs|hub|handlers|integrations|infra|bench|tests)/[\w./-]+\.(?:md|py|json))`")
    missing = [
        f"{doc.name}: {path}"
        for doc in DOCS
        for path in named.findall(doc.read_text())
        if not (ROOT / path).exists()
    ]
    assert missing == []
