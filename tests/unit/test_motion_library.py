"""The lifter's real motion library: the Plug-in-Gait fit, the DeepMimic mapping, the library files and their use."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kinelift.core.tracks import Tracks
from kinelift.errors import FileFormatError, OutputExistsError, ValueRangeError
from kinelift.ik.marker_fit import fit_plug_in_gait_motion, plug_in_gait_tracks, register_plug_in_gait_subject
from kinelift.io.deepmimic import DEEPMIMIC_LAYOUT, DeepMimicMotion, read_deepmimic_motion
from kinelift.lifting.config import DataConfig, TrainingConfig
from kinelift.lifting.evaluation import pearson_r, standing_frames
from kinelift.lifting.motions import read_motion_library
from kinelift.pipeline.motion_library import build_motion_library, deepmimic_coordinates, deepmimic_joint_residuals
from kinelift.skeleton.builtin import builtin_spec
from kinelift.skeleton.model import SkeletalModel
from kinelift.skeleton.plug_in_gait import PLUG_IN_GAIT_MARKERS, plug_in_gait_spec

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
UIPRMD_ORDER = (
    "LFHD RFHD LBHD RBHD C7 T10 CLAV STRN RBAK LSHO LUPA LELB LFRM LWRA LWRB LFIN RSHO RUPA RELB RFRM RWRA RWRB RFIN "
    "LASI RASI LPSI RPSI LTHI LKNE LTIB LANK LHEE LTOE RTHI RKNE RTIB RANK RHEE RTOE"
).split()


def _subject(height: float = 1.7) -> SkeletalModel:
    return SkeletalModel.from_spec(plug_in_gait_spec(builtin_spec(height=height, hip_half_width=0.09), pelvis_width=0.25, pelvis_depth=0.17))


def _poses(model: SkeletalModel, n: int, rng: np.random.Generator) -> torch.Tensor:
    """A squat-like motion with some arm and trunk motion, from standing."""
    q = model.default_coordinates()[None].repeat(n, 1).clone()
    names = model.coordinate_names
    phase = 0.5 * (1 - np.cos(np.linspace(0, 2 * np.pi, n)))
    for s in ("r", "l"):
        q[:, names.index(f"knee_angle_{s}")] = torch.as_tensor(1.6 * phase)
        q[:, names.index(f"hip_flexion_{s}")] = torch.as_tensor(1.3 * phase)
        q[:, names.index(f"ankle_angle_{s}")] = torch.as_tensor(0.4 * phase)
        q[:, names.index(f"hip_adduction_{s}")] = -0.1
        q[:, names.index(f"arm_flex_{s}")] = torch.as_tensor(1.2 * phase)
    q[:, names.index("lumbar_extension")] = torch.as_tensor(-0.3 * phase)
    q[:, names.index("pelvis_rotation")] = float(rng.uniform(-3, 3))
    return q


def _markers(model: SkeletalModel, q: torch.Tensor) -> Tracks:
    xyz = model(q).markers.detach().numpy()[:, -len(PLUG_IN_GAIT_MARKERS) :]
    return Tracks(xyz, keypoints=list(PLUG_IN_GAIT_MARKERS), fps=50.0, units="m", coordinate_frame="ground")


def test_plug_in_gait_fit_recovers_the_motion_of_a_known_subject():
    truth = _subject(1.7)
    q = _poses(truth, 40, np.random.default_rng(0))
    markers = _markers(truth, q)
    subject = register_plug_in_gait_subject([markers[np.arange(1)]])
    assert abs(subject.pelvis_width - 0.25) < 1e-9 and subject.static_rms < 0.005
    fit = fit_plug_in_gait_motion(subject, markers)
    assert fit.kept.all() and fit.n_dropped == 0
    assert np.nanmax(fit.lower_body_rms_error) < 0.01
    names = fit.ik.coordinate_names
    for c in ("knee_angle_r", "hip_flexion_l", "ankle_angle_r"):
        err = np.degrees(np.abs(fit.ik.coordinates[:, names.index(c)] - q[:, truth.coordinate_names.index(c)].numpy()))
        assert err.max() < 3.0, c


def test_plug_in_gait_fit_drops_frames_it_cannot_explain():
    truth = _subject()
    q = _poses(truth, 30, np.random.default_rng(1))
    markers = _markers(truth, q)
    subject = register_plug_in_gait_subject([markers[np.arange(1)]])
    bad = np.asarray(markers.positions).copy()
    bad[10:14, PLUG_IN_GAIT_MARKERS.index("RKNE")] += 0.4  # a marker swapped onto the other leg's side
    bad[10:14, PLUG_IN_GAIT_MARKERS.index("LASI")] -= 0.3
    fit = fit_plug_in_gait_motion(subject, Tracks(bad, keypoints=list(PLUG_IN_GAIT_MARKERS), fps=50.0, units="m", coordinate_frame="ground"))
    assert not fit.kept[10:14].any() and fit.kept[:8].all() and fit.n_dropped == 4
    with pytest.raises(ValueRangeError):
        fit_plug_in_gait_motion(subject, markers, max_rms=0.0)


def test_plug_in_gait_tracks_turns_a_z_up_lab_and_adds_the_wrists():
    names = ["LASI", "RASI", "LPSI", "RPSI", "LWRA", "LWRB"]
    p = np.array([[[0.1, 0.12, 1.0], [0.1, -0.12, 1.0], [-0.05, 0.05, 1.0], [-0.05, -0.05, 1.0], [0.0, 0.3, 0.8], [0.0, 0.4, 0.8]]])
    out = plug_in_gait_tracks(Tracks(p, keypoints=names, fps=100.0, units="m", coordinate_frame="ground"), up="z")
    rasi = np.asarray(out.select(["RASI"]).positions)[0, 0]
    np.testing.assert_allclose(rasi, [0.1, 1.0, 0.12])  # y up, +z to the right
    np.testing.assert_allclose(np.asarray(out.select(["LWRI"]).positions)[0, 0], [0.0, 0.8, -0.35])
    assert np.isnan(np.asarray(out.select(["RKNE"]).positions)).all()
    with pytest.raises(Exception, match="pelvis"):
        plug_in_gait_tracks(Tracks(p[:, 1:], keypoints=names[1:], fps=100.0, units="m", coordinate_frame="ground"))


def _random_unit_quaternions(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = rng.uniform(0, scale, n)
    return np.concatenate([np.cos(angle / 2)[:, None], np.sin(angle / 2)[:, None] * axis], axis=1)


def _deepmimic_rows(rng: np.random.Generator, n: int) -> list[list[float]]:
    rows = []
    for t in range(n):
        row = [1 / 30 if t < n - 1 else 0.0]
        for name, width in DEEPMIMIC_LAYOUT:
            if name == "root_position":
                row += [0.1 * t, 0.9, 0.0]
            elif width == 4:
                row += _random_unit_quaternions(rng, 1, 1.0)[0].tolist()
            else:
                row += [float(-rng.uniform(0, 1.5) if "knee" in name else rng.uniform(0, 1.5))]
        rows.append(row)
    return rows


def test_deepmimic_mapping_reproduces_the_humanoid_legs(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "clip.txt.gz"
    with gzip.open(path, "wt") as f:
        json.dump({"Loop": "none", "Frames": _deepmimic_rows(rng, 12)}, f)
    motion = read_deepmimic_motion(path)
    assert motion.fps == pytest.approx(30.0) and motion.n_frames == 12
    q, names = deepmimic_coordinates(motion)
    # random hip rotations and knee angles: the built-in legs reach the humanoid's joint centres exactly
    assert deepmimic_joint_residuals(motion, q).max() < 1e-9
    assert np.all(q[:, names.index("knee_angle_r")] > 0)  # the humanoid's negative knee angles are flexion
    # a wrong sign would not: the check can fail
    wrong = q.copy()
    wrong[:, names.index("hip_adduction_l")] *= -1
    assert deepmimic_joint_residuals(motion, wrong).max() > 1e-3


@pytest.mark.parametrize(
    "content, match",
    [
        ("not json", "JSON"),
        (json.dumps({"Frames": []}), "Frames"),
        (json.dumps({"Frames": [[0.1] * 10]}), "frame 0"),
        (json.dumps({"Frames": [[1 / 30] + [0.3] * 43, [0.0] + [0.3] * 43]}), "quaternions"),
        (json.dumps({"Frames": [[1 / 30] + [True] * 43]}), "frame 0"),
        (json.dumps({"Frames": [[-1.0] + [0.0] * 3 + [1.0, 0, 0, 0] * 10, [0.0] + [0.0] * 3 + [1.0, 0, 0, 0] * 10]}), "durations"),
    ],
)
def test_deepmimic_reader_refuses_malformed_files(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(FileFormatError, match=match):
        read_deepmimic_motion(path)


def _write_uiprmd(root: Path, subject: int, movement: int, positions: np.ndarray, *, rep: int = 1) -> None:
    folder = root / "Segmented Movements" / "Vicon" / "Positions"
    folder.mkdir(parents=True, exist_ok=True)
    (root / "Incorrect Segmented Movements" / "Vicon" / "Positions").mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / f"m{movement:02d}_s{subject:02d}_e{rep:02d}_positions.txt.gz", "wt") as f:
        np.savetxt(f, positions.reshape(len(positions), -1), delimiter=",", fmt="%.1f")


def _uiprmd_rows(model: SkeletalModel, q: torch.Tensor) -> np.ndarray:
    """Marker rows in UI-PRMD's layout: mm, z up (y to the left), lost markers as zeros."""
    tracks = _markers(model, q)
    xyz = np.asarray(tracks.positions)
    lab = np.stack([xyz[..., 0], -xyz[..., 2], xyz[..., 1]], axis=-1) * 1000.0
    rows = np.zeros((len(q), len(UIPRMD_ORDER), 3))
    for i, name in enumerate(UIPRMD_ORDER):
        if name in PLUG_IN_GAIT_MARKERS:
            rows[:, i] = lab[:, PLUG_IN_GAIT_MARKERS.index(name)]
        elif name[1:] in ("WRA", "WRB"):
            rows[:, i] = lab[:, PLUG_IN_GAIT_MARKERS.index(name[0] + "WRI")] + (15.0 if name.endswith("A") else -15.0)
    rows[5, UIPRMD_ORDER.index("STRN")] = 0.0  # a lost marker, as Vicon writes it
    return rows


