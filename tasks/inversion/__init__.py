"""Gradient inversion (issue 6): DLG, iDLG and Inverting Gradients against a client's
shared gradient, the noise, pruning and quantization defenses, metrics, figures, the
course report and the privacy-utility sweep. `tff-course invert` runs them.

The names below import their modules (and TensorFlow) when first used."""

from tff_course.lazy import lazy_exports

_MODULES = {
    "Attempt": "outcome", "AttackConfig": "attack_config", "AttackResult": "outcome",
    "InversionConfig": "experiment", "LbfgsConfig": "lbfgs_config",
    "defense_method": "defenses", "fedsgd_client_gradient": "shared",
    "infer_labels": "attacks", "initial_state": "lbfgs", "l2_distance": "metrics",
    "lbfgs_step": "lbfgs", "mse": "metrics", "psnr": "metrics",
    "reconstruction_metrics": "metrics", "run_attack": "attacks", "run_inversion": "experiment",
    "shared_gradient": "shared", "ssim": "metrics", "write_outputs": "experiment",
}

__all__ = sorted(_MODULES)
__getattr__ = lazy_exports(__name__, _MODULES)
