"""Thermal (infrared) imaging: the camera, radiometry, NUC, frame readers, restoration in
kelvin and hot-defect segmentation — the library ``physinv ir`` and the IR benchmark call.

Layer: beside ``physinv.nets`` and ``physinv.train``. It imports the ground floor (``io``,
``errors``, ``metrics``, ``noise``), ``operators``, ``solvers``, ``nets`` and ``train``; it
never imports ``physinv.experiments`` or the CLI (the benchmark runner
``physinv.experiments.ir`` and ``physinv.cli_ir`` import it).

One idea per module, the direction of the data:

- ``radiometry``: ``band_radiance``, ``inverse_band_radiance``, ``apparent_temperature``,
  ``Radiometry`` and ``object_temperature`` (ε, T_refl, atmosphere → object temperature)
- ``scene``: ``Scene``, ``scene_temperature`` — what is filmed, in kelvin, with its labels
- ``camera``: ``Camera`` (optics ⊛ detector → operator H, exposure, counts ↔ kelvin),
  ``flat_fields``
- ``acquisition``: ``simulate`` → ``ThermalFrame``; ``ThermalScenes`` (training sets)
- ``nuc``: ``TwoPointNUC``, ``calibration``, ``FLAT_TEMPERATURES``, ``replace_dead``,
  ``find_dead``, ``remove_column_offsets``
- ``readers``: ``read_frame``, ``read_radiometric_tiff``, ``read_csv_temperatures``,
  ``check_temperatures``
- ``tasks``: ``IRTask``, ``IR_TASKS``, ``get_ir_task``, ``acquire``, ``training_pairs``,
  ``validation_pairs``, the split seeds ``TRAIN_SEED``, ``VAL_SEED``, ``N_SELECT``,
  ``TEST_SEED``
- ``optics``: ``estimate_fwhm`` — the optics blur from the frames themselves
- ``restoration``: ``upsample, ``tikhonov_k``, ``tv_k``, ``tune``, ``TIK_GRID``,
  ``TV_GRID``, ``restore``
- ``networks``: ``normalise``, ``denormalise``, ``CENTER``, ``SCALE``, ``train_net``,
  ``net_restore``
- ``uncertainty``: ``calibrate_restoration``, ``restoration_maps``, ``LEVEL`` — the variance
  ``ir restore`` writes, calibrated at 95 % on simulated acquisitions
  (``uq.calibrated_variance`` applies a calibration)
- ``segmentation``: ``component_segment``, ``local_contrast``, ``threshold_segment``,
  ``potts_segment``, ``train_segmenter``, ``segment``, ``DETECT_K``, ``CLUTTER``, ``OPENING``
- ``pipeline`` (the steps of ``physinv ir``, used as ``pipeline.<name>``): ``make_camera``,
  ``simulate_to``, ``read_raw``, ``correct``, ``run``, ``figure``, ``train_network``,
  ``load_network``

>>> from physinv import thermal
>>> task = thermal.get_ir_task("ir_sr_x4")
>>> frame, g = thermal.acquire(task, seed=0)
>>> x, variance, note = thermal.restore(g[0, 0], task.camera, "bicubic")
>>> tuple(g.shape), tuple(x.shape)
((1, 1, 32, 32), (1, 1, 128, 128))
"""

from physinv.thermal import pipeline
from physinv.thermal.acquisition import ThermalFrame, ThermalScenes, simulate
from physinv.thermal.camera import Camera, flat_fields
from physinv.thermal.networks import (
                                      CENTER,
                                      SCALE,
                                      denormalise,
                                      net_restore,
                                      normalise,
                                      train_net,
)
from physinv.thermal.nuc import (
                                      FLAT_TEMPERATURES,
                                      TwoPointNUC,
                                      calibration,
                                      find_dead,
                                      remove_column_offsets,
                                      replace_dead,
)
from physinv.thermal.optics import estimate_fwhm
from physinv.thermal.radiometry import (
                                      Radiometry,
                                      apparent_temperature,
                                      band_radiance,
                                      inverse_band_radiance,
                                      object_temperature,
)
from physinv.thermal.readers import (
                                      check_temperatures,
                                      read_csv_temperatures,
                                      read_frame,
                                      read_radiometric_tiff,
)
from physinv.thermal.restoration import TIK_GRID, TV_GRID, restore, tikhonov_k, tune, tv_k, upsample
from physinv.thermal.scene import Scene, scene_temperature
from physinv.thermal.segmentation import (
                                      CLUTTER,
                                      DETECT_K,
                                      OPENING,
                                      component_segment,
                                      local_contrast,
                                      potts_segment,
                                      segment,
                                      threshold_segment,
                                      train_segmenter,
)
from physinv.thermal.tasks import (
                                      IR_TASKS,
                                      N_SELECT,
                                      TEST_SEED,
                                      TRAIN_SEED,
                                      VAL_SEED,
                                      IRTask,
                                      acquire,
                                      get_ir_task,
                                      training_pairs,
                                      validation_pairs,
)

__all__ = [
    "estimate_fwhm",
    "CENTER", "CLUTTER", "DETECT_K", "FLAT_TEMPERATURES", "IR_TASKS", "N_SELECT", "OPENING",
    "Radiometry", "SCALE", "TEST_SEED", "TIK_GRID", "TRAIN_SEED", "TV_GRID", "VAL_SEED",
    "Camera", "IRTask",
    "Scene", "ThermalFrame", "ThermalScenes", "TwoPointNUC", "acquire", "apparent_temperature",
    "band_radiance", "calibration", "check_temperatures",
    "component_segment", "denormalise",
    "find_dead", "flat_fields", "get_ir_task", "inverse_band_radiance", "local_contrast",
    "net_restore", "normalise", "object_temperature", "pipeline", "potts_segment",
    "read_csv_temperatures",
    "read_frame", "read_radiometric_tiff", "remove_column_offsets", "replace_dead", "restore",
    "scene_temperature", "segment", "simulate", "threshold_segment", "tikhonov_k",
    "train_net", "train_segmenter", "training_pairs", "tune", "tv_k", "upsample",
    "validation_pairs",
]
