"""Downstream use of a PASE encoder: features for small task heads (frozen or fine-tuned),
pooling, heads, probe training and scoring. One concept per module:

- :mod:`~pase.downstream.featurizer`: the encoder as a front end (layer choice, learned
  weighted sum of layers, frozen or fine-tuned, frame lengths out);
- :mod:`~pase.downstream.pooling`: masked mean / statistics pooling over frames;
- :mod:`~pase.downstream.heads`: utterance-level and frame-level classifiers;
- :mod:`~pase.downstream.metrics`: accuracy with a confidence interval, confusion matrices.
"""

from pase.downstream.featurizer import EncoderFeatures, WeightedLayerSum
from pase.downstream.heads import FrameHead, UtteranceHead
from pase.downstream.metrics import Accuracy, confusion_matrix, unweighted_accuracy
from pase.downstream.pooling import frame_mask, mean_pool, stats_pool

__all__ = [
    "Accuracy",
    "EncoderFeatures",
    "FrameHead",
    "UtteranceHead",
    "WeightedLayerSum",
    "confusion_matrix",
    "frame_mask",
    "mean_pool",
    "stats_pool",
    "unweighted_accuracy",
]
