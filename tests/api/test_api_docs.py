"""/docs works on a server without internet: every asset the page loads comes from this server."""

from __future__ import annotations

import re

import httpx


def test_docs_page_loads_only_assets_served_here(api):
    with httpx.Client(base_url=api.url) as http:
        page = http.get("/docs")
        assert page.status_code == 200
        links = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", page.text)
        script_urls = re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
        assert links, "the page names its script and style"
        for link in links + script_urls:
            assert not re.match(r"^(https?:)?//", link), f"/docs fetches {link} from another host"
        assets = {link for link in links if link.endswith((".js", ".css", ".png"))}
        assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= assets
        for link in assets:
            answer = http.get(link)
            assert answer.status_code == 200 and len(answer.content) > 1000, link
        # The schema is OpenAPI 3.1, which only Swagger UI 5 renders: the bundle served must be a 5.x.
        assert http.get("/openapi.json").json()["openapi"].startswith("3.1")
        bundle = http.get("/docs/assets/swagger-ui-bundle.js").text
        assert re.search(r'"5\.\d+\.\d+"', bundle)
        assert "/openapi.json" in script_urls
