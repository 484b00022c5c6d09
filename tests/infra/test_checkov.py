"""checkov over infra/ finds no failed policy and no secret; each skip is justified and still needed."""

from __future__ import annotations

import base64
import re
from pathlib import Path

SKIP = re.compile(r"checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)")


def test_checkov_reports_no_failed_check(checkov_reports) -> None:
    """checkov scanned the Bicep (no parsing errors) and no policy check failed."""
    bicep = checkov_reports["bicep"]
    summary = bicep["summary"]
    assert summary["parsing_errors"] == 0, bicep["results"].get("parsing_errors")
    assert summary["resource_count"] > 20
    assert summary["passed"] > 20
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in bicep["results"]["failed_checks"]]
    assert failed == []


def test_checkov_finds_no_secret_in_infra(checkov_reports) -> None:
    """The secrets scan has nothing to report over infra/ (it reports only findings)."""
    secrets = checkov_reports.get("secrets", {"results": {"failed_checks": []}})
    assert [c["check_id"] for c in secrets["results"]["failed_checks"]] == []


def test_the_secret_scan_catches_a_storage_key(checkov, tmp_path: Path) -> None:
    """The same run flags a storage connection string with a key, so a clean infra/ report means something."""
    key = base64.b64encode(bytes(range(64))).decode()
    (tmp_path / "leak.bicep").write_text(
        f"param conn string = 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey={key}'\n")
    reports = {r["check_type"]: r for r in checkov(tmp_path)}
    assert [c["check_id"] for c in reports["secrets"]["results"]["failed_checks"]] == ["CKV_SECRET_3"]


def test_every_skip_is_justified_inline_and_used(infra, checkov_reports) -> None:
    """Each inline skip carries a reason, and each one suppresses a check that would otherwise run."""
    inline = set()
    for path in infra.trees:
        for check_id, reason in SKIP.findall(path.read_text()):
            assert len(reason.strip()) > 20, f"{path.name}: {check_id} needs a reason"
            inline.add((path.relative_to(infra.root).as_posix(), check_id))
    skipped = checkov_reports["bicep"]["results"]["skipped_checks"]
    for check in skipped:
        assert check["check_result"]["suppress_comment"].strip(), check["check_id"]
    assert {(c["file_path"].lstrip("/"), c["check_id"]) for c in skipped} == inline
