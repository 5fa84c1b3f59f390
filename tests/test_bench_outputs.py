"""The two sides' outputs compared: bits, tolerance, SQNR, and what cannot be compared."""

from __future__ import annotations

import math

import torch

from workbench.bench import outputs


def test_same_bits_are_bitwise_nans_included():
    x = torch.tensor([1.0, float("nan"), -0.5])
    got = outputs.compare(x, x.clone())
    assert got["match"] == "bitwise" and got["max_abs_diff"] == 0.0 and got["sqnr_db"] is None
    assert outputs.compare((x, {"s": 3}), (x.clone(), {"s": 3}))["match"] == "bitwise"


def test_within_the_dtype_default_is_close_beyond_it_differs_with_sqnr():
    torch.manual_seed(0)
    x = torch.randn(1000)
    tiny = x + x.abs() * 1e-7  # float32 rounding-level changes
    got = outputs.compare(x, tiny)
    assert got["match"] == "close" and got["sqnr_db"] > 100
    y = x.clone()
    y[:10] += 0.5
    got = outputs.compare(x, y)
    assert got["match"] == "differ" and math.isclose(got["max_abs_diff"], 0.5, rel_tol=1e-6)
    # torchao's compute_error: 20 log10(||x|| / ||x - y||).
    expected = 20 * math.log10(float(x.norm()) / float((x - y).norm()))
    assert math.isclose(got["sqnr_db"], round(expected, 2), abs_tol=0.01)
    assert "10 of 1000 elements differ" in got["detail"]
    assert outputs.short(got) == f"differ: SQNR {got['sqnr_db']:.1f} dB"
    # A case's own tolerance wins over the dtype's default.
    assert outputs.compare(x, y, {"atol": 0.6})["match"] == "close"


def test_an_infinite_difference_stays_json():
    got = outputs.compare(torch.tensor([float("inf"), 1.0]), torch.tensor([1.0, 1.0]))
    assert got["match"] == "differ" and got["max_abs_diff"] is None
    assert "max abs diff inf" in got["detail"]


def test_integer_outputs_are_compared_exactly():
    q = torch.tensor([1, 2, 3], dtype=torch.uint8)
    got = outputs.compare(q, torch.tensor([1, 2, 4], dtype=torch.uint8))
    assert got["match"] == "differ" and got["max_abs_diff"] == 1.0


def test_shape_dtype_and_structure_changes_differ_with_the_detail():
    x = torch.zeros(2, 3)
    assert "tensor(2, 3) float32 became tensor(3, 2) float32" in outputs.compare(x, x.T)["detail"]
    got = outputs.compare(x, x.to(torch.float64))
    assert got["match"] == "differ" and "float64" in got["detail"]
    assert outputs.compare((x, x), (x,))["detail"] == "output: 2 items became 1"
    assert outputs.compare([x], [x.clone(), x])["match"] == "differ"
    assert outputs.compare({"a": x}, {"b": x})["match"] == "differ"
    assert outputs.compare(x, 3)["match"] == "differ"


def test_plain_values_and_nothing_to_compare():
    assert outputs.compare(42, 42)["match"] == "bitwise"
    assert outputs.compare("a", "b")["match"] == "differ"
    assert outputs.compare(1.0, 1.0 + 1e-12)["match"] == "close"
    got = outputs.compare(None, None)
    assert got["match"] == "n/a" and got["detail"] == "returns None"
    assert outputs.short(None) == "–" and outputs.short(got) == "n/a"


def test_kept_and_loaded_through_a_file(tmp_path):
    value = {"q": torch.arange(4, dtype=torch.int8), "scale": (torch.ones(2), 0.5)}
    assert outputs.save(value, tmp_path / "out") is None
    assert outputs.compare(outputs.load(tmp_path / "out"), value)["match"] == "bitwise"
    # Something that cannot be kept is not comparable, with the reason, never a failure.
    reason = outputs.save(lambda: None, tmp_path / "fn")
    assert reason is not None and reason.startswith("the output cannot be kept")
