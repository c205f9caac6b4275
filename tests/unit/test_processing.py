import numpy as np
import pytest
from scipy import signal

from kinelift import Tracks
from kinelift.errors import SignalProcessingError, ValueRangeError
from kinelift.processing import (
    OneEuroFilter,
    butterworth_lowpass,
    fill_gaps,
    fill_tracks,
    filter_tracks,
    hampel,
    median_filter,
    one_euro,
    reject_outliers,
    resample_tracks,
    resample_uniform,
    savitzky_golay,
    winter_cutoff_correction,
)  # fmt: skip

FS = 100.0


def test_winter_correction_matches_his_table():
    # Winter (2009) 3.4.4.3: a 2nd-order filter passed twice needs C = 0.802.
    assert winter_cutoff_correction(2) == pytest.approx(0.802, abs=5e-4)
    assert winter_cutoff_correction(2, n_passes=1) == 1.0


def test_butterworth_minus_3db_at_the_cutoff_with_correction():
    n = 4000
    t = np.arange(n) / FS
    for corrected, expected in ((True, 1 / np.sqrt(2)), (False, 0.5)):
        x = np.sin(2 * np.pi * 6.0 * t)
        y = butterworth_lowpass(x, fps=FS, cutoff=6.0, order=2, correct_cutoff=corrected)
        gain = np.std(y[500:-500]) / np.std(x[500:-500])
        assert gain == pytest.approx(expected, abs=0.01)


def test_butterworth_equals_sosfiltfilt_on_clean_signal_and_never_crosses_gaps(rng):
    x = rng.normal(size=(300, 2))
    sos = signal.butter(2, FS / np.pi * np.arctan(np.tan(np.pi * 8 / FS) / winter_cutoff_correction(2)), fs=FS, output="sos")
    np.testing.assert_allclose(butterworth_lowpass(x, fps=FS, cutoff=8.0), signal.sosfiltfilt(sos, x, axis=0), atol=1e-12)
    y = x.copy()
    y[150:160] = np.nan
    y[:, 1][200:205] = np.nan
    out = butterworth_lowpass(y, fps=FS, cutoff=8.0)
    assert np.array_equal(np.isnan(out), np.isnan(y))
    # the part before the gap equals filtering that part alone: nothing leaks across
    np.testing.assert_allclose(out[:150, 0], signal.sosfiltfilt(sos, y[:150, 0]), atol=1e-12)


def test_butterworth_errors():
    with pytest.raises(SignalProcessingError, match="Nyquist"):
        butterworth_lowpass(np.zeros(100), fps=FS, cutoff=60.0)
    x = np.zeros(100)
    x[5] = np.nan  # leaves a 5-sample segment; order 2 needs more than 9
    with pytest.raises(SignalProcessingError, match="shorter"):
        butterworth_lowpass(x, fps=FS, cutoff=6.0)
    out = butterworth_lowpass(x, fps=FS, cutoff=6.0, short="nan")
    assert np.isnan(out[:6]).all() and not np.isnan(out[6:]).any()


def test_fill_gaps_linear_cubic_and_max_gap():
    t = np.arange(20) / FS
    x = np.sin(t * 10)
    y = x.copy()
    y[3:5] = np.nan  # 2 missing
    y[10:16] = np.nan  # 6 missing
    y[0] = np.nan  # leading: never extrapolated
    lin = fill_gaps(y, t, max_gap=3)
    assert np.isnan(lin[0]) and np.isnan(lin[10:16]).all()
    np.testing.assert_allclose(lin[3:5], np.interp(t[3:5], t[[2, 5]], x[[2, 5]]))
    cub = fill_gaps(y, t, method="cubic", max_gap=6)
    assert np.abs(cub[10:16] - x[10:16]).max() < 5e-3
    with pytest.raises(ValueRangeError):
        fill_gaps(y, t, method="quadratic")


