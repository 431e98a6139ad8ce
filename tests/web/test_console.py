"""The agent console and the follow-my-ticket page, in headless Chromium against the real
server: a call made at the console reaches the citizen's phone without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.conftest import wait_until
from tests.server.helpers import AGENT, SITE, Srv
from tests.web.conftest import handled, login, shoot

pytestmark = pytest.mark.browser


def test_agent_calls_next_and_the_follow_page_shows_the_call_without_reload(
    web: Srv, context: BrowserContext, phone: BrowserContext, shots: Path
) -> None:
    """GIVEN two tickets issued at the kiosk and the first one's follow page open on a phone
    WHEN an agent signs in, opens counter 3 and presses NEXT
    THEN the console shows the ticket, and the phone shows "Guichet 3" in the same page."""
    first = web.issue("civil")
    web.issue("civil")
    label = first["ticket"]["label"]

    citizen = phone.new_page()
    citizen.goto(f"{web.url}/t/{first['token']}")
    expect(citizen.locator("#ticket-label")).to_have_text(label)
    expect(citizen.locator("#people-ahead")).to_have_text("0")
    expect(citizen.locator("#live-state")).to_have_class("live-state on")
    citizen.evaluate("window.__sameDocument = 'yes'")
    shoot(citizen, shots, "follow-waiting")

    agent = context.new_page()
    login(agent, web.url, AGENT)
    expect(agent).to_have_url(f"{web.url}/console/{SITE}")
    shoot(agent, shots, "console-choose")
    agent.click("text=Guichet 3")
    expect(agent.locator("h1")).to_have_text("Guichet 3")
    expect(agent.locator("#action-next")).to_contain_text(label)
    agent.click("#action-next")
    expect(agent.locator("#current-ticket .ticket-number")).to_have_text(label)

    expect(citizen.locator("#called-banner")).to_contain_text("Guichet 3")
    assert citizen.evaluate("window.__sameDocument") == "yes", "the follow page was reloaded"
    assert "C'est à vous" in citizen.title()
    shoot(citizen, shots, "follow-called")

    # The second ticket is now the first in the queue, and the console follows the kiosk live.
    queue = agent.locator(".queue-service[data-service=civil] tbody tr")
    expect(queue).to_have_count(1)
    agent.evaluate("window.__sameDocument = 'yes'")
    third = web.issue("passports")
    expect(agent.locator(".queue-service[data-service=passports] tbody tr")).to_contain_text(
        third["ticket"]["label"]
    )
    assert agent.evaluate("window.__sameDocument") == "yes", "the console was reloaded"
    shoot(agent, shots, "console")


def test_done_recall_absent_and_transfer_from_the_console(
    web: Srv, context: BrowserContext
) -> None:
    """Each button changes the ticket through the server's counter actions."""
    agent = context.new_page()
    login(agent, web.url, AGENT, then=f"/console/{SITE}/1")
    expect(agent.locator("h1")).to_have_text("Guichet 1")

    def call(ticket: dict[str, str]) -> None:
        """Calls until ``ticket`` is at the counter (earlier tests may have left others)."""
        for _ in range(10):
            shown = agent.locator("#current-ticket").get_attribute("data-ticket")
            if shown == ticket["label"]:
                return
            agent.click("#action-next")
            # The click is sent in the background: wait for the panel to show its answer.
            expect(agent.locator("#current-ticket")).not_to_have_attribute(
                "data-ticket", shown or ""
            )
        expect(agent.locator("#current-ticket")).to_have_attribute("data-ticket", ticket["label"])

    def status(ticket: dict[str, str]) -> str:
        token = ticket["token"]
        return str(web.request("GET", f"/api/v1/public/tickets/{token}").json()["status"])

    done, absent, moved = (web.issue("civil") for _ in range(3))
    call(done["ticket"])
    agent.click("button[value=recall]")
    expect(agent.locator(".ticket-facts")).to_contain_text("Rappels")
    agent.click("button[value=done]")
    expect(agent.locator("#current-ticket")).to_have_attribute("data-ticket", "")
    assert status(done) == "served"

    call(absent["ticket"])
    agent.click("button[value=no-show]")
    # "Absent" waits for its undo delay, then is sent.
    expect(agent.locator("#undo-bar")).to_be_visible()
    expect(agent.locator("#current-ticket")).to_have_attribute("data-ticket", "")
    assert status(absent) == "no_show"

    call(moved["ticket"])
    agent.select_option("#transfer-service", "passports")
    agent.click(".transfer-form button[type=submit]")
    expect(agent.locator("#current-ticket")).to_have_attribute("data-ticket", "")
    expect(agent.locator(".queue-service[data-service=passports]")).to_contain_text(
        moved["ticket"]["label"]
    )
    view = web.request("GET", f"/api/v1/sites/{SITE}/queue", user=AGENT).json()
    waiting = next(w for w in view["waiting"] if w["id"] == moved["ticket"]["id"])
    assert (waiting["service"], waiting["transfers"]) == ("passports", 1)

    agent.click("button[value=close]")
    expect(agent.locator("#counter-open")).to_have_text("Fermé")
    agent.click("button[value=open]")
    expect(agent.locator("#counter-open")).to_have_text("Ouvert")


