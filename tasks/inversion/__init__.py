"""Gradient inversion (issue 6): DLG, iDLG and Inverting Gradients against a client's
shared gradient, the noise, pruning and quantization defenses, metrics, figures, the
course report and the privacy-utility sweep. `tff-course invert` runs them."""

from tasks.inversion.attacks import AttackConfig, AttackResult, infer_labels, run_attack
from tasks.inversion.defenses import defense_method
from tasks.inversion.experiment import InversionConfig, run_inversion, write_outputs
from tasks.inversion.lbfgs import LbfgsConfig, initial_state, lbfgs_step
from tasks.inversion.metrics import l2_distance, mse, psnr, reconstruction_metrics, ssim
from tasks.inversion.outcome import Attempt
from tasks.inversion.shared import fedsgd_client_gradient, shared_gradient

__all__ = ["Attempt", "AttackConfig", "AttackResult", "InversionConfig", "LbfgsConfig",
           "defense_method", "fedsgd_client_gradient", "infer_labels", "initial_state",
           "l2_distance", "lbfgs_step", "mse", "psnr", "reconstruction_metrics", "run_attack",
           "run_inversion", "shared_gradient", "ssim", "write_outputs"]
