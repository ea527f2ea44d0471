"""A domain's Predictor with its network in onnxruntime (``rnnsuite serve --backend onnxruntime``).

The domain's own predictor (``Domain.load_predictor``) keeps all its pre- and post-processing
(tokenising, image decoding, log-mels, CTC decoding); only the call ``predictor.model(inputs,
lengths)`` is answered by an onnxruntime session instead of PyTorch. The ONNX file is the
checkpoint's export (``rnnsuite export``), made on first use beside the checkpoint (or in the
cache folder when that is read-only) and reused while its recorded checkpoint hash matches.

Streaming stays on PyTorch: it carries recurrent state from chunk to chunk, and the exported
graph starts every call from a zero state. ``OnnxModel`` therefore keeps the PyTorch model and
hands its submodules (``frontend``, ``backbone``, ``head``) to whoever asks for them.

Example:
    predictor = load_onnx_predictor("runs/sst2/checkpoints/best.pt")
    predictor.predict(["a gorgeous film"])[0]["label"]
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from core.errors import CheckpointError, ConfigError


class OnnxModel(nn.Module):
    """``forward(inputs, lengths)`` like the PyTorch model, computed by onnxruntime on CPU."""

    def __init__(self, *, path: str | Path, torch_model: nn.Module, threads: int | None = None):
        super().__init__()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.torch_model = torch_model.eval()  # streaming, parameter counts and the device come from here
        self.path = Path(path)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["torch_model"], name)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor):
        feed = {"inputs": inputs.detach().cpu().numpy(), "lengths": lengths.detach().cpu().long().numpy()}
        outputs = [torch.from_numpy(array) for array in self.session.run(None, feed)]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def onnx_metadata(path: Path) -> dict[str, str]:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        graph = onnx.load(str(path), load_external_data=False)
    except (DecodeError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read ONNX file {path}: {str(err).splitlines()[0][:200]}") from None
    return {prop.key: prop.value for prop in graph.metadata_props}


def export_for(checkpoint: Path) -> Path:
    """The checkpoint's ONNX file, exported again when missing or made from other weights: beside the
    checkpoint, or in $RNNSUITE_CACHE/onnx/ (named by the checkpoint's hash) where that folder is read-only."""
    from core.engine.domain import cache_root
    from core.tools.export import default_out, export_onnx, file_sha256

    digest = file_sha256(checkpoint)
    onnx_path = default_out(checkpoint)
    if not os.access(onnx_path.parent, os.W_OK):
        onnx_path = cache_root() / "onnx" / f"{digest}.onnx"
    if onnx_path.is_file() and onnx_metadata(onnx_path).get("rnnsuite.checkpoint_sha256") == digest:
        return onnx_path
    return export_onnx(checkpoint, onnx_path)[0]


def load_onnx_predictor(checkpoint_or_onnx: str | Path, *, threads: int | None = None):
    """A checkpoint (exported on first use) or an exported ``.onnx`` -> the domain's Predictor on onnxruntime."""
    from core.tools.cli import find_domain

    path = Path(checkpoint_or_onnx).expanduser()
    if not path.is_file():
        raise CheckpointError(f"not found: {path}")
    if path.suffix == ".onnx":
        onnx_path, recorded = path, onnx_metadata(path).get("rnnsuite.checkpoint")
        if not recorded:
            raise CheckpointError(
                f"{path} has no rnnsuite.checkpoint metadata (not written by `rnnsuite export`)"
            )
        checkpoint = Path(recorded)
        if not checkpoint.is_file():
            raise CheckpointError(
                f"{path}: the checkpoint it was exported from ({checkpoint}) is gone; "
                "its vocabulary and features live there"
            )
    else:
        checkpoint, onnx_path = path, export_for(path)
    domain_name = onnx_metadata(onnx_path).get("rnnsuite.domain")
    if not domain_name:
        raise CheckpointError(
            f"{onnx_path} was not written by `rnnsuite export` (no rnnsuite.domain metadata)"
        )
    domain = find_domain(domain_name)
    loader = getattr(domain, "load_predictor", None)
    if loader is None:
        raise ConfigError(f"domain {domain.name!r} has no load_predictor to wrap around the ONNX graph")
    predictor = loader(checkpoint, torch.device("cpu"))
    if not isinstance(getattr(predictor, "model", None), nn.Module):
        raise ConfigError(f"the {domain.name} predictor keeps no .model for onnxruntime to stand in for")
    predictor.model = OnnxModel(path=onnx_path, torch_model=predictor.model, threads=threads)
    predictor.info = {**predictor.info, "backend": "onnxruntime", "onnx": str(onnx_path)}
    return predictor
