"""U-Net builder for every architecture in the paper (Tables I, III, VII) from one ``ModelConfig``.

Layer names are part of the contract: input ``image``, final softmax ``seg``, deep-supervision softmaxes
``ds_1..ds_n`` (``ds_1`` is the deepest decoder stage, ``ds_n`` the one just before the final stage).
"""

from __future__ import annotations

from types import SimpleNamespace

import keras

from echolite.config import ModelConfig
from echolite.models.layers import BilinearUpsample, NearestUpsample
from echolite.presets import get_preset

# The Keras API the builder uses. Quantization-aware training swaps in tf_keras (see ``echolite.export.qat_worker``), so
# both frameworks build the same graph with the same layer names.
KERAS3 = SimpleNamespace(
    Input=keras.Input, Model=keras.Model, layers=keras.layers, upsample=NearestUpsample, resize=BilinearUpsample
)


def build_unet(config: ModelConfig, name: str = "unet", kit: SimpleNamespace = KERAS3):
    """Build the functional model. It returns a dict: ``{"seg"}``, plus ``"ds_1", ...`` with deep supervision,
    so training, evaluation and export treat every variant alike."""
    image = kit.Input((config.input_size, config.input_size, config.in_channels), name="image")
    skips = _encoder(image, config, kit)
    decoded = _decoder(skips, config, kit)
    if config.stem_stride > 1 and config.head == "conv":
        decoded.append(_full_resolution_head(image, decoded[-1], config, kit))
    if config.stem_stride > 1 and config.head == "bilinear":
        logits = kit.layers.Conv2D(config.num_classes, 1, name="head_logits")(decoded[-1])
        logits = kit.resize(config.stem_stride, name="seg_logits")(logits)
    else:
        logits = kit.layers.Conv2D(config.num_classes, 1, name="seg_logits")(decoded[-1])
    seg = kit.layers.Activation("softmax", dtype="float32", name="seg")(logits)
    outputs = {"seg": seg}
    for i, features in enumerate(decoded[:-1] if config.deep_supervision else [], start=1):
        outputs[f"ds_{i}"] = _supervision_head(features, config, i, kit)
    return kit.Model(image, outputs, name=name)


def inference_model(model: keras.Model) -> keras.Model:
    """The ``image -> seg`` graph with the deep-supervision heads cut off (for evaluation and export)."""
    return keras.Model(model.get_layer("image").output, model.get_layer("seg").output, name=f"{model.name}_seg")


def _encoder(x, config: ModelConfig, kit) -> list:
    """Return the feature map of every encoder stage, highest resolution first, bottleneck last."""
    features = []
    for level, channels in enumerate(config.encoder_channels):
        stride = 1
        if level > 0 and config.downsampling == "maxpool":
            x = kit.layers.MaxPooling2D(2, name=f"enc{level}_pool")(x)
        elif level > 0:
            stride = 2
        if level == 0:
            stride = config.stem_stride
        x = _conv_stage(
            x,
            channels,
            config,
            f"enc{level}",
            kit,
            first_stride=stride,
            stem=level == 0,
            separable=level < config.separable_levels,
        )
        features.append(x)
    return features


def _decoder(skips: list, config: ModelConfig, kit) -> list:
    """Return the output of every decoder stage, deepest first; the last one is at full resolution."""
    x = skips[-1]
    outputs = []
    for i, channels in enumerate(config.decoder_channels):
        skip = skips[-2 - i]
        if config.upsampling == "nearest":
            x = kit.upsample(2, name=f"dec{i}_up")(x)
        else:
            x = kit.layers.Conv2DTranspose(skip.shape[-1], 2, strides=2, name=f"dec{i}_up")(x)
        x = kit.layers.Concatenate(name=f"dec{i}_concat")([x, skip])
        level = len(skips) - 2 - i
        x = _conv_stage(x, channels, config, f"dec{i}", kit, separable=level < config.separable_levels)
        outputs.append(x)
    return outputs


