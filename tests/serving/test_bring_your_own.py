"""The README's "bring your own tickets" and "bring your own catalog" walk-throughs, as a new user
runs them: CSVs the test writes (0/1-labelled tickets; ratings and items with the user's own
column names) go through `agora data import`, `agora train`, `agora models promote --slot`, and a
real service answers `/triage` and `/recommend` with those models. No shared dataset is read.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.serving.conftest import ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

runner = CliRunner()
TICKETS_MODEL = "agora-triage-sentiment-en-my-tickets"
CATALOG_MODEL = "agora-recommender-my-catalog"
GENRES = ("Drama", "Comedy", "Action", "Sci-Fi")
ITEMS = 60


def write_tickets(path: Path, rows: int = 400) -> None:
    """English support messages labelled 1 (happy) and 0 (complaint), the user's column names."""
    rng = random.Random(7)
    things = ("bag", "flight", "refund", "seat", "order", "delivery", "app", "booking")
    bad = ("was lost", "is late again", "never arrived", "was cancelled", "charged me twice")
    good = ("arrived early", "was perfect", "went smoothly", "was handled kindly")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message", "happy"])
        for number in range(rows):
            thing = rng.choice(things)
            if number % 2:
                writer.writerow([f"My {thing} {rng.choice(bad)}, this is terrible #{number}", 0])
            else:
                writer.writerow([f"Thanks, the {thing} {rng.choice(good)}! #{number}", 1])


def write_catalog(ratings: Path, items: Path, users: int = 120) -> None:
    """Items in four genres; each user rates mostly items of one genre (their taste)."""
    rng = random.Random(7)
    with items.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["movieId", "title", "genres"])
        for item in range(ITEMS):
            writer.writerow([f"m{item}", f"Film {item}", GENRES[item % 4]])
    with ratings.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["userId", "movieId", "rating", "timestamp"])
        for user in range(users):
            liked = [item for item in range(ITEMS) if item % 4 == user % 4]
            for item in [*rng.sample(liked, 10), *rng.sample(range(ITEMS), 2)]:
                writer.writerow([f"u{user}", f"m{item}", 4.5, 1_700_000_000 + user * 100 + item])


def agora(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"agora {' '.join(args)}: {result.output}"
    return result.output


def test_own_tickets_and_catalog_from_csv_to_the_service(tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    ratings, items = tmp_path / "ratings.csv", tmp_path / "items.csv"
    write_tickets(tickets)
    write_catalog(ratings, items)

    # Tickets: 0/1 labels are refused until mapped; the language is detected per row.
    refused = runner.invoke(
        app, ["data", "import", str(tickets), "--kind", "labelled-text", "--name", "my-tickets",
              "--map", "text=message,label=happy"],
    )  # fmt: skip
    assert refused.exit_code == 2 and "--label-map 0=negative,1=positive" in refused.output
    imported = agora(
        "data", "import", str(tickets), "--kind", "labelled-text", "--name", "my-tickets",
        "--map", "text=message,label=happy", "--label-map", "0=negative,1=positive",
    )  # fmt: skip
    assert "en 400" in imported
    assert TICKETS_MODEL in agora(
        "train", "triage", "--task", "sentiment", "--dataset", "my-tickets", "--model", "tfidf"
    )
    agora("models", "promote", TICKETS_MODEL, "--slot", "sentiment-en")

    # Catalog: the user's column names mapped at import, ratings and items under one name.
    agora("data", "import", str(ratings), "--kind", "interactions", "--name", "my-catalog",
          "--map", "user_id=userId,item_id=movieId")  # fmt: skip
    agora("data", "import", str(items), "--kind", "items", "--name", "my-catalog",
          "--map", "item_id=movieId")  # fmt: skip
    assert CATALOG_MODEL in agora(
        "train", "recommender", "--dataset", "my-catalog", "--model", "ease"
    )
    agora("models", "promote", CATALOG_MODEL, "--slot", "recommender")

    home = tmp_path / "agora-home"  # the isolated AGORA_HOME the commands above wrote to
    server = ServiceProcess(service_env(home)).start()
    try:
        status, answer = server.post("/triage", {"text": "My refund never arrived, terrible"})
        assert status == 200, answer
        result = answer["result"]
        assert result["sentiment"]["label"] == "negative"
        assert {(m["task"], m["name"]) for m in result["models"]} == {("sentiment", TICKETS_MODEL)}
        status, answer = server.post("/triage", {"text": "Thanks, the booking was perfect!"})
        assert status == 200 and answer["result"]["sentiment"]["label"] == "positive", answer

        status, feed = server.post("/recommend", {"user_id": "u1", "k": 5})
        assert status == 200, feed
        assert feed["model"]["name"] == CATALOG_MODEL and feed["strategy"] == "personalized"
        assert len(feed["items"]) == 5
        # User u1 rates Comedy; the feed comes from the user's catalog, with its titles.
        assert all(item["title"].startswith("Film ") for item in feed["items"])
        assert sum(item["genres"] == ["Comedy"] for item in feed["items"]) >= 4, feed["items"]
    finally:
        server.stop()


def write_chinese_tickets(sentiment: Path, reasons: Path, rows: int = 240) -> None:
    """A Chinese desk's own tickets: 0/1 sentiment, and complaints labelled with its reasons."""
    rng = random.Random(11)
    things = ("外卖", "订单", "包裹", "快递")
    complaints = {
        "配送": ("送得太慢了", "一直没送到", "配送超时两个小时"),
        "退款": ("申请退款没人处理", "退款一直没到账", "不给退钱"),
        "质量": ("东西是坏的", "质量太差了", "包装破损严重"),
    }
    praise = ("很满意", "非常好吃", "送得很快", "服务很周到")
    with sentiment.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["评论", "标签"])
        for number in range(rows):
            thing = rng.choice(things)
            if number % 2:
                said = rng.choice(complaints[rng.choice(list(complaints))])
                writer.writerow([f"{thing}{said}，太失望了{number}", 0])
            else:
                writer.writerow([f"这次{thing}{rng.choice(praise)}，谢谢{number}", 1])
    with reasons.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["内容", "原因"])
        for number in range(rows):
            reason = list(complaints)[number % 3]
            said = rng.choice(complaints[reason])
            writer.writerow([f"我的{rng.choice(things)}{said}，请尽快处理{number}", reason])


