"""Sparse fine-tuning (TaLoS, Iurada et al., ICLR 2025): Fisher sensitivity, calibrated masks,
SparseSGDM, frozen heads."""
