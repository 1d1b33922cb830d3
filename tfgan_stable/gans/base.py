"""The GAN base model: two networks, two optimizers, one ``train_step``.

A family subclasses :class:`GAN` and supplies its losses through
:meth:`GAN.discriminator_loss` and :meth:`GAN.generator_loss`; the base class
owns everything they share: the n_critic loop over fresh real batches
(Arjovsky 2017 and Gulrajani 2017, Algorithm 1), replica-aware loss scaling,
the latent noise, loss trackers, and an optional exponential moving average of
the generator's weights (Karras 2018, arXiv 1710.10196; Yazici 2019,
arXiv 1806.04498) used for sampling and export.

A GAN is class-conditional when its networks take a label
(:mod:`tfgan_stable.networks.conditional`): the generator ``[z, label]``, the
critic ``[samples, label]`` (a projection discriminator). Its training data
then holds ``(samples, labels)``; the samples of every update are made for the
labels of the real batch beside them, so generated and real batches share
their classes.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfgan_stable import augment, distribute, fast, networks, optimizers, packing, penalties
from tfgan_stable import schedules
from tfgan_stable.data import checks as data_checks
from tfgan_stable.config import OPTIMIZER_NAMES


class GAN(keras.Model):
    """Base class of every family; not registered, use a subclass.

    Args:
      generator: a built Keras model mapping ``[B, latent_dim]`` to samples
        (conditional: ``[z, label]`` to samples).
      discriminator: a built Keras model mapping samples to ``[B, 1]`` scores
        (conditional: ``[samples, label]`` to scores).
      latent_dim: size of the latent vector; read from ``generator`` if omitted.
      n_critic: discriminator updates per generator update; each sees a fresh
        real batch, so every element of the training data holds ``n_critic``
        batches, ``[batch, n_critic, ...]`` (see
        :func:`tfgan_stable.data.critic_batches`).
      g_ema_decay: when set (e.g. 0.999), keep ``generator_ema``, an
        exponential moving average of the generator used by ``call`` and export.
      g_ema_half_life_images: the same average stated as a half-life in
        images (:func:`tfgan_stable.schedules.ema_decay`); give this or
        ``g_ema_decay``.
      g_ema_rampup: with a half-life, keep it at most ``rampup`` x the images
        seen (a young average stays short).
      pack: PacGAN's packing degree (Lin 2018, arXiv 1712.04086;
        :mod:`tfgan_stable.packing`): the discriminator scores packs of
        ``pack`` samples, all real or all generated, joined along the channel
        axis, so it must take ``pack`` x the samples' channels; every batch
        must split into packs. 1 (the default): one sample at a time.
      r1_gamma, r2_gamma: zero-centred gradient penalties (Mescheder 2018,
        arXiv 1801.04406) on the critic's real (R1) and generated (R2)
        inputs, added to the critic's loss as ``gamma / 2 * E[||grad D||^2]``;
        0 (the default for most families): off. Not for BEGAN.
      r_every: lazy regularisation (Karras 2020, arXiv 1912.04958): R1 and
        R2 only on every ``r_every``-th critic update, weighted ``r_every`` x.
      augment: differentiable augmentation of everything the critic sees,
        in both updates (:mod:`tfgan_stable.augment`): a policy such as
        ``"color,translation,cutout"`` (DiffAugment, Zhao 2020, arXiv
        2006.10738); empty: off. Penalties are taken on the augmented batches.
      augment_probability: each operation's probability per sample, p;
        None: 1 (DiffAugment), or 0 to start from when adaptive.
      augment_target: adapt p as ADA does (Karras 2020, arXiv 2006.06676):
        raise it while the critic's overfitting signal (the mean sign of its
        outputs on reals, :meth:`overfitting_signal`) exceeds this target
        (ADA: 0.6), lower it below; None: p stays fixed.
      augment_speed_images: real images over which p may move from 0 to 1.
      augment_interval: critic updates between adjustments of p.
      class_names: a conditional GAN's class names, in label order (recorded
        in its config and exports); default ``"0"``, ``"1"``, ...
      seed: seed of the latent noise and of any other randomness in the step.
    """

    family = None
    default_n_critic = 1
    extra_metric_names = ()
    latent_distribution = "normal"  # or "uniform" on [-1, 1]
    supports_packing = True  # False where the family's own step does not pack
    supports_conditioning = True  # False where the family's own step takes no labels
    critic_scores = True  # the discriminator returns a score per sample (BEGAN's does not)
    default_g_ema_decay = None  # the family paper's generator average (ProGAN: 0.999)
    generator_sees_reals = False  # True: generator_loss(fake_output, real_output) (RpGAN)
    scores_are_relative = False  # True: only differences of critic outputs count (WGAN)
    default_r1_gamma = 0.0  # the family paper's zero-centred penalties (R3GAN's: both)
    default_r2_gamma = 0.0
    # what the family asks of the library's fast layers in its networks (tfgan_stable.fast)
    fast_layer_options = {}

    def __init__(self, generator, discriminator, latent_dim=None, n_critic=None,
                 g_ema_decay=None, g_ema_half_life_images=None, g_ema_rampup=None,
                 pack=1, r1_gamma=None, r2_gamma=None, r_every=1, augment=None,
                 augment_probability=None, augment_target=None,
                 augment_speed_images=500_000, augment_interval=4, class_names=None,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        for part, model in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"{type(self).__name__}.{part} must be a keras.Model, "
                    f"got {type(model).__name__}"
                )
            if not model.built:
                raise ValueError(
                    f"{type(self).__name__}.{part} must be built (use a functional model "
                    "or call it once on a batch)"
                )
        for network in (generator, discriminator):
            fast.configure(network, **self.fast_layer_options)
        self.generator = generator
        self.discriminator = discriminator
        self.num_classes, self.class_names = _check_conditioning(
            self, generator, discriminator, class_names)
        input_dim = _input_dim(generator)
        if latent_dim is None and input_dim is None:
            raise ValueError(f"{type(self).__name__}.latent_dim is needed: the generator "
                             "does not declare its input shape")
        self.latent_dim = int(latent_dim or input_dim)
        if input_dim not in (None, self.latent_dim):
            raise ValueError(
                f"{type(self).__name__}.latent_dim={self.latent_dim} does not match the "
                f"generator's input size {input_dim}"
            )
        self.n_critic = int(n_critic if n_critic is not None else self.default_n_critic)
        if self.n_critic < 1:
            raise ValueError(f"{type(self).__name__}.n_critic must be >= 1, got {n_critic}")
        if g_ema_decay is None and g_ema_half_life_images is None:
            g_ema_decay = self.default_g_ema_decay  # the family paper's (R3GAN: 0.999)
        schedules.check_ema(g_ema_decay, g_ema_half_life_images, g_ema_rampup,
                            owner=type(self).__name__)
        self.g_ema_decay = g_ema_decay
        self.g_ema_half_life_images = g_ema_half_life_images
        self.g_ema_rampup = g_ema_rampup
        self.seed = seed
        latent_shape = (None, self.latent_dim)
        self.sample_shape = tuple(generator.compute_output_shape(
            [latent_shape, (None,)] if self.num_classes else latent_shape)[1:])
        if self.num_classes and pack != 1:
            raise ValueError(f"{type(self).__name__}.pack={pack}: packing (PacGAN) joins "
                             "samples of different classes into one critic input; a "
                             "conditional GAN scores one sample and its label at a time "
                             "(use pack=1)")
        self.pack = _check_pack(self, discriminator, pack)
        if self.critic_scores:
            self._check_critic_output(getattr(discriminator, "output_shape", None))
        self.seed_generator = keras.random.SeedGenerator(seed)
        # evaluate() draws its own noise, so that it leaves training's noise alone
        self._evaluation_seed_generator = keras.random.SeedGenerator(
            None if seed is None else seed + 1)
        self._evaluating = False
        self.generator_steps = keras.Variable(
            0, dtype="int64", trainable=False, name="generator_steps",
            aggregation="only_first_replica",
        )
        # Keras train steps run so far: where a resumed run's data continues.
        self.train_steps = keras.Variable(
            0, dtype="int64", trainable=False, name="train_steps",
            aggregation="only_first_replica",
        )
        self.step_labels = None  # the labels of the batch a critic update is on
        self.generator_ema = None
        if g_ema_decay is not None or g_ema_half_life_images is not None:
            self.generator_ema = clone_network(generator)
            self.generator_ema.trainable = False
        self._init_penalties(r1_gamma, r2_gamma, r_every)
        self._init_augmentation(augment, augment_probability, augment_target,
                                augment_speed_images, augment_interval)
        # SNGAN's u vectors move once per critic update, not once per critic call
        self.spectral_norms = networks.spectral_norm_layers(discriminator)
        for layer in self.spectral_norms:
            layer.update_in_call = False
        names = ("d_loss", "g_loss") + tuple(self.extra_metric_names)
        names += tuple(name for name, gamma in (("r1", self.r1_gamma), ("r2", self.r2_gamma))
                       if gamma)
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in names]
        self.built = True

    @classmethod
    def check_stabilisers(cls, names=None, **settings):
        """Refuses bad R1/R2 and augmentation settings for this family: the constructor's
        arguments ``r1_gamma``, ``r2_gamma``, ``r_every``, ``augment``,
        ``augment_probability``, ``augment_target``, ``augment_speed_images`` and
        ``augment_interval`` (one left out is not checked). The constructor and the
        config's check (which spells them as config keys) both call it.

        Args:
          names: how the messages spell each argument (a dict from the argument
            names); default ``<Class>.<argument>``.
          **settings: the values.

        Raises:
          ValueError: for the first bad setting, naming it.
        """
        names = {key: f"{cls.__name__}.{key}" for key in settings} | (names or {})
        for key in ("r1_gamma", "r2_gamma"):
            if key not in settings:
                continue
            value = settings[key]
            if value is None:
                value = getattr(cls, f"default_{key}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{names[key]} must be a number >= 0. "
                                 f"Received: {names[key]}={value!r}")
            if value and not cls.critic_scores:
                raise ValueError(f"{names[key]}: R1/R2 penalise a critic that scores "
                                 f"samples; {cls.__name__}'s does not. "
                                 f"Received: {names[key]}={value!r}")
        r_every = settings.get("r_every", 1)
        if isinstance(r_every, bool) or not isinstance(r_every, (int, np.integer)) or r_every < 1:
            raise ValueError(f"{names['r_every']} must be an int >= 1. "
                             f"Received: {names['r_every']}={r_every!r}")
        if "augment" not in settings:
            return
        policy, target = settings["augment"], settings.get("augment_target")
        probability = settings.get("augment_probability")
        if probability is None:
            probability = 0.0 if target is not None else 1.0
        augment.check_settings(
            policy, probability, target, settings.get("augment_speed_images", 1),
            settings.get("augment_interval", 1),
            names={"policy": names["augment"],
                   **{key: names.get(f"augment_{key}", f"{cls.__name__}.augment_{key}")
                      for key in ("probability", "target", "speed_images", "interval")}})
        if target is not None and not augment.parse_policy(policy):
            raise ValueError(f"{names['augment_target']} adapts the probability of an "
                             f"augmentation, but {names['augment']} names none. Received: "
                             f"{names['augment']}={policy!r}, "
                             f"{names['augment_target']}={target!r}")
        if target is not None and not cls.critic_scores:
            raise ValueError(f"{names['augment_target']}: the adaptive probability follows "
                             f"the sign of a critic's scores; {cls.__name__}'s discriminator "
                             f"does not score samples (use a fixed probability). Received: "
                             f"{names['augment_target']}={target!r}")

    def _init_penalties(self, r1_gamma, r2_gamma, r_every):
        self.check_stabilisers(r1_gamma=r1_gamma, r2_gamma=r2_gamma, r_every=r_every)
        self.r1_gamma = float(self.default_r1_gamma if r1_gamma is None else r1_gamma)
        self.r2_gamma = float(self.default_r2_gamma if r2_gamma is None else r2_gamma)
        self.r_every = int(r_every)
        if self.r_every > 1:  # the last computed values, logged on lazy steps
            self.last_r = keras.Variable([0.0, 0.0], trainable=False, name="last_r",
                                         aggregation="only_first_replica")

    def _init_augmentation(self, policy, probability, target, speed_images, interval):
        name = type(self).__name__
        self.check_stabilisers(augment=policy, augment_probability=probability,
                               augment_target=target, augment_speed_images=speed_images,
                               augment_interval=interval)
        self.augment_policy = augment.parse_policy(policy)
        self.augment_probability = probability  # as given: the config's (p is a weight)
        if probability is None:
            probability = 0.0 if target is not None else 1.0
        if self.augment_policy and len(self.sample_shape) != 3:
            raise ValueError(f"{name}.augment: differentiable augmentation is for images "
                             f"[height, width, channels]; the samples have shape "
                             f"{list(self.sample_shape)}. Received: augment={policy!r}")
        self.augment_target = None if target is None else float(target)
        self.augment_speed_images = int(speed_images)
        self.augment_interval = int(interval)
        self.augment_p = None
        if self.augment_policy:
            self.augment_p = keras.Variable(float(probability), dtype="float32",
                                            trainable=False, name="augment_p",
                                            aggregation="only_first_replica")
        if self.augment_target is not None:
            # the overfitting signal summed over the updates since p last moved, and their count
            self.augment_signal = keras.Variable([0.0, 0.0], trainable=False,
                                                 name="augment_signal",
                                                 aggregation="only_first_replica")

    # ----------------------------------------------------------------- API
    def compile(self, d_optimizer=None, g_optimizer=None, optimizer=None, loss=None,
                metrics=None, **kwargs):
        """Sets the two optimizers (the family's published defaults if omitted).

        Args:
          d_optimizer: the discriminator's (critic's) optimizer: an instance or
            a name such as ``"adam"``.
          g_optimizer: the generator's optimizer.
          optimizer, loss, metrics: Keras' single-network arguments. A GAN has
            two optimizers and its family's own losses and logged metrics, so
            these raise a ``ValueError`` that says what to pass instead.
          **kwargs: the rest of ``keras.Model.compile`` (``steps_per_execution``,
            ``jit_compile``, ``run_eagerly``).

        Both optimizers are built on their variables right away, which keeps
        them usable under ``tf.distribute`` strategies (create the GAN in the
        scope). Under the ``mixed_float16`` policy both are wrapped in a
        ``keras.optimizers.LossScaleOptimizer``.
        """
        self._refuse_single_network_arguments(optimizer, loss, metrics, kwargs)
        super().compile(optimizer=None, **kwargs)
        defaults = self.default_optimizers()
        self.d_optimizer = (_optimizer("d_optimizer", d_optimizer) if d_optimizer is not None
                            else defaults[0])
        self.g_optimizer = (_optimizer("g_optimizer", g_optimizer) if g_optimizer is not None
                            else defaults[1])
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            # Dynamic loss scaling, as Keras' own compile adds under this policy.
            self.d_optimizer, self.g_optimizer = (
                optimizer if isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(optimizer)
                for optimizer in (self.d_optimizer, self.g_optimizer))
        if self.d_optimizer is self.g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two optimizer instances, got the same one"
            )
        for optimizer, network in ((self.d_optimizer, self.discriminator),
                                   (self.g_optimizer, self.generator)):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    def _refuse_single_network_arguments(self, optimizer, loss, metrics, kwargs):
        """ValueErrors for ``compile`` arguments that mean one network trained on one loss."""
        name = type(self).__name__
        if optimizer is not None:
            raise ValueError(
                f"{name}.compile takes one optimizer per network: d_optimizer= for the "
                f"discriminator and g_optimizer= for the generator (both default to the "
                f"family paper's). Received: optimizer={optimizer!r}")
        if loss is not None:
            raise ValueError(
                f"{name} trains with its family's own losses (discriminator_loss and "
                f"generator_loss); compile takes no loss. Choose the family (or its "
                f"options) instead. Received: loss={loss!r}")
        if metrics:
            raise ValueError(
                f"{name} logs its own metrics ({', '.join(t.name for t in self.loss_trackers)}); "
                "compile takes no metrics. Score samples with a callback instead, e.g. "
                "tfgan_stable.callbacks.PeriodicEvaluation with a tfgan_stable.metrics "
                f"suite. Received: metrics={metrics!r}")
        for key in ("loss_weights", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"{name}.compile takes no {key} (the family's losses are "
                                 f"fixed). Received: {key}={kwargs[key]!r}")
            kwargs.pop(key, None)

    def get_compile_config(self):
        """Both optimizers (with their settings) and the step options, for ``.keras`` files.

        Loading calls :meth:`compile_from_config`, which builds the optimizers
        before Keras restores their variables (moments, iterations).
        """
        if not getattr(self, "compiled", False):
            return None
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "steps_per_execution": self.steps_per_execution,
            "jit_compile": self.jit_compile,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.optimizers.deserialize(config[key])
        self.compile(**config)

    # The family paper's optimizer; subclasses override these four attributes.
    optimizer_name = "adam"
    default_learning_rate = 1e-4
    default_betas = (0.5, 0.999)
    optimizer_options = {}

    @classmethod
    def default_optimizers(cls, d_learning_rate=None, g_learning_rate=None,
                           beta_1=None, beta_2=None, name=None, decay_updates=None,
                           decay="linear", decay_floor=0.0):
        """``(d_optimizer, g_optimizer)`` with the family paper's settings.

        Arguments that are not None replace the defaults (betas apply to Adam
        and optimistic Adam). ``name``: ``"adam"``, ``"rmsprop"`` or
        ``"optimistic_adam"`` (:class:`tfgan_stable.optimizers.OptimisticAdam`);
        default the family's. ``decay_updates``: a pair ``(critic updates,
        generator updates)``; each learning rate then falls to ``decay_floor``
        x its start over its optimizer's updates, along a line (``decay=
        "linear"``, the WGAN-GP authors' CIFAR-10 schedule) or half a cosine
        (``"cosine"``, R3GAN's).
        """
        name = cls.optimizer_name if name is None else name
        if name not in OPTIMIZER_NAMES:
            raise ValueError(f"optimizer name must be one of {list(OPTIMIZER_NAMES)}. "
                             f"Received: name={name!r}")
        optimizers.check_settings(d_learning_rate=d_learning_rate,
                                g_learning_rate=g_learning_rate, beta_1=beta_1, beta_2=beta_2)
        adam_betas = {"beta_1": cls.default_betas[0] if beta_1 is None else beta_1,
                      "beta_2": cls.default_betas[1] if beta_2 is None else beta_2}
        options = cls.optimizer_options if name == cls.optimizer_name else {}

        def make(learning_rate, updates):
            learning_rate = cls.default_learning_rate if learning_rate is None else learning_rate
            if updates is not None and decay == "cosine":
                learning_rate = keras.optimizers.schedules.CosineDecay(
                    learning_rate, updates, alpha=decay_floor)
            elif updates is not None:
                learning_rate = keras.optimizers.schedules.PolynomialDecay(
                    learning_rate, updates, end_learning_rate=learning_rate * decay_floor,
                    power=1.0)
            if name == "rmsprop":
                return keras.optimizers.RMSprop(learning_rate, **options)
            if name == "optimistic_adam":
                from tfgan_stable.optimizers import OptimisticAdam

                return OptimisticAdam(learning_rate, **adam_betas, **options)
            return keras.optimizers.Adam(learning_rate, **adam_betas, **options)
        if decay not in ("linear", "cosine", "none"):
            raise ValueError(f"decay must be 'linear', 'cosine' or 'none'. "
                             f"Received: decay={decay!r}")
        if decay == "none":
            decay_updates = None
        if not 0.0 <= decay_floor < 1.0:
            raise ValueError(f"decay_floor must be in [0, 1). Received: "
                             f"decay_floor={decay_floor!r}")
        if decay_updates is None:
            decay_updates = (None, None)
        elif min(decay_updates) < 1:
            raise ValueError(f"decay_updates must be two counts >= 1. "
                             f"Received: decay_updates={decay_updates!r}")
        return make(d_learning_rate, decay_updates[0]), make(g_learning_rate, decay_updates[1])

    @property
    def noise_seed(self):
        """The ``SeedGenerator`` of this step's noise (latents, penalty interpolates).

        Training's, saved with the model so that a resumed run draws what the
        uninterrupted one would; during :meth:`evaluate` a separate one.
        """
        return self._evaluation_seed_generator if self._evaluating else self.seed_generator

    @property
    def sampler(self):
        """The network used for samples and export: the EMA copy when enabled."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def call(self, z, labels=None, training=False):
        """Generated samples for latent vectors ``z`` (and ``labels``, conditional).

        A conditional GAN also takes ``[z, labels]`` as one argument, as its
        generator does.
        """
        if labels is None and isinstance(z, (list, tuple)) and len(z) == 2:
            z, labels = z
        return self.generate(z, labels, training=training, network=self.sampler)

    def generate(self, z, labels=None, training=False, network=None):
        """``network`` (default: the trained generator) on ``z``, with ``labels`` when
        conditional; a ValueError naming what is missing or extra otherwise."""
        network = self.generator if network is None else network
        name = type(self).__name__
        if not self.num_classes:
            if labels is not None:
                raise ValueError(f"{name} is unconditional: it takes latent vectors only, "
                                 "no labels")
            return network(z, training=training)
        if labels is None:
            raise ValueError(f"{name} is conditional on {self.num_classes} classes: pass "
                             "labels with the latent vectors, e.g. gan(z, labels) with "
                             f"int labels in [0, {self.num_classes})")
        return network([z, self.checked_labels(labels)], training=training)

    def discriminate(self, samples, labels=None, training=True):
        """The critic's scores of ``samples`` as it takes them (augmented, packed),
        for their ``labels`` when conditional."""
        if self.num_classes:
            return self.discriminator([samples, labels], training=training)
        return self.discriminator(samples, training=training)

    def critic_for(self, labels):
        """The critic as a function of samples alone, for penalties: ``labels`` bound."""
        def critic(samples, training=True):
            return self.discriminate(samples, labels, training=training)
        return critic

    def checked_labels(self, labels):
        """``labels`` as int32 ``[B]``, checked in the graph to lie in [0, num_classes)."""
        labels = ops.convert_to_tensor(labels)
        if not labels.dtype.is_integer:
            raise ValueError(f"{type(self).__name__}: labels must be integers (class "
                             f"indices), got dtype {labels.dtype.name}")
        labels = tf.cast(labels, tf.int32)
        if len(labels.shape) == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if len(labels.shape) != 1:
            raise ValueError(f"{type(self).__name__}: labels must be one class index per "
                             f"sample, shape [batch]; got shape {list(labels.shape)}")
        in_range = tf.logical_and(tf.reduce_all(labels >= 0),
                                  tf.reduce_all(labels < self.num_classes))
        check = tf.debugging.Assert(in_range, [
            f"{type(self).__name__}: labels must lie in [0, {self.num_classes}) (its "
            "classes); got min and max", tf.reduce_min(labels), tf.reduce_max(labels)])
        with tf.control_dependencies([check]):
            return tf.identity(labels)

    def sample_latent(self, batch_size):
        """Draws ``[batch_size, latent_dim]`` noise from ``latent_distribution``.

        ``batch_size`` is the per-replica batch under a strategy.
        """
        def draw(count):
            shape = (count, self.latent_dim)
            if self.latent_distribution == "uniform":
                return keras.random.uniform(shape, -1.0, 1.0, seed=self.noise_seed,
                                            dtype="float32")
            return keras.random.normal(shape, seed=self.noise_seed, dtype="float32")

        # Under a strategy each replica keeps its rows of one global draw.
        return distribute.replica_slice(draw, batch_size)

    def interpolation_alpha(self, batch_size):
        """``[batch_size]`` weights ~ U[0, 1] for a gradient penalty's interpolates.

        Under a strategy each replica keeps its rows of one global draw, so the
        penalty is the one-device penalty of the global batch.
        """
        return distribute.replica_slice(
            lambda count: keras.random.uniform((count,), 0.0, 1.0, dtype="float32",
                                               seed=self.noise_seed), batch_size)

    @classmethod
    def latent_numpy(cls, rng, count, latent_dim):
        """``count`` latent vectors from the family's distribution, drawn with a NumPy rng."""
        return draw_latent(rng, (count, latent_dim), cls.latent_distribution)

    def generate_numpy(self, count, seed=0, batch_size=500, labels=None):
        """``count`` samples as NumPy, for latent vectors from ``numpy`` rng ``seed``.

        Generated ``batch_size`` at a time by :attr:`sampler` (the EMA copy
        when enabled); the same seed gives the same latent vectors. A
        conditional GAN makes them for ``labels``: one class index for all, one
        per sample, or None: the classes in turn (0, 1, ..., 0, 1, ...).
        """
        z = self.latent_numpy(np.random.default_rng(seed), count, self.latent_dim)
        labels = self.labels_numpy(count, labels)
        parts = []
        for i in range(0, count, batch_size):
            batch = z[i:i + batch_size]
            parts.append(ops.convert_to_numpy(
                self(batch) if labels is None else self(batch, labels[i:i + batch_size])))
        return np.concatenate(parts)

    def labels_numpy(self, count, labels=None):
        """``count`` int32 labels for a conditional GAN (None when unconditional):
        ``labels`` broadcast from one class index, or the classes in turn."""
        if not self.num_classes:
            if labels is not None:
                raise ValueError(f"{type(self).__name__} is unconditional: labels must be "
                                 f"None. Received: labels={labels!r}")
            return None
        if labels is None:
            return (np.arange(count) % self.num_classes).astype("int32")
        labels = np.broadcast_to(np.asarray(labels), (count,))
        _check_label_array(self, labels, "labels")
        return labels.astype("int32")

    @property
    def metrics(self):
        return list(self.loss_trackers)

    def export_network(self):
        """The network that serves samples: :attr:`sampler` (ProGAN: its full resolution)."""
        return self.sampler

    def export(self, filepath, format="tf_saved_model", verbose=True, input_signature=None,
               overwrite=False, **kwargs):
        """Writes the generator's serving SavedModel to ``filepath`` (Keras' ``export``).

        The same SavedModel as :func:`tfgan_stable.export_generator` (signatures
        ``serving_default`` and ``generate``, warm-up requests, verified), at
        ``filepath`` instead of a versioned folder. Its ``tfgan_stable.json``
        records the family, latent size, sample shape, ``n_critic``, both
        optimizers' settings, the EMA, the dtype policy and the data source
        (:func:`tfgan_stable.export.gan_metadata`), plus ``metadata``.

        Args:
          filepath: a folder. Where it exists already: a TF Serving version
            folder (``saved_models/my_gan/1``) gets the next free version
            beside it (returned, and printed when ``verbose``); any other
            folder is refused unless ``overwrite``.
          format: only ``"tf_saved_model"``.
          verbose: print where it was written.
          input_signature: not supported; the signatures are fixed.
          overwrite: replace an existing ``filepath`` (the new export is
            written beside it and swapped in by renames).
          **kwargs: ``metadata``, ``max_batch``, ``warmup``, ``verify`` (see
            :func:`tfgan_stable.export_generator`).

        Returns:
          The path written.
        """
        import os

        from tfgan_stable import export as export_lib

        if format != "tf_saved_model":
            raise ValueError(f"{type(self).__name__}.export supports "
                             f"format='tf_saved_model' only. Received: format={format!r}")
        if input_signature is not None:
            raise ValueError(f"{type(self).__name__}.export has fixed signatures (z, or "
                             "seed and num); input_signature is not supported")
        kwargs.setdefault("latent_distribution", self.latent_distribution)
        kwargs["metadata"] = {**export_lib.gan_metadata(self), **(kwargs.get("metadata") or {})}
        path = export_lib.export_to_path(self.export_network(), filepath, overwrite=overwrite,
                                         **kwargs)
        if verbose:
            if path != os.path.abspath(filepath):
                print(f"{filepath} already exists; saved the generator's serving export as "
                      f"the next version, {path}")
            else:
                print(f"Saved the generator's serving export to {path}")
        return path

    # --------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """Keras' ``fit``, after checking the first element of the data.

        ``x`` is a ``tf.data.Dataset`` (see :func:`tfgan_stable.make_dataset`,
        which groups the ``n_critic`` real batches of a train step) or an array
        of real samples. The first element's dtype and value range are checked
        before training (real images are floats in [-1, 1], the generator's
        tanh range), and so is the synchronisation of batch norm under a
        multi-replica strategy. ``y``: a conditional GAN's labels beside an
        array ``x`` (a dataset holds ``(samples, labels)`` itself); an
        unconditional GAN refuses it.
        """
        name = type(self).__name__
        if y is not None and not self.num_classes:
            raise ValueError(f"{name} is unconditional: fit takes real samples (x) only, "
                             "no labels. Received: y of type " + type(y).__name__)
        if y is not None and isinstance(x, tf.data.Dataset):
            raise ValueError(f"{name}.fit: with a dataset x, its elements hold the labels "
                             "((samples, labels)); y must be None")
        if y is not None:
            _check_label_array(self, y, "y")
        checked = data_checks.is_checked(x)
        if not checked or (self.num_classes and y is None):
            first = _first_element(x, batch_size)
            if self.num_classes and y is None:
                first = self._check_labelled_element(first)
            if not checked:
                data_checks.check_real_samples(first, self.sample_shape, f"{name}.fit")
        self.data_source = data_checks.describe(x)  # recorded in exports
        self._warn_unsynchronized_batch_norm()
        # A dataset is shuffled by its pipeline (make_dataset's is): no Keras warning.
        kwargs.setdefault("shuffle", not isinstance(x, tf.data.Dataset))
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def _check_labelled_element(self, element):
        """A conditional GAN's first training element: ``(samples, labels)``, labels
        checked; returns the samples. ValueError saying what to pass otherwise."""
        name = type(self).__name__
        if element is None:
            return None
        parts = _given_parts(element)
        if len(parts) != 2:
            raise ValueError(
                f"{name} is conditional on {self.num_classes} classes: its training data "
                "must hold (samples, labels) pairs (tfgan_stable.make_dataset of labelled "
                "examples, e.g. load_examples(..., labels='inferred'), or fit(x=samples, "
                f"y=labels)); got elements of {len(parts)} part(s)")
        _check_label_array(self, parts[1], "the training data's labels")
        return parts[0]

    def _warn_unsynchronized_batch_norm(self):
        """Tells the user once when their own batch norm runs per replica."""
        replicas = self.distribute_strategy.num_replicas_in_sync
        if replicas < 2 or getattr(self, "_told_batch_norm", False):
            return
        unsynchronized = [
            f"{role}/{layer.name}"
            for role, network in (("generator", self.generator),
                                  ("discriminator", self.discriminator))
            for layer in network._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized]
        if unsynchronized:
            warnings.warn(
                f"{type(self).__name__}: under a strategy of {replicas} replicas the batch "
                f"norm layers {unsynchronized} compute their statistics per replica, not "
                "over the global batch as on one device; build them with "
                "keras.layers.BatchNormalization(synchronized=True) (the library's builders "
                "do)", UserWarning, stacklevel=3)
        self._told_batch_norm = True

    # ---------------------------------------------------------- evaluate
    def evaluate(self, x=None, *args, **kwargs):
        """Keras' ``evaluate``; a ``tf.data`` source may hold training's grouped batches.

        ``[batch, n_critic, ...]`` elements are reduced to their first real
        batch before Keras sees them, so one traced test step serves both layouts.
        """
        if isinstance(x, tf.data.Dataset):
            x = x.map(lambda *element: self.evaluation_batch(
                element if self.num_classes else element[0]))
        return super().evaluate(x, *args, **kwargs)

    def evaluation_batch(self, data):
        """One real batch from an element of ``evaluate``'s data (grouped or not);
        ``(samples, labels)`` for a conditional GAN."""
        if self.num_classes:
            parts = _given_parts(data)
            if len(parts) != 2:
                raise ValueError(f"{type(self).__name__}.evaluate: a conditional GAN's "
                                 "data holds (samples, labels) pairs")
            real, labels = parts
            grouped = len(real.shape) == len(self.sample_shape) + 2
            return self._evaluation_samples(real), labels[:, 0] if grouped else labels
        if isinstance(data, (tuple, list)):
            data = data[0]
        return self._evaluation_samples(data)

    def _evaluation_samples(self, data):
        rank = len(data.shape)
        sample_rank = len(self.sample_shape) + 1
        if rank == sample_rank + 1:
            return data[:, 0]
        if rank == sample_rank:
            return data
        sample = ", ".join(map(str, self.sample_shape))
        raise ValueError(f"{type(self).__name__}.evaluate expects real batches of shape "
                         f"[batch, {sample}], got shape {data.shape}")

    def evaluation_losses(self, real, labels=None):
        """The family's losses and critic-side metrics on a real batch, as a dict.

        Nothing is updated: no weights, no optimizer, no training noise state.
        """
        batch_size = ops.shape(real)[0]
        fake = float32(self.generate(self.sample_latent(batch_size), labels, training=False))
        real, fake = self.pack_batch(real), self.pack_batch(fake)
        real_output = float32(self.discriminate(real, labels, training=False))
        fake_output = float32(self.discriminate(fake, labels, training=False))
        self.step_labels = labels
        try:
            d_loss, d_extras = self.discriminator_loss(real, fake, real_output, fake_output)
        finally:
            self.step_labels = None
        penalty, penalty_logs = self.zero_centered_penalties(  # no augmentation
            real, fake, labels=labels)
        if penalty is not None:
            d_loss = d_loss + penalty
            d_extras = {**d_extras, **penalty_logs}
        if self.generator_sees_reals:
            g_loss, g_extras = self.generator_loss(fake_output, real_output)
        else:
            g_loss, g_extras = self.generator_loss(fake_output)
        return {"d_loss": d_loss, "g_loss": g_loss, **d_extras, **g_extras}

    def test_step(self, data):
        """``evaluate``: :meth:`evaluation_losses` on held-out real data."""
        batch = self.evaluation_batch(data)
        self._evaluating = True  # read while tracing: the graph uses evaluation's noise
        try:
            values = (self.evaluation_losses(*batch) if self.num_classes
                      else self.evaluation_losses(batch))
        finally:
            self._evaluating = False
        self._track(values)
        return self._step_logs()

    def pack_batch(self, samples):
        """Samples as the discriminator takes them: packs of :attr:`pack` (PacGAN).

        The families' losses and penalties then see packs: one score, one
        interpolation weight and one gradient norm per pack.
        """
        return packing.pack_samples(samples, self.pack)

    # ------------------------------------------------------ family hooks
    def discriminator_loss(self, real, fake, real_output, fake_output):
        """Returns ``(loss, {metric_name: value})`` for one critic step."""
        raise NotImplementedError

    def generator_loss(self, fake_output):
        """Returns ``(loss, {metric_name: value})`` for one generator step."""
        raise NotImplementedError

    def generator_update_due(self):
        """A boolean tensor when generator updates are conditional; None if always."""
        return None

    def after_critic_step(self):
        """Called after every critic update (bookkeeping for schedules)."""

    def after_generator_step(self):
        """Called after every generator update."""

    # ------------------------------------------------------- train step
    def critic_real_batches(self, data):
        """Splits one element of the training data into ``n_critic`` real batches."""
        if isinstance(data, (tuple, list)):
            # train_on_batch(x) hands (x, None, None): only real parts count
            parts = 1 + sum(part is not None for part in data[1:])
            if parts > 1 and not getattr(self, "_told_labels", False):
                self._told_labels = True  # at trace time: once
                warnings.warn(
                    f"{type(self).__name__} is unconditional: the training data's elements "
                    f"hold {parts} parts (samples, labels, ...) and only the first, the "
                    "samples, is used", UserWarning, stacklevel=2)
            data = data[0]
        if isinstance(data, dict):
            raise ValueError(
                f"{type(self).__name__} trains on a tensor of real samples, got a dict "
                f"with keys {sorted(data)}"
            )
        sample_rank = len(self.sample_shape) + 1
        rank = len(data.shape)
        name = type(self).__name__
        data_checks.check_dtype(data.dtype, f"{name}'s training data")
        sample = tuple(data.shape[-len(self.sample_shape):]) if rank >= sample_rank else ()
        if sample and any(d is not None and d != s for d, s in zip(sample, self.sample_shape)):
            raise ValueError(
                f"{name}'s generator makes samples of shape {list(self.sample_shape)}, but the "
                f"training data holds samples of shape {list(sample)} (element shape "
                f"{list(data.shape)}); build the networks for the data's shape, or resize "
                "the data (tfgan_stable.load_examples(..., resolution=...))")
        if rank == sample_rank + 1:
            if data.shape[1] != self.n_critic:
                raise ValueError(
                    f"{name}.n_critic={self.n_critic} but the training data holds "
                    f"{data.shape[1]} real batches per element (shape {data.shape}, "
                    "[batch, n_critic, ...]); group batches with "
                    f"tfgan_stable.critic_batches(dataset, {self.n_critic})"
                )
            return [data[:, i] for i in range(self.n_critic)]
        if rank == sample_rank and self.n_critic == 1:
            return [data]
        if rank == sample_rank:
            raise ValueError(
                f"{name}.n_critic={self.n_critic} needs {self.n_critic} fresh real "
                f"batches per train step (Algorithm 1 of the WGAN papers), but got "
                f"single batches of shape {data.shape}; group them with "
                f"tfgan_stable.critic_batches(dataset, {self.n_critic})"
            )
        sample = ", ".join(map(str, self.sample_shape))
        raise ValueError(
            f"{name} expects real batches of shape [batch, {sample}] "
            f"(or [batch, n_critic, ...]), got shape {data.shape}"
        )

    def critic_label_batches(self, data):
        """A conditional GAN's element ``(samples, labels)`` -> ``(real batches, label
        batches)``, ``n_critic`` of each; unconditional: label batches of None."""
        if not self.num_classes:
            real_batches = self.critic_real_batches(data)
            return real_batches, [None] * len(real_batches)
        name = type(self).__name__
        parts = _given_parts(data)
        if len(parts) != 2:
            raise ValueError(
                f"{name} is conditional on {self.num_classes} classes: each training "
                "element must be (samples, labels); got one of "
                f"{len(parts)} part(s)")
        samples, labels = parts
        real_batches = self.critic_real_batches(samples)
        if self.n_critic > 1:
            if len(labels.shape) != 2 or labels.shape[1] != self.n_critic:
                raise ValueError(f"{name}: labels of grouped batches must have shape "
                                 f"[batch, n_critic={self.n_critic}]; got "
                                 f"{list(labels.shape)}")
            label_batches = [labels[:, i] for i in range(self.n_critic)]
        else:
            label_batches = [labels]
        return real_batches, [self.checked_labels(batch) for batch in label_batches]

    def train_step(self, data):
        real_batches, label_batches = self.critic_label_batches(data)
        for real, labels in zip(real_batches, label_batches):
            self._critic_step(real, labels)
        batch_size = ops.shape(real_batches[-1])[0]
        due = self.generator_update_due()
        step = lambda: self._generator_step(batch_size, real_batches[-1],  # noqa: E731
                                            label_batches[-1])
        if due is None:
            step()
        else:
            tf.cond(due, step, lambda: None)
        return self.finish_step()

    def finish_step(self, **extra):
        """Counts the train step; returns its logs: every tracker's result plus ``extra``.

        Every family's ``train_step`` ends with it, so ``train_steps`` (where a
        resumed run's data continues) counts the same in all of them.

        Under ``MultiWorkerMirroredStrategy`` Keras reduces step outputs with
        ``axis=0``, which a scalar lacks; there each value is given shape [1]
        (the reduction returns it as a scalar again).
        """
        self.train_steps.assign_add(1)
        return self._step_logs(**extra)

    def _step_logs(self, **extra):
        """Every tracker's result plus ``extra``, shaped for the strategy (see above)."""
        logs = {tracker.name: tracker.result() for tracker in self.loss_trackers}
        if self.augment_p is not None:
            logs["augment_p"] = ops.convert_to_tensor(self.augment_p)
        logs.update(extra)
        if distribute.in_multi_worker_mode():
            logs = {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    def _track(self, values):
        trackers = {tracker.name: tracker for tracker in self.loss_trackers}
        for name, value in values.items():
            trackers[name].update_state(value)

    def _critic_step(self, real, labels=None):
        self.update_spectral_norms()
        batch_size = ops.shape(real)[0]
        fake = float32(self.generate(self.sample_latent(batch_size), labels, training=True))
        real_uniforms = self.augment_uniforms(batch_size)
        fake_uniforms = self.augment_uniforms(batch_size)
        at_samples = self._penalised_samples(real, fake)
        if at_samples is not None:  # the penalties' gradients come from the loss's pass
            real, fake = at_samples
        with tf.GradientTape() as tape:
            with tf.GradientTape(watch_accessed_variables=False) as sample_tape:
                if at_samples is not None:
                    sample_tape.watch([x for x, gamma in zip(at_samples, (self.r1_gamma,
                                                                          self.r2_gamma)) if gamma])
                real_view = self.critic_view(real, real_uniforms)
                fake_view = self.critic_view(fake, fake_uniforms)
                real_output = float32(self.discriminate(real_view, labels))
                fake_output = float32(self.discriminate(fake_view, labels))
            self._check_critic_output(real_output.shape)
            self.step_labels = labels  # for family hooks that call the critic themselves
            try:
                loss, extras = self.discriminator_loss(real_view, fake_view, real_output,
                                                       fake_output)
            finally:
                self.step_labels = None
            gradients = None
            if at_samples is not None:
                gradients = self._score_gradients(sample_tape, (real_output, fake_output),
                                                  at_samples)
            penalty, penalty_logs = self.zero_centered_penalties(
                real, fake, real_uniforms, fake_uniforms, labels, gradients)
            if penalty is not None:
                loss = loss + penalty
            scaled = distribute.scale_loss(loss, self.d_optimizer)
        variables = self.discriminator.trainable_variables
        apply_gradients(self.d_optimizer, tape.gradient(scaled, variables), variables)
        self.after_critic_step()
        self.adapt_augmentation(real_output, fake_output, batch_size)
        self._track({"d_loss": loss, **extras, **penalty_logs})

    def _generator_step(self, batch_size, real=None, labels=None):
        real_output = None
        if self.generator_sees_reals:
            real_output = ops.stop_gradient(
                float32(self.discriminate(self.critic_view(real), labels)))
        with tf.GradientTape() as tape:
            fake = self.generate(self.sample_latent(batch_size), labels, training=True)
            fake_output = float32(self.discriminate(self.critic_view(fake), labels))
            if self.generator_sees_reals:
                loss, extras = self.generator_loss(fake_output, real_output)
            else:
                loss, extras = self.generator_loss(fake_output)
            scaled = distribute.scale_loss(loss, self.g_optimizer)
        variables = self.generator.trainable_variables
        apply_gradients(self.g_optimizer, tape.gradient(scaled, variables), variables)
        self._update_ema(batch_size)
        self.generator_steps.assign_add(1)
        self.after_generator_step()
        self._track({"g_loss": loss, **extras})

    # ------------------------------------------- what every family may add

    def update_spectral_norms(self):
        """One power iteration of every :class:`~tfgan_stable.networks.SpectralNorm` in
        the critic: once per critic update, however many times the critic is called."""
        for layer in self.spectral_norms:
            layer.update_u()

    def augment_uniforms(self, batch_size):
        """The uniforms of one augmentation of a batch (None when ``augment`` is off).

        One draw for the global batch, each replica keeping its rows
        (:func:`tfgan_stable.distribute.replica_slice`), from the training noise.
        """
        if not self.augment_policy:
            return None
        count = augment.uniforms_needed(self.augment_policy)
        return distribute.replica_slice(
            lambda rows: keras.random.uniform((rows, count), 0.0, 1.0, dtype="float32",
                                              seed=self.noise_seed), batch_size)

    def augment_samples(self, samples, uniforms=None):
        """``samples`` as the critic sees them in training: augmented when ``augment`` is
        set, with ``uniforms`` (default: a fresh draw, :meth:`augment_uniforms`)."""
        if not self.augment_policy:
            return samples
        if uniforms is None:
            uniforms = self.augment_uniforms(ops.shape(samples)[0])
        return augment.diff_augment(samples, self.augment_policy, self.augment_p, uniforms)

    def critic_view(self, samples, uniforms=None):
        """What the discriminator takes in training: augmented, then packed (PacGAN)."""
        return self.pack_batch(self.augment_samples(samples, uniforms))

    def _penalised_samples(self, real, fake):
        """``(real, fake)`` as float32 tensors a tape can watch when this critic update
        takes R1/R2 from its loss's own critic pass (R3GAN's code does: no second
        pass); None when it does not: no penalty, or a lazy one (``r_every`` > 1),
        which runs its own pass on the updates it is due."""
        if not (self.r1_gamma or self.r2_gamma) or self.r_every > 1:
            return None
        return tf.identity(float32(real)), tf.identity(float32(fake))

    def _score_gradients(self, tape, outputs, samples):
        """``[d/d real, d/d fake]`` of the summed ``(real, fake)`` scores on ``tape``, for
        the side whose penalty weight is set (None for the other). One backward pass:
        a score depends on its own sample only."""
        sides = [i for i, gamma in enumerate((self.r1_gamma, self.r2_gamma)) if gamma]
        taken = tape.gradient([outputs[i] for i in sides], [samples[i] for i in sides])
        gradients = [None, None]
        for side, gradient in zip(sides, taken):
            gradients[side] = gradient
        return gradients

    def zero_centered_penalties(self, real, fake, real_uniforms=None, fake_uniforms=None,
                                labels=None, gradients=None):
        """``(gamma_1 / 2 R1 + gamma_2 / 2 R2, logs)``, lazily every ``r_every`` updates.

        ``(None, {})`` when both gammas are 0. ``real`` and ``fake`` are the
        batches before augmentation and packing; the critic sees them augmented
        with the step's ``*_uniforms`` (as its loss did) and packed, and the
        gradient is taken through both, at the samples themselves (as ADA's and
        R3GAN's code take R1). One penalty per critic input (per pack); a
        conditional critic is differentiated at the samples for their ``labels``.
        ``gradients``: ``[d/d real, d/d fake]`` of the loss pass's summed scores,
        taken on the caller's tape (see :meth:`_penalised_samples`); None: the
        critic is run again here.
        """
        if not (self.r1_gamma or self.r2_gamma):
            return None, {}
        evaluating = self._evaluating

        def penalty(batch, uniforms):
            def critic(samples):
                view = (self.pack_batch(samples) if evaluating
                        else self.critic_view(samples, uniforms))
                return self.discriminate(view, labels, training=not evaluating)
            return penalties.zero_centered_penalty(critic, batch, samples_per_input=self.pack)

        def both():
            if gradients is not None:
                values = [penalties.mean_squared_gradient_norm(g, self.pack) if gamma
                          else ops.zeros((), "float32")
                          for g, gamma in zip(gradients, (self.r1_gamma, self.r2_gamma))]
            else:
                values = [penalty(batch, uniforms) if gamma else ops.zeros((), "float32")
                          for batch, uniforms, gamma in ((real, real_uniforms, self.r1_gamma),
                                                          (fake, fake_uniforms, self.r2_gamma))]
            weighted = 0.5 * (self.r1_gamma * values[0] + self.r2_gamma * values[1])
            scale = self.penalty_weight_scale()
            return (weighted if scale is None else scale * weighted), ops.stack(values)

        if self.r_every == 1 or evaluating:
            weighted, values = both()
        else:
            due = ops.equal(self.d_optimizer.iterations % self.r_every, 0)

            def lazy():
                weighted, values = both()
                return self.r_every * weighted, values

            def skipped():
                return ops.zeros((), "float32"), ops.convert_to_tensor(self.last_r)

            # assigned outside the cond: under a strategy an assignment of a
            # synchronised variable may not sit inside control flow
            weighted, values = tf.cond(due, lazy, skipped)
            values = distribute.mean_over_replicas(values)  # the global batch's, as logged
            self.last_r.assign(values)
        logs = {name: values[i] for i, (name, gamma)
                in enumerate((("r1", self.r1_gamma), ("r2", self.r2_gamma))) if gamma}
        return weighted, logs

    def penalty_weight_scale(self):
        """A multiplier of the R1/R2 weight at this step (a schedule); None: 1."""
        return None

    def overfitting_signal(self, real_output, fake_output):
        """ADA's r_t, ``E[sign(D(x))]``: how surely the critic calls the reals real.

        Families whose critic outputs only count relative to each other
        (Wasserstein critics, RpGAN) use the sign of ``D(x) - E[D(G(z))]``.
        """
        if self.scores_are_relative:
            return ops.mean(ops.sign(real_output - ops.mean(fake_output)))
        return ops.mean(ops.sign(real_output))

    def adapt_augmentation(self, real_output, fake_output, batch_size):
        """Moves ``augment_p`` as ADA does, every ``augment_interval`` critic updates."""
        if self.augment_target is None:
            return
        signal = distribute.mean_over_replicas(
            float32(self.overfitting_signal(real_output, fake_output)))
        total = self.augment_signal + ops.stack([signal, 1.0])
        due = total[1] >= self.augment_interval
        images = total[1] * ops.cast(batch_size * distribute.num_replicas(), "float32")
        moved = augment.adaptive_probability(self.augment_p, total[0] / total[1],
                                             self.augment_target, images,
                                             self.augment_speed_images)
        self.augment_p.assign(ops.where(due, moved, self.augment_p))
        self.augment_signal.assign(ops.where(due, ops.zeros_like(total), total))

    def _check_critic_output(self, shape):
        """ValueError unless the discriminator scores each sample: ``[B, 1]`` or ``[B]``."""
        if shape is None:
            return
        shape = tuple(shape)
        if len(shape) == 1 or (len(shape) == 2 and shape[1] in (1, None)):
            return
        raise ValueError(
            f"{type(self).__name__}.discriminator must return one score per sample, shape "
            f"[batch, 1] or [batch]; it returns shape {list(shape)}. End it with a "
            "Flatten and a Dense(1) layer without activation (the losses take raw scores)")

    def ema_decays(self, batch_size):
        """The decay of each generator weight's average in this step.

        ``g_ema_decay``, or the half-life schedule at the images seen so far
        (generator steps x the global batch). ProGAN counts per block.
        """
        if self.g_ema_half_life_images is None:
            decay = self.g_ema_decay
        else:
            global_batch = ops.cast(batch_size, "int64") * distribute.num_replicas()
            decay = schedules.ema_decay(global_batch, self.generator_steps * global_batch,
                                        self.g_ema_half_life_images, self.g_ema_rampup)
        return [decay] * len(self.generator.weights)

    def _update_ema(self, batch_size):
        if self.generator_ema is None:
            return
        for ema, weight, decay in zip(self.generator_ema.weights, self.generator.weights,
                                      self.ema_decays(batch_size)):
            if weight.trainable:
                ema.assign(decay * ema + (1.0 - decay) * weight)
            else:  # e.g. batch-norm statistics: follow the live generator
                ema.assign(weight)

    # ---------------------------------------------------- serialisation
    NOISE_STATE_KEY = "noise_seed_state"

    def save_own_variables(self, store):
        """Also saves the latent noise's seed state (Keras leaves a model's out),
        so that a run resumed from its weights draws the noise it would have drawn."""
        super().save_own_variables(store)
        store[self.NOISE_STATE_KEY] = ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self.NOISE_STATE_KEY in keys:
            self.seed_generator.state.assign(store[self.NOISE_STATE_KEY])
            store = {key: store[key] for key in keys if key != self.NOISE_STATE_KEY}
        super().load_own_variables(store)

    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "n_critic": self.n_critic,
            "g_ema_decay": self.g_ema_decay,
            "g_ema_half_life_images": self.g_ema_half_life_images,
            "g_ema_rampup": self.g_ema_rampup,
            "pack": self.pack,
            "r1_gamma": self.r1_gamma,
            "r2_gamma": self.r2_gamma,
            "r_every": self.r_every,
            "augment": ",".join(self.augment_policy),
            "augment_probability": self.augment_probability,
            "augment_target": self.augment_target,
            "augment_speed_images": self.augment_speed_images,
            "augment_interval": self.augment_interval,
            "class_names": list(self.class_names) if self.num_classes else None,
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("generator", "discriminator"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def float32(tensor):
    """Network outputs under a mixed-precision policy, cast for losses and penalties."""
    return ops.cast(tensor, "float32")


def apply_gradients(optimizer, gradients, variables):
    """Applies the gradients that exist (a growing network leaves some layers unused)."""
    pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
    optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])


