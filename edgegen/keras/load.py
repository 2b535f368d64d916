"""Loading Keras models: ``.keras`` archives, legacy ``.h5`` files and SavedModel directories.

Legacy files need small compatibility shims: TF 2.x's Keras 2 wrote config keys that Keras 3's
layers reject (DepthwiseConv2D's ``groups``, which Keras 2 always wrote as 1). Each shim accepts
and drops such a key only when it holds the one value Keras 3 implies, so a file whose meaning
would change is refused rather than silently misread.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgegenError, ModelFormatError, UnsupportedError
from ._tf import keras, quiet_output, tail, tf

KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class LoadedModel:
    """A Keras model and where it came from."""

    model: Any  # keras.Model
    path: Path
    #: "keras", "h5" or "savedmodel"
    format: str
    #: what the compatibility shims changed, for the report
    notes: tuple[str, ...] = ()

    @property
    def editable(self) -> bool:
        """Whether the model is made of Keras layers (a SavedModel is an opaque TF graph: it can
        be quantized but not pruned)."""
        return self.format != "savedmodel"


def _compat_objects(notes: list[str]) -> dict[str, Any]:
    k = keras()

    class DepthwiseConv2D(k.layers.DepthwiseConv2D):  # type: ignore[misc, name-defined]
        """Keras 2 wrote ``groups: 1`` for DepthwiseConv2D; Keras 3 has no such argument."""

        def __init__(self, *args: Any, groups: int | None = None, **kwargs: Any) -> None:
            if groups not in (None, 1):
                raise UnsupportedError(f"DepthwiseConv2D '{kwargs.get('name')}' has groups={groups}; "
                                       "Keras 3 has no grouped depthwise convolution")
            if groups is not None and "DepthwiseConv2D: ignored the legacy 'groups: 1' key" not in notes:
                notes.append("DepthwiseConv2D: ignored the legacy 'groups: 1' key")
            super().__init__(*args, **kwargs)

    return {"DepthwiseConv2D": DepthwiseConv2D}


#: the CLI flag that loads Lambda layers (Keras's ``safe_mode=False``)
UNSAFE_FLAG = "--unsafe-deserialization"


def load_model(path: str | Path, *, unsafe_deserialization: bool = False) -> LoadedModel:
    """Load a Keras model for conversion; raises :class:`EdgegenError` saying why it cannot.
    ``unsafe_deserialization`` loads Lambda layers (whose Python code runs on loading: only for
    files from a trusted source)."""
    p = Path(path)
    if not p.exists():
        raise EdgegenError(f"{p}: no such file or directory")
    if p.is_dir():
        return _load_savedmodel(p)
    suffix = p.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        if not zipfile.is_zipfile(p):
            raise ModelFormatError(f"{p}: not a Keras 3 .keras archive (not a zip file); re-save the model "
                                   "with model.save('model.keras')")
        fmt = "keras"
    elif suffix in H5_SUFFIXES:
        with p.open("rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":
                raise ModelFormatError(f"{p}: not an HDF5 file; expected a Keras .h5 model")
        fmt = "h5"
    else:
        raise EdgegenError(f"{p}: unknown model type '{suffix}'; give a .keras, .h5 or .tflite file or a "
                           "SavedModel directory")
    k = keras()
    notes: list[str] = []
    try:
        with quiet_output() as log:
            model = k.models.load_model(p, compile=False, custom_objects=_compat_objects(notes),
                                        safe_mode=not unsafe_deserialization)
    except EdgegenError:
        raise
    except Exception as e:  # Keras raises many types (TypeError, ValueError, KeyError, OSError...)
        if "safe_mode" in _chain(e):
            raise UnsupportedError(_lambda_message(p)) from None
        raise ModelFormatError(f"{p}: Keras 3 cannot load it: {_why(e)}") from None
    del log
    if not isinstance(model, k.Model):
        raise ModelFormatError(f"{p}: holds a {type(model).__name__}, not a Keras model")
    if fmt == "h5" and not model.inputs:
        raise ModelFormatError(f"{p}: the .h5 file holds weights only (no model config); save the whole "
                               "model with model.save('model.keras')")
    return LoadedModel(model=model, path=p, format=fmt, notes=tuple(notes))


def _lambda_layers(p: Path) -> list[str]:
    """The names of the Lambda layers in a .keras archive's config (nested models too)."""
    import json

    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                found.append(str((node.get("config") or {}).get("name", "?")))
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)
    try:
        with zipfile.ZipFile(p) as z:
            visit(json.loads(z.read("config.json")))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        pass
    return found


