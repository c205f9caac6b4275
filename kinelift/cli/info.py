"""``kinelift info FILE``: a summary of any supported file."""

from __future__ import annotations

import argparse

import numpy as np

from kinelift.core.table import TimeSeriesTable
from kinelift.core.tracks import Tracks
from kinelift.io import load


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a track, marker, motion or kinelift HDF5 file")
    p.add_argument("path", help="file or OpenPose folder")
    p.add_argument("--format", help="input format (detected by default)")
    p.add_argument("--fps", type=float, help="frame rate, for formats that store none")
    add_degrees_flag(p)
    add_layout_flag(p)
    p.set_defaults(func=run)


def add_degrees_flag(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--in-degrees", dest="in_degrees", action="store_const", const=True, help="angles of a header-less .mot are degrees")
    g.add_argument("--in-radians", dest="in_degrees", action="store_const", const=False, help="angles of a header-less .mot are radians")


def add_layout_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keypoint-set", help="the layout of an OpenPose folder's 75 values: BODY-25 or BODY-25B (default: from the data)")
    p.add_argument("--units", choices=("m", "cm", "mm", "in"), help="the length unit of a BVH file (BVH files do not state it)")


def reader_options(args: argparse.Namespace) -> dict:
    in_degrees = getattr(args, "in_degrees", None)
    options = {} if in_degrees is None else {"in_degrees": in_degrees}
    if getattr(args, "keypoint_set", None):
        options["keypoint_set"] = args.keypoint_set
    if getattr(args, "units", None):
        options["units"] = args.units
    return options


def describe_tracks(t: Tracks) -> list[str]:
    missing = 100.0 * (1.0 - t.valid.mean()) if t.n_frames else 0.0
    rate = f"{t.fps:g} Hz" if t.fps else ("variable rate" if not t.is_uniform() else f"~{t.sampling_rate:.4g} Hz")
    lines = [
        f"  person {t.person_id!r}: {t.n_frames} frames, {t.n_keypoints} keypoints ({t.keypoint_set.name}), {t.n_dims}D, "
        f"units {t.units}, frame {t.coordinate_frame}",
        f"    time {t.time[0]:.6g} .. {t.time[-1]:.6g} s, {rate}, {missing:.1f}% points missing, "
        f"mean confidence {np.mean(t.confidence):.3f}",
    ]
    missing_per_point = 1.0 - t.valid.mean(axis=0)
    worst = [i for i in np.argsort(-missing_per_point)[:3] if missing_per_point[i] > 0]
    if worst:
        lines.append("    most missing: " + ", ".join(f"{t.keypoint_names[i]} {100 * missing_per_point[i]:.1f}%" for i in worst))
    return lines


def describe_table(key: str, tab: TimeSeriesTable) -> list[str]:
    units = sorted(set(u or "?" for u in tab.column_units))
    shown = ", ".join(tab.column_names[:8]) + (", ..." if len(tab.column_names) > 8 else "")
    return [
        f"  table {key}: {tab.n_frames} frames x {len(tab.column_names)} columns, time {tab.time[0]:.6g} .. {tab.time[-1]:.6g} s",
        f"    units {units}; columns {shown}",
    ]


def run(args: argparse.Namespace) -> int:
    loaded = load(args.path, format=args.format, fps=args.fps, **reader_options(args))
    lines = [f"{loaded.path}: {loaded.format}, {len(loaded.tracks)} track(s), {len(loaded.tables)} table(s)"]
    for t in loaded.tracks:
        lines += describe_tracks(t)
    for key, tab in loaded.tables.items():
        lines += describe_table(key, tab)
    print("\n".join(lines))
    return 0
