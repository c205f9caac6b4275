"""Running a trained :class:`~kinelift.lifting.lifter.Lifter` over whole sequences.

Examples
--------
>>> import torch
>>> from kinelift.lifting.config import LifterConfig
>>> from kinelift.lifting.lifter import Lifter
>>> lifter = Lifter(LifterConfig(keypoints="LOWER-6", filter_widths=(3, 3), channels=8)).eval()
>>> out = predict_sequences(lifter, [torch.zeros(5, 6, 3), torch.zeros(12, 6, 3)])
>>> [tuple(o.keypoints.shape) for o in out]
[(5, 6, 3), (12, 6, 3)]
"""

from __future__ import annotations

from collections.abc import Sequence
import torch

from kinelift.lifting.lifter import Lifter, LifterOutput

__all__ = ["predict_sequences"]


def predict_sequences(lifter: Lifter, sequences: Sequence[torch.Tensor], *, flip: bool = False,
                      max_frames: int = 200_000) -> list[LifterOutput]:  # fmt: skip
    """One output per input frame for each ``(T_i, K, 3)`` feature sequence, in eval mode.

    Sequences are padded by repeating their edge frames (half the receptive field on each side,
    or all of it before the first frame for a causal lifter), laid side by side in batches of
    about ``max_frames`` frames, and run without gradients. With ``flip``, each sequence is also
    run mirrored (:mod:`kinelift.lifting.mirror`) and the two predictions are averaged (pose
    coordinates, segment scales, up vector; the root rotations' mean projected back onto a rotation)
    before forward kinematics: test-time augmentation as in VideoPose3D.
    """
    if flip:
        from kinelift.lifting.mirror import mirror_features, mirror_prediction
        from kinelift.lifting.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix

        n = len(sequences)
        both = list(sequences) + [mirror_features(torch.as_tensor(s), lifter.keypoint_set) for s in sequences]
        raws = _raw_outputs(lifter, both, max_frames)
        outs = []
        with torch.no_grad():
            for a, b in zip(raws[:n], raws[n:]):
                qa, ra, ua, sa = lifter.heads(a)
                qb, rb, ub, sb = lifter.heads(b)
                qb, rb, ub = mirror_prediction(qb, rb, ub, lifter.pose_coordinate_names)
                rotation = rotation_6d_to_matrix(matrix_to_rotation_6d((ra + rb) / 2))
                up = torch.nn.functional.normalize(ua + ub, dim=-1, eps=1e-8)
                outs.append(lifter.assemble((qa + qb) / 2, rotation, up, (sa + sb) / 2))
        return outs
    raws = _raw_outputs(lifter, sequences, max_frames)
    with torch.no_grad():
        return [lifter.decode(r) for r in raws]


def _raw_outputs(lifter: Lifter, sequences: Sequence[torch.Tensor], max_frames: int) -> list[torch.Tensor]:
    """The network's head values ``(T_i, n_out)`` for every frame of every sequence."""
    rf = lifter.receptive_field
    before = rf - 1 if lifter.config.causal else (rf - 1) // 2
    after = rf - 1 - before
    was_training = lifter.training
    lifter.eval()
    device = next(lifter.parameters()).device
    try:
        raws: list[torch.Tensor] = [None] * len(sequences)  # type: ignore[list-item]
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        batch: list[int] = []

        def flush() -> None:
            length = max(len(sequences[i]) for i in batch)
            padded = []
            for i in batch:
                s = torch.as_tensor(sequences[i], dtype=torch.float32, device=device)
                idx = torch.clamp(torch.arange(-before, length + after, device=device), 0, len(s) - 1)
                padded.append(s[idx])
            with torch.no_grad():
                raw = lifter.network(torch.stack(padded).flatten(2).transpose(1, 2)).transpose(1, 2).float()
            for j, i in enumerate(batch):
                raws[i] = raw[j, : len(sequences[i])]
            batch.clear()

        for i in order:
            if batch and (len(batch) + 1) * (len(sequences[i]) + rf) > max_frames:
                flush()
            batch.append(i)
        if batch:
            flush()
        return raws
    finally:
        lifter.train(was_training)
