"""checkov over infra/ finds no failed policy; each skip is justified inline and still needed."""

from __future__ import annotations

import re

SKIP = re.compile(r"checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)")


def test_checkov_reports_no_failed_check(checkov_report) -> None:
    """checkov scanned the Bicep (no parsing errors) and no check failed."""
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    assert summary["resource_count"] > 20
    assert summary["passed"] > 20
    failed = [(c["check_id"], c["resource"], c["file_path"])
              for c in checkov_report["results"]["failed_checks"]]
    assert failed == []


def test_every_skip_is_justified_inline_and_used(infra, checkov_report) -> None:
    """Each inline skip carries a reason, and each one suppresses a check that would otherwise run."""
    inline = set()
    for path in infra.trees:
        for check_id, reason in SKIP.findall(path.read_text()):
            assert len(reason.strip()) > 20, f"{path.name}: {check_id} needs a reason"
            inline.add((path.relative_to(infra.root).as_posix(), check_id))
    used = {(c["file_path"].lstrip("/"), c["check_id"]) for c in checkov_report["results"]["skipped_checks"]}
    for check in checkov_report["results"]["skipped_checks"]:
        assert check["check_result"]["suppress_comment"].strip(), check["check_id"]
    assert used == inline