def test_savgol_and_median_and_derivative():
    t = np.arange(200) / FS
    x = t**2
    np.testing.assert_allclose(savitzky_golay(x, window=11, polyorder=3), x, atol=1e-12)
    np.testing.assert_allclose(savitzky_golay(x, window=11, polyorder=3, deriv=1, fps=FS), 2 * t, atol=1e-9)
    spiky = np.zeros(50)
    spiky[20] = 10
    assert median_filter(spiky, window=5).max() == 0
    with pytest.raises(ValueRangeError):
        savitzky_golay(x, window=10)


def test_hampel_finds_the_spikes_only(rng):
    x = np.sin(np.linspace(0, 6, 300)) + rng.normal(0, 0.01, 300)
    x[[50, 180]] += 1.0
    cleaned, flags = hampel(x, half_window=5, n_sigma=6.0)
    assert set(np.flatnonzero(flags)) == {50, 180}
    assert np.isnan(cleaned[[50, 180]]).all()


def test_one_euro_streaming_equals_batch_and_resets_at_gaps(rng):
    t = np.arange(100) / 30.0
    x = rng.normal(size=(100, 3))
    x[40:45, 1] = np.nan
    batch = one_euro(x, t, min_cutoff=1.0, beta=0.5)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    stream = np.stack([f(x[i], t[i]) for i in range(100)])
    np.testing.assert_array_equal(batch, stream)
    assert np.isnan(batch[40:45, 1]).all()
    assert batch[45, 1] == x[45, 1]  # first sample after a gap passes through
    with pytest.raises(ValueRangeError):
        f(x[0], t[0])  # time must increase


def test_resample_never_crosses_gaps():
    t = np.array([0.0, 0.1, 0.25, 0.3, 0.4])
    x = np.array([0.0, 1.0, np.nan, 3.0, 4.0])
    y, new_t = resample_uniform(x, t, fps=20.0)
    np.testing.assert_allclose(new_t, np.arange(9) / 20.0)
    assert y[0] == 0 and y[1] == pytest.approx(0.5) and y[2] == 1.0
    assert np.isnan(y[3:6]).all()  # between 0.1 and 0.3 lies a missing sample
    assert y[6] == 3.0 and y[8] == 4.0


def test_tracks_level_processing():
    n = 200
    p = np.cumsum(np.ones((n, 6, 2)), axis=0)
    p[50:53] = np.nan
    p[120, 2] = [1e4, 1e4]
    t = Tracks(p, keypoints="LOWER-6", fps=FS)
    cleaned = reject_outliers(t, half_window=4)
    assert not cleaned.valid[120, 2] and cleaned.confidence[120, 2] == 0 and t.valid[120, 2]
    filled = fill_tracks(cleaned, max_gap=5, filled_confidence=0.25)
    assert filled.valid.all() and filled.confidence[51, 0] == 0.25
    smooth = filter_tracks(filled, "butterworth", cutoff=6.0)
    np.testing.assert_allclose(smooth.positions[30:-30], filled.positions[30:-30], atol=1e-3)  # a ramp passes
    for method, params in (("savgol", {"window": 9}), ("median", {"window": 5}), ("one_euro", {"min_cutoff": 2.0})):
        assert filter_tracks(filled, method, **params).n_frames == n
    vfr = t.replace(time=np.cumsum(np.r_[0, np.full(n - 1, 0.01)] * (1 + 0.2 * (np.arange(n) % 2))))
    with pytest.raises(SignalProcessingError, match="resample"):
        filter_tracks(vfr, "butterworth", cutoff=6.0)
    assert resample_tracks(vfr, fps=100.0).is_uniform()


