"""The main job and its batch form: video or tracks to OpenSim kinematics, angles and a squat assessment.

:func:`~kinelift.pipeline.run.run` (also ``kinelift.run``) runs one input,
:func:`kinelift.batch.process_many` many (on any executor; Dask for a cluster),
:mod:`~kinelift.pipeline.export` turns a result file back into OpenSim files or tables.
"""

from kinelift.pipeline.config import RunConfig, load_run_config
from kinelift.pipeline.run import RunSummary, run

__all__ = ["RunConfig", "RunSummary", "load_run_config", "run"]
