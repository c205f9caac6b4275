"""Every writer's output reads back to the same data (on data the tests make)."""

import json

import h5py
import numpy as np
import pytest

from kinelift import TimeSeriesTable, Tracks
from kinelift.errors import FileFormatError, OutputExistsError, ValueRangeError
from kinelift.io import (
    load,
    read_c3d,
    read_coco,
    read_coco_results,
    read_deeplabcut,
    read_h5,
    read_mmpose,
    read_mot,
    read_openpose,
    read_trc,
    save,
    validate_h5,
    write_c3d,
    write_coco,
    write_coco_results,
    write_deeplabcut,
    write_h5,
    write_mmpose,
    write_mot,
    write_openpose,
    write_trc,
)  # fmt: skip


def people_2d(rng, keypoints, n=12, count=2, fps=30.0):
    out = []
    for pid in range(count):
        k = len(keypoints) if not isinstance(keypoints, str) else {"COCO-17": 17, "BODY-25": 25}[keypoints]
        pose = rng.random((k, 2)) * 150
        p = 100 + 400 * pid + pose + np.arange(n)[:, None, None] + rng.normal(0, 1.0, (n, k, 2))
        c = rng.uniform(0.2, 1.0, (n, k))
        p[3, 1] = np.nan
        c[3, 1] = 0
        out.append(Tracks(p, keypoints=keypoints, confidence=c, fps=fps, person_id=pid))
    return out


def markers_3d(rng, n=20):
    p = rng.normal(size=(n, 4, 3))
    p[5, 1] = np.nan
    return Tracks(p, keypoints=["RASI", "LASI", "RKNE", "LKNE"], fps=100.0, units="m", coordinate_frame="ground")


