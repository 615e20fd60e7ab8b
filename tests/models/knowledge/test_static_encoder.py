"""The knowledge base's fast encoder: static word-piece vectors distilled from MiniLM once, then
loaded; vectors normalised, one text's vector independent of its neighbours. (It reads words, not
context: a rewording is close, a paraphrase in other words much less so than with MiniLM.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import models.knowledge.static_encoder as static
from models.knowledge import (
    MIN_SIMILARITY,
    KbEncoder,
    KnowledgeBase,
    knowledge_encoder,
    parse_kb_encoder,
)
from models.knowledge.static_encoder import static_folder

TEXTS = [
    "my checked bag never arrived in Denver",
    "my checked bags never arrived at Denver airport",
    "the in-flight movies were great, thanks",
    "x" * 5000,
]


# Distils into FOLDER as a serving worker would on its first case, then prints which of the
# heavy modules the process itself loaded.
BUILD_AND_REPORT = """
import sys
from pathlib import Path
from models.knowledge import KbEncoder, knowledge_encoder
encoder = knowledge_encoder(Path(sys.argv[1]), KbEncoder.STATIC)
assert encoder.encode(["lost bag"]).shape == (1, 256)
print(sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A cache the encoder was distilled into (once, about 20 s) by a fresh process, and what
    that process reported it had loaded."""
    folder = tmp_path_factory.mktemp("static-cache")
    done = subprocess.run(
        [sys.executable, "-c", BUILD_AND_REPORT, str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, done.stdout.strip()


@pytest.fixture
def cache(built: tuple[Path, str]) -> Path:
    return built[0]


@pytest.mark.slow
def test_the_distillation_runs_in_a_child_so_the_caller_never_loads_torch(
    built: tuple[Path, str],
) -> None:
    folder, loaded = built
    assert (static_folder(folder) / static.INFO_FILE).exists()
    assert loaded == "[]"  # a serving worker keeps only the static vectors


def test_parse_names_the_choices_on_a_bad_value() -> None:
    assert parse_kb_encoder(" minilm-int8 ") is KbEncoder.MINILM_INT8
    with pytest.raises(
        ValueError, match="AGORA_KB_ENCODER must be one of static, static-lexical, minilm-int8"
    ):
        parse_kb_encoder("bert", "AGORA_KB_ENCODER")


@pytest.mark.slow
def test_static_vectors_are_normalised_and_a_paraphrase_is_closer(cache: Path) -> None:
    encoder = knowledge_encoder(cache, KbEncoder.STATIC)
    vectors = encoder.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (4, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.1
    # The threshold separates the two (it was chosen on real data for this encoder).
    assert unrelated < MIN_SIMILARITY[KbEncoder.STATIC] <= similar
    alone = encoder.encode(TEXTS[:1])
    assert np.allclose(alone, vectors[:1], atol=1e-6)  # the same vector beside others or alone
    assert encoder.encode([]).shape == (0, 256)


@pytest.mark.slow
def test_a_second_process_loads_the_distillation_instead_of_distilling(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert static_folder(cache).is_dir()

    def refuse(*_: object) -> None:
        raise AssertionError("distilled again")

    monkeypatch.setattr(static, "build_in_child", refuse)
    first = knowledge_encoder(cache, KbEncoder.STATIC).encode(TEXTS[:2])
    second = knowledge_encoder(cache, KbEncoder.STATIC).encode(TEXTS[:2])
    assert np.array_equal(first, second)


@pytest.mark.slow
def test_the_knowledge_base_finds_the_case_about_the_same_problem(cache: Path) -> None:
    from data.store.resolutions import ResolvedCase

    base = KnowledgeBase(knowledge_encoder(cache, KbEncoder.STATIC))
    base.add(
        [
            ResolvedCase(1, "bag", TEXTS[1], "Lost Luggage", None, None, "traced it", "resolved"),
            ResolvedCase(2, "fun", TEXTS[2], None, None, None, "thanked them", "resolved"),
        ]
    )
    [found] = base.similar(TEXTS[:1], k=3, min_similarity=MIN_SIMILARITY[KbEncoder.STATIC])
    assert [case.triage_id for case in found] == ["bag"]


@pytest.mark.slow
def test_the_static_lexical_threshold_separates_a_rewording_from_an_unrelated_text(
    cache: Path,
) -> None:
    encoder = knowledge_encoder(cache, KbEncoder.STATIC_LEXICAL)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (4, 256 + 512)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert unrelated < MIN_SIMILARITY[KbEncoder.STATIC_LEXICAL] <= similar
