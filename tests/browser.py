"""Open an HTML file in headless Chromium and read back what a probe script found on the page.

The probe is appended to a copy of the page; it waits for ``document.body.dataset.ready``, does
what a person would (search, hover at a point's pixel), and reports a JSON object, which comes
back through the page's DOM (``--dump-dom``). Network access is blocked, so a page that needed
to fetch anything would fail here.
"""
from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from pathlib import Path

from tests.renderers import tool

PROBE_WRAPPER = """
<script>
(function wait(){
  if(!document.body.dataset.ready){ return setTimeout(wait, 50); }
  const report = out => { const pre = document.createElement('pre'); pre.id = 'probe-report';
    pre.textContent = JSON.stringify(out); document.body.appendChild(pre); };
  (async () => { %s })().then(report, e => report({error: String(e)}));
})();
</script>
"""


def probe_page(page: Path, body: str, tmp_path: Path, budget_ms: int = 20_000) -> dict:
    """Run the async JS ``body`` (which returns an object) in ``page``; returns that object."""
    html = page.read_text(encoding="utf-8")
    probed = tmp_path / f"probe-{page.name}"
    probed.write_text(html.replace("</body></html>", PROBE_WRAPPER % body + "</body></html>"), encoding="utf-8")
    result = subprocess.run(
        [tool("chromium", "chromium-browser", "google-chrome"), "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--virtual-time-budget={budget_ms}", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="probe-report">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the page never reported (chromium rc {result.returncode}): {result.stderr[-2000:]}"
    report = json.loads(html_lib.unescape(found.group(1)))
    assert "error" not in report, report["error"]
    return report
