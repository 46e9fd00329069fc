"""Fixed-point and DoReFa quantization, in NumPy and in TensorFlow with identical results.

`quantize` maps values in [0, 1] to one of 2^n levels; `dorefa_g` is DoReFa-Net's
stochastic gradient quantizer (Zhou et al., 2016), unbiased in expectation. The NumPy
functions take their randomness from a `numpy.random.Generator` (a fresh one when none
is given), the TensorFlow ones from a stateless seed (one drawn at every execution when
none is given); both also accept the random draw itself, and given the same draw they
return the same float32 values. Subnormal float32 values count as zero in both, as
TensorFlow flushes them on CPU.
"""

from tff_course.quantization.numpy_quantizers import dorefa_g, quantize, uniform_noise
from tff_course.quantization.tf_quantizers import dorefa_g_tf, quantize_tf, uniform_noise_tf
from tff_course.quantization.validation import MAX_BITS, check_nbit

__all__ = ["MAX_BITS", "check_nbit", "dorefa_g", "dorefa_g_tf", "quantize", "quantize_tf",
           "uniform_noise", "uniform_noise_tf"]
