import numpy as np
import pandas as pd
import pytest

from kinelift import Tracks
from kinelift.errors import KineliftError, ShapeError, UnknownNameError, ValueRangeError


def make(n=10, k=6, d=2, **kw):
    p = np.arange(n * k * d, dtype=float).reshape(n, k, d)
    kw.setdefault("keypoints", "LOWER-6" if k == 6 else [f"p{i}" for i in range(k)])
    kw.setdefault("fps", 100.0)
    return Tracks(p, **kw)


def test_construction_copies_and_freezes_input():
    p = np.zeros((4, 6, 3))
    t = Tracks(p, keypoints="LOWER-6", fps=50.0, units="m", coordinate_frame="ground")
    p[0, 0, 0] = 99.0
    assert t.positions[0, 0, 0] == 0.0
    with pytest.raises(ValueError):
        t.positions[0, 0, 0] = 1.0
    assert np.allclose(t.time, np.arange(4) / 50.0)
    assert t.confidence.min() == 1.0


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"positions": np.zeros((4, 6))}, ShapeError, "positions"),
        ({"positions": np.zeros((4, 5, 2))}, ShapeError, "LOWER-6"),
        ({"positions": np.zeros((4, 6, 4))}, ShapeError, "2 or 3"),
        ({"confidence": np.ones((4, 5))}, ShapeError, "confidence"),
        ({"confidence": np.full((4, 6), 1.5)}, ValueRangeError, r"\[0, 1\]"),
        ({"time": [0, 1, 1, 2], "fps": None}, ValueRangeError, "strictly increasing"),
        ({"time": [0, 1, 2], "fps": None}, ShapeError, "time"),
        ({"fps": None}, ValueRangeError, "time"),
        ({"fps": -3.0}, ValueRangeError, "fps"),
        ({"units": "mm"}, ValueRangeError, "metres"),
        ({"keypoints": "LOWER-7"}, UnknownNameError, "keypoint set"),
    ],
)
def test_bad_construction_names_the_field(kwargs, error, match):
    args = {"positions": np.zeros((4, 6, 2)), "keypoints": "LOWER-6", "fps": 30.0}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Tracks(args.pop("positions"), **args)
    assert issubclass(error, KineliftError)


def test_partial_nan_and_inf_are_refused():
    p = np.zeros((3, 6, 2))
    p[1, 2, 0] = np.nan
    with pytest.raises(ValueRangeError, match="right_hip"):
        Tracks(p, keypoints="LOWER-6", fps=30)
    p[1, 2, 0] = np.inf
    with pytest.raises(ValueRangeError, match="inf"):
        Tracks(p, keypoints="LOWER-6", fps=30)


def test_missing_points_get_zero_confidence_by_default():
    p = np.zeros((3, 6, 2))
    p[1, 2] = np.nan
    t = Tracks(p, keypoints="LOWER-6", fps=30)
    assert t.confidence[1, 2] == 0.0 and t.confidence[0, 2] == 1.0
    assert not t.valid[1, 2]


def test_slicing_by_frame_time_and_keypoint():
    t = make(n=10)
    assert t[2:5].n_frames == 3 and np.allclose(t[2:5].time, [0.02, 0.03, 0.04])
    assert t[3].n_frames == 1
    assert t[np.arange(10) % 2 == 0].n_frames == 5
    assert np.allclose(t.between(0.025, 0.065).time, [0.03, 0.04, 0.05, 0.06])
    sel = t.select(["left_ankle", "right_ankle"])
    assert sel.keypoint_names == ("left_ankle", "right_ankle")
    assert np.array_equal(sel.positions[:, 0], t.positions[:, 5])
    assert sel.keypoint_set.edges == ()
    with pytest.raises(UnknownNameError):
        t.select(["nose"])


def test_variable_frame_rate():
    time = np.array([0.0, 0.033, 0.067, 0.1, 0.2])
    t = Tracks(np.zeros((5, 6, 2)), keypoints="LOWER-6", time=time)
    assert not t.is_uniform()
    assert t.fps is None and t.sampling_rate == pytest.approx(1 / np.median(np.diff(time)))


