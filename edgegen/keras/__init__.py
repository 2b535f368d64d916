"""The Keras front end: load, prune, calibrate and quantize Keras 3 models to int8 TFLite.

Every module here imports TensorFlow and Keras lazily (inside functions), so ``import edgegen``
and the ``.tflite`` path never pay for them. The pieces:

- :mod:`.load` — ``.keras``, legacy ``.h5`` (with compatibility shims for old configs) and
  SavedModel directories;
- :mod:`.data` — calibration and training data from ``.npy``/``.npz``/directories/callables,
  checked against the model's inputs;
- :mod:`.convert` — full-int8 conversion with TensorFlow's TFLite converter;
- :mod:`.prune_magnitude` / :mod:`.prune_structured` — unstructured magnitude pruning with a
  polynomial-decay schedule, and channel pruning that physically removes filters;
- :mod:`.finetune`, :mod:`.evaluate`, :mod:`.report` — fine-tuning, float-vs-int8 evaluation and
  the human summary;
- :mod:`.targets` — what the labels mean (class indices or one-hot → accuracy, target values →
  MSE), refused when they cannot fit the model's output;
- :mod:`.pruning_effect` — the unpruned model against the pruned float and int8 models on the same
  held-out data, with the warning past a 1-point drop.
"""