def _lambda_message(p: Path) -> str:
    names = _lambda_layers(p)
    which = ", ".join(f"layer '{n}' (Lambda)" for n in names) if names else "a Lambda layer"
    return (f"{p}: {which} holds Python code, which Keras runs when it loads the file: loading it could execute "
            f"arbitrary code, so Keras refuses by default. If you trust where the file came from, pass "
            f"{UNSAFE_FLAG} (api: unsafe_deserialization=True); better, replace the Lambda with built-in layers "
            "(e.g. Rescaling, Activation, Multiply) and re-save the model")


def _chain(e: BaseException) -> str:
    """The messages of an exception and its causes (Keras wraps the useful one)."""
    parts = []
    seen: set[int] = set()
    c: BaseException | None = e
    while c is not None and id(c) not in seen:
        seen.add(id(c))
        parts.append(str(c))
        c = c.__cause__ or c.__context__
    return "\n".join(parts)


def _why(e: Exception) -> str:
    msg = str(e).strip()
    full = _chain(e)
    unknown = re.search(r"(?:Unknown (?:layer|object)[^\n:]*:\s*|Could not locate (?:class|function) )'?([\w.]+)'?",
                        full)
    if unknown:
        return (f"it uses the custom class or function '{unknown.group(1)}', which is not registered; "
                "register it with @keras.saving.register_keras_serializable() and load it through "
                "edgegen.api with the class imported, or convert the model to .tflite yourself")
    if "Unrecognized keyword arguments" in full:
        cls = re.search(r"deserializing class '(\w+)'", full)
        where = f"layer class {cls.group(1)}" if cls else "a layer"
        return (f"{where} has a config key Keras 3 does not accept (a Keras 2 file); re-save it with "
                "Keras 3, or report the key so edgegen can add a shim")
    first = msg.splitlines()[0] if msg else type(e).__name__
    return f"{type(e).__name__}: {first[:300]}"


def _load_savedmodel(p: Path) -> LoadedModel:
    if not (p / "saved_model.pb").is_file():
        raise ModelFormatError(f"{p}: a directory without saved_model.pb; give a .keras/.h5 file or a "
                               "TensorFlow SavedModel directory")
    k = keras()
    t = tf()
    try:
        with quiet_output() as log:
            loaded = t.saved_model.load(str(p))
            endpoints = list(getattr(loaded, "signatures", {}).keys())
    except Exception as e:
        raise ModelFormatError(f"{p}: TensorFlow cannot load the SavedModel: {_why(e)}") from None
    endpoint = next((e for e in ("serving_default", "serve") if e in endpoints), None)
    if endpoint is None:
        raise UnsupportedError(f"{p}: the SavedModel has no 'serving_default' or 'serve' signature "
                               f"(it has {endpoints or 'none'}); export it with model.export()")
    sig = loaded.signatures[endpoint]
    specs = list(sig.structured_input_signature[1].values())
    outs = list(sig.structured_outputs.keys())
    if len(specs) != 1 or len(outs) != 1:
        raise UnsupportedError(f"{p}: the SavedModel's '{endpoint}' signature has {len(specs)} inputs and "
                               f"{len(outs)} outputs; edgegen loads single-input, single-output SavedModels")
    shape = tuple(specs[0].shape)[1:]
    if any(d is None for d in shape):
        raise UnsupportedError(f"{p}: the SavedModel input has unknown dimensions {list(specs[0].shape)}; "
                               "export it with a fixed input shape")
    try:
        with quiet_output() as log:
            layer = k.layers.TFSMLayer(str(p), call_endpoint=endpoint)
            inp = k.Input(shape=shape, dtype=specs[0].dtype.name)
            out = layer(inp)
            if isinstance(out, dict):
                out = out[outs[0]]
            model = k.Model(inp, out, name=p.name)
    except Exception as e:
        raise ModelFormatError(f"{p}: Keras 3 cannot wrap the SavedModel: {_why(e)}\n{tail(log[0] if log else '')}"
                               ) from None
    return LoadedModel(model=model, path=p, format="savedmodel",
                       notes=(f"SavedModel endpoint '{endpoint}' wrapped as a TFSMLayer (not prunable)",))