def test_library_is_built_read_and_split_by_subject(tmp_path):
    rng = np.random.default_rng(3)
    data = tmp_path / "data"
    for subject, height in ((1, 1.65), (6, 1.8)):
        model = _subject(height)
        _write_uiprmd(data / "ui-prmd-deep-squat", subject, 1, _uiprmd_rows(model, _poses(model, 40, rng)))
    cmu = data / "cmu-mocap-deepmimic-jump"
    (cmu / "motions").mkdir(parents=True)
    with gzip.open(cmu / "motions" / "02_01.txt.gz", "wt") as f:
        json.dump({"Loop": "none", "Frames": _deepmimic_rows(rng, 20)}, f)
    with gzip.open(cmu / "motions" / "07_01.txt.gz", "wt") as f:
        json.dump({"Loop": "none", "Frames": _deepmimic_rows(rng, 20)}, f)
    (cmu / "index.csv").write_text("trial,subject,description,category\n02_01,2,walk,walk\n07_01,7,walk,walk\n88_01,88,flip,acrobatics\n")
    out = tmp_path / "library"
    motions = build_motion_library(data, out, sources=("ui-prmd", "cmu"), progress=False)
    assert sorted(m.name for m in motions) == ["cmu_02_01", "cmu_07_01", "uiprmd_m01_s01_e01", "uiprmd_m01_s06_e01"]
    uiprmd = [m for m in motions if m.source == "ui-prmd"]
    assert all(m.dropped_frames == 0 and m.residual_rms_mm < 10 for m in uiprmd)
    index = (out / "index.csv").read_text().splitlines()
    assert index[0].startswith("name,source,subject,movement,family,split,frames,fps,dropped_frames,residual_rms_mm")
    train = read_motion_library(out, split="train")
    test = read_motion_library(out, split="test")
    assert {m.metadata["subject"] for m in train} == {"s01", "7"} and {m.metadata["subject"] for m in test} == {"s06", "2"}
    assert all(m.kind == "library" and m.fps == 30.0 for m in train + test)
    squat = next(m for m in train if m.metadata["family"] == "squat")
    knee = np.degrees(squat.coordinates[:, SkeletalModel.from_spec(builtin_spec()).coordinate_index("knee_angle_r")])
    assert 85 < knee.max() < 95 and knee.min() < 3  # the synthetic squat reached 1.6 rad
    with pytest.raises(OutputExistsError):
        build_motion_library(data, out, sources=("cmu",), progress=False)
    with pytest.raises(FileFormatError):
        read_motion_library(tmp_path / "nowhere")
    with pytest.raises(ValueRangeError):
        read_motion_library(out, split="validation")


