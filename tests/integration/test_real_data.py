"""Readers on the real files in ../shared/data."""

import json

import numpy as np
import pytest

from kinelift.io import load, read_c3d, read_coco, read_trc, save, validate_h5
from tests.conftest import shared_file


def test_c3d_walking5_equals_opensims_own_conversion():
    """walking5.c3d decimated by 10 equals OpenSim's C3D->TRC conversion (same markers and missing samples).

    OpenSim's reference keeps every 10th frame and the last one (frame 1102, t = 4.408 s), and prints
    5 significant digits (1014.25 mm is written 1014.3). The check is therefore: every value agrees
    within half a unit of the reference's last printed digit, which is 0.005 mm or finer for values
    below 100 mm and at most 0.05 mm for values of 1000 mm and more.
    """
    c3d = read_c3d(shared_file("opensim-core-tests/OpenSim/Tests/shared/walking5.c3d"))
    ref = read_trc(shared_file("opensim-core-tests/OpenSim/Common/Test/std_walking5_markers.trc"))
    assert c3d.n_frames == 1103 and c3d.fps == 250.0
    assert set(ref.keypoint_names) <= set(c3d.keypoint_names)
    ours = c3d.select(ref.keypoint_names)[np.r_[0:1103:10, 1102]]
    assert ours.n_frames == ref.n_frames == 112
    assert np.array_equal(np.isnan(ours.positions), np.isnan(ref.positions))
    ref_mm, ours_mm = ref.positions * 1000.0, ours.positions * 1000.0
    ok = ~np.isnan(ref_mm)
    printed_resolution = 10.0 ** (np.floor(np.log10(np.maximum(np.abs(ref_mm[ok]), 1e-3))) - 4)
    excess = np.abs(ours_mm[ok] - ref_mm[ok]) - 0.5 * printed_resolution
    float32_step = np.spacing(np.abs(ref_mm[ok]).astype(np.float32)).astype(float)  # C3D stores float32
    excess -= float32_step
    assert excess.max() <= 0.0, f"worst excess over the reference's rounding: {excess.max():.6f} mm"
    small = np.abs(ref_mm[ok]) < 100.0
    assert np.abs(ours_mm[ok] - ref_mm[ok])[small].max() <= 0.01
    # times are frame / rate from 0, as OpenSim's C3DFileAdapter gives them
    np.testing.assert_allclose(ours.time, ref.time, atol=1e-12)


def test_coco_sample_annotations_and_detections():
    path = shared_file("coco-sample/test_coco.json")
    labelled = sum(a["num_keypoints"] > 0 for a in json.loads(path.read_text())["annotations"])
    tracks = read_coco(path, fps=1.0)
    assert sum(int(t.valid.any(axis=1).sum()) for t in tracks) == labelled  # one track frame per labelled person
    assert all(t.keypoint_set.name == "COCO-17" for t in tracks)
    first = tracks[0]
    # annotation 442619 of image 785: nose at (367, 81), visible
    assert np.array_equal(first.positions[0, 0], [367.0, 81.0]) and first.confidence[0, 0] == 1.0


def test_coco_detections_json_is_refused_with_a_clear_error():
    from kinelift.errors import FileFormatError

    with pytest.raises(FileFormatError, match="no known layout|not COCO"):
        load(shared_file("coco-sample/test_coco_det_AP_H_56.json"), fps=1.0)  # boxes only, no keypoints


def test_convert_real_c3d_to_h5_and_trc(tmp_path):
    loaded = load(shared_file("opensim-core-tests/OpenSim/Tests/shared/walking5.c3d"))
    save(tmp_path / "w.h5", tracks=loaded.tracks)
    validate_h5(tmp_path / "w.h5")
    save(tmp_path / "w.trc", tracks=loaded.tracks)
    back = read_trc(tmp_path / "w.trc")
    np.testing.assert_allclose(back.positions, loaded.tracks[0].positions, rtol=1e-12, equal_nan=True)


def test_every_real_trc_and_motion_file_reads():
    for pattern in ("*.trc", "*.mot", "*.sto"):
        for path in sorted(shared_file(".").rglob(pattern)):
            if path.suffix in (".mot", ".sto"):
                try:
                    loaded = load(path)
                except Exception as err:  # header-less SIMM files must name inDegrees
                    assert "inDegrees" in str(err), f"{path}: {err}"
                    loaded = load(path, in_degrees=True)
                assert loaded.tables
            else:
                assert load(path).tracks[0].n_frames > 0