def test_console_keeps_focus_announces_changes_and_absent_can_be_undone(
    web: Srv, context: BrowserContext, shots: Path
) -> None:
    """GIVEN an agent at counter 4, working with the keyboard
    WHEN they press Next, a kiosk issues a ticket, they press Absent then Undo
    THEN the focus stays on the control used (not back at the top of the page), each change is
    announced in the live region, Undo keeps the visitor at the counter, and a closed counter's
    hint says that Next opens it."""
    agent = context.new_page()
    login(agent, web.url, AGENT, then=f"/console/{SITE}/4")
    expect(agent.locator("h1")).to_have_text("Guichet 4")
    first = web.issue("passports")
    expect(agent.locator("#action-next")).to_be_enabled()
    agent.focus("#action-next")
    label = ""
    for _ in range(10):  # earlier tests may have left tickets for this counter
        shown = agent.locator("#current-ticket").get_attribute("data-ticket") or ""
        if shown == first["ticket"]["label"]:
            break
        agent.keyboard.press("Enter")
        expect(agent.locator("#current-ticket")).not_to_have_attribute("data-ticket", shown)
        label = agent.locator("#current-ticket").get_attribute("data-ticket") or ""
        assert agent.evaluate("document.activeElement.id") == "action-next"
    assert label == first["ticket"]["label"]
    announce = agent.locator("#console-announce")
    expect(announce).to_contain_text(f"{label} appelé au Guichet 4")

    # A ticket issued at the kiosk is announced; the focus does not move.
    web.issue("passports")
    expect(announce).to_contain_text("en attente pour ce guichet")
    assert agent.evaluate("document.activeElement.id") == "action-next"

    # Absent, then Undo: nothing was sent, the visitor is still at the counter.
    agent.focus("#action-no-show")
    agent.keyboard.press("Enter")
    expect(agent.locator("#undo-bar")).to_be_visible()
    expect(agent.locator("#undo-text")).to_contain_text(f"{label} sera marqué absent")
    assert agent.evaluate("document.activeElement.id") == "undo-button"
    shoot(agent, shots, "console-undo")
    agent.keyboard.press("Enter")
    expect(agent.locator("#undo-bar")).to_be_hidden()
    expect(announce).to_contain_text(f"{label} reste à votre guichet")
    assert agent.evaluate("document.activeElement.id") == "action-done"
    view = web.request("GET", f"/api/v1/public/tickets/{first['token']}").json()
    assert view["status"] == "called"
    expect(agent.locator("#current-ticket")).to_have_attribute("data-ticket", label)

    agent.click("#action-done")
    expect(agent.locator("#current-ticket")).to_have_attribute("data-ticket", "")
    agent.click("#counter-toggle")  # close the counter
    expect(agent.locator("#counter-open")).to_have_text("Fermé")
    expect(agent.locator("#current-ticket")).to_contain_text("« Suivant » l'ouvre")
    assert agent.evaluate("document.activeElement.id") == "counter-toggle"
    agent.keyboard.press("Enter")  # open it again, from the keyboard
    expect(agent.locator("#counter-open")).to_have_text("Ouvert")
    expect(agent.locator("#action-next")).to_be_enabled()


