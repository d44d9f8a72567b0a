"""The site's interactive figures (capsnet_book.demos, _static/demos/, tools/export_demos.py).

* The weight files round-trip, stay under the budget, and were made by today's code (as recorded results).
* Chapter 1's figure measures what the chapter measures.
* The JavaScript forward passes give what the package and the Keras models give on the exported
  weights, on fixed inputs (run with Node, when it is installed; ``.ci/run`` installs Debian's nodejs),
  and their own unit tests pass (``node --test tests/js/demos.test.js``).
* Chapters 1, 3 and 6 place their figure, with a text alternative, in both languages.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from capsnet_book import demos, equivariance, sampling

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "_static" / "demos" / "data"
NODE = shutil.which("node") or shutil.which("nodejs")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (Debian: apt-get install nodejs)")
FIGURES = {"conv_shift": "01_convolution_equivariance", "rotate_digit": "03_where_cnns_break",
           "capsule_pose": "06_capsnet_mnist"}


def _export_script():
    spec = importlib.util.spec_from_file_location("export_demos", ROOT / "tools" / "export_demos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported() -> dict:
    """{name: (meta, arrays)} as the page decodes them."""
    return {name: demos.read_demo_script(DATA / f"{name}.js")[:2] for name in FIGURES}


def test_encoding_round_trips_within_its_precision():
    rng = np.random.default_rng(0)
    arrays = {"big": rng.normal(size=(500, 300)), "small": rng.normal(size=(3, 3, 1, 4)), "bias": np.zeros(7)}
    header, payload = demos.encode_arrays(arrays)
    assert [e["encoding"] for e in header["arrays"]] == ["int8", "float16", "float16"]
    assert all(e["offset"] % 4 == 0 for e in header["arrays"]) and len(payload) == header["bytes"]
    back = demos.decode_arrays(header, payload)
    scale = np.abs(arrays["big"]).max(axis=0) / 127
    assert np.all(np.abs(back["big"] - arrays["big"]) <= scale / 2 + 1e-6), "int8: within half a level of each column"
    np.testing.assert_allclose(back["small"], arrays["small"], rtol=1e-3, atol=1e-4)
    assert np.array_equal(back["bias"], arrays["bias"])
    with pytest.raises(ValueError, match="not finite"):
        demos.encode_arrays({"w": np.array([1.0, np.nan])})
    with pytest.raises(ValueError, match="the payload has 3 bytes"):
        demos.decode_arrays(header, payload[:3])


def test_weight_files_are_current_and_within_budget():
    record = json.loads((DATA / "provenance.json").read_text(encoding="utf-8"))
    provenance = record["provenance"]
    script = _export_script()
    assert provenance["harness_sha256"] == script.harness_hash(), (
        f"the figures' weights were made by other code than today's ({', '.join(script.HARNESS)}): "
        "run `python tools/export_demos.py` again and commit the new files")
    assert not provenance["harness_uncommitted_changes"], "the figures' weights were made from uncommitted code"
    for key in ("command", "commit", "date", "versions", "machine", "wall_seconds"):
        assert provenance.get(key), f"provenance lacks {key!r}"
    sizes = {name: demos.read_demo_script(DATA / f"{name}.js")[2] for name in FIGURES}
    assert sizes == record["payload_bytes"], "the data files are not the ones the provenance describes"
    assert sum(sizes.values()) < script.BUDGET_BYTES, f"the figures' weights take {sum(sizes.values()):,} bytes"
    for name in ("baseline", "augmented"):  # int8 storage: the trained model's class, nearly always
        assert record["figures"]["rotate_digit"]["models"][name]["same_class_as_float32"] > 0.98
    assert record["figures"]["capsule_pose"]["max_pixel_change_by_storage"] < 0.05


def test_read_demo_script_refuses_other_files(tmp_path):
    other = tmp_path / "other.js"
    other.write_text("console.log(1);\n", encoding="ascii")
    with pytest.raises(ValueError, match="not a figure data file"):
        demos.read_demo_script(other)


def _stride_two_error(image, kernel, dy, dx):
    """Chapter 1's measure for stride 2: against the output moved by half the shift (a half-pixel,
    band-limited shift for odd shifts), Azulay and Weiss's shiftability."""
    return sampling.shiftability_error(image, kernel, dy, dx, stride=2)


def test_chapter_one_figure_shows_the_chapters_numbers(exported):
    _, arrays = exported["conv_shift"]
    digit, kernel = arrays["digit"].astype(np.float64), arrays["kernel_random"].astype(np.float64)
    for dy, dx in [(0, 0), (3, -2), (-1, 0), (1, 3), (-3, -3)]:
        for padding in ("circular", "zero"):
            assert demos.pipeline_error(digit, kernel, dy, dx, padding)[0] == pytest.approx(
                equivariance.equivariance_error(digit, kernel, dy, dx, padding), abs=1e-12)
        assert demos.pipeline_error(digit, kernel, dy, dx, "circular", "stride2")[0] == pytest.approx(
            _stride_two_error(digit, kernel, dy, dx), abs=1e-12)


