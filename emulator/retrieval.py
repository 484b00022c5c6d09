"""What `file_search` does with a file: extract its text, cut it into chunks, rank chunks for a query.

All of it is deterministic. Text files must be UTF-8 or UTF-16 (as the real service requires); PDFs are
read with `pypdf`. A chunk is a Markdown section's paragraph (its heading's words count for ranking),
split at sentence ends when longer than the chunking strategy allows. Ranking is term overlap
weighted by rarity: lower-cased words, stop words dropped, plurals folded; the score is the share of
the query's weight that a chunk contains, in [0, 1].
"""

from __future__ import annotations

import codecs
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

ErrorCode = Literal["server_error", "unsupported_file", "invalid_file"]

# The extensions the real service indexes for file_search (CSV and spreadsheets are not among them).
TEXT_EXTENSIONS = frozenset(
    {
        ".c", ".cpp", ".cs", ".css", ".go", ".html", ".java", ".js", ".json", ".md", ".php", ".py",
        ".rb", ".sh", ".tex", ".ts", ".txt",
    }
)  # fmt: skip
PDF_EXTENSIONS = frozenset({".pdf"})
# Supported by the real service, but the emulator cannot extract their text.
OFFICE_EXTENSIONS = frozenset({".doc", ".docx", ".pptx"})

# The real service's auto strategy; a chunk is bounded at about four characters per token.
DEFAULT_MAX_CHUNK_TOKENS = 800
DEFAULT_CHUNK_OVERLAP_TOKENS = 400
CHARS_PER_TOKEN = 4

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
# Lines that start a new line in rendered Markdown: list items, table rows, quotes.
_LINE_START = re.compile(r"^(?:[-*+>]\s|\||\d+[.)]\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
STOP_WORDS = frozenset(
    re.findall(
        r"\w+",
        """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further get gets got
    had has have having he her here hers herself him himself his how i if in into is it its itself just
    me might more most must my myself no nor not now of off on once only or other our ours ourselves out
    over own per please same shall she should so some such tell than that the their theirs them
    themselves then there these they this those through to too under until up us very was we were what
    when where which while who whom why will with would you your yours yourself yourselves many much
    also may know
    """,
    )
)


class ExtractionError(Exception):
    """A file the service cannot index: the vector store file ends `failed` with this code and message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of a file: the text quoted, and the terms it is found by."""

    index: int
    text: str
    terms: frozenset[str]


# --- extraction -----------------------------------------------------------------------------------------


def extension(filename: str) -> str:
    return PurePath(filename).suffix.lower()


def extract_text(filename: str, data: bytes) -> str:
    """The text of a file as file_search reads it; `ExtractionError` when it cannot be indexed."""
    suffix = extension(filename)
    if suffix in PDF_EXTENSIONS:
        text = _pdf_text(data)
    elif suffix in TEXT_EXTENSIONS:
        text = _plain_text(data)
    elif suffix in OFFICE_EXTENSIONS:
        raise ExtractionError("unsupported_file", f"The emulator cannot extract text from {suffix} files.")
    else:
        shown = suffix or "(none)"
        raise ExtractionError("unsupported_file", f"Files with extensions [{shown}] are not supported for retrieval.")
    if not text.strip():
        raise ExtractionError("invalid_file", "The file contains no text to index.")
    return text


def _plain_text(data: bytes) -> str:
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise ExtractionError("invalid_file", "The file is not valid UTF-8 or UTF-16 text.") from None
    if "\x00" in text:
        raise ExtractionError("invalid_file", "The file is not valid UTF-8 or UTF-16 text.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("invalid_file", "The PDF is encrypted.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError):
        # pypdf raises these (not only its own errors) on damaged or non-PDF bytes.
        raise ExtractionError("invalid_file", "The file could not be parsed as a PDF.") from None
    return "\n\n".join(page.strip() for page in pages)


# --- chunking -------------------------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    """The words that count for ranking: lower-cased, stop words dropped, plurals folded."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS or (len(word) == 1 and not word.isdigit()):
            continue
        out.append(_fold(word))
    return out


def _fold(word: str) -> str:
    """A light, deterministic stemmer: a plural ending, then an -ing or -ed ending, removed."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    return word


def chunk_text(text: str, max_chunk_tokens: int = DEFAULT_MAX_CHUNK_TOKENS) -> list[Chunk]:
    """Paragraph chunks under their Markdown headings; long paragraphs split at sentence ends."""
    limit = max(1, max_chunk_tokens) * CHARS_PER_TOKEN
    headings: list[str] = []
    pieces: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        body: list[str] = []
        for line in lines:
            heading = _HEADING.match(line)
            if heading is None:
                body.append(line.rstrip())
                continue
            if body:
                pieces.append((" ".join(headings), _join(body)))
                body = []
            level = len(line.lstrip()) - len(line.lstrip().lstrip("#"))
            headings = [*headings[: level - 1], heading.group(1)]
        if body:
            pieces.append((" ".join(headings), _join(body)))
    chunks: list[Chunk] = []
    for context, paragraph in pieces:
        for part in _bounded(paragraph, limit):
            chunks.append(Chunk(len(chunks), part, frozenset(terms(f"{context}\n{part}"))))
    return chunks


def _join(lines: list[str]) -> str:
    """A paragraph's lines as Markdown renders them: wrapped lines joined, list items and table rows kept."""
    text = lines[0].strip()
    for line in lines[1:]:
        stripped = line.strip()
        text += ("\n" if _LINE_START.match(stripped) else " ") + stripped
    return text


def _bounded(paragraph: str, limit: int) -> list[str]:
    """`paragraph` in parts of at most `limit` characters, cut at sentence ends (else at spaces)."""
    if len(paragraph) <= limit:
        return [paragraph]
    parts: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(sentence[:cut].rstrip())
            sentence = sentence[cut:].lstrip()
        candidate = f"{current} {sentence}" if current else sentence
        if len(candidate) > limit:
            parts.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        parts.append(current)
    return [part for part in parts if part]


# --- ranking --------------------------------------------------------------------------------------------


def rank(query: str, chunks: Sequence[Chunk]) -> list[tuple[float, int]]:
    """(score, position in `chunks`) of every chunk sharing a term with `query`, best first.

    A term's weight is its rarity among `chunks` (inverse document frequency), so a word every chunk
    has counts little and a word no chunk has counts most; ties keep the order of `chunks`.
    """
    wanted = set(terms(query))
    if not wanted or not chunks:
        return []
    total = len(chunks)
    frequency = {term: sum(1 for chunk in chunks if term in chunk.terms) for term in wanted}
    weight = {term: math.log((total + 1) / (frequency[term] + 0.5)) for term in wanted}
    whole = sum(weight.values())
    scored = []
    for position, chunk in enumerate(chunks):
        shared = wanted & chunk.terms
        if shared:
            scored.append((round(sum(weight[t] for t in shared) / whole, 4), position))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored
