"""scripts/build_models.py's choice of the epoch to bundle."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("build_models", Path(__file__).parents[1] / "scripts" / "build_models.py")
build_models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_models)


def m(epoch, lattice, fidelity, detail):
    return {"epoch": epoch, "lattice_worst": lattice, "fidelity_db": fidelity, "detail": detail}


def test_pick_epoch_meets_the_goals_then_takes_the_detail_nearest_the_targets():
    metrics = [
        m(1, 1.0, 35, 0.9),  # first half: never chosen
        m(2, 1.1, 31, 0.3),
        m(3, 5.0, 33, 0.8),  # 3: a lattice
        m(4, 1.5, 29.9, 0.7),  # 4: does not follow the camera
        m(5, 1.9, 30.5, 0.6),
        m(6, 1.2, 32, 0.6),
    ]
    assert build_models.pick_epoch(metrics) == 6  # ties go to the later epoch
    metrics.append(m(7, 1.0, 31, 1.4))  # too much: noise
    assert build_models.pick_epoch(metrics) == 7  # 1.4 is nearer 1 than 0.6 as a ratio
    metrics.append(m(8, 1.0, 31, 0.9))
    assert build_models.pick_epoch(metrics) == 8
    metrics.append(m(9, 1.0, 31, 1 / 0.9))  # as near as epoch 8: the later wins
    assert build_models.pick_epoch(metrics) == 9


def test_pick_epoch_falls_back_to_the_least_lattice():
    metrics = [m(1, 1.0, 35, 0.9), m(2, 3.0, 20, 0.3), m(3, 2.5, 25, 0.8), m(4, 4.0, 40, 0.9)]
    assert build_models.pick_epoch(metrics) == 3
