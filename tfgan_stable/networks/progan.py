"""Progressive GAN networks (Karras et al. 2018, arXiv 1710.10196, Table 2).

Both networks hold the blocks of every resolution from 4x4 to the target at
once, so their weights never change shape while they grow; ``stage`` (0 for
4x4, 1 for 8x8, ...) selects how much of them a call uses, and ``alpha``
blends a new block with the up-sampled (G) / down-sampled (D) path of the
previous resolution during its fade-in (sec. 2, Figure 2). A call is traced
per stage, so ``stage`` is a plain attribute that only changes between
``fit`` calls (``ProGAN.set_stage``), while ``alpha`` is a variable of each
network (or a tensor passed to the call).
"""

import math

import keras
from keras import layers as keras_layers
from keras import ops

from tfgan_stable.networks import progan_layers as layers


def num_stages(resolution):
    """Stages from 4x4 up to ``resolution`` (a power of two >= 4)."""
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"ProGAN resolution must be a power of two >= 4, got {resolution}")
    return int(math.log2(resolution)) - 1


def feature_maps(stage, fmap_base=8192, fmap_decay=1.0, fmap_max=512):
    """Feature maps at a stage: ``min(fmap_base / 2^((stage + 1) * decay), fmap_max)``.

    With the paper's base 8192 and cap 512: 512 up to 32x32, then 256, 128, 64,
    32, 16 at 64x64 ... 1024x1024.
    """
    return max(1, min(int(fmap_base / 2.0 ** ((stage + 1) * fmap_decay)), fmap_max))


def _lrelu(name):
    return keras_layers.LeakyReLU(0.2, name=name)


def _lerp(low, high, alpha):
    return low + (high - low) * ops.cast(alpha, high.dtype)


class _Progressive(keras.Model):
    """Shared bookkeeping: resolution, stage and the feature-map schedule."""

    def __init__(self, resolution, channels, fmap_base=8192, fmap_max=512, **kwargs):
        super().__init__(**kwargs)
        self.resolution, self.channels = int(resolution), int(channels)
        self.fmap_base, self.fmap_max = int(fmap_base), int(fmap_max)
        self.num_stages = num_stages(resolution)
        self.stage = self.num_stages - 1
        self.alpha = keras.Variable(1.0, dtype="float32", trainable=False, name="alpha",
                                    aggregation="only_first_replica")
        self.built = True  # sub-layers build on first use (build_all_stages)

    def nf(self, stage):
        return feature_maps(stage, self.fmap_base, fmap_max=self.fmap_max)

    def set_stage(self, stage):
        if not 0 <= stage < self.num_stages:
            raise ValueError(f"stage must be in [0, {self.num_stages - 1}], got {stage}")
        self.stage = int(stage)

    def stage_resolution(self, stage=None):
        return 4 * 2 ** (self.stage if stage is None else stage)

    def get_config(self):
        return {"resolution": self.resolution, "channels": self.channels,
                "fmap_base": self.fmap_base, "fmap_max": self.fmap_max, "name": self.name}


