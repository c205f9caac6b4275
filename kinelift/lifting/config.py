"""Configuration of the lifter, its loss, its training data and its training, as frozen dataclasses.

A TOML file for ``kinelift train-lifter`` has one table per dataclass (every key optional)::

    [model]        # LifterConfig
    keypoints = "COCO-17"
    architecture = "conv"          # or "transformer"
    filter_widths = [3, 3, 3, 3]   # receptive field 81
    channels = 256
    [loss]         # LossWeights
    joints = 1.0
    [data]         # DataConfig
    n_squats = 400
    [training]     # TrainingConfig
    steps = 3000
    out_dir = "runs/coco17"

Examples
--------
>>> cfg = config_from_dict({"model": {"keypoints": "LOWER-6", "filter_widths": [3, 3, 3]}})
>>> cfg.model.receptive_field, cfg.loss.markers
(27, 2.0)
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from kinelift.errors import ValueRangeError
from kinelift.io.toml_config import read_toml, tables_to_dataclasses
from kinelift.lifting.cameras import CameraDraw
from kinelift.lifting.corruption import DetectorNoise

__all__ = ["LifterConfig", "LossWeights", "DataStage", "DataConfig", "TrainingConfig", "LiftTrainingSetup", "config_from_dict", "load_config"]


@dataclass(frozen=True)
class LifterConfig:
    """The network: input keypoint set, architecture and size.

    ``architecture`` is ``"conv"`` (dilated temporal convolutions; receptive field = product of
    ``filter_widths``) or ``"transformer"`` (window of ``transformer_window`` frames).
    ``fps`` is the frame rate the network is trained at; inference resamples other rates to it.
    ``output`` is ``"coordinates"`` (every 3D point through the skeletal model) or ``"points"``
    (the model's joint centres, landmarks and keypoints also as free 3D points, the model's
    forward kinematics plus a learned correction, to be fitted by the skeletal model afterwards:
    :func:`kinelift.lifting.refinement.fit_to_points`; ``kinelift.lift`` uses its coordinates).
    """

    keypoints: str = "COCO-17"
    architecture: str = "conv"
    filter_widths: tuple[int, ...] = (3, 3, 3, 3)
    channels: int = 256
    dropout: float = 0.25
    causal: bool = False
    transformer_window: int = 81
    transformer_dim: int = 128
    transformer_heads: int = 4
    transformer_layers: int = 4
    fps: float = 30.0
    output: str = "coordinates"

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_widths", tuple(int(w) for w in self.filter_widths))
        if self.output not in ("coordinates", "points"):
            raise ValueRangeError("output", expected="'coordinates' or 'points'", got=self.output)
        if self.architecture not in ("conv", "transformer"):
            raise ValueRangeError("architecture", expected="'conv' or 'transformer'", got=self.architecture)
        if self.channels < 1 or not 0 <= self.dropout < 1 or self.fps <= 0:
            raise ValueRangeError("channels/dropout/fps", expected="channels >= 1, 0 <= dropout < 1, fps > 0",
                                  got=(self.channels, self.dropout, self.fps))  # fmt: skip

    @property
    def receptive_field(self) -> int:
        return math.prod(self.filter_widths) if self.architecture == "conv" else self.transformer_window


@dataclass(frozen=True)
class LossWeights:
    """D3KE-style loss weights: root-relative L1 on joint centres, markers, body (segment) scales,
    coordinates; the up-vector term; and the optional 2D reprojection term (off by default)."""

    joints: float = 1.0
    markers: float = 2.0
    scales: float = 0.1
    coordinates: float = 0.01
    up: float = 0.1
    reprojection: float = 0.0

    def __post_init__(self) -> None:
        bad = {f.name: getattr(self, f.name) for f in fields(self) if not getattr(self, f.name) >= 0}
        if bad:
            raise ValueRangeError("loss weights", expected="numbers >= 0", got=bad)


@dataclass(frozen=True)
class DataStage:
    """A change of the training data from step ``from_step`` (0-based, like
    :meth:`TrainingConfig.learning_rate`): the motion and rendering counts it gives replace those in
    force before it; the ones it leaves as ``None`` carry over.

    Only counts can change. The seed, the test fraction and the files stay those of the
    :class:`DataConfig`, so that a motion keeps its split in every stage (the procedural motions
    are drawn in order from one seed: squat ``i`` is the same motion in every stage, and a
    standing or stepping motion behind a changed count is a new draw).
    """

    from_step: int
    n_squats: int | None = None
    n_standing: int | None = None
    n_stepping: int | None = None
    n_gait: int | None = None
    n_single_leg: int | None = None
    n_crouch: int | None = None
    clips_per_motion: int | None = None
    clips_per_file: int | None = None
    library_clips: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.from_step, int) or self.from_step < 1:
            raise ValueRangeError("data.stages.from_step", expected="a whole step number >= 1", got=self.from_step)
        bad = {k: v for k, v in self.changes().items() if not isinstance(v, int) or v < 0}
        if bad:
            raise ValueRangeError(f"data.stages (from step {self.from_step})", expected="whole counts >= 0", got=bad)

    def changes(self) -> dict[str, int]:
        """The counts this stage sets."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "from_step" and getattr(self, f.name) is not None}


