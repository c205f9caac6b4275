"""
Batch runs on Dask
==================

:func:`kinelift.batch.process_many` runs the main job on many inputs with any
``concurrent.futures`` executor; Dask's gives a local cluster or a remote one. Each input's
result is written atomically into its own folder, a failing input is reported and does not stop
the others, and a second run skips what is done.
"""

# %%
import tempfile
from pathlib import Path

from kinelift.batch import dask_executor, process_many
from kinelift.pipeline import RunConfig
from kinelift.pipeline.demo_clip import write_demo_input

folder = Path(tempfile.mkdtemp())
inputs = []
for seed in (1, 2, 3):
    write_demo_input(folder / f"subject_{seed}.json", n_reps=1, seed=seed)
    inputs.append(folder / f"subject_{seed}.json")
(folder / "broken.json").write_text("{not json")
inputs.append(folder / "broken.json")

# %%
# A local Dask cluster of two workers (``dask_executor(scheduler="tcp://host:8786")`` for a
# cluster elsewhere; ``kinelift run ... --workers 2`` on the command line). Worker *processes*
# (the default) re-import the main script, so a script that starts them keeps its work under
# ``if __name__ == "__main__":``; this tutorial uses threads to stay a plain script. Figures are
# switched off to keep it quick.
with dask_executor(workers=2, processes=False) as executor:
    report = process_many(inputs, folder / "results", executor=executor, config=RunConfig(figures=False), progress=False)
print(report.to_text())

# %%
# Run again: the finished inputs are reused, the broken one is tried (and reported) again.
again = process_many(inputs, folder / "results", config=RunConfig(figures=False), progress=False)
print(again.to_text())
