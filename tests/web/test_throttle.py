"""The dashboard's throttle (js/api.js), run by Node: list views re-read their page through it,
so it must run once per burst of changes, never two reads at once, and always after the last."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.server import REPO_ROOT

API_JS = REPO_ROOT / "server" / "arrtheaudio_server" / "web" / "js" / "api.js"

SCRIPT = """
import { throttle } from %(module)s;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let runs = 0, running = 0, overlap = false, seen = [];
let state = 0;
const kick = throttle(async () => {
  running += 1; overlap ||= running > 1; runs += 1;
  const read = state;
  await sleep(60);           // a slow answer
  seen.push(read);
  running -= 1;
}, 20);
for (let i = 0; i < 5; i++) { state = i; kick(); }   // a burst: one run
await sleep(30);
state = 9; kick(); kick();                          // during the run: exactly one more, after it
await sleep(300);
console.log(JSON.stringify({ runs, overlap, seen }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_throttle_coalesces_bursts_and_never_overlaps() -> None:
    code = SCRIPT % {"module": repr(API_JS.as_uri())}
    out = subprocess.run(
        ["node", "--input-type=module", "-e", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.strip() == '{"runs":2,"overlap":false,"seen":[4,9]}'
