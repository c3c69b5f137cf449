"""Layer names cnncalc knows it does not have: PyTorch's torch.nn classes and Keras's layers that
are not layer types here, each with why and, where one exists, what to write instead. A spec
naming one is told "not supported" and the nearest real alternative, not a look-alike by spelling
(PixelShuffle is not channel_shuffle)."""

from __future__ import annotations

_RECURRENT = "recurrent layers are outside cnncalc's convolutional planner"
_LOSS = "a loss function, not a layer: a spec describes the network up to its output"
_CONTAINER = "a container: write its layers in a `sequential:` list or a block"
_PREPROCESSING = "a preprocessing layer: it is not part of the planned network"
_ACTIVATION = "this activation is not a type yet; `identity` has the same shapes and no parameters"
_TRANSFORMER = "transformer layers are not types yet; build one from layernorm, linear and the merges"

# normalised name (lower case, no '_') -> (why, what to write instead or None)
UNSUPPORTED: dict[str, tuple[str, str | None]] = {
    **{
        n: (_RECURRENT, None)
        for n in (
            "rnn",
            "lstm",
            "gru",
            "rnncell",
            "lstmcell",
            "grucell",
            "simplernn",
            "rnnbase",
            "rnncellbase",
            "convlstm2d",
            "bidirectional",
            "timedistributed",
        )
    },
    **{
        n: (_CONTAINER, None)
        for n in (
            "sequential",
            "module",
            "modulelist",
            "moduledict",
            "container",
            "parameterlist",
            "parameterdict",
            "dataparallel",
            "model",
            "functional",
        )
    },
    **{
        n: (_PREPROCESSING, None)
        for n in (
            "normalization",
            "resizing",
            "centercrop",
            "randomflip",
            "randomrotation",
            "randomcrop",
            "randomzoom",
            "lambda",
        )
    },
    "inputlayer": ("the network's input is the spec's top-level `input:` (its shape without the batch)", None),
    "input": ("the network's input is the spec's top-level `input:` (its shape without the batch)", None),
    **{
        n: (_ACTIVATION, "identity")
        for n in (
            "celu",
            "selu",
            "softplus",
            "softsign",
            "softshrink",
            "hardshrink",
            "tanhshrink",
            "logsigmoid",
            "hardtanh",
            "threshold",
            "rrelu",
            "softmin",
        )
    },
    **{
        n: (_TRANSFORMER, None)
        for n in (
            "transformer",
            "transformerencoder",
            "transformerdecoder",
            "transformerencoderlayer",
            "transformerdecoderlayer",
        )
    },
    "syncbatchnorm": ("the same counts as batch norm on one device", "batchnorm2d"),
    "upsamplingbilinear2d": ("deprecated in PyTorch", "upsample with mode: bilinear and align_corners: true"),
    "upsamplingnearest2d": ("deprecated in PyTorch", "upsample"),
    "softmax2d": ("a softmax over the channels", "softmax with dim: 1"),
    "crossmaplrn2d": ("the legacy form of local response norm", "local_response_norm"),
    "alphadropout": ("not a type yet; the same shapes and counts as dropout", "dropout"),
    "featurealphadropout": ("not a type yet; the same shapes and counts as channel dropout", "dropout2d"),
    "glu": ("not a type yet (it halves the given dim)", "chunk with chunks: 2 and mul"),
    "embeddingbag": ("not a type yet", None),
    "bilinear": ("not a type yet (two inputs)", None),
    "fold": ("not a type yet", None),
    "unfold": ("not a type yet", None),
    "maxunpool1d": ("not a type yet (it needs the pool's indices)", None),
    "maxunpool2d": ("not a type yet (it needs the pool's indices)", None),
    "maxunpool3d": ("not a type yet (it needs the pool's indices)", None),
    "fractionalmaxpool2d": ("not a type yet (random output positions)", None),
    "fractionalmaxpool3d": ("not a type yet (random output positions)", None),
    "lppool1d": ("not a type yet; the same shapes as average pooling", "avgpool1d"),
    "lppool2d": ("not a type yet; the same shapes as average pooling", "avgpool2d"),
    "lppool3d": ("not a type yet; the same shapes as average pooling", "avgpool3d"),
    "rmsnorm": ("not a type yet", None),
    "cosinesimilarity": ("not a type yet", None),
    "pairwisedistance": ("not a type yet", None),
    "adaptivelogsoftmaxwithloss": (_LOSS, None),
    "attention": ("self-attention is nn.MultiheadAttention's", "multihead_attention"),
    "additiveattention": ("not a type yet", None),
}
UNSUPPORTED.update(
    {
        n.lower(): (_LOSS, None)
        for n in (
            "BCELoss BCEWithLogitsLoss CTCLoss CosineEmbeddingLoss CrossEntropyLoss GaussianNLLLoss "
            "HingeEmbeddingLoss HuberLoss KLDivLoss L1Loss MSELoss MarginRankingLoss MultiLabelMarginLoss "
            "MultiLabelSoftMarginLoss MultiMarginLoss NLLLoss NLLLoss2d PoissonNLLLoss SmoothL1Loss "
            "SoftMarginLoss TripletMarginLoss TripletMarginWithDistanceLoss LinearCrossEntropyLoss"
        ).split()
    }
)


def unsupported(name: str) -> str | None:
    """Why the layer `name` (any spelling: LSTM, lstm, Lazy_Conv2d) is not supported and what to
    write instead, or None if cnncalc has no word on it.

    >>> unsupported("LazyConv2d")
    "'LazyConv2d' is not supported: cnncalc infers in_channels already; use conv2d"
    >>> unsupported("nn.LSTM")
    "'nn.LSTM' is not supported: recurrent layers are outside cnncalc's convolutional planner"
    """
    key = name.lower().replace("_", "").replace("-", "").removeprefix("nn.").removeprefix("torch.nn.")
    if key.startswith("lazy") and len(key) > 4:
        from cnncalc.layers import REGISTRY

        rest = key[4:]
        target = next((n for n in REGISTRY if n.replace("_", "") == rest), None)
        if target is not None:
            return f"{name!r} is not supported: cnncalc infers in_channels already; use {target}"
    found = UNSUPPORTED.get(key)
    if found is None:
        return None
    why, instead = found
    return f"{name!r} is not supported: {why}" + (f"; use {instead}" if instead else "")


def unknown_type_message(name: str, candidates, keras: bool = False) -> str:
    """What to say of a layer type cnncalc does not have: "not supported" and the alternative,
    for one it knows it lacks; else "unknown" with the closest of `candidates`, or where to look.
    `keras`: the spec is in the Keras convention, whose alternatives are not torch's names."""
    from cnncalc.layers import suggest

    known = unsupported(name)
    if known:
        return known.split("; use ")[0] if keras else known
    if keras:
        from cnncalc.layers.keras import TORCH_NAMES

        instead = TORCH_NAMES.get(name.lower().replace("_", "").replace("-", ""))
        if instead:
            return f"unknown Keras layer {name!r} (PyTorch's name); Keras's is {instead}"
    hint = suggest(name, candidates)
    kind = "Keras layer" if keras else "layer type"
    where = "`cnncalc layers --convention keras`" if keras else "`cnncalc layers`"
    return f"unknown {kind} {name!r}" + (f"; did you mean {hint!r}?" if hint else f"; {where} lists the types")
