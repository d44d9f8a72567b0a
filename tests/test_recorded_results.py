"""Recorded benchmark results (capsnet_book/results/) are current: made by today's code.

Chapters read numbers that take too long to compute live from files the benchmark scripts write.
Each file carries a hash of the code that made it; when that code changes, the numbers may no
longer be what it would give, and this test fails until the script is run again.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from capsnet_book.recorded import recorded_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = sorted((ROOT / "capsnet_book" / "results").glob("*.json"))


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chapters_have_their_recorded_results():
    assert [p.stem for p in RESULTS] == ["affine_comparison", "affine_models", "multimnist_comparison",
                                         "multimnist_models", "routing_variants"], \
        ("chapter 6 reads routing_variants.json, chapter 7 affine_comparison.json and the weights of "
         "affine_models.npz, chapter 8 multimnist_comparison.json and the weights of multimnist_models.npz")


def test_unpack_bits_round_trips_what_the_benchmark_packs():
    import numpy as np

    from capsnet_book.recorded import unpack_bits

    correct = np.random.default_rng(0).random((5, 1003)) > 0.3  # not a multiple of 8
    packed = _script("affine_comparison").pack(correct)
    np.testing.assert_array_equal(unpack_bits(packed, (5, 1003)), correct)
    with pytest.raises(ValueError, match="needs 6000"):
        unpack_bits(packed, (6, 1000))
    with pytest.raises(ValueError, match="not base64"):
        unpack_bits("not base64!", (1, 1))


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.stem)
def test_recorded_results_were_made_by_the_current_code(path):
    provenance = recorded_results(path.stem)["provenance"]
    script = _script(path.stem)
    assert provenance["harness_sha256"] == _script("provenance").harness_hash(script.HARNESS), (
        f"{path.name} was made by other code than today's ({', '.join(script.HARNESS)}): "
        f"run `python benchmarks/{path.stem}.py` again and commit the new file")
    assert not provenance["harness_uncommitted_changes"], f"{path.name} was made from uncommitted code"
    for key in ("command", "commit", "date", "versions", "machine", "wall_seconds"):
        assert provenance.get(key), f"{path.name}: provenance lacks {key!r}"


def test_a_missing_or_broken_file_says_what_to_run(tmp_path, monkeypatch):
    import capsnet_book.recorded as recorded

    with pytest.raises(FileNotFoundError, match=r"run `python benchmarks/nothing_here.py`"):
        recorded_results("nothing_here")
    fake_package = tmp_path / "capsnet_book"
    (fake_package / "results").mkdir(parents=True)
    (fake_package / "results" / "broken.json").write_text("{not json", encoding="utf-8")
    (fake_package / "results" / "bare.json").write_text(json.dumps({"summary": {}}), encoding="utf-8")
    monkeypatch.setattr(recorded.resources, "files", lambda package: fake_package)
    with pytest.raises(ValueError, match="not valid JSON"):
        recorded_results("broken")
    with pytest.raises(ValueError, match="has no provenance"):
        recorded_results("bare")


def _builders(name: str) -> dict:
    """How each stored-weights script builds its models (the builds the weights must fit)."""
    script = _script(name)
    if name == "affine_models":
        from capsnet_book.compare import build_model

        setting = script.protocol.protocol_setting(recorded_results("affine_comparison")["protocol"]["max_epochs"])
        return {model: (lambda model=model: build_model(model, setting)) for model in script.MODELS}
    return {model: (lambda model=model: script.protocol.build(model)) for model in script.protocol.MODELS}


@pytest.mark.parametrize("name", ["affine_models", "multimnist_models"])
def test_stored_models_fit_the_models_their_script_builds(name):
    """Stored weights load into the models their script trains, and the stored (float16) models give
    the recorded protocol's seed-0 outcome on nearly every test digit or pair."""
    from capsnet_book.stored_weights import load_stored_weights

    made = recorded_results(name)
    for model, build in _builders(name).items():
        load_stored_weights(build(), name, model)
        same = made["models"][model]["same_outcome_as_recorded"]
        assert min(same.values() if isinstance(same, dict) else [same]) > 0.99, model
    assert made["protocol"]["weights_bytes"] < 4_000_000, "the stored weights should stay small"