def _stage(value: Any, index: int) -> DataStage:
    if isinstance(value, DataStage):
        return value
    name = f"data.stages[{index}]"
    if not isinstance(value, dict):
        raise ValueRangeError(name, expected="a table (TOML [[data.stages]]) with from_step and counts", got=value)
    if "from_step" not in value:
        raise ValueRangeError(name, expected="a from_step key", got=value)
    return tables_to_dataclasses({name: value}, {name: DataStage})[name]  # unknown keys raise there


@dataclass(frozen=True)
class DataConfig:
    """Generated training data: procedural motions per kind, clips per motion, held-out files.

    The procedural kinds (:mod:`kinelift.lifting.motions`): ``n_squats``, ``n_standing``,
    ``n_stepping``, ``n_gait`` (walking and running), ``n_single_leg`` (one-leg stance with
    trunk lean) and ``n_crouch`` (crouch gait, :func:`~kinelift.lifting.motions.procedural_gait`'s
    ``crouch``; drawn from a stream of its own, so that adding them leaves the others as they were).

    ``files`` lists real coordinate files as ``[path, source_model]`` pairs, or
    ``[path, source_model, "degrees"]`` for old SIMM files whose header does not give the angle
    unit (relative paths are taken from the config file's folder); those whose name contains one of ``test_files`` go to
    the test split only, like ``test_fraction`` of the procedural motions. Files that do not
    exist are skipped with a warning (the shared data is not on every machine).
    ``clean_rate`` and ``flat_confidence_rate`` are the fractions of clips rendered as careful
    annotations and with confidences unrelated to the error, ``double_count_rate`` the fraction
    with spans where both sides' ankle (or knee and ankle) sit on one leg
    (:class:`~kinelift.lifting.corruption.DetectorNoise`, :meth:`noise_model`).
    ``hip_spread`` ``(low, high)``: each clip's hip keypoints are rendered that many times as far
    from their midpoint as the model's hip joint centres, drawn uniformly per clip (detectors put
    the hips wider: :func:`~kinelift.lifting.corruption.spread_hips`); a fixed spread (``low ==
    high``; ``(1, 1)``, the default) draws nothing, so the clips are otherwise the same.
    ``keypoint_offset`` (m): each clip's keypoints are rendered displaced by an offset fixed over the
    clip, in the pelvis's frame, each axis drawn from a normal distribution of this SD per
    keypoint: a detector's own convention of where a joint is (real detections sit a few cm from
    the model's joint centres, and not at random from frame to frame: docs/lift.md, "The fit's
    depth prior, measured again"); 0, the default, draws nothing.
    ``upright_knees``: the procedural people stand with straight or slightly hyperextended knees
    and a third of the one-leg motions keep the free leg straight (the default); ``false`` draws
    the knees of kinelift 0.3.3 (standing flexed 0-15 deg, squats from exactly 0), with that
    version's random stream, so that the configs trained on it make the same data
    (:mod:`kinelift.lifting.motions`). ``straight_free_legs`` (with ``upright_knees = false``): the
    share of the one-leg motions whose free leg stays straight (0-10 deg; the default 0 keeps
    0.3.3's stream: every free leg bent).

    ``library`` is a real motion library (:func:`kinelift.pipeline.motion_library.build_motion_library`,
    ``kinelift motion-library``; relative to the config file's folder): its training subjects'
    motions are rendered ``library_clips`` times each, its held-out subjects' go to the test split.
    ``library_family_clips`` renders the motions of some families more (or less) often, as
    ``{family: count}`` (TOML ``[data.library_family_clips]``, families of
    :data:`~kinelift.lifting.motions.MOTION_FAMILIES`): the families real data holds few of
    (walking, running, kicks) would otherwise be a few percent of the windows.
    A library that is not there is skipped with a warning.

    ``cameras``: the ranges each rendering's camera is drawn from
    (:class:`~kinelift.lifting.cameras.CameraDraw`, TOML ``[data.cameras]`` with ``image_sizes``,
    ``field_of_view_deg`` and ``across``); the default is the training data's draw of
    :func:`~kinelift.lifting.cameras.random_cameras`.

    ``stages`` grows the data during training (:class:`DataStage`, TOML ``[[data.stages]]``): the
    counts above hold from step 0, and each stage changes some of them from its ``from_step``
    (:meth:`at_step`); ``kinelift train-lifter`` rebuilds the clips there.

    Examples
    --------
    >>> data = DataConfig(n_squats=100, stages=[{"from_step": 2000, "n_squats": 400}, {"from_step": 3000, "clips_per_motion": 2}])
    >>> [(d.n_squats, d.clips_per_motion) for d in (data.at_step(0), data.at_step(2000), data.at_step(5000))]
    [(100, 3), (400, 3), (400, 2)]
    """

    n_squats: int = 300
    n_standing: int = 40
    n_stepping: int = 40
    n_gait: int = 0
    n_single_leg: int = 0
    n_crouch: int = 0
    clips_per_motion: int = 3
    clips_per_file: int = 12
    height_mean: float = 1.72
    height_sd: float = 0.09
    segment_sd: float = 0.04
    test_fraction: float = 0.1
    files: tuple[tuple[str, ...], ...] = ()
    test_files: tuple[str, ...] = ("squats1_videoAndMocap", "crouch4")
    clean_rate: float = 0.0
    flat_confidence_rate: float = 0.0
    double_count_rate: float = 0.0
    hip_spread: tuple[float, float] = (1.0, 1.0)
    keypoint_offset: float = 0.0
    upright_knees: bool = True
    straight_free_legs: float = 0.0
    seed: int = 0
    stages: tuple[DataStage, ...] = ()
    library: str = ""
    library_clips: int = 4
    library_family_clips: dict[str, int] | tuple[tuple[str, int], ...] = ()
    cameras: CameraDraw = CameraDraw()

    def __post_init__(self) -> None:
        from kinelift.lifting.motions import MOTION_FAMILIES

        if isinstance(self.cameras, dict):
            unknown = sorted(set(self.cameras) - {f.name for f in fields(CameraDraw)})
            if unknown:
                raise ValueRangeError("data.cameras", expected=f"keys of {[f.name for f in fields(CameraDraw)]}", got=unknown)
            object.__setattr__(self, "cameras", CameraDraw(**self.cameras))
        elif not isinstance(self.cameras, CameraDraw):
            raise ValueRangeError("data.cameras", expected="a table of image_sizes, field_of_view_deg and across", got=self.cameras)

        if not isinstance(self.library_clips, int) or self.library_clips < 0:
            raise ValueRangeError("data.library_clips", expected="a whole count >= 0", got=self.library_clips)
        per_family = self.library_family_clips
        pairs = per_family.items() if isinstance(per_family, dict) else per_family
        try:
            pairs = tuple(sorted((str(f), c) for f, c in pairs))
        except (TypeError, ValueError):
            raise ValueRangeError("data.library_family_clips", expected="a table {family = count}", got=per_family) from None
        bad = [(f, c) for f, c in pairs if f not in MOTION_FAMILIES or not isinstance(c, int) or isinstance(c, bool) or c < 0]
        if bad:
            raise ValueRangeError("data.library_family_clips", expected=f"whole counts >= 0 for families of {MOTION_FAMILIES}", got=bad)
        object.__setattr__(self, "library_family_clips", pairs)
        object.__setattr__(self, "stages", tuple(_stage(v, i) for i, v in enumerate(self.stages)))
        starts = [stage.from_step for stage in self.stages]
        if starts != sorted(set(starts)):
            raise ValueRangeError("data.stages", expected="stages in increasing order of from_step", got=starts)
        object.__setattr__(self, "files", tuple(tuple(str(v) for v in entry) for entry in self.files))
        bad = [e for e in self.files if len(e) not in (2, 3) or (len(e) == 3 and e[2] not in ("degrees", "radians"))]
        if bad:
            raise ValueRangeError("files", expected='[path, source_model] or [path, source_model, "degrees" | "radians"]', got=bad)
        object.__setattr__(self, "test_files", tuple(self.test_files))
        if not 0 <= self.test_fraction < 1:
            raise ValueRangeError("test_fraction", expected="in [0, 1)", got=self.test_fraction)
        self.noise_model()  # validates clean_rate, flat_confidence_rate and double_count_rate
        spread = tuple(float(v) for v in self.hip_spread)
        if len(spread) != 2 or not 0.5 <= spread[0] <= spread[1] <= 3.0:
            raise ValueRangeError("data.hip_spread", expected="[low, high] with 0.5 <= low <= high <= 3", got=self.hip_spread)
        object.__setattr__(self, "hip_spread", spread)
        if not isinstance(self.keypoint_offset, (int, float)) or not 0.0 <= self.keypoint_offset <= 0.2:
            raise ValueRangeError("data.keypoint_offset", expected="an SD in metres in [0, 0.2]", got=self.keypoint_offset)
        if not isinstance(self.straight_free_legs, (int, float)) or not 0.0 <= self.straight_free_legs <= 1.0:
            raise ValueRangeError("data.straight_free_legs", expected="a share in [0, 1]", got=self.straight_free_legs)
        if not isinstance(self.upright_knees, bool):
            raise ValueRangeError("data.upright_knees", expected="true or false", got=self.upright_knees)

    def library_renderings(self, family: str) -> int:
        """How many times each library motion of ``family`` is rendered for training."""
        return dict(self.library_family_clips).get(family, self.library_clips)

    def noise_model(self) -> DetectorNoise:
        """The detector-like corruption of the training clips."""
        return DetectorNoise(clean_rate=self.clean_rate, flat_confidence_rate=self.flat_confidence_rate,
                             double_count_rate=self.double_count_rate)  # fmt: skip

    def at_step(self, step: int) -> DataConfig:
        """The data in force at (0-based) step ``step``: the counts of the last stage begun by then, no stages."""
        values = {}
        for stage in self.stages:
            if stage.from_step <= step:
                values.update(stage.changes())
        return replace(self, stages=(), **values)

    def stage_starts(self) -> tuple[int, ...]:
        """The steps at which the data changes."""
        return tuple(stage.from_step for stage in self.stages)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation: Adam with ``lr`` decaying by ``lr_decay`` per 1,000 steps, multiplied by
    ``warm_restart_factor`` at each step of ``warm_restarts`` (:meth:`learning_rate`; one factor for
    every restart, or a sequence of one factor per restart), batches of ``batch_size`` windows of
    ``chunk`` output frames (``edge_windows`` of them, on average, at the first or last frames of
    their clip: :func:`~kinelift.lifting.data.sample_windows`), checkpoints every
    ``checkpoint_every`` steps. ``init_from`` starts a
    new run (not a resumed one) from saved weights: a keypoint-set name for the shipped lifter or
    a weights file; its network must be the one ``[model]`` describes (fine-tuning), or that
    network for another keypoint set (the shared keypoints' input weights are copied, the new
    ones start at zero: :meth:`~kinelift.lifting.lifter.Lifter.load_other_keypoints`).

    Examples
    --------
    >>> cfg = TrainingConfig(lr=1e-3, lr_decay=0.5, warm_restarts=(2000,), warm_restart_factor=4.0)
    >>> [round(cfg.learning_rate(s), 7) for s in (0, 1000, 1999, 2000, 3000)]
    [0.001, 0.0005, 0.0002502, 0.001, 0.0005]
    >>> cfg = TrainingConfig(lr=1e-3, lr_decay=0.5, warm_restarts=(1000, 2000), warm_restart_factor=(2.0, 8.0))
    >>> [round(cfg.learning_rate(s), 7) for s in (0, 1000, 2000, 3000)]
    [0.001, 0.001, 0.004, 0.002]
    """

    steps: int = 3000
    batch_size: int = 64
    chunk: int = 32
    lr: float = 1e-3
    lr_decay: float = 0.5
    weight_decay: float = 0.0
    seed: int = 0
    out_dir: str = "runs/lifter"
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 500
    eval_every: int = 250
    warm_restarts: tuple[int, ...] = ()
    warm_restart_factor: float | tuple[float, ...] = 1.0
    init_from: str = ""
    edge_windows: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.edge_windows <= 1.0:
            raise ValueRangeError("training.edge_windows", expected="a fraction in [0, 1]", got=self.edge_windows)
        if self.steps < 1 or self.batch_size < 1 or self.chunk < 1 or self.lr <= 0:
            raise ValueRangeError("training", expected="steps, batch_size, chunk >= 1 and lr > 0",
                                  got=(self.steps, self.batch_size, self.chunk, self.lr))  # fmt: skip
        object.__setattr__(self, "warm_restarts", tuple(self.warm_restarts))
        if any(not isinstance(r, int) or r < 1 for r in self.warm_restarts) or list(self.warm_restarts) != sorted(set(self.warm_restarts)):
            raise ValueRangeError("training.warm_restarts", expected="increasing whole step numbers >= 1", got=self.warm_restarts)
        if isinstance(self.warm_restart_factor, list):
            object.__setattr__(self, "warm_restart_factor", tuple(self.warm_restart_factor))
        per_restart = isinstance(self.warm_restart_factor, tuple)
        factors = self.warm_restart_factor if per_restart else (self.warm_restart_factor,)
        if (per_restart and len(factors) != len(self.warm_restarts)) or not all(isinstance(f, (int, float)) and f > 0 for f in factors):
            raise ValueRangeError("training.warm_restart_factor", expected=f"a factor > 0, or one for each of the {len(self.warm_restarts)} warm restarts",
                                  got=self.warm_restart_factor)  # fmt: skip

    def restart_factors(self) -> tuple[float, ...]:
        """The factor of each warm restart, in the order of ``warm_restarts``."""
        if isinstance(self.warm_restart_factor, tuple):
            return self.warm_restart_factor
        return (self.warm_restart_factor,) * len(self.warm_restarts)

    def learning_rate(self, step: int) -> float:
        """The rate of step ``step`` (0-based): ``lr * lr_decay ** (step / 1000)``, times the factor
        of each restart at or before ``step``."""
        return self.lr * self.lr_decay ** (step / 1000.0) * math.prod(f for r, f in zip(self.warm_restarts, self.restart_factors()) if r <= step)


@dataclass(frozen=True)
class LiftTrainingSetup:
    """Everything ``kinelift train-lifter`` needs."""

    model: LifterConfig = field(default_factory=LifterConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def final_data(self) -> DataConfig:
        """The data of the last training step (its test split is the one the held-out evaluation scores)."""
        return self.data.at_step(self.training.steps - 1)


_TABLES = {"model": LifterConfig, "loss": LossWeights, "data": DataConfig, "training": TrainingConfig}


def config_from_dict(values: dict[str, Any], *, source: str = "config") -> LiftTrainingSetup:
    """Build a :class:`LiftTrainingSetup` from nested tables; unknown tables or keys raise."""
    return LiftTrainingSetup(**tables_to_dataclasses(values, _TABLES, source=source))


def load_config(path: str | os.PathLike[str]) -> LiftTrainingSetup:
    """Read a TOML training configuration; the paths of ``data.files``, ``data.library`` and a
    ``training.init_from`` weights file are taken from its folder."""
    path = os.fspath(path)
    values = read_toml(path, what="a TOML lifter configuration")
    base = os.path.dirname(os.path.abspath(path))
    files = values.get("data", {}).get("files", [])
    if files:
        values["data"]["files"] = [[os.path.join(base, e[0]), os.path.join(base, e[1]), *e[2:]] for e in files]
    library = values.get("data", {}).get("library", "")
    if isinstance(library, str) and library:
        values["data"]["library"] = os.path.join(base, library)
    start = values.get("training", {}).get("init_from", "")
    if isinstance(start, str) and start.endswith(".pt"):
        values["training"]["init_from"] = os.path.join(base, start)
    return config_from_dict(values, source=path)
