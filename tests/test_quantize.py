"""tools/quantize_nanodet.py: the int8 NanoDet video uses is built from the float model by a
real calibration, and a model built that way still finds the person the float model finds."""

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from fuzzypeople import models
from fuzzypeople.detect.nanodet import NanoDet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import quantize_nanodet  # noqa: E402


@pytest.fixture
def photos(tmp_path, astronaut, coffee):
    """A calibration folder of two photos (a person, a cup of coffee)."""
    Image.fromarray(astronaut).save(tmp_path / "astronaut.jpg", quality=95)
    Image.fromarray(coffee).save(tmp_path / "coffee.jpg", quality=95)
    return tmp_path


def best_person_score(session, rgb) -> float:
    """NanoDet's highest person score on ``rgb`` (whole image, no tiles) when it runs ``session``."""
    detector = NanoDet(upscale=0)
    detector.session = session  # same input and output names as the shipped model
    return float(detector.window(rgb, threshold=0.0)[1].max())


def test_calibration_inputs_are_video_sized_nanodet_tensors(photos):
    xs = quantize_nanodet.calibration_inputs(photos)
    assert len(xs) == 2 and all(x.shape == (1, 3, 320, 416) and x.dtype == np.float32 for x in xs)


def test_an_empty_calibration_folder_is_refused(tmp_path):
    with pytest.raises(SystemExit, match=str(tmp_path)):
        quantize_nanodet.calibration_inputs(tmp_path)


def test_quantised_model_has_int8_convolutions_and_finds_the_person(photos, astronaut, coffee):
    import onnx

    data = quantize_nanodet.quantize(models.path("nanodet.onnx"), photos)
    graph = onnx.load_from_string(data).graph
    assert sum(n.op_type == "QuantizeLinear" for n in graph.node) > 10  # not the float graph
    assert not any(n.op_type == "Pad" for n in graph.node)  # folded into the max-pool: the stem stays uint8
    int8 = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    exact = ort.InferenceSession(str(models.path("nanodet.onnx")), providers=["CPUExecutionProvider"])
    assert best_person_score(exact, astronaut) > 0.5
    assert abs(best_person_score(int8, astronaut) - best_person_score(exact, astronaut)) < 0.15
    assert best_person_score(int8, coffee) < 0.3  # nobody in the coffee photo


def test_movenet_int8_is_rebuilt_byte_for_byte_from_the_float_model():
    """tools/quantize_movenet.py needs no calibration data, so the shipped file is exactly what
    it builds from movenet.onnx (same onnxruntime), and only its largest convolutions changed."""
    import onnx

    import quantize_movenet

    data = quantize_movenet.quantize(models.path("movenet.onnx"))
    assert data == models.path("movenet_int8.onnx").read_bytes()
    graph = onnx.load_from_string(data).graph
    assert sum(n.op_type == "ConvInteger" for n in graph.node) == 13
    assert sum(n.op_type == "Conv" for n in graph.node) == 80 - 13  # the rest stay float


def test_folding_the_pools_padding_changes_no_output(astronaut):
    """The converted NanoDet pads with -inf before its first max-pool; folded into the pool's
    own padding (which is -inf), every output stays bit for bit the same."""
    import onnx

    from fuzzypeople.detect.nanodet import preprocess

    model = quantize_nanodet.basic_graph(models.path("nanodet.onnx"))
    exact = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert quantize_nanodet.fold_pool_padding(model) == 1
    assert not any(n.op_type == "Pad" for n in model.graph.node)
    folded = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = preprocess(astronaut, None)[0]
    for a, b in zip(exact.run(None, {"input_1": x}), folded.run(None, {"input_1": x})):
        assert np.array_equal(a, b)
