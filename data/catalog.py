"""The dataset catalog: each named dataset, its official source, license and checksums.

Files are never shipped with Agora (several licenses forbid redistribution). `fetch` copies them
into a local cache from a mirror folder, or downloads them from the publisher, and verifies every
file's sha256 before the cache directory becomes visible, so a half-copied or tampered dataset is
never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data.schemas import Kind


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset, as its publisher released it."""

    path: str  # relative to the dataset folder
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: provenance, license, files and the kinds of canonical frame it yields."""

    name: str
    title: str
    mirror_folder: str  # folder name inside a mirror directory
    kinds: tuple[Kind, ...]
    publisher: str
    license: str
    files: tuple[DataFile, ...]
    homepage: str
    download_url: str | None = None  # None: the publisher requires a manual step
    archive_prefix: str = ""  # folder inside the downloaded zip holding `files`
    manual_step: str | None = None
    notes: str = ""
    expected_rows: dict[Kind, int] = field(default_factory=dict)


MOVIELENS_100K = DatasetSpec(
    name="movielens-100k",
    title="MovieLens 100K ratings with movie titles and genres",
    mirror_folder="movielens-ml-100k",
    kinds=(Kind.INTERACTIONS, Kind.ITEMS),
    publisher="GroupLens Research, University of Minnesota",
    license=(
        "Research use with acknowledgement; no redistribution or commercial use without permission."
    ),
    files=(
        DataFile("u.data", "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"),
        DataFile("u.item", "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701"),
        DataFile("u.genre", "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb"),
        DataFile("u.user", "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c"),
        DataFile("README", "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52"),
    ),
    homepage="https://grouplens.org/datasets/movielens/100k/",
    download_url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    archive_prefix="ml-100k/",
    expected_rows={Kind.INTERACTIONS: 100_000, Kind.ITEMS: 1_682},
)

AIRLINE_SENTIMENT = DatasetSpec(
    name="airline-sentiment",
    title="Twitter US airline sentiment (Feb 2015), with negative reasons",
    mirror_folder="twitter-us-airline-sentiment",
    kinds=(Kind.LABELLED_TEXT,),
    publisher=(
        "CrowdFlower 'Data for Everyone', on Kaggle as crowdflower/twitter-airline-sentiment"
    ),
    license="CC BY-NC-SA 4.0 (non-commercial, share-alike).",
    files=(
        DataFile("Tweets.csv", "ea94b23f41892b290dec3330bb8cf9cb6b8bc669eaae5f3a84c40f7b0de8f15e"),
    ),
    homepage="https://www.kaggle.com/datasets/crowdflower/twitter-airline-sentiment",
    manual_step=(
        "Kaggle requires a login: download the archive from the homepage, unzip it and put "
        "Tweets.csv in MIRROR/twitter-us-airline-sentiment/, then run "
        "'agora data fetch airline-sentiment --mirror MIRROR'."
    ),
    notes="36 exact duplicate rows are kept as published; the triage splits drop duplicate texts.",
    expected_rows={Kind.LABELLED_TEXT: 14_640},
)

BITEXT_INTENTS = DatasetSpec(
    name="bitext-intents",
    title="Bitext customer-support utterances: 11 categories, 27 intents",
    mirror_folder="bitext-customer-support-intents-20k",
    kinds=(Kind.LABELLED_TEXT,),
    publisher="Bitext Innovations",
    license=(
        "CDLA-Sharing-1.0. Hybrid-synthetic (generated from templates), not real customer logs."
    ),
    files=(
        DataFile(
            "TrainingdatasetBitextsample.csv",
            "40181754755eba808aa949e8d67b65d2923a37b3cb56786705592ef66f45c4ff",
        ),
        DataFile("LICENSE.txt", "f6054388eae4947a769ca2020c54e6d394eb01c41d58db55bb6cfd24ce71cdd8"),
    ),
    homepage="https://github.com/bitext/customer-support-llm-chatbot-training-dataset",
    manual_step=(
        "Download Bitext's 20,000-utterance customer-support sample from the homepage, put "
        "TrainingdatasetBitextsample.csv and LICENSE.txt in "
        "MIRROR/bitext-customer-support-intents-20k/, then run "
        "'agora data fetch bitext-intents --mirror MIRROR'."
    ),
    expected_rows={Kind.LABELLED_TEXT: 21_534},
)

CFPB_COMPLAINTS = DatasetSpec(
    name="cfpb-complaints",
    title="CFPB consumer complaints, a 6,623-row sample (product, issue, narrative)",
    mirror_folder="cfpb-consumer-complaints-sample",
    kinds=(Kind.LABELLED_TEXT,),
    publisher="U.S. Consumer Financial Protection Bureau",
    license="Public domain (U.S. federal government work).",
    files=(
        DataFile(
            "complaints_sample.csv",
            "a028baae32300e6dbee8a95819caadec6db42c3694e30f6d285948c597dd6fff",
        ),
        DataFile(
            "CFPB_TERMS.md", "21ef045671ed7175eb915409522661637ef22730a98012616d6888a40bfbdcd2"
        ),
    ),
    homepage="https://www.consumerfinance.gov/data-research/consumer-complaints/",
    manual_step=(
        "This fixed sample exists only in the mirror; the publisher's full export "
        "(https://files.consumerfinance.gov/ccdb/complaints.csv.zip, several GB) is a different "
        "file. Load the full export with 'agora data import' instead."
    ),
    notes="The CSV starts with a two-line unzip banner; 1,532 rows carry a narrative.",
    expected_rows={Kind.LABELLED_TEXT: 6_623},
)

WAIMAI_10K = DatasetSpec(
    name="waimai-10k",
    title="Chinese food-delivery app reviews, positive/negative",
    mirror_folder="chinese-waimai_10k",
    kinds=(Kind.LABELLED_TEXT,),
    publisher="SophonPlus ChineseNlpCorpus",
    license="No license stated by the publisher; research use only.",
    files=(
        DataFile(
            "waimai_10k.csv", "b8b5c11c00b51578d35937fca56e03a126b45381f1ea4b22893237cb377a26fe"
        ),
    ),
    homepage="https://github.com/SophonPlus/ChineseNlpCorpus",
    download_url=(
        "https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/master/"
        "datasets/waimai_10k/waimai_10k.csv"
    ),
    expected_rows={Kind.LABELLED_TEXT: 11_987},
)

CATALOG: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (MOVIELENS_100K, AIRLINE_SENTIMENT, BITEXT_INTENTS, CFPB_COMPLAINTS, WAIMAI_10K)
}


class UnknownDatasetError(KeyError):
    """No catalog entry and no imported dataset has this name."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_spec(name: str) -> DatasetSpec:
    """The catalog entry for `name`, or a clear error listing the known names."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise UnknownDatasetError(f"unknown dataset '{name}'; the catalog has: {known}") from None
