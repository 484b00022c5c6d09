"""The Files API on both route families."""

from __future__ import annotations

import openai
import pytest
from openai import AzureOpenAI, OpenAI

from tests.emulator.conftest import data, upload


def test_upload_list_retrieve_content_delete(azure: AzureOpenAI) -> None:
    """A file keeps its name and bytes (even non-UTF-8 ones); list filters by purpose; delete removes it."""
    file_id = upload(azure, "failed_banks.csv")
    other = upload(azure, "portfolio.csv", purpose="user_data")
    stored = azure.files.retrieve(file_id)
    assert stored.filename == "failed_banks.csv"
    assert stored.bytes == data("failed_banks.csv").stat().st_size
    assert stored.status == "processed"
    assert azure.files.content(file_id).read() == data("failed_banks.csv").read_bytes()
    assert [f.id for f in azure.files.list(purpose="assistants")] == [file_id]
    assert {f.id for f in azure.files.list()} == {file_id, other}
    assert azure.files.delete(file_id).deleted is True
    with pytest.raises(openai.NotFoundError) as gone:
        azure.files.retrieve(file_id)
    assert gone.value.body["message"] == f"No such File object: {file_id}"  # type: ignore[index]


def test_v1_files_share_the_store(azure: AzureOpenAI, v1: OpenAI) -> None:
    """A file uploaded on the v1 routes is visible on the Azure routes."""
    file_id = upload(v1, "orders.csv", purpose="user_data")
    assert azure.files.retrieve(file_id).purpose == "user_data"


def test_bad_purpose_is_a_400(v1: OpenAI) -> None:
    """An unknown purpose is refused with param "purpose"."""
    with pytest.raises(openai.BadRequestError) as bad:
        upload(v1, "orders.csv", purpose="nonsense")
    assert bad.value.body["param"] == "purpose"  # type: ignore[index]