def clone_network(model):
    """A copy of a built network with the same weights (functional or subclassed).

    ``clone_model`` rebuilds subclassed models through their ``get_config``.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _first_element(x, batch_size):
    """The first element ``fit`` would see: a dataset's first, or an array's first batch."""
    if isinstance(x, tf.data.Dataset):
        return next(iter(x.take(1)))
    if isinstance(x, (tuple, list)):
        return tuple(_first_element(part, batch_size) for part in x)
    if hasattr(x, "__array__") or isinstance(x, (tf.Tensor, np.ndarray)):
        return x[:batch_size or 32]
    return None  # a generator or a PyDataset: Keras reports what it cannot read


def _optimizer(field, value):
    """``keras.optimizers.get(value)``, with an error naming ``field`` for anything else."""
    try:
        optimizer = keras.optimizers.get(value)
    except ValueError:
        optimizer = None
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"{field} must be a keras.optimizers.Optimizer or the name of one "
                         f"(e.g. 'adam'). Received: {field}={value!r}")
    return optimizer


def _check_pack(gan, discriminator, pack):
    """``pack`` as an int, after checking the family and the discriminator's input."""
    name = type(gan).__name__
    if isinstance(pack, bool) or not isinstance(pack, (int, np.integer)) or pack < 1:
        raise ValueError(f"{name}.pack must be an int >= 1. Received: pack={pack!r}")
    if pack > 1 and not gan.supports_packing:
        raise ValueError(f"{name}.pack={pack}: packing (PacGAN) is for critics that score "
                         f"samples; {name}'s discriminator does not (use pack=1)")
    if pack == 1:
        return 1
    expected = packing.packed_shape(gan.sample_shape, pack)
    try:
        taken = tuple(discriminator.input_shape[1:])
    except AttributeError:  # a subclassed network: nothing declared to check
        return int(pack)
    if taken != expected:
        raise ValueError(
            f"{name}.pack={pack} needs a discriminator that takes packs of shape "
            f"{list(expected)} ({pack} samples of shape {list(gan.sample_shape)} joined "
            f"along the channels), but it takes {list(taken)}")
    return int(pack)