def test_a_change_read_by_an_overtaken_actions_refresh_is_still_announced(
    web: Srv, context: BrowserContext
) -> None:
    """GIVEN an agent at counter 4 whose page hears no stream (held by the test: each change
    then reaches the page only through an action's refresh) and who presses Next twice, the
    first answer held back
    WHEN a kiosk issues a ticket, then the first answer arrives (its refresh reads the new
    ticket, and is older than the second press)
    THEN the live region announces the new queue summary: the change is not lost because the
    read that found it belonged to an overtaken action."""
    from playwright.sync_api import APIResponse, Route

    agent = context.new_page()
    streams: list[Route] = []
    agent.route("**/console/*/_stream", lambda route: streams.append(route))  # never answered
    held: list[tuple[Route, APIResponse]] = []

    def hold_first(route: Route) -> None:
        if route.request.method == "POST" and not held:
            held.append((route, route.fetch()))  # the server acts now; the page hears later
        else:
            route.continue_()

    agent.route("**/console/*/4/action", hold_first)

    login(agent, web.url, AGENT, then=f"/console/{SITE}/4")
    expect(agent.locator("h1")).to_have_text("Guichet 4")
    assert handled(agent, lambda: len(streams), 1)
    web.issue("passports")
    web.issue("passports")
    agent.reload()  # no stream: the queue shows when the page is read
    expect(agent.locator("#action-next")).to_be_enabled()

    agent.click("#action-next")
    assert handled(agent, lambda: len(held), 1)
    agent.click("#action-next")
    announce = agent.locator("#console-announce")
    expect(announce).to_contain_text("appelé au Guichet 4")
    summary = agent.locator("[data-summary]")
    before = summary.get_attribute("data-summary")

    issued = web.issue("passports")
    route, answer = held[0]
    route.fulfill(response=answer)
    expect(agent.locator(".queue-service[data-service=passports]")).to_contain_text(
        issued["ticket"]["label"]
    )
    after = summary.get_attribute("data-summary")
    assert after and after != before and "en attente pour ce guichet" in after
    expect(announce).to_have_text(after)


def test_console_actions_without_javascript_still_work(web: Srv) -> None:
    """A plain form post (no script) acts and redirects back to the console."""
    from tests.web.conftest import form_session

    http, token = form_session(web.url, AGENT)
    issued = web.issue("civil")
    for _ in range(20):
        r = http.post(
            f"{web.url}/console/{SITE}/2/action",
            data={"csrf_token": token, "action": "next"},
            allow_redirects=False,
            timeout=10,
        )
        assert r.status_code == 303 and r.headers["location"] == f"/console/{SITE}/2"
        view = web.request("GET", f"/api/v1/public/tickets/{issued['token']}").json()
        if view["status"] == "called":
            break
    assert view["status"] == "called"
    scripted = http.post(
        f"{web.url}/console/{SITE}/2/action",
        data={"csrf_token": token, "action": "fly"},
        headers={"X-Guichet-Fetch": "1"},
        timeout=10,
    )
    assert scripted.status_code == 422
    assert scripted.json()["kind"] == "error" and "fly" in scripted.json()["message"]


def test_a_press_held_while_the_queue_changes_still_counts(
    web: Srv, context: BrowserContext
) -> None:
    """GIVEN an agent pressing Next with the mouse at counter 2
    WHEN a kiosk issues a ticket between the button going down and coming up (the page hears
    of it and would re-read its panel)
    THEN the panel is not replaced under the pressed button, and the press calls a ticket."""
    agent = context.new_page()
    # Counts the stream's "changed" messages, to know the page has heard of the new ticket.
    agent.add_init_script(
        """(() => {
          const Base = window.EventSource;
          window.__changes = 0;
          window.EventSource = function (url, options) {
            const source = new Base(url, options);
            source.addEventListener("changed", () => { window.__changes += 1; });
            return source;
          };
          window.EventSource.prototype = Base.prototype;
        })();"""
    )
    login(agent, web.url, AGENT, then=f"/console/{SITE}/2")
    expect(agent.locator("h1")).to_have_text("Guichet 2")
    first = web.issue("civil")
    expect(agent.locator("#action-next")).to_be_enabled()
    expect(agent.locator("#console-panel")).to_contain_text(first["ticket"]["label"])
    agent.locator("#action-next").evaluate("b => { b.dataset.pressed = 'yes'; }")
    heard = agent.evaluate("window.__changes")
    before = agent.locator("#current-ticket").get_attribute("data-ticket") or ""

    agent.locator("#action-next").hover()
    agent.mouse.down()
    web.issue("civil")
    # Polled from here: the page's policy forbids the evaluated strings a page-side wait uses.
    assert wait_until(lambda: agent.evaluate("window.__changes") > heard)
    # Time for the refresh the change asks for (100 ms after it) to come back, were it to run.
    agent.wait_for_timeout(1000)
    assert agent.locator("#action-next[data-pressed=yes]").count() == 1, "panel replaced"
    agent.mouse.up()

    expect(agent.locator("#current-ticket")).not_to_have_attribute("data-ticket", before)
    called = agent.locator("#current-ticket").get_attribute("data-ticket")
    assert called
    view = web.request("GET", f"/api/v1/sites/{SITE}/queue", user=AGENT).json()
    assert called not in {w["label"] for w in view["waiting"]}
