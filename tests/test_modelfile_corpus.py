"""One corpus of malformed model files (tests/modelfiles/, made by modelcorpus.py), read by both parsers:
src/seeing/modelfile.py and the page's src/seeing/web/modelfile.js (under node), with identical verdicts."""

import json
import shutil
import subprocess

import pytest

from modelcorpus import CORPUS, corpus, python_verdict

EXPECTED = json.loads((CORPUS / "expected.json").read_text())
FILES = sorted(CORPUS.glob("*.safetensors"))


def test_corpus_is_what_modelcorpus_writes():
    made = corpus()
    assert sorted(made) == sorted(EXPECTED) == sorted(p.stem for p in FILES)
    for name, (data, verdict) in made.items():
        assert (CORPUS / f"{name}.safetensors").read_bytes() == data, f"{name}: run tests/modelcorpus.py"
        assert EXPECTED[name] == verdict, name
    assert sum(v == "ok" for v in EXPECTED.values()) >= 6 and sum(v == "error" for v in EXPECTED.values()) >= 80


def test_python_parser_verdicts():
    got = {p.stem: python_verdict(p.read_bytes()) for p in FILES}
    assert got == EXPECTED


def test_js_parser_verdicts():
    node = shutil.which("node")
    assert node, "node is needed to run the page's parser"
    r = subprocess.run(
        [node, str(CORPUS.parent / "modelcorpus.mjs"), *map(str, FILES)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    got = {name.removesuffix(".safetensors"): v for name, v in json.loads(r.stdout).items()}
    assert got == EXPECTED


@pytest.mark.parametrize(
    "name",
    [
        "empty",
        "short",
        "truncated-data",
        "header-length-beyond-file",
        "huge-header-length",
        "header-not-json",
        "overlap",
        "hole-between-tensors",
        "resolution-8192",
    ],
)
def test_cli_info_bad_file_exits_2_with_one_line(tmp_path, name, capsys):
    from seeing.cli import main

    bad = tmp_path / "BAD.safetensors"
    shutil.copy(CORPUS / f"{name}.safetensors", bad)
    with pytest.raises(SystemExit) as e:
        main(["info", str(bad)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "BAD.safetensors" in err, err