def test_dataframe_round_trip_3d():
    rng = np.random.default_rng(1)
    p = rng.random((5, 6, 3))
    p[2, 1] = np.nan
    c = rng.random((5, 6))
    t = Tracks(p, keypoints="LOWER-6", confidence=c, fps=100.0, units="m", coordinate_frame="ground", person_id=3)
    df = t.to_dataframe()
    assert isinstance(df.columns, pd.MultiIndex)
    assert df.columns.names == ["keypoint", "axis"]
    assert list(df.columns[:4]) == [("right_ankle", "x"), ("right_ankle", "y"), ("right_ankle", "z"), ("right_ankle", "confidence")]
    back = Tracks.from_dataframe(df)
    assert back.keypoint_set.name == "LOWER-6" and back.units == "m" and back.person_id == 3
    np.testing.assert_array_equal(back.positions, t.positions)
    np.testing.assert_array_equal(back.confidence, t.confidence)
    np.testing.assert_array_equal(back.time, t.time)


def test_from_dataframe_rejects_bad_columns():
    with pytest.raises(ShapeError, match="MultiIndex"):
        Tracks.from_dataframe(pd.DataFrame({"a": [1.0]}))
    cols = pd.MultiIndex.from_product([["a"], ["x", "q"]])
    with pytest.raises(ShapeError, match="axis"):
        Tracks.from_dataframe(pd.DataFrame([[1.0, 2.0]], columns=cols))


def test_keypoint_set_conversion_on_tracks():
    t = Tracks(np.random.default_rng(0).random((4, 25, 2)), keypoints="BODY-25", fps=30)
    low = t.to_keypoint_set("LOWER-6")
    assert low.keypoint_set.name == "LOWER-6"
    np.testing.assert_array_equal(low.positions[:, 0], t.positions[:, 11])  # right_ankle


def test_replace_rejects_unknown_fields():
    with pytest.raises(UnknownNameError, match="Tracks field"):
        make().replace(colour="red")


def test_lab_is_the_deprecated_name_of_ground():
    import numpy as np
    import pytest

    from kinelift import Tracks
    from kinelift.errors import ValueRangeError

    with pytest.warns(DeprecationWarning, match='coordinate_frame="lab" is deprecated, use "ground"'):
        t = Tracks(np.zeros((2, 1, 3)), keypoints=["a"], fps=10.0, units="m", coordinate_frame="lab")
    assert t.coordinate_frame == "ground"
    with pytest.raises(ValueRangeError, match="coordinate_frame"):
        Tracks(np.zeros((2, 1, 3)), keypoints=["a"], fps=10.0, units="m", coordinate_frame="world")


def test_image_size_is_read_from_the_metadata_and_validated():
    pts = np.zeros((2, 6, 2))
    assert Tracks(pts, keypoints="LOWER-6", fps=30.0).image_size is None
    sized = Tracks(pts, keypoints="LOWER-6", fps=30.0, metadata={"image_width": 1280, "image_height": 720.0})
    assert sized.image_size == (1280, 720)
    assert sized[:1].image_size == (1280, 720)  # kept by slicing
    for bad in ({"image_width": 1280}, {"image_width": 0, "image_height": 720}, {"image_width": 12.5, "image_height": 7},
                {"image_width": "1280", "image_height": 720}, {"image_width": True, "image_height": 720}):
        with pytest.raises(ValueRangeError, match="image_width/image_height"):
            Tracks(pts, keypoints="LOWER-6", fps=30.0, metadata=bad)


def test_an_image_size_is_given_to_tracks_that_do_not_record_it():
    """OpenPose's JSON does not store the frame size; ``with_image_size`` records it after checking
    that the keypoints fit such an image (a portrait video's width and height swapped do not)."""
    pts = np.tile(np.array([[500.0, 1700], [510, 1300], [520, 900], [580, 900], [590, 1300], [600, 1700]]), (3, 1, 1))
    t = Tracks(pts, keypoints="LOWER-6", fps=30.0)
    assert t.with_image_size(1080, 1920).image_size == (1080, 1920)
    with pytest.raises(ValueRangeError, match="1920x1080"):  # swapped: y reaches 1700 px in a 1080-px-high image
        t.with_image_size(1920, 1080)
    with pytest.raises(ValueRangeError, match="record"):
        t.with_image_size(1080, 1920).with_image_size(1088, 1920)
    with pytest.raises(ValueRangeError, match="whole pixels"):
        t.with_image_size(1080.5, 1920)
    with pytest.raises(ValueRangeError, match="2D keypoints in pixels"):
        Tracks(np.zeros((2, 6, 3)), keypoints="LOWER-6", fps=30.0, units="m").with_image_size(1080, 1920)