def test_library_motions_join_the_training_data_by_subject(tmp_path):
    rng = np.random.default_rng(4)
    data = tmp_path / "data"
    cmu = data / "cmu-mocap-deepmimic-jump"
    (cmu / "motions").mkdir(parents=True)
    for trial in ("02_01", "07_01"):
        with gzip.open(cmu / "motions" / f"{trial}.txt.gz", "wt") as f:
            json.dump({"Loop": "none", "Frames": _deepmimic_rows(rng, 40)}, f)
    (cmu / "index.csv").write_text("trial,subject,description,category\n02_01,2,walk,walk\n07_01,7,run,run\n")
    build_motion_library(data, tmp_path / "lib", sources=("cmu",), progress=False)
    from kinelift.lifting.data import motion_split

    cfg = DataConfig(n_squats=2, n_standing=0, n_stepping=0, test_fraction=0.0, library=str(tmp_path / "lib"), library_clips=3)
    train, test = motion_split(cfg, 30.0)
    assert [m.name for m in train if m.kind == "library"] == ["cmu_07_01"] and [m.name for m in test] == ["cmu_02_01"]
    with pytest.raises(ValueRangeError):
        DataConfig(library_clips=-1)
    assert TrainingConfig(init_from="LOWER-6").init_from == "LOWER-6"


