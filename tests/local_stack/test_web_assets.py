"""Content-hashed names for the storefront, and the HTML that points at them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from local_stack.web_assets import IMMUTABLE, REVALIDATE, build_web_assets, hashed_name

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture
def web_copy(tmp_path: Path) -> Path:
    target = tmp_path / "web"
    shutil.copytree(WEB, target, ignore=shutil.ignore_patterns("test", "node_modules"))
    return target


def test_every_script_and_stylesheet_gets_a_content_hash_in_its_name():
    assets = build_web_assets(WEB)
    served = {p.name for p in WEB.iterdir() if p.suffix in (".js", ".css") and p.name != "sw.js"}
    assert set(assets.hashed_names) == served
    for logical, hashed in assets.hashed_names.items():
        body = (WEB / logical).read_bytes()
        stem, suffix = logical.rsplit(".", 1)
        assert hashed == f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{suffix}"
        assert assets.bodies[hashed] == body  # served byte for byte


def test_the_html_points_only_at_hashed_names():
    assets = build_web_assets(WEB)
    html = assets.html.decode()
    assert not re.search(r'(src|href)="\./[a-z-]+\.(js|css)"', html)
    assert f'src="./{assets.hashed_names["app.js"]}"' in html
    assert f'href="./{assets.hashed_names["styles.css"]}"' in html


def test_the_import_map_maps_every_module_and_its_csp_hash_is_right():
    assets = build_web_assets(WEB)
    html = assets.html.decode()
    script = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    assert script is not None
    imports = json.loads(script.group(1))["imports"]
    assert imports == {
        f"./{name}": f"./{hashed}"
        for name, hashed in assets.hashed_names.items()
        if name.endswith(".js")
    }
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert assets.inline_script_hashes == (f"'sha256-{digest}'",)
    assert html.index("importmap") < html.index('<script type="module"')


def test_changing_one_module_renames_only_that_module(web_copy: Path):
    before = build_web_assets(web_copy)
    module = web_copy / "push-channel.js"
    module.write_text(module.read_text() + "\n// changed\n")
    after = build_web_assets(web_copy)
    changed = {n for n in before.hashed_names if before.hashed_names[n] != after.hashed_names[n]}
    assert changed == {"push-channel.js"}
    assert before.html != after.html  # the import map moved on


def test_cache_control_per_file():
    assets = build_web_assets(WEB)
    policies = {obj.name: obj.cache_control for obj in assets.objects()}
    for hashed in assets.hashed_names.values():
        assert policies[hashed] == IMMUTABLE
    assert policies["index.html"] == REVALIDATE
    assert policies["sw.js"] == REVALIDATE  # a service worker keeps its URL
    assert policies["asset-manifest.json"] == REVALIDATE
    assert "package.json" not in policies and not any(n.startswith("test") for n in policies)


def test_the_manifest_lists_what_the_service_worker_precaches():
    assets = build_web_assets(WEB)
    manifest = json.loads(assets.manifest)
    assert manifest["assets"] == sorted(f"./{h}" for h in assets.hashed_names.values())
    assert manifest["shell"] == ["./", "./config.json"]


def test_hashed_name_is_deterministic():
    assert hashed_name("a.js", b"x") == hashed_name("a.js", b"x")
    assert hashed_name("a.js", b"x") != hashed_name("a.js", b"y")
    assert hashed_name("a.js", b"x") == f"a.{hashlib.sha256(b'x').hexdigest()[:12]}.js"


def test_a_reference_to_a_missing_file_is_an_error(web_copy: Path):
    html = web_copy / "index.html"
    html.write_text(html.read_text().replace("</body>", '<script src="./gone.js"></script></body>'))
    with pytest.raises(ValueError, match=r"gone\.js"):
        build_web_assets(web_copy)


def test_the_import_map_marker_is_required(web_copy: Path):
    html = web_copy / "index.html"
    html.write_text(html.read_text().replace("<!-- import-map -->", ""))
    with pytest.raises(ValueError, match="import-map"):
        build_web_assets(web_copy)


def test_a_folder_without_index_html_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match=r"index\.html"):
        build_web_assets(tmp_path)