@pytest.mark.parametrize("units", ["mm", "m"])
def test_trc_round_trip(tmp_path, rng, units):
    t = markers_3d(rng)
    write_trc(t, tmp_path / "a.trc", units=units)
    back = read_trc(tmp_path / "a.trc")
    np.testing.assert_allclose(back.positions, t.positions, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(back.time, t.time)
    assert back.keypoint_names == t.keypoint_names and back.fps == 100.0 and back.units == "m"


def test_trc_2d_pixels_round_trip(tmp_path, rng):
    t = people_2d(rng, "COCO-17", count=1)[0]
    write_trc(t, tmp_path / "a.trc")
    back = read_trc(tmp_path / "a.trc")
    assert back.n_dims == 2 and back.units == "px"
    np.testing.assert_array_equal(back.positions, t.positions)


def test_c3d_round_trip(tmp_path, rng):
    t = markers_3d(rng)
    write_c3d(t, tmp_path / "a.c3d")
    back = read_c3d(tmp_path / "a.c3d")
    # C3D stores float32 in mm
    np.testing.assert_allclose(back.positions, t.positions, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(back.time, t.time)


def test_mot_round_trip_degrees_and_radians(tmp_path):
    tab = TimeSeriesTable([0.0, 0.01, 0.02], [[0.1, 0.9, 5.0], [0.2, 0.91, 6.0], [0.3, 0.92, np.nan]],
                          ["knee_angle_r", "pelvis_ty", "ground_force_vy"], ["rad", "m", ""], name="ik")  # fmt: skip
    for in_degrees in (True, False):
        path = tmp_path / f"q{in_degrees}.mot"
        write_mot(tab, path, in_degrees=in_degrees)
        text = path.read_text()
        assert f"inDegrees={'yes' if in_degrees else 'no'}" in text
        back = read_mot(path)  # the row with a missing value is left out (OpenSim stops reading at it)
        np.testing.assert_allclose(back.values, tab.values[:2], rtol=1e-14)
        np.testing.assert_allclose(back.time, tab.time[:2])
        assert back.column_units == tab.column_units and back.name == "ik"
    assert "5.729577951308233" in (tmp_path / "qTrue.mot").read_text()  # 0.1 rad written in degrees


def test_openpose_round_trip_with_ids_and_gaps(tmp_path, rng):
    tracks = people_2d(rng, "BODY-25")
    write_openpose(tracks, tmp_path / "op")
    assert len(list((tmp_path / "op").glob("*_keypoints.json"))) == 12
    (tmp_path / "op" / "video_000000000007_keypoints.json").unlink()  # a missing frame
    back = read_openpose(tmp_path / "op", fps=30.0)
    assert [b.person_id for b in back] == [0, 1]
    for b, t in zip(back, tracks):
        assert b.n_frames == 12 and not b.valid[7].any()
        keep = np.arange(12) != 7
        np.testing.assert_allclose(b.positions[keep], t.positions[keep])
        np.testing.assert_allclose(b.confidence[keep], t.confidence[keep])


def test_openpose_links_anonymous_people_across_frames(tmp_path, rng):
    tracks = people_2d(rng, "BODY-25")
    write_openpose(tracks, tmp_path / "op")
    for f in (tmp_path / "op").iterdir():  # strip ids and shuffle the order of people
        doc = json.loads(f.read_text())
        for person in doc["people"]:
            person["person_id"] = [-1]
        doc["people"].reverse() if int(f.name.split("_")[1]) % 2 else None
        f.write_text(json.dumps(doc))
    back = read_openpose(tmp_path / "op", fps=30.0)
    assert len(back) == 2
    for b, t in zip(back, tracks):
        np.testing.assert_allclose(b.positions, t.positions)


def test_coco_annotations_round_trip(tmp_path, rng):
    tracks = people_2d(rng, "COCO-17")
    write_coco(tracks, tmp_path / "ann.json")
    back = read_coco(tmp_path / "ann.json")
    for b, t in zip(back, tracks):
        np.testing.assert_allclose(b.positions, t.positions)
        np.testing.assert_allclose(b.time, t.time)
        # visibility flags keep two levels of confidence
        assert set(np.unique(b.confidence)) <= {0.0, 0.5, 1.0}


def test_coco_annotations_carry_the_image_size(tmp_path, rng):
    tracks = [t.replace(metadata={**t.metadata, "image_width": 1920, "image_height": 1080}) for t in people_2d(rng, "COCO-17")]
    write_coco(tracks, tmp_path / "ann.json")
    assert {t.image_size for t in read_coco(tmp_path / "ann.json")} == {(1920, 1080)}
    doc = json.loads((tmp_path / "ann.json").read_text())
    for img in doc["images"]:
        img["width"] = "wide"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match="width/height"):
        read_coco(tmp_path / "bad.json")
    write_coco(people_2d(rng, "COCO-17"), tmp_path / "plain.json")  # tracks without an image size: none written or read
    assert "width" not in json.loads((tmp_path / "plain.json").read_text())["images"][0]
    assert {t.image_size for t in read_coco(tmp_path / "plain.json")} == {None}


def test_coco_results_and_mmpose_round_trip(tmp_path, rng):
    tracks = people_2d(rng, "COCO-17")
    write_coco_results(tracks, tmp_path / "res.json")
    write_mmpose(tracks, tmp_path / "mm.json")
    for back in (read_coco_results(tmp_path / "res.json", fps=30.0), read_mmpose(tmp_path / "mm.json", fps=30.0)):
        assert len(back) == 2
        for b, t in zip(back, tracks):
            np.testing.assert_allclose(b.positions, t.positions)
            np.testing.assert_allclose(b.confidence, t.confidence)


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
@pytest.mark.parametrize("count", [1, 2])
def test_deeplabcut_round_trip(tmp_path, rng, suffix, count):
    tracks = people_2d(rng, ["snout", "ear_l", "ear_r", "tail"], count=count)
    write_deeplabcut(tracks, tmp_path / f"dlc{suffix}")
    back = read_deeplabcut(tmp_path / f"dlc{suffix}", fps=30.0)
    assert len(back) == count
    for b, t in zip(back, tracks):
        np.testing.assert_allclose(b.positions, t.positions)
        np.testing.assert_allclose(b.confidence, t.confidence)


def test_h5_round_trip_validates_and_reads_with_plain_h5py(tmp_path, rng):
    tracks = people_2d(rng, "COCO-17") + [markers_3d(rng)]
    tab = TimeSeriesTable([0.0, 0.5], [[0.1, 1.0], [0.2, 1.1]], ["knee_angle_r", "pelvis_ty"], ["rad", "m"])
    write_h5(tmp_path / "a.h5", tracks=tracks, kinematics={"ik": tab}, analysis={"angles": tab})
    validate_h5(tmp_path / "a.h5")
    back = read_h5(tmp_path / "a.h5")
    assert len(back.tracks) == 3 and set(back.kinematics) == {"ik"} and set(back.analysis) == {"angles"}
    for b, t in zip(back.tracks, tracks):
        np.testing.assert_array_equal(b.positions, t.positions)
        assert b.keypoint_set.names == t.keypoint_set.names and b.units == t.units
    np.testing.assert_array_equal(back.kinematics["ik"].values, tab.values)
    with h5py.File(tmp_path / "a.h5") as f:  # no kinelift needed to read it
        assert f.attrs["schema"] == "kinelift"
        g = f["tracks/person_0"]
        assert g["positions"].attrs["units"] == "px" and g["time"].attrs["units"] == "s"
        assert g["positions"].chunks[0] >= 1 and g["positions"].compression == "gzip"
        assert list(g["keypoint_names"].asstr()[:3]) == ["nose", "left_eye", "right_eye"]


def test_writers_refuse_to_overwrite_and_leave_no_partial_file(tmp_path, rng):
    t = markers_3d(rng)
    path = tmp_path / "a.trc"
    write_trc(t, path)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_trc(t, path)
    write_trc(t[:3], path, overwrite=True)
    assert path.read_bytes() != before
    # a failing write leaves neither the target nor a temporary file
    with pytest.raises(ValueRangeError):
        write_h5(tmp_path / "bad.h5", tracks=[t, "not tracks"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.trc"]


def test_generic_load_and_save_pick_formats(tmp_path, rng):
    tracks = people_2d(rng, "COCO-17")
    save(tmp_path / "c.json", tracks=tracks, format="coco")
    save(tmp_path / "r.json", tracks=tracks, format="coco-results")
    save(tmp_path / "m.json", tracks=tracks, format="mmpose")
    assert load(tmp_path / "c.json").format == "coco"
    assert load(tmp_path / "r.json", fps=30.0).format == "coco-results"
    assert load(tmp_path / "m.json", fps=30.0).format == "mmpose"
    with pytest.raises(ValueRangeError, match="--to"):
        save(tmp_path / "x.json", tracks=tracks)
    with pytest.raises(ValueRangeError, match="exactly one track"):
        save(tmp_path / "x.trc", tracks=tracks)
    with pytest.raises(ValueRangeError, match="fps"):
        load(tmp_path / "m.json")