def test_chapter_one_figure_what_the_text_says(exported):
    """The chapter's text on the figure: exact with circular padding and even shifts; odd shifts break
    stride 2 and max pooling; blur pooling lowers the odd-shift error without removing it."""
    _, arrays = exported["conv_shift"]
    digit, kernel = arrays["digit"].astype(np.float64), arrays["kernel_random"].astype(np.float64)
    odd = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if dy % 2 or dx % 2]
    mean = {ds: np.mean([demos.pipeline_error(digit, kernel, dy, dx, "circular", ds)[0] for dy, dx in odd])
            for ds in demos.DOWNSAMPLINGS}
    for ds in demos.DOWNSAMPLINGS:
        assert demos.pipeline_error(digit, kernel, 2, -2, "circular", ds)[0] < 1e-12, f"{ds}: even shifts are exact"
    assert mean["none"] < 1e-12 and mean["stride2"] > 0.2 and mean["maxpool"] > 0.2
    assert mean["blurpool"] < 0.8 * mean["maxpool"] and mean["blurpool"] > 0.02, mean
    # Zero padding: exact while the digit stays in the frame, an error once strokes leave it (within the
    # figure's range of shifts).
    assert max(demos.pipeline_error(digit, kernel, dy, dx, "zero")[0] for dy in (-2, 0, 2) for dx in (-2, 0, 2)) < 1e-12
    reach = conv_shift_module_max_shift()
    assert max(demos.pipeline_error(digit, kernel, dy, dx, "zero")[0]
               for dy in (-reach, 0, reach) for dx in (-reach, 0, reach)) > 0.1


def conv_shift_module_max_shift() -> int:
    """The largest shift chapter 1's figure offers (``MAX_SHIFT`` in ``_static/demos/conv_shift.js``)."""
    import re

    text = (ROOT / "_static" / "demos" / "conv_shift.js").read_text(encoding="utf-8")
    return int(re.search(r"const MAX_SHIFT = (\d+);", text).group(1))