def test_pearson_and_standing_frames():
    x = np.linspace(0, 1, 50)
    assert pearson_r(2 * x + 1, x) == pytest.approx(1.0) and pearson_r(-x, x) == pytest.approx(-1.0)
    assert np.isnan(pearson_r(np.ones(5), x[:5]))
    knee = np.deg2rad(np.array([[2.0, 3.0], [2.0, 30.0], [9.0, 9.0]]))
    hip = np.deg2rad(np.array([[5.0, 5.0], [5.0, 5.0], [20.0, 0.0]]))
    assert standing_frames(knee, hip).tolist() == [True, False, False]


@pytest.mark.skipif(not (SHARED / "ui-prmd-movements").is_dir(), reason="../shared/data/ui-prmd-movements is not on this machine")
def test_real_uiprmd_subject_fits_within_a_centimetre_or_two():
    from kinelift.analysis.classify import load_uiprmd

    squats = load_uiprmd(SHARED / "ui-prmd-deep-squat", movement=1, as_tracks=True)
    statics = [plug_in_gait_tracks(s)[np.arange(1)] for s, g in zip(squats.sequences, squats.groups) if g == 4]
    subject = register_plug_in_gait_subject(statics)
    lunges = load_uiprmd(SHARED / "ui-prmd-movements", movement=3, as_tracks=True)
    assert lunges.fps == 50.0  # read from the resampled copy's index
    trial = next(plug_in_gait_tracks(s) for s, g in zip(lunges.sequences, lunges.groups) if g == 4)
    fit = fit_plug_in_gait_motion(subject, trial)
    assert np.median(fit.lower_body_rms_error) < 0.02 and fit.kept.mean() > 0.9
    knee = np.degrees(fit.ik.coordinates[:, fit.ik.coordinate_names.index("knee_angle_l")])
    assert knee.max() > 60  # a lunge bends the knees


def test_deepmimic_motion_dataclass_shapes():
    T = 2
    unit = np.tile([1.0, 0, 0, 0], (T, 1))
    spherical = [n for n, w in DEEPMIMIC_LAYOUT if w == 4]
    motion = DeepMimicMotion("x", 30.0, np.zeros((T, 3)), {n: unit for n in spherical}, {n: np.zeros(T) for n, w in DEEPMIMIC_LAYOUT if w == 1})
    q, names = deepmimic_coordinates(motion)
    assert q.shape == (T, len(names)) and np.allclose(q[:, names.index("pelvis_tilt")], 0.0)


