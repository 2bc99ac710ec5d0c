"""The built page in a real headless browser (Debian's chromium driven by Playwright).

Marked slow. Needs `apt-get install chromium` and `pip install playwright` (no
`playwright install`: the system chromium is used); skips, saying which, otherwise.
"""

import shutil

import pytest

from rl_unplugged.leaderboard import board
from tests.leaderboard.conftest import make_submission

CHROMIUM = "/usr/bin/chromium"
EVIL = '<script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2">'
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.mark.slow
def test_page_renders_sorts_and_keeps_scripts_inert(tmp_path, write_json, small_protocols):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    if shutil.which(CHROMIUM) is None and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    root = tmp_path / "board"
    for i, (name, offset) in enumerate([("Middle", 1.0), (EVIL, 2.0), ("Low", 0.0)]):
        board.submit(write_json(make_submission(small_protocols, name=name, offset=offset,
                                                authors=EVIL), f"s{i}.json"),
                     root, protocols=small_protocols)
    board.build_board(root, protocols=small_protocols, reps=100)

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which(CHROMIUM) or
                                     shutil.which("chromium"), args=ARGS)
        page = browser.new_page()
        dialogs, errors, requests = [], [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((root / "leaderboard.html").as_uri())
        page.wait_for_load_state("load")

        table = page.locator("table.sortable").first
        names = lambda: table.locator("tbody tr td:nth-child(1)").all_inner_texts()
        assert names() == [EVIL, "Middle", "Low"]  # Built sorted by IQM, descending.
        header = table.locator("th", has_text="IQM")
        header.click()
        assert names() == ["Low", "Middle", EVIL]  # Ascending.
        header.click()
        assert names() == [EVIL, "Middle", "Low"]
        table.locator("th", has_text="Entry").click()
        assert names() == sorted([EVIL, "Middle", "Low"], key=str.casefold)

        assert page.evaluate("window.__pwned === undefined")
        assert dialogs == [] and errors == []
        assert page.locator("script").count() == 1
        assert page.locator("img[src=x]").count() == 0
        assert all(u.startswith("file://") for u in requests), requests
        assert page.locator("img[src^='plots/']").count() >= 2
        assert page.evaluate("Array.from(document.images).every(i => i.naturalWidth > 0)")
        assert names()[0] == EVIL  # '<' sorts before letters.
        link = table.locator("tbody tr").first.locator("a", has_text="per task")
        anchor = link.get_attribute("href")
        link.click()
        assert page.evaluate("location.hash") == anchor
        assert page.locator(anchor).inner_text() == EVIL
        browser.close()