def _node(requests: dict) -> dict:
    result = subprocess.run([NODE, str(ROOT / "tests" / "js" / "forward_cli.js")], input=json.dumps(requests),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@needs_node
def test_javascript_unit_tests_pass():
    result = subprocess.run([NODE, "--test", str(ROOT / "tests" / "js" / "demos.test.js")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@needs_node
def test_javascript_chapter_one_equals_the_package(exported):
    _, arrays = exported["conv_shift"]
    digit = arrays["digit"].astype(np.float64)
    requests = [{"kernel": k, "padding": p, "downsampling": ds, "dy": dy, "dx": dx}
                for k in ("random", "blur", "edge") for p in ("circular", "zero") for ds in demos.DOWNSAMPLINGS
                for dy, dx in ((0, 0), (1, 0), (2, -4), (-3, 5))]
    answers = _node({"conv_shift": requests})["conv_shift"]
    for request, answer in zip(requests, answers, strict=True):
        kernel = arrays[f"kernel_{request['kernel']}"].astype(np.float64)
        error, output_shift = demos.pipeline_error(digit, kernel, request["dy"], request["dx"], request["padding"],
                                                   request["downsampling"])
        assert answer["error"] == pytest.approx(error, abs=1e-12), request
        assert tuple(answer["output_shift"]) == output_shift, request
        moved = demos.pipeline(equivariance.shift(digit, request["dy"], request["dx"],
                                                  "circular" if request["padding"] == "circular" else "zero"),
                               kernel, request["padding"], request["downsampling"])
        np.testing.assert_allclose(answer["moved"], moved.ravel(), atol=1e-12, err_msg=str(request))


@needs_node
def test_javascript_cnns_equal_keras(exported):
    """Chapter 3's figure: the JavaScript rotation and both CNNs against the package and Keras."""
    from capsnet_book import transforms
    from capsnet_book.models import build_baseline_cnn

    meta, arrays = exported["rotate_digit"]
    requests = [{"model": m, "index": i, "angle": a} for m in ("baseline", "augmented")
                for i in (0, 3, 7) for a in (0, 17, -45, 90, 180)]
    answers = _node({"rotate_digit": requests})["rotate_digit"]
    models = {}
    for name in ("baseline", "augmented"):
        model = build_baseline_cnn("quick", input_shape=(40, 40, 1))
        model.set_weights([arrays[f"{name}/{layer.name}/{kind}"] for layer in model.layers
                           for kind in ("kernel", "bias")[: len(layer.get_weights())]])
        models[name] = model
    for request, answer in zip(requests, answers, strict=True):
        digit = arrays["digits"][request["index"]][None, :, :, None]
        image = transforms.rotate(transforms.pad_to_canvas(digit, 40), request["angle"])
        np.testing.assert_allclose(answer["image"], image.ravel(), atol=1e-5, err_msg=f"rotation {request}")
        logits = np.asarray(models[request["model"]](image))[0]
        np.testing.assert_allclose(answer["logits"], logits, atol=2e-3 * max(1.0, np.abs(logits).max()),
                                   err_msg=f"logits {request}")
        assert int(np.argmax(answer["logits"])) == int(np.argmax(logits))
    upright = [a for r, a in zip(requests, answers) if r["angle"] == 0]
    labels = [meta["labels"][r["index"]] for r in requests if r["angle"] == 0]
    assert [int(np.argmax(a["logits"])) for a in upright] == labels, "both CNNs name the upright test digits"


@needs_node
def test_javascript_decoder_equals_keras(exported):
    """Chapter 6's figure: the JavaScript decoder against CapsNet.decode with the exported weights."""
    from capsnet_book.models import build_capsnet

    meta, arrays = exported["capsule_pose"]
    rng = np.random.default_rng(0)
    requests = [{"k": k, "steps": [round(float(s), 1) for s in rng.uniform(-2, 2, 16)] if k % 2 else [0.0] * 16}
                for k in range(10)]
    answers = _node({"capsule_pose": requests})["capsule_pose"]
    model = build_capsnet("quick")
    model(np.zeros((1, 28, 28, 1), "float32"))
    dense = [layer for layer in model.decoder.layers if layer.get_weights()]
    for i, layer in enumerate(dense):
        layer.set_weights([arrays[f"decoder/{i}/kernel"], arrays[f"decoder/{i}/bias"]])
    for request, answer in zip(requests, answers, strict=True):
        k = request["k"]
        capsule = arrays["capsules"][k] + np.array(request["steps"]) * arrays["spread"]
        np.testing.assert_allclose(answer["capsule"], capsule, atol=1e-5)
        capsules = np.zeros((1, 10, 16), "float32")
        capsules[0, k] = capsule
        image = np.asarray(model.decode(capsules, np.eye(10, dtype="float32")[[k]]))[0, :, :, 0]
        np.testing.assert_allclose(answer["image"], image.ravel(), atol=1e-4, err_msg=f"decoder {request}")
    assert sorted(meta["order"][meta["default_class"]]) == list(range(16))


def test_chapters_place_their_figure_with_a_text_alternative():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from demos import demos_on_page  # book/_ext/demos.py

    for name, chapter in FIGURES.items():
        for lang in ("ko", "en"):
            notebook = json.loads((ROOT / "notebooks" / lang / f"{chapter}.ipynb").read_text(encoding="utf-8"))
            blocks = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"
                      and demos_on_page("".join(c["source"]))]
            assert len(blocks) == 1, f"{lang}/{chapter}: expected one interactive figure, found {len(blocks)}"
            block = blocks[0]
            assert demos_on_page(block) == [name], f"{lang}/{chapter} places {demos_on_page(block)}, not {name}"
            assert '<div class="capsdemo-stage" hidden></div>' in block, "the stage stays hidden until the script fills it"
            alt = block.split('<figcaption class="capsdemo-alt">', 1)[-1].split("</figcaption>", 1)[0]
            assert len(alt) > 150, f"{lang}/{chapter}: the text alternative should say what the figure shows"
            hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in alt)
            assert (hangul > 50) == (lang == "ko"), f"{lang}/{chapter}: the text alternative is in the other language"


def test_slides_carry_the_figure_and_its_scripts(tmp_path):
    """A chapter's deck shows the same figure: on its slide (not twice in the notes), with its scripts."""
    sys.path.insert(0, str(ROOT / "tools"))
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import nbtool
    import slides

    source = ROOT / "notebooks" / "ko" / "06_capsnet_mnist.ipynb"
    notebook = json.loads(source.read_text(encoding="utf-8"))
    markdown = [nbtool.cell_source(c) for c in notebook["cells"] if c["cell_type"] == "markdown"]
    chapter = slides.Chapter.of(markdown, lang="ko", number=6, values={}, images={}, folder=source.parent)
    slide = slides.markdown_slide(next(m for m in markdown if 'class="capsdemo"' in m), chapter)
    assert sum('data-demo="capsule_pose"' in v for v in slide.visuals) == 1
    assert 'class="capsdemo"' not in slide.notes and "대화형 그림" in slide.notes, "the notes keep the text alternative"
    body = slides.add_demos(f"<html><body>{slide.html()}</body></html>", tmp_path, "ko")
    assert '<figure lang="ko" class="capsdemo" data-demo="capsule_pose">' in body, "the deck's language labels the figure"
    for name in ("data/capsule_pose.js", "capsdemo_nn.js", "capsdemo_ui.js", "capsule_pose.js"):
        assert (tmp_path / "demos" / name).exists()
        assert f'<script src="assets/demos/{name}"></script>' in body
    assert body.index("data/capsule_pose.js") < body.index("capsdemo_nn.js") < body.index('"assets/demos/capsule_pose.js')
    assert slides.add_demos("<html><body><p>none</p></body></html>", tmp_path / "other", "ko") == "<html><body><p>none</p></body></html>"