def test_procedural_gait_and_single_leg_stance_cover_their_ranges():
    from kinelift.lifting.motions import _index, procedural_gait, procedural_single_leg

    idx = _index()
    walk = procedural_gait(np.random.default_rng(0), running=False, seconds=4.0)
    run = procedural_gait(np.random.default_rng(0), running=True, seconds=4.0)
    for motion, knee_peak in ((walk, (50, 80)), (run, (85, 126))):
        knee = np.degrees(motion.coordinates[:, idx["knee_angle_r"]])
        assert knee_peak[0] < knee.max() < knee_peak[1] and knee.min() < 25
        hip = np.degrees(motion.coordinates[:, idx["hip_flexion_l"]])
        assert hip.max() - hip.min() > 35  # the thigh swings
        travelled = np.hypot(*np.ptp(motion.coordinates[[0, -1]][:, [idx["pelvis_tx"], idx["pelvis_tz"]]], axis=0))
        assert travelled > 1.5  # a walk crosses the view
    one_leg = [procedural_single_leg(np.random.default_rng(s), seconds=4.0) for s in range(12)]
    free_side = ["l" if m.metadata["stance_side"] == "r" else "r" for m in one_leg]
    free_knee = np.array([np.degrees(m.coordinates[:, idx[f"knee_angle_{s}"]]).max() for m, s in zip(one_leg, free_side)])
    # most free legs bend; some stay straight, as in a straight-leg raise (which a lifter must not read as bent)
    assert (free_knee > 20).mean() >= 0.5 and (free_knee < 20).any()
    # procedural motions stand with the pelvis tilted forward, as the library's real subjects do
    tilt = np.degrees([np.median(m.coordinates[:, idx["pelvis_tilt"]]) for m in one_leg])
    assert (tilt < 0).mean() >= 0.5


def test_crouch_gait_never_straightens_the_knee_and_leaves_the_normal_stream():
    from kinelift.lifting.config import DataConfig
    from kinelift.lifting.data import motion_split
    from kinelift.lifting.motions import _index, procedural_gait

    idx = _index()
    knees = [idx["knee_angle_r"], idx["knee_angle_l"]]
    for seed in range(8):
        crouch = procedural_gait(np.random.default_rng(seed), crouch=True, seconds=4.0)
        knee = np.degrees(crouch.coordinates[:, knees])
        assert crouch.kind == "walk" and knee.min() > 15.0 and knee.max() - knee.min() > 15.0  # bent throughout, still swinging
        assert 0.55 < crouch.metadata["stride_rate_hz"] < 0.95
        travelled = np.hypot(*np.ptp(crouch.coordinates[[0, -1]][:, [idx["pelvis_tx"], idx["pelvis_tz"]]], axis=0))
        assert travelled > 1.0
        normal = np.degrees(procedural_gait(np.random.default_rng(seed), running=False, seconds=4.0).coordinates[:, knees])
        assert normal.min() < 10.0
    same = [procedural_gait(np.random.default_rng(4), crouch=flag) for flag in (False, False)]
    assert np.array_equal(same[0].coordinates, same[1].coordinates)
    # crouch gaits come from a stream of their own: the other procedural motions stay as they were
    base = DataConfig(n_squats=3, n_standing=2, n_stepping=2, n_gait=3, n_single_leg=2, test_fraction=0.0)
    with_crouch = DataConfig(n_squats=3, n_standing=2, n_stepping=2, n_gait=3, n_single_leg=2, n_crouch=4, test_fraction=0.0)
    before, after = motion_split(base, 30.0)[0], motion_split(with_crouch, 30.0)[0]
    assert [m.name for m in after] == [m.name for m in before] + [f"crouch_{i}" for i in range(4)]
    assert all(np.array_equal(a.coordinates, b.coordinates) for a, b in zip(before, after))


def test_procedural_people_stand_with_straight_or_slightly_hyperextended_knees():
    """The upright knee of real standing (median about -2 deg on the library's training subjects),
    not a flexed one: quiet standing, and a squat's first and last frames, where it stands."""
    from kinelift.lifting.motions import _index, procedural_squats, procedural_standing

    idx = _index()
    knees = [idx["knee_angle_r"], idx["knee_angle_l"]]
    people = [procedural_standing(np.random.default_rng(s), seconds=2.0) for s in range(40)]
    standing = np.degrees(np.concatenate([m.coordinates[:, knees] for m in people]))
    assert -4.0 < np.median(standing) < 1.0 and (standing < 0).mean() > 0.5 and standing.min() >= -9.0 - 1e-9
    squats = [procedural_squats(np.random.default_rng(s)) for s in range(40)]
    ends = np.degrees(np.concatenate([m.coordinates[[0, -1]][:, knees] for m in squats]))
    assert -4.0 < np.median(ends) < 1.0 and np.abs(ends).max() <= 8.0 + 1e-9 and (ends < -0.5).any() and (ends > 0.5).any()


