"""Malformed input: whatever a parser is fed, only KineliftError subclasses escape (property-based)."""

import functools
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinelift import TimeSeriesTable, Tracks
from kinelift.errors import FileFormatError, KineliftError
from kinelift.io import load, save

# KINELIFT_FUZZ_EXAMPLES=5000 for a deep run; the default keeps `make test` fast.
FUZZ = settings(max_examples=int(os.environ.get("KINELIFT_FUZZ_EXAMPLES", "80")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT_SUFFIXES = [".trc", ".mot", ".sto", ".csv", ".json", "_keypoints.json"]
ALL_SUFFIXES = TEXT_SUFFIXES + [".c3d", ".h5"]


def valid_samples(folder: Path) -> dict[str, bytes]:
    """One valid file per format, made by kinelift's writers."""
    rng = np.random.default_rng(0)
    out = {}
    m = Tracks(rng.normal(size=(6, 3, 3)), keypoints=["A", "B", "C"], fps=50.0, units="m", coordinate_frame="ground")
    c = Tracks(100 + rng.random((6, 17, 2)), keypoints="COCO-17", fps=30.0)
    b = Tracks(100 + rng.random((3, 25, 2)), keypoints="BODY-25", fps=30.0)
    tab = TimeSeriesTable([0, 0.1], [[0.1, 0.2], [0.3, 0.4]], ["knee_angle_r", "pelvis_tx"], ["rad", "m"])
    jobs = {
        "a.trc": dict(tracks=[m]), "a.c3d": dict(tracks=[m]), "a.mot": dict(tables={"kinematics/q": tab}),
        "a.h5": dict(tracks=[c], tables={"kinematics/q": tab}), "coco.json": dict(tracks=[c], format="coco"),
        "res.json": dict(tracks=[c], format="coco-results"), "mm.json": dict(tracks=[c], format="mmpose"),
        "dlc.csv": dict(tracks=[c]), "op": dict(tracks=[b], format="openpose"),
    }  # fmt: skip
    for name, kwargs in jobs.items():
        save(folder / name, **kwargs)
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            out[f.name] = f.read_bytes()
    return out


def try_load(path: Path) -> None:
    try:
        load(path, fps=30.0)
    except KineliftError:
        pass


@functools.cache
def samples() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        return valid_samples(Path(folder))


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from(ALL_SUFFIXES))
def test_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"x{suffix}"
    path.write_bytes(data)
    try_load(path)


@FUZZ
@given(text=st.text(max_size=300), suffix=st.sampled_from(TEXT_SUFFIXES))
def test_random_text(tmp_path, text, suffix):
    path = tmp_path / f"x{suffix}"
    path.write_text(text, encoding="utf-8")
    try_load(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["images", "annotations", "people", "pose_keypoints_2d", "keypoints", "image_id", "id",
                         "instances", "frame_id", "keypoint_scores", "categories", "time", "track_id", "person_id"]),
        children, max_size=5),
    max_leaves=25,
)  # fmt: skip


@FUZZ
@given(doc=JSON, suffix=st.sampled_from([".json", "_keypoints.json"]))
def test_random_json_structures(tmp_path, doc, suffix):
    path = tmp_path / f"x{suffix}"
    path.write_text(json.dumps(doc))
    try_load(path)


@FUZZ
@given(data=st.data())
def test_mutated_valid_files(tmp_path, data):
    name = data.draw(st.sampled_from(sorted(samples())))
    blob = bytearray(samples()[name])
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "truncate", "insert"]))
        if not blob:
            break
        i = data.draw(st.integers(0, len(blob) - 1))
        if kind == "flip":
            blob[i] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del blob[i : i + data.draw(st.integers(1, 40))]
        elif kind == "truncate":
            del blob[i:]
        else:
            blob[i:i] = data.draw(st.sampled_from([b"\t", b"\n", b"NaN", b"-1e400", b",", b"{", b"]", b"x", b"\x00"]))
    path = tmp_path / name
    path.write_bytes(bytes(blob))
    try_load(path)


def test_named_errors_for_common_mistakes(tmp_path):
    trc = tmp_path / "bad.trc"
    trc.write_text("PathFileType\t4\t(X/Y/Z)\tbad.trc\nDataRate\tNumMarkers\tUnits\n100\t1\tfurlongs\nFrame#\tTime\tA\n\t\tX1\tY1\tZ1\n1\t0\t1\t2\t3\n")
    with pytest.raises(FileFormatError, match=r"bad\.trc.*Units 'furlongs'"):
        load(trc)
    mot = tmp_path / "bad.mot"
    mot.write_text("q\ninDegrees=yes\nendheader\ntime\tknee\n0\t1\t2\n")
    with pytest.raises(FileFormatError, match=r"bad\.mot: line 5: 3 values.*expected 2"):
        load(mot)
    with pytest.raises(FileFormatError, match="no such file"):
        load(tmp_path / "missing.trc")
    (tmp_path / "empty_op").mkdir()
    with pytest.raises(FileFormatError, match="keypoints.json"):
        load(tmp_path / "empty_op", fps=30.0)


def test_truncated_c3d_is_refused_before_the_parser(tmp_path):
    """ezc3d loops forever on a C3D cut short (found by the fuzz test above): the header is
    checked against the file size first, and the error says what the header announced."""
    blob = samples()["a.c3d"]
    cut = tmp_path / "cut.c3d"
    cut.write_bytes(blob[:772])
    with pytest.raises(FileFormatError, match=r"cut\.c3d.*announces 6 frames of 3 points.*the file has 772"):
        load(cut)
    (tmp_path / "no_header.c3d").write_bytes(b"\x02\x00" + blob[2:600])
    with pytest.raises(FileFormatError, match="key byte 0x50"):
        load(tmp_path / "no_header.c3d")
    (tmp_path / "short.c3d").write_bytes(blob[:520])
    with pytest.raises(FileFormatError, match="parameter section|processor type|announces"):
        load(tmp_path / "short.c3d")
    from kinelift.io import read_c3d

    (tmp_path / "whole.c3d").write_bytes(blob)
    assert read_c3d(tmp_path / "whole.c3d").n_frames == 6  # the uncut file passes the check


def test_kinelift_h5_files_carry_metadata_checksums(tmp_path):
    """Written in the HDF5 1.10 format: a flipped metadata byte is a FileFormatError naming the
    file (the older format let the HDF5 library segfault or loop on such files, found by the
    fuzz test above), and the root attribute check says the file is damaged, not unknown."""
    blob = samples()["a.h5"]
    assert blob[8] >= 2  # superblock version 2 or 3: checksummed metadata
    damaged = bytearray(blob)
    damaged[60] ^= 0xFF  # inside the superblock / root object header
    (tmp_path / "damaged.h5").write_bytes(bytes(damaged))
    with pytest.raises(FileFormatError, match=r"damaged\.h5"):
        load(tmp_path / "damaged.h5")
