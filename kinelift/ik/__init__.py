"""Inverse kinematics and scaling on the skeletal layer (OpenSim's problems, batched in torch)."""

from kinelift.ik.inverse_kinematics import IKOptions, inverse_kinematics
from kinelift.ik.result import IKResult
from kinelift.ik.setup import IKSetup, read_ik_setup
from kinelift.ik.solver import LMOptions
from kinelift.ik.tool import run_ik, run_ik_setup
from kinelift.ik.tasks import CoordinateTask, MarkerTask, TaskSet, read_task_set

__all__ = [
    "CoordinateTask", "IKOptions", "IKResult", "IKSetup", "LMOptions", "MarkerTask", "TaskSet",
    "inverse_kinematics", "read_ik_setup", "read_task_set", "run_ik", "run_ik_setup",
]  # fmt: skip