def test_the_main_jobs_smoothing_keeps_short_segments_raw_and_counts_them(caplog):
    """A person seen for a few frames between gaps (real footage) is left unfiltered, counted in the
    log; it used to stop ``kinelift run`` with "a NaN-free segment of 4 samples ... is shorter"."""
    import logging

    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    n = 120
    p = np.cumsum(np.ones((n, 6, 2)), axis=0)
    p[4:40] = np.nan  # frames 0-3 seen, then lost for longer than the gap filler bridges
    t = Tracks(p, keypoints="LOWER-6", fps=30.0)
    with pytest.raises(SignalProcessingError, match="segment of 4 samples"):
        filter_tracks(t, "butterworth", cutoff=6.0)  # the array function still says so by default
    with caplog.at_level(logging.INFO, logger="kinelift.processing"):
        out = _process(t, RunConfig(cutoff=6.0))
    np.testing.assert_array_equal(out.positions[:4], p[:4])
    assert np.isnan(out.positions[4:40]).all() and np.isfinite(out.positions[40:]).all()
    assert "12 column segments shorter than the" in caplog.text and "left unfiltered" in caplog.text


def test_the_main_job_drops_frames_far_less_confident_than_the_track(caplog):
    """Frames whose mean confidence is below 0.6 of the track's median (a person entering the image,
    seen in part) are set missing before the rest; short dips are bridged by the gap filler."""
    import logging

    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    n = 120
    p = np.cumsum(np.ones((n, 6, 2)), axis=0)
    confidence = np.full((n, 6), 0.7)
    confidence[:30] = 0.25  # entering the image
    confidence[60:63] = 0.3  # a brief dip: filled
    t = Tracks(p, keypoints="LOWER-6", fps=30.0, confidence=confidence)
    with caplog.at_level(logging.INFO, logger="kinelift.pipeline.run"):
        out = _process(t, RunConfig(cutoff=None, outlier_sigma=0.0))
    assert np.isnan(out.positions[:30]).all() and np.isfinite(out.positions[30:]).all()
    assert "33 of 120 frames with keypoints are below 0.60" in caplog.text
    assert np.isfinite(_process(t, RunConfig(cutoff=None, outlier_sigma=0.0, min_relative_confidence=0.0)).positions).all()
    with pytest.raises(ValueRangeError, match="min_relative_confidence"):
        RunConfig(min_relative_confidence=1.2)


def test_a_still_person_s_keypoints_are_not_outliers():
    """A person standing still gives Hampel windows with no spread (the encoder repeats frames, the
    keypoints step by a few pixels): without a floor every small step was an "outlier", set
    missing and filled at confidence 0, and the lifter invented a bent leg there (a real phone
    video: 201 of 7,560 keypoints, hip flexion 38 deg). The main job's floor (3 % of the person's
    size) keeps them and still removes a real jump."""
    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    n = 90
    p = np.tile(np.array([[100.0, 400], [100, 300], [100, 200], [140, 200], [140, 300], [140, 400]]), (n, 1, 1))
    p[np.arange(n) % 8 >= 4, 1, 0] += 3.0  # the right knee steps 3 px every four frames, as repeated frames give it
    p[50, 4] = [260.0, 300.0]  # the left knee jumps 120 px (about half the person's size) in one frame
    t = Tracks(p, keypoints="LOWER-6", fps=30.0)
    assert (~reject_outliers(t, half_window=4).valid[:, 1]).sum() > 10  # no floor: the steps are "outliers"
    kept = reject_outliers(t, half_window=4, min_deviation=0.03 * 200.0)
    assert kept.valid[:, 1].all() and not kept.valid[50, 4] and kept.valid.sum() == 6 * n - 1
    out = _process(t, RunConfig(cutoff=None))
    assert (out.confidence[:, 1] > 0).all() and out.confidence[50, 4] == 0.0  # the jump filled, nothing else
    with pytest.raises(ValueRangeError, match="outlier_floor"):
        RunConfig(outlier_floor=-0.1)
    with pytest.raises(ValueRangeError, match="min_deviation"):
        hampel(np.zeros(10), min_deviation=float("nan"))