def test_upright_knees_off_draws_the_flexed_knees_of_0_3_3_and_the_config_carries_it():
    """``upright_knees=False`` (``DataConfig.upright_knees = false``): quiet standing with the knees
    flexed 0-15 deg, squats from exactly 0, every free leg of a one-leg motion bent 20 deg or more,
    so that the configs trained on that generator make their data again; a non-boolean is refused."""
    from kinelift.lifting.data import motion_split
    from kinelift.lifting.motions import _index, procedural_single_leg, procedural_squats, procedural_standing

    idx = _index()
    knees = [idx["knee_angle_r"], idx["knee_angle_l"]]
    people = [procedural_standing(np.random.default_rng(s), seconds=2.0, upright_knees=False) for s in range(20)]
    standing = np.degrees(np.concatenate([m.coordinates[:, knees] for m in people]))
    assert standing.min() >= 0.0 and np.median(standing) > 3.0
    squats = [procedural_squats(np.random.default_rng(s), upright_knees=False) for s in range(20)]
    assert all(np.abs(m.coordinates[[0, -1]][:, knees]).max() < 1e-12 for m in squats)
    one_leg = [procedural_single_leg(np.random.default_rng(s), upright_knees=False) for s in range(30)]
    free = [idx["knee_angle_l" if m.metadata["stance_side"] == "r" else "knee_angle_r"] for m in one_leg]
    assert min(np.degrees(m.coordinates[:, k]).max() for m, k in zip(one_leg, free)) >= 20.0
    small = {"n_squats": 3, "n_standing": 3, "n_stepping": 2, "n_gait": 0, "n_single_leg": 2, "test_files": (), "seed": 4}
    old, new = (motion_split(DataConfig(**small, upright_knees=flag), 30.0)[0] for flag in (False, True))
    assert [m.name for m in old] == [m.name for m in new]
    standing_old = [m for m in old if m.name.startswith("standing")]
    assert all(np.degrees(m.coordinates[:, knees]).min() >= 0.0 for m in standing_old)
    with pytest.raises(ValueRangeError, match="upright_knees"):
        DataConfig(upright_knees="no")


def test_uiprmd_loader_reads_lost_markers_as_nan_rates_from_the_index_and_can_skip_short_files(tmp_path):
    from kinelift.analysis.classify import load_uiprmd

    model = _subject()
    rows = _uiprmd_rows(model, _poses(model, 6, np.random.default_rng(5)))
    _write_uiprmd(tmp_path, 1, 2, rows)
    _write_uiprmd(tmp_path, 1, 2, rows[:1], rep=2)  # one frame: unreadable
    with pytest.raises(FileFormatError, match="1 rows"):
        load_uiprmd(tmp_path, movement=2, as_tracks=True)
    data = load_uiprmd(tmp_path, movement=2, as_tracks=True, skip_unreadable=True)
    assert len(data) == 1 and data.fps == 100.0
    strn = np.asarray(data.sequences[0].select(["STRN"]).positions)[:, 0]
    assert np.isnan(strn[5]).all() and np.isfinite(strn[4]).all()
    (tmp_path / "index.csv").write_text("path,fps_here\nSegmented Movements/Vicon/Positions/m02_s01_e01_positions.txt.gz,50\n")
    assert load_uiprmd(tmp_path, movement=2, as_tracks=True, skip_unreadable=True).fps == 50.0
    (tmp_path / "index.csv").write_text("path,fps_here\nx,fifty\n")
    with pytest.raises(FileFormatError, match="fps_here"):
        load_uiprmd(tmp_path, movement=2, skip_unreadable=True)


def test_keypoints_named_like_model_markers_map_onto_them():
    from kinelift.core.keypoint_sets import KeypointSet
    from kinelift.skeleton.keypoint_maps import keypoint_map

    model = _subject()
    kmap = keypoint_map(model, KeypointSet("pig-test", ("RKNE", "LASI", "right_knee")))
    assert [p.source for p in kmap.points] == ["marker RKNE", "marker LASI", "joint knee_r"]
    with pytest.raises(ValueRangeError):
        builtin_spec(hip_half_width=0.5)
    spec = builtin_spec(height=1.7, hip_half_width=0.1)
    hip = next(j for j in spec.joints if j.name == "hip_r")
    assert hip.parent.links[0].translation[2] == pytest.approx(0.1)


