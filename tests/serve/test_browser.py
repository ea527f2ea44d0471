"""The demo page in a real browser: headless Debian Chromium driven by Playwright's Python API.

``rnnsuite serve`` runs the three tiny models (the ``live_server`` fixture of tests/serve/conftest.py)
on 127.0.0.1; the test loads ``/``, types a review, draws a stroke on the canvas, uploads a WAV and
checks every answer the page shows against the HTTP API's answer for the same input (the text typed,
the PNG the page sent, the WAV uploaded); it also records from Chromium's fake microphone (a WAV
file) and checks that partial transcripts arrive while recording. Screenshots go to the test's tmp dir.

Skipped, with the reason, when /usr/bin/chromium, Playwright or the server package is absent
(``.ci/run`` installs chromium on a fresh machine).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REVIEW = "a gorgeous and moving film , but the ending is terrible"

if not Path(CHROMIUM).is_file():
    pytest.skip("no chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)


def server_present() -> bool:
    try:
        return importlib.util.find_spec("core.tools.serve.app") is not None
    except ModuleNotFoundError:
        return False


if not server_present():
    pytest.skip("core.tools.serve (rnnsuite serve) is not in this checkout", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)

import httpx  # after the skips: a dependency of the server
from serve_helpers import spoken, start_server, wav_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    # the microphone: Chromium's fake capture device plays this file, looped
    microphone = tmp_path_factory.mktemp("microphone") / "speech.wav"
    microphone.write_bytes(wav_bytes(spoken("one two three four", 16_000), 16_000))
    fake_microphone = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    ]
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=LAUNCH_ARGS + fake_microphone
            )
        except sync_api.Error as err:
            pytest.skip(f"chromium does not start here: {str(err).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    yield page
    page.screenshot(path=str(tmp_path / "page-final.png"), full_page=True)
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def api_predict(server, domain: str, **request) -> dict:
    response = httpx.post(f"{server.url}/v1/{server.names[domain]}/predict", timeout=60, **request)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def test_page_shows_a_panel_per_served_domain(page, live_server, tmp_path):
    for domain in ("nlp", "vision", "speech"):
        assert page.is_visible(f"#panel-{domain}")
    assert page.is_hidden("#no-models")
    status = page.text_content("#status")
    assert all(name in status for name in live_server.names.values())
    page.screenshot(path=str(tmp_path / "loaded.png"), full_page=True)


def test_typed_review_gets_the_apis_label_and_a_strip_per_token(page, live_server, tmp_path):
    page.fill("#text-input", REVIEW)
    page.click("#text-submit")
    page.wait_for_selector("#text-result:not([hidden])", timeout=30_000)
    expected = api_predict(live_server, "nlp", json={"inputs": [REVIEW], "explain": True})
    assert page.text_content("#text-label") == expected["label"]
    chips = page.locator("#text-tokens .token")
    assert chips.count() == len(expected["tokens"]) > 3
    assert [chips.nth(i).locator(".word").text_content() for i in range(chips.count())] == expected["tokens"]
    colours = {
        chips.nth(i).evaluate("el => getComputedStyle(el).backgroundColor") for i in range(chips.count())
    }
    assert len(colours) > 1  # the strip follows the prefix probabilities, not one flat colour
    shown = page.locator("#text-probs li").first.text_content()
    best = max(expected["probabilities"], key=expected["probabilities"].get)
    assert shown.startswith(best) and f"{100 * expected['probabilities'][best]:.1f}%" in shown
    page.locator("#panel-nlp").screenshot(path=str(tmp_path / "text.png"))


def draw_stroke(page) -> None:
    box = page.locator("#draw").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x - step, y + step * box["height"] * 0.03)
    page.mouse.up()


def test_drawn_digit_gets_the_apis_label_and_row_by_row_probabilities(page, live_server, tmp_path):
    draw_stroke(page)
    page.wait_for_selector("#vision-result:not([hidden])", timeout=30_000)
    sent = page.evaluate("document.getElementById('draw-small').toDataURL('image/png')")
    png = base64.b64decode(sent.split(",", 1)[1])
    expected = api_predict(
        live_server, "vision", files={"files": ("digit.png", png, "image/png")}, data={"explain": "true"}
    )
    assert page.text_content("#vision-label") == expected["label"]
    rows = page.locator("#vision-rows .row:not(.head)")
    assert rows.count() == len(expected["row_probabilities"]) > 1
    last_best = rows.last.locator(".best").text_content()
    assert last_best == expected["label"]  # after the last row, the model's answer is the label
    page.locator("#panel-vision").screenshot(path=str(tmp_path / "digit.png"))


def test_uploaded_wav_streams_to_the_offline_transcript(page, live_server, tmp_path):
    rate = httpx.get(f"{live_server.url}/v1/models").json()["models"]
    rate = next(m["sample_rate"] for m in rate if m["domain"] == "speech")
    wav = tmp_path / "digits.wav"
    wav.write_bytes(wav_bytes(spoken("one two three", rate), rate))
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    page.set_input_files("#audio-file", str(wav))
    page.wait_for_selector("#transcript.final", timeout=60_000)
    expected = api_predict(
        live_server, "speech", files={"files": ("digits.wav", wav.read_bytes(), "audio/wav")}
    )
    assert page.text_content("#transcript") == expected["transcript"]
    assert sum('"partial"' in frame for frame in frames) >= 2  # the transcript grew chunk by chunk
    assert "stateful" in page.text_content("#speech-state")
    page.locator("#panel-speech").screenshot(path=str(tmp_path / "speech.png"))


def test_recording_from_the_microphone_streams_partials_then_a_final(page, tmp_path):
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    page.click("#record")
    page.wait_for_selector("#record[aria-pressed=true]", timeout=15_000)  # microphone and stream open
    deadline = time.monotonic() + 30
    while sum('"partial"' in frame for frame in frames) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.click("#record")
    page.wait_for_selector("#transcript.final", timeout=30_000)
    assert sum('"partial"' in frame for frame in frames) >= 3  # audio reached the server while recording
    final = json.loads(next(frame for frame in frames if '"final"' in frame))
    assert page.text_content("#transcript") == final["final"]
    assert final["audio_seconds"] > 0.2 and "stateful" in page.text_content("#speech-state")
    assert page.is_hidden("#speech-error")
    page.locator("#panel-speech").screenshot(path=str(tmp_path / "microphone.png"))


def test_only_the_served_domains_get_a_panel(browser, tiny_checkpoints, tmp_path):
    server = start_server([tiny_checkpoints["vision"]], log=tmp_path / "server.log")
    try:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        assert page.is_visible("#panel-vision")
        assert page.is_hidden("#panel-nlp") and page.is_hidden("#panel-speech")
        page.screenshot(path=str(tmp_path / "vision-only.png"), full_page=True)
        page.close()
    finally:
        server.stop()