def test_the_main_job_resamples_jittering_frame_times_before_filtering():
    """Real videos' frame times jitter (a 28 and a 35 ms interval among 33.3 ms ones in the soccer
    clip): the main job resamples to the median rate instead of stopping at the filter."""
    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    n = 60
    t = np.arange(n) / 30.0
    t[1] -= 0.005
    t[40] += 0.0017
    p = np.cumsum(np.ones((n, 6, 2)), axis=0)
    tracks = Tracks(p, keypoints="LOWER-6", time=t)
    with pytest.raises(SignalProcessingError, match="uniform"):
        filter_tracks(tracks, "butterworth", cutoff=6.0)
    out = _process(tracks, RunConfig())
    assert out.is_uniform() and abs(out.sampling_rate - 30.0) < 1e-6 and np.isfinite(out.positions[5:-5]).all()


def test_old_argument_names_still_work_with_a_warning():
    import warnings

    from kinelift.errors import ValueRangeError

    x = np.sin(np.linspace(0, 10, 200))
    with pytest.warns(DeprecationWarning, match="fs= is deprecated, use fps="):
        old = butterworth_lowpass(x, fs=FS, cutoff=6.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(old, butterworth_lowpass(x, fps=FS, cutoff=6.0))
    with pytest.raises(ValueRangeError, match="fps"):
        butterworth_lowpass(x, fs=FS, fps=FS, cutoff=6.0)
    with pytest.raises(ValueRangeError, match="fps"):
        butterworth_lowpass(x, cutoff=6.0)


def _standing_lsp14(n: int = 60, fps: float = 30.0, size: tuple[int, int] = (640, 480)) -> Tracks:
    """LSP-14 points of a person standing in a ``size`` image, every point found with confidence 0.9."""
    from kinelift.core import get_keypoint_set

    layout = {"ankle": 440.0, "knee": 360.0, "hip": 280.0, "wrist": 260.0, "elbow": 220.0, "shoulder": 160.0, "neck": 150.0, "head_top": 90.0}
    names = get_keypoint_set("LSP-14").names
    xy = np.array([[320.0 + (-30 if n.startswith("right") else 30 if n.startswith("left") else 0), layout[n.split("_", 1)[-1] if n.startswith(("right", "left")) else n]]
                   for n in names])  # fmt: skip
    return Tracks(np.tile(xy, (n, 1, 1)), keypoints="LSP-14", fps=fps, confidence=np.full((n, len(names)), 0.9)).with_image_size(*size)


def test_legs_in_view_needs_a_knee_and_an_ankle_found_about_as_clearly_as_the_upper_body():
    from kinelift.processing import legs_in_view

    xy = np.full((5, 4, 2), 50.0)  # shoulder, knee, ankle, other ankle
    c = np.array([[0.9, 0.8, 0.7, 0.1],   # one knee and one ankle: in view
                  [0.9, 0.3, 0.7, 0.7],   # the knee at 0.33 of the shoulder: out
                  [0.9, 0.8, 0.3, 0.3],   # no ankle
                  [0.3, 0.2, 0.2, 0.2],   # a small, blurred person: all low, the same ratio -> in view
                  [0.9, 0.8, 0.7, 0.7]])  # fmt: skip
    kw = dict(knees=[1], ankles=[2, 3], reference=[0])
    assert legs_in_view(xy, c, **kw).tolist() == [True, False, False, True, True]
    assert legs_in_view(xy, c, **kw, min_relative_confidence=0.0).all()  # presence alone
    outside = xy.copy()
    outside[:, 2:, 1] = 120.0  # both ankles below a 100-px-high image (a detector that extrapolates)
    assert not legs_in_view(outside, c, **kw, image_size=(100, 100)).any()
    assert legs_in_view(outside, c, **kw, image_size=(100, 200)).tolist() == [True, False, False, True, True]
    missing = xy.copy()
    missing[4, 0] = np.nan  # no reference point in the last frame
    assert not legs_in_view(missing, c, **kw)[4]
    with pytest.raises(ValueRangeError, match="window"):
        legs_in_view(xy, c, **kw, window=4)
    with pytest.raises(ValueRangeError, match="min_relative_confidence"):
        legs_in_view(xy, c, **kw, min_relative_confidence=1.0)
    from kinelift.errors import ShapeError

    with pytest.raises(ShapeError, match="confidence"):
        legs_in_view(xy, c[:, :3], **kw)


def test_legs_in_view_smoothing_ignores_a_one_frame_dip_and_a_short_stretch_at_the_end():
    from kinelift.processing import legs_in_view

    n = 40
    xy = np.full((n, 3, 2), 10.0)
    c = np.full((n, 3), 0.9)
    c[10, 1] = 0.05  # one frame's knee lost
    c[:30, 2] = 0.05  # ankles out of view ...
    c[34:, 2] = 0.9  # ... but for the last 6 frames
    c[30:34, 2] = 0.05
    kw = dict(knees=[1], ankles=[2], reference=[0])
    raw = legs_in_view(xy, c, **kw)
    assert raw[34:].all() and raw.sum() == 6
    absent = xy.copy()
    absent[:34] = np.nan  # the person only appears for those 6 frames: kept, there is nothing to smooth against
    assert legs_in_view(absent, c, **kw, window=9).sum() == 6
    assert not legs_in_view(xy, c, **kw, window=9).any()  # the 6 in-view frames are shorter than the window
    c[:30, 2] = 0.9  # now in view but for frame 10's knee and a 4-frame dip at 30-33: both shorter than half the window
    assert (~legs_in_view(xy, c, **kw)).sum() == 5
    assert legs_in_view(xy, c, **kw, window=9).all()
    c[10, 1] = 0.9
    c[12:24, 1] = 0.05  # a 12-frame stretch out of view stays out
    assert np.flatnonzero(~legs_in_view(xy, c, **kw, window=9)).tolist() == list(range(12, 24))


def test_tracks_legs_in_view_judges_image_tracks_with_knees_and_ankles_only():
    from kinelift.processing import tracks_legs_in_view

    t = _standing_lsp14()
    assert tracks_legs_in_view(t).all()
    c = t.confidence.copy()
    c[20:40, :6] = 0.1  # LSP-14's first six points are the legs and hips
    assert tracks_legs_in_view(t.replace(confidence=c)).tolist() == [True] * 20 + [False] * 20 + [True] * 20
    lower = Tracks(np.zeros((10, 6, 2)) + 5.0, keypoints="LOWER-6", fps=30.0, confidence=np.full((10, 6), 0.8))
    assert tracks_legs_in_view(lower).all()  # hips are the standard where the set has nothing above them
    assert tracks_legs_in_view(Tracks(np.zeros((10, 6, 3)), keypoints="LOWER-6", fps=30.0, units="m", coordinate_frame="ground")) is None
    upper = Tracks(np.zeros((10, 2, 2)), keypoints=["left_shoulder", "right_shoulder"], fps=30.0)
    assert tracks_legs_in_view(upper) is None


def test_the_main_job_sets_frames_without_legs_missing_and_refuses_a_clip_that_never_shows_them(caplog):
    import logging

    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    t = _standing_lsp14(90)
    c = t.confidence.copy()
    c[30:60, [0, 5]] = 0.05  # the ankles (LSP-14 points 0 and 5) leave the picture for a second
    config = RunConfig(cutoff=None, outlier_sigma=0.0, max_gap=0)
    with caplog.at_level(logging.WARNING, logger="kinelift.pipeline.run"):
        out = _process(t.replace(confidence=c), config)
    assert np.isnan(out.positions[30:60]).all() and np.isfinite(out.positions[:30]).all() and np.isfinite(out.positions[60:]).all()
    assert "legs are out of view in 30 of 90 frames (1 stretches" in caplog.text
    kept = _process(t.replace(confidence=c), RunConfig(cutoff=None, outlier_sigma=0.0, max_gap=0, min_leg_relative_confidence=0.0))
    assert np.isfinite(kept.positions).all()
    moved = t.positions.copy()
    moved[:, :6, 1] += 200.0  # every leg point below the 480-px image: filmed from the waist up, legs extrapolated
    with pytest.raises(ValueRangeError, match="legs: expected frames where a knee and an ankle"):
        _process(t.replace(positions=moved), config)
    with pytest.raises(ValueRangeError, match="min_leg_relative_confidence"):
        RunConfig(min_leg_relative_confidence=-0.1)


def test_lift_warns_where_the_legs_are_out_of_view(caplog):
    import logging

    from kinelift.lifting import lift

    t = _standing_lsp14(60)
    c = t.confidence.copy()
    c[20:40, :6] = 0.05
    with caplog.at_level(logging.WARNING, logger="kinelift.lifting.inference"):
        lift(t.replace(confidence=c), refine=False)
    assert "the legs are out of view in 20 of 60 frames" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kinelift.lifting.inference"):
        lift(t, refine=False)
    assert "out of view" not in caplog.text


def test_the_main_job_leaves_a_slow_video_unfiltered_with_a_warning(caplog):
    import logging

    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    t = _standing_lsp14(60, fps=10.0)
    with caplog.at_level(logging.WARNING, logger="kinelift.pipeline.run"):
        out = _process(t, RunConfig())  # 6 Hz against a 5-Hz Nyquist frequency: was a ValueRangeError that stopped the run
    assert "not below 0.9 of the Nyquist frequency of these 10 frames/s tracks" in caplog.text
    np.testing.assert_array_equal(out.positions, t.positions)
    assert "no low-pass" in out.metadata["processing"]


def test_lift_holds_the_input_through_frames_without_the_subject():
    """The same standing clip with and without 2 s of nobody before it gives the same pose in its
    first seen frames: the network sees the first seen frame held, as at a clip's start (it saw
    zeros, and a real standing person's knees and hips started at 26-29 deg)."""
    from kinelift.lifting import lift

    t = _standing_lsp14(90)
    xy = np.concatenate([np.full((60, 14, 2), np.nan), t.positions])
    c = np.concatenate([np.zeros((60, 14)), t.confidence])
    late = Tracks(xy, keypoints="LSP-14", fps=30.0, confidence=c).with_image_size(640, 480)
    plain, intro = lift(t), lift(late)
    assert not intro.seen[:60].any() and intro.seen[60:].all()
    a, b = plain.to_table(), intro.to_table()
    knee = [a.column_names.index(n) for n in ("knee_angle_r", "knee_angle_l", "hip_flexion_r", "hip_flexion_l")]
    first = np.degrees(np.abs(b.values[60:70, knee] - a.values[:10, knee])).max()
    assert first < 1.0, f"the first seen frames differ by {first:.2f} deg"


def test_upside_down_frames_need_the_head_well_below_the_ankles():
    from kinelift.core.views import upside_down_frames

    t = _standing_lsp14(4)
    assert not upside_down_frames(t).any()
    turned = t.positions.copy()
    turned[..., 1] = 480.0 - turned[..., 1]  # the picture turned upside down (mirrored too: the same for the test)
    assert upside_down_frames(t.replace(positions=turned)).all()
    lying = t.positions[..., ::-1].copy()  # lying along the image's x axis, head and ankles at one height
    assert not upside_down_frames(t.replace(positions=lying)).any()
    assert upside_down_frames(Tracks(np.zeros((3, 6, 3)), keypoints="LOWER-6", fps=30.0, units="m", coordinate_frame="ground")) is None
    assert upside_down_frames(Tracks(np.zeros((3, 6, 2)), keypoints="LOWER-6", fps=30.0)) is None  # no head end


def test_the_main_job_refuses_an_upside_down_picture_and_drops_upside_down_frames(caplog):
    import logging

    from kinelift.pipeline.config import RunConfig
    from kinelift.pipeline.run import _process

    t = _standing_lsp14(90)
    turned = t.positions.copy()
    turned[..., 1] = 480.0 - turned[..., 1]
    with pytest.raises(ValueRangeError, match="orientation: expected a person upright in the picture"):
        _process(t.replace(positions=turned), RunConfig())
    some = t.positions.copy()
    some[40:45] = turned[40:45]  # five frames of a detection that put the head below the feet
    config = RunConfig(cutoff=None, outlier_sigma=0.0, max_gap=0)
    with caplog.at_level(logging.WARNING, logger="kinelift.pipeline.run"):
        out = _process(t.replace(positions=some), config)
    assert "head is below their ankles in 5 of 90 frames" in caplog.text
    assert np.isnan(out.positions[40:45]).all() and np.isfinite(out.positions[:40]).all() and np.isfinite(out.positions[45:]).all()


def _side_view_walk(seed: int, *, double_count: bool):
    """A generated walk seen from the side (COCO-17 pixels) with detector noise, every clip double
    counted or none: the clean pixels and the corrupted tracks."""
    import torch

    from kinelift.core.keypoint_sets import get_keypoint_set
    from kinelift.lifting.cameras import look_at, project
    from kinelift.lifting.corruption import DetectorNoise
    from kinelift.lifting.motions import procedural_gait
    from kinelift.skeleton.builtin import builtin_model
    from kinelift.skeleton.keypoint_maps import KeypointModel

    rng = np.random.default_rng(seed)
    coco = get_keypoint_set("COCO-17")
    motion = procedural_gait(rng, fps=30.0, seconds=6.0, running=False)
    with torch.no_grad():
        xyz = KeypointModel(builtin_model(), "COCO-17")(torch.as_tensor(motion.coordinates)).numpy()
    centre = xyz.reshape(-1, 3).mean(0)
    clean = project(look_at(centre + np.array([0.0, 0.0, 6.0]), centre, focal=1000.0, image_size=(1920, 1080)), xyz)
    noise = DetectorNoise(noise=(0.004, 0.004), jitter=0.0, outlier_rate=0.0, swap_rate=0.0, drop_rate=0.0, gap_rate=0.0,
                          double_count_rate=1.0 if double_count else 0.0)  # fmt: skip
    out, conf = noise.apply(clean, coco, rng)
    return clean, Tracks(out, keypoints=coco, confidence=conf, fps=30.0)


def _knee_rmse(points: np.ndarray, clean: np.ndarray) -> float:
    """2D knee angle RMSE (deg) of COCO-17 pixels against the clean ones, both legs."""
    errors = []
    for h, k, a in ((11, 13, 15), (12, 14, 16)):
        def angle(p):
            u, v = p[:, h] - p[:, k], p[:, a] - p[:, k]
            return np.degrees(np.arccos(np.clip((u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1), -1, 1)))
        errors.append(angle(points) - angle(clean))
    return float(np.sqrt(np.nanmean(np.concatenate(errors) ** 2)))


def test_double_counted_sets_missing_the_point_that_jumped_onto_its_partner():
    from kinelift.processing import double_counted

    t = np.arange(20.0)
    stance = np.stack([np.full(20, 100.0), np.full(20, 300.0)], -1)
    swing = np.stack([-300.0 + 10.0 * t, np.full(20, 300.0)], -1)  # far behind, slowly coming
    xy = np.stack([swing, stance], 1)
    on_partner = xy.copy()
    on_partner[5:8, 0] = stance[5:8] + 1.0
    assert np.flatnonzero(double_counted(on_partner, [(0, 1)], scale=300.0)[:, 0]).tolist() == [5, 6, 7]
    assert not double_counted(on_partner, [(0, 1)], scale=300.0)[:, 1].any()  # the partner stays
    longer = xy.copy()
    longer[5:15, 0] = stance[5:15] + 1.0  # ten frames together: feet together, not a detector's slip
    assert not double_counted(longer, [(0, 1)], scale=300.0).any()
    together = xy.copy()
    together[:, 0, 0] = np.r_[np.linspace(0.0, 99.0, 8), np.full(4, 99.0), np.linspace(99.0, 0.0, 8)]  # brought together and apart, smoothly
    assert not double_counted(together, [(0, 1)], scale=300.0).any()
    edge = xy.copy()
    edge[:3, 0] = stance[:3]  # at the track's start: not judged
    assert not double_counted(edge, [(0, 1)], scale=300.0).any()
    assert not double_counted(on_partner, [(0, 1)], scale=300.0, max_frames=0).any()
    with pytest.raises(ValueRangeError, match="pairs"):
        double_counted(xy, [(0, 0)], scale=300.0)
    with pytest.raises(ValueRangeError, match="scale"):
        double_counted(xy, [(0, 1)], scale=0.0)


def test_double_counting_on_a_generated_side_view_walk_is_set_missing_and_filled_closer_to_the_truth():
    """Side-view walks with double counting in every clip (the renderer of the lifters' training noise):
    the points set missing are mostly the copied ones, and after the gap filling the 2D knee angle is
    closer to the truth on average and in most clips; clips without double counting stay as they were."""
    from kinelift.processing import tracks_drop_double_counted

    before, after, hits, drops = [], [], 0, 0
    for seed in range(12):
        clean, tracks = _side_view_walk(seed, double_count=True)
        fixed, n = tracks_drop_double_counted(tracks)
        dropped = np.isnan(fixed.positions).any(-1) & np.isfinite(tracks.positions).all(-1)
        copied = np.linalg.norm(tracks.positions - clean, axis=-1) > 0.02 * np.ptp(clean[..., 1])
        assert n == dropped.sum() > 0
        hits, drops = hits + int((dropped & copied).sum()), drops + int(dropped.sum())
        before.append(_knee_rmse(tracks.positions, clean))
        after.append(_knee_rmse(fill_tracks(fixed, method="cubic", max_gap=8).positions, clean))
    assert hits / drops > 0.7, (hits, drops)
    assert np.mean(after) < np.mean(before) - 0.5 and np.sum(np.array(after) < np.array(before)) >= 8, (before, after)
    for seed in range(3):
        clean, tracks = _side_view_walk(seed, double_count=False)
        fixed, _ = tracks_drop_double_counted(tracks)
        assert abs(_knee_rmse(fill_tracks(fixed, method="cubic", max_gap=8).positions, clean) - _knee_rmse(tracks.positions, clean)) < 0.2


def test_tracks_drop_double_counted_needs_legs_and_2d_and_the_main_job_can_switch_it_off():
    from kinelift.pipeline.config import RunConfig
    from kinelift.processing import tracks_drop_double_counted

    arms = Tracks(np.zeros((5, 2, 2)), keypoints=["right_wrist", "left_wrist"], fps=30.0)
    assert tracks_drop_double_counted(arms) == (arms, 0)
    with pytest.raises(ValueRangeError, match="2D image tracks"):
        tracks_drop_double_counted(Tracks(np.zeros((3, 6, 3)), keypoints="LOWER-6", fps=30.0, units="m", coordinate_frame="ground"))
    xy = np.zeros((12, 6, 2))  # LOWER-6: the right ankle on the left foot for frames 4-6
    xy[:, 2], xy[:, 3], xy[:, 1], xy[:, 4] = [100, 100], [110, 100], [60, 200], [110, 200]
    xy[:, 0], xy[:, 5] = [20, 280], [110, 300]
    xy[4:7, 0] = xy[4:7, 5]
    assert tracks_drop_double_counted(Tracks(xy, keypoints="LOWER-6", fps=30.0))[1] == 3
    slow = Tracks(xy, keypoints="LOWER-6", fps=10.0)  # too slow: a swinging foot's step is as long as a jump
    assert tracks_drop_double_counted(slow) == (slow, 0)
    with pytest.raises(ValueRangeError, match="max_double_count_frames"):
        RunConfig(max_double_count_frames=-1)
    assert RunConfig(max_double_count_frames=0).max_double_count_frames == 0
