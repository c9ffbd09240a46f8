"""`seeing build-site`: the page, the models and models.json as a static folder any host can serve.

A `_headers` file (Netlify / Cloudflare Pages syntax) sets the COOP/COEP headers the WASM
engine's threads need. The folder is built beside OUT and renamed into place: a half-written
site never appears, and a failed build leaves the previous one as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .errors import UserError
from .live import NOT_WATCHING, STATUS_ROUTE
from .serve import ISOLATION_HEADERS, WEB_ROOT, model_entries, public_list, served_files

HEADERS_FILE = "/*\n" + "".join(f"  {k}: {v}\n" for k, v in ISOLATION_HEADERS.items())


def build_site(out: str | Path, models: list[str | Path]) -> Path:
    """Write the static site into `out` (replacing a previous site there); returns its path."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "_headers").is_file():
        raise UserError(f"{out}: folder is not empty and is not a seeing site; choose an empty or new folder")
    entries = model_entries(models)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        shutil.copytree(WEB_ROOT, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
        (tmp / "models").mkdir(exist_ok=True)
        for url, path in served_files(entries).items():
            shutil.copyfile(path, tmp / url)
        (tmp / "models.json").write_text(json.dumps(public_list(entries), indent=1))
        (tmp / STATUS_ROUTE).write_text(json.dumps(NOT_WATCHING))  # no training run behind a static site
        (tmp / "_headers").write_text(HEADERS_FILE)
        tmp.chmod(0o755)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{tmp.name[-8:]}")
            out.rename(old)
        tmp.rename(out)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
