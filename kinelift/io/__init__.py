"""Readers and writers for the file formats of the field, and kinelift's HDF5 layout.

All writers are atomic (temporary file, then rename) and refuse to overwrite
unless ``overwrite=True``. Readers raise :class:`~kinelift.errors.FileFormatError`
naming the file and field on malformed input.
"""

from kinelift.io.c3d import read_c3d, write_c3d
from kinelift.io.coco import read_coco, read_coco_results, write_coco, write_coco_results
from kinelift.io.deeplabcut import read_deeplabcut, write_deeplabcut
from kinelift.io.dispatch import FORMATS, Loaded, detect_format, load, read_table, read_tracks, save
from kinelift.io.hdf5 import H5Contents, describe_h5, read_h5, validate_h5, write_h5
from kinelift.io.mmpose import read_mmpose, write_mmpose
from kinelift.io.mot import read_mot, read_sto, write_mot, write_sto
from kinelift.io.openpose import read_openpose, write_openpose
from kinelift.io.trc import read_trc, write_trc

__all__ = [
    "FORMATS", "H5Contents", "Loaded", "describe_h5", "detect_format", "load", "read_c3d", "read_coco",
    "read_coco_results", "read_deeplabcut", "read_h5", "read_mmpose", "read_mot", "read_openpose", "read_sto",
    "read_table", "read_tracks", "read_trc", "save", "validate_h5", "write_c3d", "write_coco", "write_coco_results",
    "write_deeplabcut", "write_h5", "write_mmpose", "write_mot", "write_openpose", "write_sto", "write_trc",
]  # fmt: skip
