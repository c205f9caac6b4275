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
