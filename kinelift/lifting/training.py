"""Training the lifter on generated data: seeded, checkpointed, logged, resumable.

:func:`train_lifter` builds the data (:func:`kinelift.lifting.data.build_datasets`; again at each
step where ``data.stages`` changes it, as a run resumed at that step would, and held-out
evaluations from there score the new test split), trains with
Adam on random windows (the D3KE-style loss of :mod:`kinelift.lifting.loss`, bf16 autocast of the
network on a GPU), evaluates on the held-out motions every ``eval_every`` steps, and writes to
``out_dir``: ``checkpoint.pt`` (resumed from when present), ``log.csv`` (one row per evaluation),
``curves.png`` and the final weights ``lifter.pt`` (:func:`kinelift.lifting.weights.save_lifter`).
Under ``torchrun`` (several processes) the network is wrapped in DistributedDataParallel: every
process draws its own windows (seed + rank) and rank 0 evaluates and writes.

Examples
--------
>>> import tempfile
>>> from kinelift.lifting.config import config_from_dict
>>> setup = config_from_dict({"model": {"keypoints": "LOWER-6", "filter_widths": [3], "channels": 8},
...     "data": {"n_squats": 2, "n_standing": 1, "n_stepping": 1, "clips_per_motion": 1, "test_fraction": 0.5},
...     "training": {"steps": 3, "batch_size": 2, "chunk": 4, "eval_every": 3, "out_dir": tempfile.mkdtemp()}})
>>> result = train_lifter(setup, progress=False)
>>> result.steps, sorted(p.name for p in result.out_dir.iterdir())
(3, ['checkpoint.pt', 'curves.png', 'lifter.pt', 'log.csv'])
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from kinelift._checkpoints import resumable_state
from kinelift._distributed import finish_distributed, init_distributed, local_device
from kinelift.errors import ValueRangeError
from kinelift.io._atomic import atomic_path, save_png, save_rows_csv
from kinelift.lifting.config import LiftTrainingSetup
from kinelift.lifting.data import LiftingClips, build_datasets, sample_windows
from kinelift.lifting.evaluation import evaluate_lifter
from kinelift.lifting.lifter import Lifter
from kinelift.lifting.loss import d3ke_loss
from kinelift.lifting.weights import save_lifter

__all__ = ["TrainingResult", "train_lifter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingResult:
    """Where the run wrote its files, how many steps it made and the last evaluation."""

    out_dir: Path
    weights: Path
    steps: int
    metrics: dict[str, float]


def _batch(clips: LiftingClips, idx: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(clips.features[idx], device=device)


def _targets(lifter: Lifter, clips: LiftingClips, idx: np.ndarray, device: torch.device):
    arrays = (clips.coordinates, clips.root_rotation, clips.up, clips.segment_scales)
    with torch.no_grad():
        return lifter.assemble(*(torch.as_tensor(a[idx], device=device) for a in arrays))


def _plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].semilogy(steps, [r["train_loss"] for r in rows])
    axes[0].set(title="training loss", xlabel="step")
    axes[1].plot(steps, [r["mpjpe_mm"] for r in rows], label="MPJPE")
    axes[1].plot(steps, [r["pa_mpjpe_mm"] for r in rows], label="PA-MPJPE")
    axes[1].set(title="held-out keypoint error", xlabel="step", ylabel="mm")
    axes[1].legend()
    axes[2].plot(steps, [r["mean_angle_rmse_deg"] for r in rows])
    axes[2].set(title="held-out mean angle RMSE", xlabel="step", ylabel="deg")
    for ax in axes:  # thousands: long runs' step numbers would run into each other
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
    fig.tight_layout()
    save_png(fig, path, dpi=100, overwrite=True)


def _datasets(setup: LiftTrainingSetup, step: int, *, progress: bool, device: torch.device) -> tuple[LiftingClips, LiftingClips]:
    data = setup.data.at_step(step)
    train, test = build_datasets(data, setup.model.keypoints, fps=setup.model.fps, progress=progress)
    log.info("from step %d: training on %d frames (%d clips of %d squats, %d standing, %d stepping, %d gait, %d single-leg motions, "
             "the files and the motion library), testing on %d frames (%d clips), %s", step, train.n_frames, train.n_clips,
             data.n_squats, data.n_standing, data.n_stepping, data.n_gait, data.n_single_leg, test.n_frames, test.n_clips, device)  # fmt: skip
    return train, test


_FREE_SETTINGS = ("training.steps", "training.device", "training.checkpoint_every", "training.eval_every")
"""Settings a resumed run may change: the learning rate of a step does not depend on the total."""


def train_lifter(setup: LiftTrainingSetup, *, progress: bool = True, resume: bool = True) -> TrainingResult:
    """Train a lifter as ``setup`` says (see the module docs); returns where the results are."""
    cfg, tcfg = setup.model, setup.training
    rank, world = init_distributed()
    out_dir = Path(tcfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tcfg.seed)
    rng = np.random.default_rng(tcfg.seed)
    device = local_device(tcfg.device, world)
    checkpoint, log_path = out_dir / "checkpoint.pt", out_dir / "log.csv"
    state = (resumable_state(checkpoint, setup.to_dict(), device=device, free=_FREE_SETTINGS) if resume and checkpoint.exists()
             else None)  # fmt: skip
    step, rows = (int(state["step"]), list(state["rows"])) if state else (0, [])
    train, test = _datasets(setup, step, progress=progress and rank == 0, device=device)
    lifter = Lifter(cfg).to(device)
    optimizer = torch.optim.Adam(lifter.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    if state:
        lifter.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        if "torch_rng" in state:  # dropout's stream (checkpoints before it was saved reseed it)
            torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        log.info("resumed from %s at step %d", checkpoint, step)
    elif tcfg.init_from:
        from kinelift.lifting.weights import load_lifter

        start = load_lifter(tcfg.init_from)
        if cfg.output == "points" and start.config == replace(cfg, output="coordinates"):
            lifter.load_coordinates_twin(start)  # the points' correction starts at zero
        elif start.config.keypoints != cfg.keypoints and start.config == replace(cfg, keypoints=start.config.keypoints):
            lifter.load_other_keypoints(start)  # the shared keypoints' input weights, the new ones at zero
        elif start.config != cfg:
            raise ValueRangeError("training.init_from", expected=f"weights of the network [model] describes ({cfg}), of its "
                                  "output='coordinates' twin for output='points', or of it for another keypoint set", got=start.config)  # fmt: skip
        else:
            lifter.load_state_dict({k: v.to(device=device, dtype=torch.float32) for k, v in start.state_dict().items()})
        log.info("started from the weights of %s", tcfg.init_from)
    if world > 1:
        rng = np.random.default_rng([tcfg.seed, rank, step])  # each process its own windows
    network = torch.nn.parallel.DistributedDataParallel(lifter.network) if world > 1 else lifter.network
    autocast = device.type == "cuda" and tcfg.bf16
    reprojection_keys = ("root_camera", "focal_over_size", "root_offset", "clean_2d")
    stage_starts, first_step = set(setup.data.stage_starts()), step
    started, running = time.perf_counter(), []
    bar = tqdm(total=tcfg.steps, initial=step, desc="training lifter", disable=not progress or rank != 0)
    while step < tcfg.steps:
        if step in stage_starts and step != first_step:  # the data grows here: as a resume from this step would build it
            train = test = None
            torch_state = torch.get_rng_state()  # building must not move dropout's stream
            train, test = _datasets(setup, step, progress=progress and rank == 0, device=device)
            torch.set_rng_state(torch_state)
        lifter.train()
        for group in optimizer.param_groups:
            group["lr"] = tcfg.learning_rate(step)
        idx_in, idx_out = sample_windows(train, batch=tcfg.batch_size, chunk=tcfg.chunk, receptive_field=lifter.receptive_field,
                                         causal=cfg.causal, rng=rng, edge_rate=tcfg.edge_windows)  # fmt: skip
        x = _batch(train, idx_in, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            raw = network(x.flatten(2).transpose(1, 2))
        pred = lifter.decode(raw.transpose(1, 2).float())
        extra = {k: torch.as_tensor(getattr(train, k)[idx_out], device=device) for k in reprojection_keys} if setup.loss.reprojection > 0 else None
        loss, terms = d3ke_loss(pred, _targets(lifter, train, idx_out, device), setup.loss, reprojection=extra)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lifter.parameters(), 5.0)
        optimizer.step()
        step += 1
        running.append(float(loss.detach()))
        bar.update(1)
        if rank == 0 and (step % tcfg.eval_every == 0 or step == tcfg.steps):
            metrics = evaluate_lifter(lifter, test) if test.n_clips else {}
            rows.append({"step": step, "train_loss": float(np.mean(running)), **{f"train_{k}": v for k, v in terms.items()},
                         "lr": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - started, **metrics})  # fmt: skip
            running = []
            bar.set_postfix(mpjpe=f"{metrics.get('mpjpe_mm', float('nan')):.1f}", angles=f"{metrics.get('mean_angle_rmse_deg', float('nan')):.2f}")
            log.info("step %d: %s", step, rows[-1])
        if rank == 0 and (step % tcfg.checkpoint_every == 0 or step == tcfg.steps):
            with atomic_path(checkpoint, overwrite=True) as tmp:
                torch.save({"model": lifter.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "rows": rows,
                            "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "setup": setup.to_dict(),
                            **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {})}, tmp)  # fmt: skip
    bar.close()
    if rank != 0:
        finish_distributed(world)
        return TrainingResult(out_dir, out_dir / "lifter.pt", step, {})
    if rows:
        save_rows_csv(rows, log_path, overwrite=True)
        _plot(rows, out_dir / "curves.png")
    metrics = {k: v for k, v in (rows[-1] if rows else {}).items() if not k.startswith("train_")}
    weights = out_dir / "lifter.pt"
    save_lifter(lifter, weights, metrics=metrics, setup=asdict(setup), overwrite=True)
    finish_distributed(world)
    return TrainingResult(out_dir, weights, step, metrics)
