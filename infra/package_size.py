"""The package-size budget: measure a zappa zip and fail when it outgrows what Lambda accepts.

Lambda refuses more than 250 MB unzipped and 50 MB zipped for a direct upload; hub keeps
well under both so cold starts stay short and `slim_handler` (an S3 download at every
cold start) is never needed.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024
UNZIPPED_BUDGET_MIB = 100.0  # Lambda allows 250 MB; hub keeps well under it (issue 14: ≤ 100 with PayPal in)
ZIPPED_BUDGET_MIB = 30.0  # Lambda's direct-upload limit is 50 MB; smaller uploads deploy faster
REQUIRED = (
    "handler.py",
    "zappa_settings.py",
    "hub/wsgi.py",
    "infra/schedules.py",
    "googleapiclient/discovery_cache/documents/calendar.v3.json",
    "googleapiclient/discovery_cache/documents/sheets.v4.json",
)
FORBIDDEN_NAMES = (".env", "dev-secrets.json", "dev-paypal.pem", "hub.sqlite3")
# A .pyc whose flags say "timestamp" is judged stale on Lambda (the zip resets mtimes),
# so Python recompiles every module at each cold start: only hash-based ones help.
_HASH_BASED = 0b01


@dataclass
class SizeReport:
    path: Path
    zipped: int
    unzipped: int
    files: int
    largest: list[tuple[str, int]]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [
            f"{self.path.name}: {self.zipped / MIB:.1f} MiB zipped, {self.unzipped / MIB:.1f} MiB "
            f"unzipped, {self.files} files",
            "largest top-level entries (unzipped):",
            *(f"  {size / MIB:7.1f} MiB  {name}" for name, size in self.largest),
        ]
        lines += [f"FAIL: {p}" for p in self.problems] or ["OK: within budget"]
        return "\n".join(lines)


def measure(
    zip_path: Path,
    *,
    unzipped_budget_mib: float = UNZIPPED_BUDGET_MIB,
    zipped_budget_mib: float = ZIPPED_BUDGET_MIB,
    top: int = 12,
) -> SizeReport:
    """Sizes of a zappa package, with every broken budget or missing piece as a problem."""
    with zipfile.ZipFile(zip_path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        names = {i.filename for i in infos}
        stale = _timestamp_pycs(archive, infos)
    by_top: Counter[str] = Counter()
    for info in infos:
        by_top[info.filename.split("/", 1)[0]] += info.file_size
    report = SizeReport(
        path=zip_path,
        zipped=zip_path.stat().st_size,
        unzipped=sum(i.file_size for i in infos),
        files=len(infos),
        largest=by_top.most_common(top),
    )
    if report.unzipped > unzipped_budget_mib * MIB:
        report.problems.append(
            f"unzipped {report.unzipped / MIB:.1f} MiB is over the {unzipped_budget_mib:.0f} MiB budget. "
            f"Biggest now: {', '.join(n for n, _ in report.largest[:5])}. Exclude next what hub never "
            "imports with exclude_glob in zappa_settings.json (from the package root, e.g. unused "
            "twilio/rest/<domain> folders), never with exclude (it matches names in every folder), "
            "or, for files inside a package hub needs, with a rule in infra.package.TRIMS."
        )
    if report.zipped > zipped_budget_mib * MIB:
        report.problems.append(
            f"zipped {report.zipped / MIB:.1f} MiB is over the {zipped_budget_mib:.0f} MiB budget (Lambda's "
            "direct upload stops at 50 MB); exclude more rather than turning on slim_handler."
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        report.problems.append(f"missing from the package: {', '.join(missing)}")
    leaked = sorted(n for n in names if n.rsplit("/", 1)[-1] in FORBIDDEN_NAMES)
    if leaked:
        report.problems.append(f"local state or secrets in the package: {', '.join(leaked)}")
    if stale:
        report.problems.append(
            f"{stale} timestamp-based .pyc files (e.g. ignored as stale on Lambda): byte-compile "
            "with `compileall --invalidation-mode checked-hash` before packaging"
        )
    return report


def _timestamp_pycs(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> int:
    count = 0
    for info in infos:
        if info.filename.endswith(".pyc"):
            with archive.open(info) as fh:
                header = fh.read(8)
            if len(header) == 8 and not int.from_bytes(header[4:8], "little") & _HASH_BASED:
                count += 1
    return count
