"""The console's own error page for every error of a console URL (404, 405, 500, 503), in
the page's language with a way back; the API keeps its JSON error shape."""

import pytest
from sqlalchemy.exc import OperationalError

pytest_plugins = ["tests.console_helpers"]

WERKZEUG_404 = "The requested URL was not found on the server"


def assert_console_error(response, status: int, text: str) -> str:
    """Check a response is the console's error page with this status and text."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:300]
    assert response.mimetype == "text/html"
    assert 'class="card error-page"' in html and text in html
    assert "/console/" in html and ("回到概览" in html or "Back to the overview" in html)
    assert WERKZEUG_404 not in html and "Traceback" not in html
    return html


@pytest.mark.parametrize(
    "url",
    [
        "/console/households/abc",  # no route takes a word for an id
        "/console/households/-1",
        "/console/households/99999999",  # a number, but no such household
        "/console/households/" + "9" * 30,  # beyond any database integer
        "/console/ledger/abc",
        "/console/rolls/1x",
        "/console/no-such-page",
    ],
)
def test_a_bad_or_unknown_id_gets_the_console_404_page_in_chinese(console, url):
    """Signed in: the page in the console's frame (navigation, the user), 找不到, a way back."""
    html = assert_console_error(console.as_user("sup1").get(url), 404, "找不到此页面或记录。")
    assert 'class="mainnav"' in html and 'class="who"' in html  # the signed-in frame
    assert 'lang="zh-CN"' in html


def test_the_404_page_follows_the_language_switch(console):
    """In English after the switch, without a word of werkzeug's page."""
    client = console.as_user("sup1")
    client.post("/console/language", {"lang": "en"})
    for url in ("/console/households/abc", "/console/households/99999999"):
        html = assert_console_error(client.get(url), 404, "This page or record does not exist.")
        assert "找不到" not in html and 'lang="en"' in html


def test_an_anonymous_visitor_gets_the_page_without_navigation(console):
    """Nobody signed in: the error page (no menu, nothing of the region), still in the frame."""
    html = assert_console_error(
        console.anonymous().get("/console/households/abc"), 404, "找不到此页面或记录。"
    )
    assert 'class="mainnav"' not in html


def test_a_wrong_method_is_the_console_405_page(console):
    """A GET of a form's POST address."""
    assert_console_error(console.as_user("sup1").get("/console/logout"), 405, "此页面不接受")


def test_an_unexpected_error_is_the_console_500_page_without_internals(console, monkeypatch):
    """A bug in a view: the console's 500 page, logged, not a word of the exception."""
    from server.services import exports

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals 0xdeadbeef")

    monkeypatch.setattr(exports, "table", broken)
    client = console.as_user("sup1")
    html = assert_console_error(client.get("/console/exports/households.csv"), 500,
                                "服务器出错，操作未完成")
    assert "0xdeadbeef" not in html and "RuntimeError" not in html
    client.post("/console/language", {"lang": "en"})
    assert_console_error(client.get("/console/exports/households.csv"), 500,
                         "The server failed and the action was not completed")


def test_a_busy_database_is_the_console_503_page_with_retry_after(console, monkeypatch):
    """A locked or unreachable database: 503 with Retry-After, as a page."""
    from server.services import exports

    def busy(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(exports, "table", busy)
    response = console.as_user("sup1").get("/console/exports/households.csv")
    assert_console_error(response, 503, "服务器繁忙，请稍后重试。")
    assert response.headers["Retry-After"]


def test_a_refusal_shows_its_own_words_in_the_page_language(console, sup2, demo):
    """A service's refusal (a county screen for a township supervisor) keeps the service's
    words, in this language only (they come as "中文 / English"). (Another township's
    household is no refusal but the 404 of one that does not exist: test_console_scope.)"""
    client = console.as_user("sup2")
    html = assert_console_error(client.get("/console/rolls"), 403, "您无权查看此内容")
    card = html.split('class="card error-page"', 1)[1].split("</section>")[0]
    assert "县级审核人员" in card and "county" not in card.lower()
    client.post("/console/language", {"lang": "en"})
    html = assert_console_error(client.get("/console/rolls"), 403, "You may not see this")
    card = html.split('class="card error-page"', 1)[1].split("</section>")[0]
    assert "county supervisors" in card and "县级" not in card


@pytest.mark.parametrize(
    "url", ["/api/v1/households/abc", "/api/v1/no-such-thing", "/api/v1/households/99999999"]
)
def test_the_api_keeps_its_json_errors(api, url):
    """The API's 404s stay in its one JSON shape, never the console page."""
    response = api.as_user("inv1").get(url)
    assert response.status_code == 404 and response.is_json
    assert set(response.get_json()) == {"code", "message", "errors"}
