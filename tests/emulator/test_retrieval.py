"""Text extraction, chunking and ranking, as file_search reads the files of a vector store."""

from __future__ import annotations

import pytest

from emulator.retrieval import Chunk, ExtractionError, chunk_text, extract_text, rank, terms
from tests.emulator.conftest import MEALS_QUESTION, UNSUPPORTED_QUESTION, VACATION_QUESTION, data, pdf_bytes


def _handbook() -> list[Chunk]:
    """The chunks of both handbook pages, vacation first."""
    chunks: list[Chunk] = []
    for name in ("vacation.md", "expenses.md"):
        chunks += chunk_text(extract_text(name, data(name).read_bytes()))
    return chunks


def test_markdown_and_text_are_read_as_utf8_or_utf16() -> None:
    """Markdown and text files are decoded (a UTF-8 BOM dropped, UTF-16 with its BOM), line ends unified."""
    assert extract_text("a.md", "\ufeff# Café\r\nOui".encode()) == "# Café\nOui"
    assert extract_text("notes.txt", "naïve".encode("utf-16")) == "naïve"


def test_pdf_text_is_extracted() -> None:
    """A PDF's text is read with pypdf, one line per shown line."""
    text = extract_text("policy.pdf", pdf_bytes("Remote work is allowed two days a week.", "Ask (first)."))
    assert text == "Remote work is allowed two days a week.\nAsk (first)."


@pytest.mark.parametrize(
    ("name", "data", "code", "message"),
    [
        ("photo.png", b"\x89PNG\r\n", "unsupported_file", "Files with extensions [.png] are not supported"),
        ("table.csv", b"a,b\n1,2\n", "unsupported_file", "Files with extensions [.csv] are not supported"),
        ("notes", b"hello", "unsupported_file", "Files with extensions [(none)] are not supported"),
        ("deck.pptx", b"PK\x03\x04", "unsupported_file", "cannot extract text from .pptx"),
        ("page.md", b"caf\xe9 \x00\x01", "invalid_file", "not valid UTF-8 or UTF-16"),
        ("page.md", b" \n\n ", "invalid_file", "no text"),
        ("scan.pdf", b"\x89PNG not a pdf", "invalid_file", "could not be parsed as a PDF"),
        ("cut.pdf", pdf_bytes("Hello")[:150], "invalid_file", "could not be parsed as a PDF"),
    ],
)
def test_unreadable_files_are_refused_with_a_code(name: str, data: bytes, code: str, message: str) -> None:
    """Files file_search cannot index raise ExtractionError with the API's last_error code."""
    with pytest.raises(ExtractionError) as refused:
        extract_text(name, data)
    assert refused.value.code == code
    assert message in refused.value.message


def test_chunks_are_paragraphs_found_by_their_headings() -> None:
    """Each paragraph is a chunk (wrapped lines joined, list items kept); its headings' words find it."""
    chunks = chunk_text("# Leave\n\n## Parental\nTwelve weeks\nat full pay.\n\n- one\n- two\n\n# Other\nText.")
    assert [c.text for c in chunks] == ["Twelve weeks at full pay.", "- one\n- two", "Text."]
    assert {"leave", "parental", "twelve", "week"} <= chunks[0].terms
    assert "parental" in chunks[1].terms
    assert "leave" not in chunks[2].terms
    assert [c.index for c in chunks] == [0, 1, 2]


def test_long_paragraphs_are_cut_at_sentence_ends() -> None:
    """A paragraph longer than the chunk size (tokens × 4 characters) is split between sentences."""
    sentence = "Employees may work remotely on Fridays. "
    chunks = chunk_text(sentence * 20, max_chunk_tokens=25)
    assert all(len(c.text) <= 100 for c in chunks)
    assert " ".join(c.text for c in chunks) == (sentence * 20).strip()
    assert all(c.text.endswith(".") for c in chunks)
    giant = chunk_text("x" * 250, max_chunk_tokens=25)
    assert [len(c.text) for c in giant] == [100, 100, 50]


def test_terms_drop_stop_words_and_fold_plurals() -> None:
    """Terms are lower-cased words without stop words; plurals and -ing/-ed endings are folded."""
    assert terms("How many Vacation DAYS do the employees get?") == ["vacation", "day", "employee"]
    assert terms("Policies booked meetings") == ["policy", "book", "meet"]


def test_ranking_finds_the_page_that_answers() -> None:
    """A question answered by one page ranks that paragraph first with full score; others far below."""
    chunks = _handbook()
    vacation = rank(VACATION_QUESTION, chunks)
    assert vacation[0] == (1.0, 0)
    assert chunks[0].text.startswith("Full-time employees earn 25 days")
    assert all(score < 0.5 for score, _ in vacation[1:])
    meals = rank(MEALS_QUESTION, chunks)
    assert meals[0][0] == 1.0
    assert chunks[meals[0][1]].text.startswith("Meals on business trips")


def test_no_overlap_means_no_result_and_common_words_weigh_little() -> None:
    """A question sharing no term finds nothing; one sharing only a common word scores low."""
    chunks = _handbook()
    assert rank("What is the dress code?", chunks) == []
    assert rank("the and of", chunks) == []
    weak = rank(UNSUPPORTED_QUESTION, chunks)
    assert weak
    assert all(score < 0.2 for score, _ in weak)


def test_ties_keep_file_order() -> None:
    """Equal scores rank in the order the chunks were given, so results never depend on chance."""
    chunks = chunk_text("Alpha beta.\n\nAlpha gamma.\n\nAlpha delta.")
    assert [position for _, position in rank("alpha", chunks)] == [0, 1, 2]
