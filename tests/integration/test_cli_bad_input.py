"""Bad input at the command line: one line naming the file or option, exit status 2, never a
traceback, and nothing written when one output is refused (the regression cases of the probe)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from kinelift.cli import main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from kinelift.io import read_tracks, save
    from kinelift.pipeline.demo_clip import write_demo_input

    folder = tmp_path_factory.mktemp("inputs")
    write_demo_input(folder / "clip.json", n_reps=1)
    save(folder / "clip.h5", tracks=read_tracks(folder / "clip.json", fps=30.0)[:1])
    (folder / "a_folder").mkdir()
    (folder / "binary.toml").write_bytes(b"\x00\x01\x02\xff")
    (folder / "steps_many.toml").write_text('[training]\nsteps = "many"\n')
    (folder / "height_tall.toml").write_text('[run]\nheight = "tall"\n')
    (folder / "a_file").write_text("not a folder")
    (folder / "empty.mot").write_text("empty\ninDegrees=yes\nendheader\ntime\tknee_angle_r\tpelvis_ty\n")
    with h5py.File(folder / "clip.h5", "r") as f:
        group = next(iter(f["tracks"]))
    import shutil

    shutil.copy(folder / "clip.h5", folder / "nan_time.h5")
    with h5py.File(folder / "nan_time.h5", "r+") as f:
        time = f["tracks"][group]["time"]
        values = time[()]
        values[2] = np.nan
        time[...] = values
    return folder


CASES = {
    "config is a folder": (["run", "clip.json", "--out", "o", "--config", "a_folder"], "a_folder: is a folder"),
    "config is binary": (["run", "clip.json", "--out", "o", "--config", "binary.toml"], "binary.toml"),
    "config value of the wrong type": (["run", "clip.json", "--out", "o", "--config", "height_tall.toml"], "height = 'tall' is a string"),
    "trainer value of the wrong type": (["train-lifter", "steps_many.toml"], "steps = 'many' is a string (expected an integer)"),
    "trainer config is a folder": (["train-lifter", "a_folder"], "is a folder"),
    "zero-row motion (info)": (["info", "empty.mot"], "empty.mot: no data rows"),
    "zero-row motion (convert)": (["convert", "empty.mot", "e.h5"], "empty.mot: no data rows"),
    "run into a file": (["run", "clip.json", "--out", "a_file"], "a_file: is a file"),
    "run below a file": (["run", "clip.json", "--out", "a_file/sub"], "a_file: is a file"),
    "convert below a file": (["convert", "clip.json", "a_file/x.h5", "--fps", "30"], "a_file: is a file"),
    "convert onto a folder": (["convert", "clip.json", "a_folder", "--fps", "30", "--overwrite", "--to", "h5"], "a_folder: is a folder"),
    "lift into a file": (["lift", "clip.json", "--out", "a_file", "--fps", "30"], "a_file: is a file"),
    "squat into a file": (["squat", "clip.json", "--out", "a_file", "--fps", "30"], "a_file: is a file"),
    "non-finite time in an h5": (["info", "nan_time.h5"], "NaN or inf"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line(inputs, case, capsys, monkeypatch):
    argv, message = CASES[case]
    monkeypatch.chdir(inputs)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_eval_detector_images_out_of_range(capsys):
    from tests.conftest import shared_file

    folder = shared_file("lsp-train/joints.mat").parent
    for first, last in ((5000, 6000), (10, 5), (0, 3)):
        assert main(["eval-detector", str(folder), "--first", str(first), "--last", str(last)]) == 2
        assert "1 <= first <= last <= 2000" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["lift", "squat", "export"])
def test_a_refused_output_leaves_nothing_written(inputs, tmp_path, command, capsys):
    """One existing target among several: refused before any file is written, the existing one untouched."""
    out = tmp_path / "out"
    if command == "export":
        assert main(["lift", str(inputs / "clip.json"), "--out", str(tmp_path / "lifted"), "--fps", "30"]) == 0
        argv = ["export", str(tmp_path / "lifted" / "clip.h5"), "--to", "opensim", str(out)]
        existing = "joints.trc"
    elif command == "lift":
        argv = ["lift", str(inputs / "clip.json"), "--out", str(out), "--fps", "30"]
        existing = "clip.trc"
    else:
        argv = ["squat", str(inputs / "clip.json"), "--out", str(out), "--fps", "30"]
        existing = "squat.h5"
    out.mkdir()
    (out / existing).write_text("the user's file")
    assert main(argv) == 2
    assert "exists" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [existing] and (out / existing).read_text() == "the user's file"
    assert main([*argv, "--overwrite"]) == 0
    assert len(list(out.iterdir())) > 1 and not any(p.name.startswith(".kinelift") for p in out.iterdir())


def test_an_interrupted_batch_ends_with_one_line(inputs, tmp_path, capsys, monkeypatch):
    import kinelift.batch

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kinelift.batch, "_run_one", interrupted)
    assert main(["run", str(inputs / "clip.json"), str(inputs / "clip.h5"), "--out", str(tmp_path / "batch")]) == 130
    err = capsys.readouterr().err.strip()
    assert "interrupted" in err and len(err.splitlines()) == 1
