"""Keras model builders by name; every model outputs logits.

| name | parameters (default shapes) |
|---|---|
| logistic | 610 on 60 features, 10 classes |
| mlp | 4,554 on 60 features, 10 classes (one hidden layer of 64) |
| mnist_2nn | 199,210 (McMahan et al. 2017) |
| mnist_2nn_bn | 199,610 trainable + 800 moving statistics (the 2NN, batch norm before each ReLU) |
| mnist_cnn | 1,663,370 (McMahan et al. 2017) |
| lenet5 | 83,126 on 32x32x3 |
| dlg_lenet | 15,826 on 32x32x3, 10 classes (Zhu et al. 2019's sigmoid LeNet) |
| cifar_convnet | 122,570 on 32x32x3 |
| resnet20_groupnorm | 272,474 on 32x32x3 |
| resnet20_cifar | 269,722 trainable on 32x32x3 (akamaster's PyTorch layout, batch norm) |
| shakespeare_lstm | 818,137 for 81 characters (265 V + 796,672) |
| shakespeare_lstm_lm | 818,137 for 81 characters; trained on every character of the window |
| shakespeare_lstm_paper | 866,578 (peephole cells, 258 symbols, as in the paper) |
| vit_small | 21,665,664 on 224x224x3, + 385 per class (DINO ViT-S/16; 0 classes: features) |
| vit_tiny | 142,026 on 32x32x3, 10 classes (4x4 patches, width 64, 4 blocks) |
"""

from __future__ import annotations

from typing import Callable, Dict, Sequence

from tff_course.errors import ConfigError
from tff_course.models.dense import logistic, mlp
from tff_course.models.dlg import dlg_lenet
from tff_course.models.lstm import shakespeare_lstm, shakespeare_lstm_lm, shakespeare_lstm_paper
from tff_course.models.mcmahan import mnist_2nn, mnist_2nn_bn, mnist_cnn
from tff_course.models.resnet import resnet20_groupnorm
from tff_course.models.resnet_cifar import resnet20_cifar
from tff_course.models.small import cifar_convnet, lenet5
from tff_course.models.vit import vit_small_for_shape, vit_tiny_for_shape

MODEL_BUILDERS: Dict[str, Callable] = {
    "logistic": logistic,
    "mlp": mlp,
    "mnist_2nn": mnist_2nn,
    "mnist_2nn_bn": mnist_2nn_bn,
    "mnist_cnn": mnist_cnn,
    "lenet5": lenet5,
    "dlg_lenet": dlg_lenet,
    "cifar_convnet": cifar_convnet,
    "resnet20_groupnorm": resnet20_groupnorm,
    "resnet20_cifar": resnet20_cifar,
    "shakespeare_lstm": shakespeare_lstm,
    "shakespeare_lstm_lm": shakespeare_lstm_lm,
    "shakespeare_lstm_paper": shakespeare_lstm_paper,
    "vit_small": vit_small_for_shape,
    "vit_tiny": vit_tiny_for_shape,
}


def build_model(name: str, input_shape: Sequence[int], num_classes: int, **options):
  """Builds the named model for inputs of `input_shape` and `num_classes` classes.

  Raises:
    ConfigError: unknown model name.
  """
  if name not in MODEL_BUILDERS:
    raise ConfigError(f"model: got {name!r}, expected one of {', '.join(MODEL_BUILDERS)}")
  return MODEL_BUILDERS[name](tuple(input_shape), num_classes, **options)


__all__ = ["MODEL_BUILDERS", "build_model", "cifar_convnet", "dlg_lenet", "lenet5", "logistic",
           "mlp", "mnist_2nn", "mnist_2nn_bn", "mnist_cnn", "resnet20_cifar",
           "resnet20_groupnorm", "shakespeare_lstm",
           "shakespeare_lstm_lm", "shakespeare_lstm_paper", "vit_small_for_shape",
           "vit_tiny_for_shape"]