ZH_ROUTING = """
routing:
  default_queue: general
  rules:
    - {name: zh_delivery, queue: zh_delivery, when: {language: [zh], reason: [配送]}}
    - {name: chinese, queue: zh_support, when: {language: [zh]}}
"""


def test_a_chinese_desk_serves_its_own_reasons_without_english_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chinese-only support desk: its sentiment in slot sentiment-zh and its own complaint
    reasons in the language slot reason-zh. It serves no feeds (AGORA_PARTS=triage) and no
    English model, and the service is ready all the same (it waited for a recommender, and the
    shipped fallback language names English); Chinese complaints get the desk's reasons, and
    its routing table (AGORA_TRIAGE_CONFIG) sends them to its own queues, in the service and in
    `agora batch triage` alike."""
    sentiment, reasons = tmp_path / "评论.csv", tmp_path / "原因.csv"
    write_chinese_tickets(sentiment, reasons)
    agora("data", "import", str(sentiment), "--kind", "labelled-text", "--name", "zh-desk",
          "--map", "text=评论,label=标签", "--label-map", "0=negative,1=positive")  # fmt: skip
    imported = agora("data", "import", str(reasons), "--kind", "labelled-text", "--task", "reason",
                     "--name", "zh-reasons", "--map", "text=内容,reason=原因")  # fmt: skip
    assert "zh 240" in imported
    for task, dataset in (("sentiment", "zh-desk"), ("reason", "zh-reasons")):
        agora("train", "triage", "--task", task, "--dataset", dataset, "--model", "tfidf")
    agora("models", "promote", "agora-triage-sentiment-zh-zh-desk", "--slot", "sentiment-zh")
    refused = runner.invoke(
        app, ["models", "promote", "agora-triage-reason-zh-zh-reasons", "--slot", "reason"]
    )
    assert refused.exit_code == 1 and "fits slot 'reason-zh'" in refused.output
    bound = agora("models", "promote", "agora-triage-reason-zh-zh-reasons", "--slot", "reason-zh")
    assert "slot reason-zh: serves agora-triage-reason-zh-zh-reasons" in bound
    assert "reason-zh" in agora("models", "slots")

    routing = tmp_path / "triage.yaml"
    routing.write_text(ZH_ROUTING, encoding="utf-8")
    monkeypatch.setenv("AGORA_TRIAGE_CONFIG", str(routing))
    texts = tmp_path / "texts.csv"
    texts.write_text("text\n我的快递一直没送到，太失望了\n这次外卖很满意，谢谢\n", encoding="utf-8")
    agora("batch", "triage", str(texts), "--out", str(tmp_path / "triaged.parquet"))
    triaged = pd.read_parquet(tmp_path / "triaged.parquet")
    assert triaged["queue"].tolist() == ["zh_delivery", "zh_support"]
    assert triaged["reason"].tolist()[0] == "配送"

    home = tmp_path / "agora-home"
    env = service_env(
        home, AGORA_TRIAGE_MODELS="reasno=x", AGORA_TRIAGE_CONFIG=str(routing), AGORA_PARTS="triage"
    )
    server = ServiceProcess(env).start()  # waits for /readyz: ready without a recommender
    try:
        status, answer = server.post("/triage", {"text": "我的快递一直没送到，太失望了"})
        assert status == 200, answer
        result = answer["result"]
        assert (result["language"]["code"], result["sentiment"]["label"]) == ("zh", "negative")
        assert result["reason"]["label"] == "配送", result["reason"]
        assert result["routing"] == {"queue": "zh_delivery", "rule": "zh_delivery"}
        assert ("reason", "agora-triage-reason-zh-zh-reasons") in {
            (m["task"], m["name"]) for m in result["models"]
        }
        english = "My luggage was lost on the flight and nobody at the airport will help me"
        status, answer = server.post("/triage", {"text": english})
        assert status == 200 and answer["result"]["status"] == "unsupported_language", answer
        status, info = server.get("/model_info")
        assert status == 200 and "reason-zh" in info["models"], info
        assert "unknown slot 'reasno'" in info["problems"]["reasno"], info["problems"]
        assert "recommender" not in info["problems"]  # not served, so not a problem
        status, answer = server.post("/recommend", {"user_id": "u1"})
        assert status == 503, answer
        assert "does not serve feeds (AGORA_PARTS=triage)" in answer["error"]["message"]
    finally:
        server.stop()
