"""/dashboard in real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium),
loaded while traffic flows: the figures appear, match the usage history, and update. A screenshot is
kept in test-artifacts/ (gitignored)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import REPO_ROOT
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.observe.test_request_log import ASK, OPENAI_USAGE, USAGE
from tests.server.conftest import Stack

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = REPO_ROOT / "test-artifacts"
WAIT = 30  # seconds a figure may take to show (the page polls every 2 s)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "the dashboard test needs Debian's chromium and chromium-driver (.ci/run installs them)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1800",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


class Traffic:
    """Requests in a thread until stopped: Anthropic and OpenAI targets, streamed and not."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        bodies = [ASK, {**ASK, "stream": True}, {**ASK, "model": "gpt-4o"}, {**ASK, "model": "gpt-4o", "stream": True}]
        while not self.stop.is_set():
            response = self.stack.post("/v1/messages", bodies[self.sent % len(bodies)])
            assert response.status_code == 200
            self.sent += 1
            self.stop.wait(0.1)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def number(driver: webdriver.Chrome, element_id: str) -> int:
    text = driver.find_element(By.ID, element_id).text.replace(",", "")
    return int(text) if text.isdigit() else -1


def test_dashboard_shows_live_figures(observed: Stack, browser: webdriver.Chrome) -> None:
    observed.fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
    observed.fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"], usage=OPENAI_USAGE))
    wait = WebDriverWait(browser, WAIT, poll_frequency=0.2)
    with Traffic(observed) as traffic:
        browser.get(observed.url + "/dashboard")
        wait.until(lambda d: number(d, "kpi-requests") >= 1)
        first = number(browser, "kpi-requests")
        wait.until(lambda d: number(d, "kpi-requests") > first)  # it updates while traffic flows
    # traffic stopped: the page settles on exactly what was sent
    wait.until(lambda d: number(d, "kpi-requests") == traffic.sent)
    recent = browser.find_elements(By.CSS_SELECTOR, "#recent tr")
    assert len(recent) > 2 and any("anthropic/sonnet" in row.text for row in recent)
    assert any("openai/gpt" in row.text for row in recent)
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-rate path.series")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-latency path.series")) == 3
    models = {p.get_attribute("data-name") for p in browser.find_elements(By.CSS_SELECTOR, "#chart-tokens path.series")}
    assert {"claude-sonnet-4-5", "gpt-test"} <= models
    assert browser.find_element(By.ID, "kpi-tokens").text not in ("-", "0")
    assert browser.find_element(By.ID, "kpi-cost").text.startswith("$")
    circuits = browser.find_element(By.ID, "circuits").text
    assert "anthropic/sonnet closed" in circuits and "openai/gpt closed" in circuits
    version = httpx.get(observed.url + "/health").json()["config_version"]
    assert browser.find_element(By.ID, "config-version").text == version
    assert browser.find_element(By.ID, "reload-result").text == "ok"
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    assert not [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]


def test_dashboard_page_is_self_contained(observed: Stack) -> None:
    page = httpx.get(observed.url + "/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script src" not in page.text and "http://" not in page.text and "https://" not in page.text