@keras.saving.register_keras_serializable(package="tfgan_stable")
class ProgressiveGenerator(_Progressive):
    """``z [B, latent_dim] -> image [B, r, r, channels]`` at the current stage's resolution r.

    Pixel-normalised latent, dense to 4x4, then per stage: up-sample, two 3x3
    convolutions with LeakyReLU(0.2) and pixel norm; a linear 1x1 toRGB per
    stage. With ``alpha < 1`` the last stage's image is blended with the
    up-sampled image of the stage before.
    """

    def __init__(self, latent_dim, resolution, channels, fmap_base=8192, fmap_max=512,
                 **kwargs):
        kwargs.setdefault("name", "generator")
        super().__init__(resolution, channels, fmap_base, fmap_max, **kwargs)
        self.latent_dim = int(latent_dim)
        self.latent_norm = layers.PixelNorm(name="latent_norm")
        width = self.nf(0)
        self.project = layers.EqualizedDense(16 * width, gain=math.sqrt(2.0) / 4, name="project")
        self.reshape = keras_layers.Reshape((4, 4, width))
        self.blocks, self.to_rgb = [], []
        for stage in range(self.num_stages):
            width = self.nf(stage)
            convs = [] if stage == 0 else [layers.EqualizedConv2D(width, 3, name=f"s{stage}_conv0")]
            convs.append(layers.EqualizedConv2D(width, 3, name=f"s{stage}_conv{len(convs)}"))
            self.blocks.append(convs)
            self.to_rgb.append(layers.to_rgb(channels, name=f"s{stage}_to_rgb"))
        self.upsample = layers.upsample(name="upsample")
        self.norm = layers.PixelNorm(name="feature_norm")
        self.activation = _lrelu("lrelu")
        self.build_all_stages()

    def build_all_stages(self):
        z = ops.zeros((1, self.latent_dim))
        current = self.stage
        for stage in range(self.num_stages):
            self.stage = stage
            self(z, alpha=0.5)
        self.stage = current

    def _block(self, stage, x):
        if stage > 0:
            x = self.upsample(x)
        for conv in self.blocks[stage]:
            x = self.norm(self.activation(conv(x)))
        return x

    def call(self, z, alpha=None, training=False):
        alpha = self.alpha if alpha is None else alpha
        x = self.latent_norm(z)
        x = self.norm(self.activation(self.reshape(self.project(x))))
        x = self._block(0, x)
        for stage in range(1, self.stage):
            x = self._block(stage, x)
        if self.stage == 0:
            return self.to_rgb[0](x)
        low = self.upsample(self.to_rgb[self.stage - 1](x))
        high = self.to_rgb[self.stage](self._block(self.stage, x))
        return _lerp(low, high, alpha)

    def compute_output_shape(self, input_shape):
        r = self.stage_resolution()
        return (input_shape[0], r, r, self.channels)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="tfgan_stable")
class ProgressiveDiscriminator(_Progressive):
    """Image at the current stage's resolution -> one score per example.

    fromRGB (1x1) per stage, then per stage: two 3x3 convolutions with
    LeakyReLU(0.2) and 2x2 average pooling; at 4x4: minibatch standard
    deviation, a 3x3 convolution, a dense layer and a linear output. With
    ``alpha < 1`` the new stage's features are blended with fromRGB of the
    down-sampled image.
    """

    def __init__(self, resolution, channels, fmap_base=8192, fmap_max=512,
                 mbstd_group_size=4, **kwargs):
        kwargs.setdefault("name", "discriminator")
        super().__init__(resolution, channels, fmap_base, fmap_max, **kwargs)
        self.mbstd_group_size = int(mbstd_group_size)
        self.from_rgb, self.blocks = [], []
        for stage in range(self.num_stages):
            self.from_rgb.append(layers.from_rgb(self.nf(stage), name=f"s{stage}_from_rgb"))
            if stage > 0:
                self.blocks.append([
                    layers.EqualizedConv2D(self.nf(stage), 3, name=f"s{stage}_conv0"),
                    layers.EqualizedConv2D(self.nf(stage - 1), 3, name=f"s{stage}_conv1"),
                ])
            else:
                self.blocks.append([])
        self.minibatch_stddev = layers.MinibatchStdDev(mbstd_group_size, name="minibatch_stddev")
        self.final_conv = layers.EqualizedConv2D(self.nf(0), 3, name="s0_conv")
        self.flatten = keras_layers.Flatten()
        self.dense = layers.EqualizedDense(self.nf(0), name="s0_dense")
        self.score = layers.EqualizedDense(1, gain=1.0, name="score")
        self.downsample = layers.downsample(name="downsample")
        self.activation = _lrelu("lrelu")
        self.build_all_stages()

    def build_all_stages(self):
        current = self.stage
        for stage in range(self.num_stages):
            self.stage = stage
            r = self.stage_resolution(stage)
            self(ops.zeros((2, r, r, self.channels)), alpha=0.5)
        self.stage = current

    def _block(self, stage, x):
        for conv in self.blocks[stage]:
            x = self.activation(conv(x))
        return self.downsample(x)

    def call(self, images, alpha=None, training=False):
        alpha = self.alpha if alpha is None else alpha
        x = self.activation(self.from_rgb[self.stage](images))
        if self.stage > 0:
            x = self._block(self.stage, x)
            low = self.activation(self.from_rgb[self.stage - 1](self.downsample(images)))
            x = _lerp(low, x, alpha)
        for stage in range(self.stage - 1, 0, -1):
            x = self._block(stage, x)
        x = self.activation(self.final_conv(self.minibatch_stddev(x)))
        x = self.activation(self.dense(self.flatten(x)))
        return self.score(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "mbstd_group_size": self.mbstd_group_size}