def _input_dim(model):
    """The last dimension of a functional model's (first) input; None for subclassed ones."""
    try:
        shape = model.input_shape
    except AttributeError:
        return getattr(model, "latent_dim", None)
    if isinstance(shape, list):  # a conditional generator: [z, label]
        shape = shape[0]
    return shape[-1]


def _check_conditioning(gan, generator, discriminator, class_names):
    """``(num_classes, class_names)`` from the networks' label inputs, after checking
    that both take one (or neither) for the same classes and the family supports it."""
    name = type(gan).__name__
    counts = {part: networks.conditional.class_count(network)
              for part, network in (("generator", generator),
                                    ("discriminator", discriminator))}
    inputs = {part: networks.conditional.input_count(network)
              for part, network in (("generator", generator),
                                    ("discriminator", discriminator))}
    for part in counts:
        if inputs[part] > 2 or (inputs[part] == 2) != bool(counts[part]):
            raise ValueError(
                f"{name}.{part} must take one input, or two for a conditional GAN (the "
                "second a label read by a tfgan_stable.networks.conditional.ClassEmbedding; "
                "build it with num_classes=...); it takes "
                f"{inputs[part]} input(s) and holds a class embedding for "
                f"{counts[part]} class(es)")
    if counts["generator"] != counts["discriminator"]:
        raise ValueError(
            f"{name}: the generator is conditioned on {counts['generator']} classes and the "
            f"discriminator on {counts['discriminator']}; build both with the same "
            "num_classes (0: unconditional)")
    num_classes = counts["generator"]
    if num_classes and not gan.supports_conditioning:
        raise ValueError(f"{name} trains unconditionally: its own train step takes no "
                         "labels; build its networks with num_classes=0")
    if not num_classes:
        if class_names:
            raise ValueError(f"{name}.class_names is for a conditional GAN; its networks "
                             f"take no label. Received: class_names={class_names!r}")
        return 0, ()
    if class_names is None:
        return num_classes, tuple(str(i) for i in range(num_classes))
    if isinstance(class_names, str) or len(class_names) != num_classes \
            or not all(isinstance(c, str) and c for c in class_names) \
            or len(set(class_names)) != num_classes:
        raise ValueError(f"{name}.class_names must be {num_classes} distinct non-empty "
                         f"strings, one per class. Received: class_names={class_names!r}")
    return num_classes, tuple(class_names)


def _given_parts(element):
    """The parts of a data element that are there: ``(x, None, None)`` (Keras'
    ``train_on_batch(x)``) is ``[x]``; a lone tensor is ``[tensor]``."""
    if isinstance(element, (tuple, list)):
        return [part for part in element if part is not None]
    return [element]


def _check_label_array(gan, labels, what):
    """ValueError unless ``labels`` (array-like) are class indices in [0, num_classes)."""
    try:
        array = np.asarray(labels)
    except (TypeError, ValueError):
        array = np.asarray([], dtype=object)
    name = type(gan).__name__
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: {what} must be integer class indices in [0, "
                         f"{gan.num_classes}); got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= gan.num_classes):
        raise ValueError(f"{name}: {what} must lie in [0, {gan.num_classes}) (the "
                         f"networks' classes); got values from {array.min()} to "
                         f"{array.max()}")


def draw_latent(rng, shape, distribution="normal"):
    """float32 latent vectors from a NumPy rng: standard normal, or uniform on [-1, 1]."""
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, shape).astype("float32")
    if distribution == "normal":
        return rng.normal(size=shape).astype("float32")
    raise ValueError(f"latent distribution must be 'normal' or 'uniform', got {distribution!r}")