def test_stored_weights_say_what_is_wrong(tmp_path, monkeypatch):
    import keras
    import numpy as np

    import capsnet_book.stored_weights as stored

    fake_package = tmp_path / "capsnet_book"
    (fake_package / "results").mkdir(parents=True)
    np.savez(fake_package / "results" / "tiny.npz", **{"dense/000": np.ones((3, 2)), "dense/001": np.zeros(2)})
    (fake_package / "results" / "broken.npz").write_bytes(b"not a zip archive")
    monkeypatch.setattr(stored.resources, "files", lambda package: fake_package)
    with pytest.raises(FileNotFoundError, match=r"run `python benchmarks/nothing_here.py`"):
        stored.stored_weights("nothing_here", "dense")
    with pytest.raises(ValueError, match="cannot be read"):
        stored.stored_weights("broken", "dense")
    with pytest.raises(KeyError, match=r"holds no model 'conv'; it holds \['dense'\]"):
        stored.stored_weights("tiny", "conv")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    np.testing.assert_array_equal(stored.load_stored_weights(model, "tiny", "dense").get_weights()[0], np.ones((3, 2)))
    wider = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"array 0 of 'dense' has shape \(3, 2\), the model's weight 0 has \(4, 2\)"):
        stored.load_stored_weights(wider, "tiny", "dense")


def _harness_copy(tmp_path, name: str) -> tuple[list[str], Path]:
    """A copy of one benchmark's harness files under tmp_path, to edit without touching the repository."""
    harness = _script(name).HARNESS
    for file in harness:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_bytes((ROOT / file).read_bytes())
    return harness, tmp_path


def test_a_docstring_or_comment_edit_leaves_a_recorded_run_current(tmp_path):
    provenance = _script("provenance")
    harness, root = _harness_copy(tmp_path, "routing_variants")
    before = provenance.harness_hash(harness, root)
    assert before == provenance.harness_hash(harness, ROOT), "the copy hashes like the repository"
    capsules = root / "capsnet_book" / "capsules.py"
    text = capsules.read_text(encoding="utf-8")
    edited = text.replace('"""', '"""A new first line of the module docstring.\n\n', 1)
    edited = edited.replace("coupling = ops.softmax(logits, axis=1)  # over the output capsules j",
                            "coupling = ops.softmax(logits, axis=1)  # a reworded comment", 1)
    assert edited != text
    capsules.write_text(edited + "\n# a trailing comment\n", encoding="utf-8")
    assert provenance.harness_hash(harness, root) == before


def test_a_change_in_the_routing_computation_makes_a_recorded_run_stale(tmp_path):
    provenance = _script("provenance")
    harness, root = _harness_copy(tmp_path, "routing_variants")
    before = provenance.harness_hash(harness, root)
    capsules = root / "capsnet_book" / "capsules.py"
    text = capsules.read_text(encoding="utf-8")
    line = "coupling = ops.softmax(logits, axis=1)"
    assert line in text, "the routing softmax this test edits has moved: update the test"
    capsules.write_text(text.replace(line, "coupling = ops.softmax(logits, axis=2)", 1), encoding="utf-8")
    assert provenance.harness_hash(harness, root) != before


def test_the_reader_gives_per_seed_measures_by_name():
    recorded = recorded_results("affine_comparison")
    n_seeds = len(recorded["protocol"]["seeds"])
    assert recorded.accuracy("capsnet", "affine").shape == (n_seeds,)
    assert recorded.auroc("capsnet", "strokes_rearranged").shape == (n_seeds,)
    assert recorded.per_seed("p4_cnn", "six_as_nine").shape == (n_seeds,)
    correct = recorded.correct("capsnet", "affine")
    assert correct.shape == (n_seeds, recorded["protocol"]["n_test"])
    assert abs(correct.mean(axis=1) - recorded.accuracy("capsnet", "affine")).max() < 1e-5
    with pytest.raises(KeyError, match="no measure 'six_as_eight' for 'p4_cnn'"):
        recorded.per_seed("p4_cnn", "six_as_eight")
    with pytest.raises(KeyError, match="no model 'resnet'"):
        recorded.correct("resnet", "affine")
    with pytest.raises(KeyError, match="no test set 'rot45'"):
        recorded.correct("capsnet", "rot45")
