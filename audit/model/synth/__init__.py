"""Deterministic synthetic photos of village service-centre facades with labelled plaques.

>>> from audit.model.synth import generate_scene, write_scene
>>> scene = generate_scene(7, long_side=640)
>>> write_scene(scene, "out", "scene_0007")  # doctest: +SKIP
"""

from .scene import CLASS_NAMES, Scene, generate_scene, write_scene

__all__ = ["CLASS_NAMES", "Scene", "generate_scene", "write_scene"]