def test_a_run_across_a_field_is_rendered_where_the_camera_sees_it():
    from kinelift.lifting.data import _longest_run, render_clip
    from kinelift.lifting.motions import procedural_gait

    assert _longest_run(np.array([True, False, True, True, False])) == (2, 2) and _longest_run(np.zeros(3, bool)) == (0, 0)
    rng = np.random.default_rng(0)
    for seed in range(12):  # 5-s runs travel 15-25 m: more than a camera 2-6 m away sees whole
        clip = render_clip(procedural_gait(np.random.default_rng(seed), running=True, seconds=5.0), "COCO-17", rng=rng)
        assert clip.camera.to_camera(clip.keypoints_3d)[..., 2].min() > 0.3
        assert len(clip.coordinates) == clip.tracks.n_frames >= 16


def test_motion_library_command(tmp_path, capsys):
    from kinelift.cli import main

    cmu = tmp_path / "data" / "cmu-mocap-deepmimic-jump"
    (cmu / "motions").mkdir(parents=True)
    with gzip.open(cmu / "motions" / "07_01.txt.gz", "wt") as f:
        json.dump({"Loop": "none", "Frames": _deepmimic_rows(np.random.default_rng(6), 10)}, f)
    (cmu / "index.csv").write_text("trial,subject,description,category\n07_01,7,walk,walk\n")
    args = ["motion-library", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "lib"), "--sources", "cmu"]
    assert main(args) == 0
    assert "cmu: 1 motions, 10 frames, 0 frames dropped" in capsys.readouterr().out
    assert main(args) == 2  # a library is there: not replaced without --overwrite
    assert main([*args, "--overwrite"]) == 0
    assert main([*args[:-1], "vicon", "--overwrite"]) == 2


def test_library_counts_frames_dropped_before_a_short_first_run(tmp_path):
    model = _subject(1.7)
    rows = _uiprmd_rows(model, _poses(model, 60, np.random.default_rng(7)))
    rows[5:12, UIPRMD_ORDER.index("RKNE")] += 400.0  # 7 frames the fit cannot explain, after a kept run of 5
    _write_uiprmd(tmp_path / "data" / "ui-prmd-deep-squat", 1, 1, rows)
    motions = build_motion_library(tmp_path / "data", tmp_path / "lib", sources=("ui-prmd",), progress=False)
    assert [m.name for m in motions] == ["uiprmd_m01_s01_e01_part2"]
    assert len(motions[0].coordinates) == 48 and motions[0].dropped_frames == 12  # 7 unexplained + 5 in a run too short to use


def test_straight_free_legs_on_the_generator_of_0_3_3():
    """``straight_free_legs`` (with ``upright_knees=False``): that share of the one-leg motions keeps
    the free leg straight (0-10 deg), the rest bend 20 deg or more; the default 0 draws exactly the
    motions of 0.3.3's generator (nothing more is drawn); a share outside [0, 1] is refused."""
    from kinelift.lifting.motions import _index, procedural_single_leg

    idx = _index()

    def free_knee_peaks(**options):
        one_leg = [procedural_single_leg(np.random.default_rng(s), upright_knees=False, **options) for s in range(60)]
        free = [idx["knee_angle_l" if m.metadata["stance_side"] == "r" else "knee_angle_r"] for m in one_leg]
        return one_leg, np.array([np.degrees(m.coordinates[:, k]).max() for m, k in zip(one_leg, free)])

    plain, plain_peaks = free_knee_peaks()
    same, _ = free_knee_peaks(straight_free_legs=0.0)
    assert all(np.array_equal(a.coordinates, b.coordinates) for a, b in zip(plain, same))
    _, peaks = free_knee_peaks(straight_free_legs=0.5)
    straight = peaks <= 10.0 + 1e-9
    assert 0.25 < straight.mean() < 0.75 and (peaks[~straight] >= 20.0).all() and (plain_peaks >= 20.0).all()
    with pytest.raises(ValueRangeError, match="straight_free_legs"):
        DataConfig(straight_free_legs=1.5)
