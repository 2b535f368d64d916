"""edgegen: compile int8 TFLite / Keras models to CMSIS-NN C for Arm Cortex-M."""

__version__ = "0.1.0"