def _full_resolution_head(image, x, config: ModelConfig, kit):
    """Back to the input size after a strided stem: upsample, concatenate a cheap convolution of the image itself
    (the edges the stride skipped), one convolution stage."""
    x = kit.upsample(config.stem_stride, name="head_up")(x)
    detail = kit.layers.Conv2D(
        config.head_channels, 3, padding="same", use_bias=config.norm == "none", name="head_detail_conv"
    )(image)
    detail = _normalization(config.norm, "head_detail_norm", kit)(detail)
    detail = _activation(config.activation, "head_detail_act", kit)(detail)
    x = kit.layers.Concatenate(name="head_concat")([x, detail])
    return _conv_stage(x, config.head_channels, config, "head", kit, convs=1, separable=config.separable_levels > 0)


def _conv_stage(
    x,
    channels: int,
    config: ModelConfig,
    name: str,
    kit,
    first_stride: int = 1,
    stem: bool = False,
    convs: int | None = None,
    separable: bool = False,
):
    """``convs_per_stage`` (or ``convs``) × (3×3 conv → norm → activation), optionally with a residual shortcut.
    ``separable``: each 3×3 conv depthwise-separable, except the ``stem``'s first, on the image."""
    shortcut = x
    convs = convs or config.convs_per_stage
    for j in range(convs):
        stride = first_stride if j == 0 else 1
        kernel = config.stem_kernel if stem and j == 0 else 3
        if separable and not (stem and j == 0):
            x = kit.layers.DepthwiseConv2D(
                3, strides=stride, padding="same", use_bias=config.norm == "none", name=f"{name}_dw{j}"
            )(x)
            x = _normalization(config.norm, f"{name}_dwnorm{j}", kit)(x)
            x = _activation(config.activation, f"{name}_dwact{j}", kit)(x)
            kernel, stride = 1, 1
        x = kit.layers.Conv2D(
            channels, kernel, strides=stride, padding="same", use_bias=config.norm == "none", name=f"{name}_conv{j}"
        )(x)
        x = _normalization(config.norm, f"{name}_norm{j}", kit)(x)
        last = j == convs - 1
        if not (config.residual and last):
            x = _activation(config.activation, f"{name}_act{j}", kit)(x)
    if config.residual:
        if shortcut.shape[-1] != channels or first_stride != 1:
            shortcut = kit.layers.Conv2D(channels, 1, strides=first_stride, use_bias=False, name=f"{name}_proj")(
                shortcut
            )
            shortcut = _normalization(config.norm, f"{name}_proj_norm", kit)(shortcut)
        x = kit.layers.Add(name=f"{name}_add")([x, shortcut])
        x = _activation(config.activation, f"{name}_act_out", kit)(x)
    return x


def _supervision_head(features, config: ModelConfig, index: int, kit):
    """1×1 conv to class logits, nearest upsampling to full resolution, softmax (paper Section II-C.6)."""
    logits = kit.layers.Conv2D(config.num_classes, 1, name=f"ds_{index}_logits")(features)
    factor = config.input_size // features.shape[1]
    if factor > 1:
        logits = kit.upsample(factor, name=f"ds_{index}_up")(logits)
    return kit.layers.Activation("softmax", dtype="float32", name=f"ds_{index}")(logits)


def _normalization(kind: str, name: str, kit):
    if kind == "batch":
        return kit.layers.BatchNormalization(momentum=0.9, name=name)  # PyTorch default (the authors used PyTorch)
    if kind == "instance":
        return kit.layers.GroupNormalization(groups=-1, name=name)
    return kit.layers.Identity(name=name)


def _activation(kind: str, name: str, kit):
    if kind == "leaky_relu":
        return kit.layers.LeakyReLU(0.01, name=name)  # nnU-Net's slope (positional: Keras 2 and 3 name it apart)
    return kit.layers.Activation(kind, name=name)


def build_model(spec: str | ModelConfig) -> keras.Model:
    """Build a preset by name (``lw-unet``, ``unet1``, ...) or any ``ModelConfig``."""
    if isinstance(spec, str):
        return build_unet(get_preset(spec).model, name=spec.replace("-", "_"))
    return build_unet(spec)
