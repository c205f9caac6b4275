"""The demo job (what `make demo` runs) works end to end and improves on its noisy input."""

from kinelift.cli import main
from kinelift.io import load, validate_h5


def test_demo_writes_validated_outputs(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "figure:" in out
    for name in ("detections_mmpose.json", "squat_tracks.h5", "squat_processed.trc", "squat_processed.csv", "squat_tracks.png"):
        assert (tmp_path / name).stat().st_size > 0
    validate_h5(tmp_path / "squat_tracks.h5")
    raw, processed = load(tmp_path / "squat_tracks.h5").tracks
    assert processed.valid.mean() > raw.valid.mean()
