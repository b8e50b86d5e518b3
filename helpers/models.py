"""Networks: a configurable convolutional autoencoder whose encoder and decoder stand on their own, the VAE,
SimCLR and classifiers built from its blocks, the Homework 1 network, and the DCGAN."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn


@dataclass(frozen=True)
class AEConfig:
    """Shape of the autoencoder. Each entry of `channels` is one stride-2 stage (28 -> 14 -> 7 -> 4)."""

    channels: tuple[int, ...] = (32, 64)
    kernel_size: int = 3
    latent_dim: int = 32
    batch_norm: bool = True
    dropout: float = 0.0
    # how the decoder grows a map by 2: "transposed" (stride-2 transposed convolution) or "resize" (nearest-neighbour
    # upsampling, then a stride-1 convolution: every output pixel sees the same number of kernel taps, so no
    # checkerboard pattern; Odena et al., 2016)
    decoder: str = "transposed"

    def __post_init__(self) -> None:
        if not 1 <= len(self.channels) <= 3 or min(self.channels) < 1:
            raise ValueError(f"AEConfig.channels = {self.channels!r}: give 1 to 3 positive channel counts.")
        if self.kernel_size not in (3, 5, 7):
            raise ValueError(f"AEConfig.kernel_size = {self.kernel_size!r}: allowed 3, 5 or 7.")
        if self.latent_dim < 1:
            raise ValueError(f"AEConfig.latent_dim = {self.latent_dim!r}: must be >= 1.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"AEConfig.dropout = {self.dropout!r}: allowed 0 <= dropout < 1.")
        if self.decoder not in DECODERS:
            raise ValueError(f"AEConfig.decoder = {self.decoder!r}: allowed {', '.join(map(repr, DECODERS))}.")

    def as_dict(self) -> dict:
        """The fields as a dict (run-cache keys are made from it). The decoder is left out at its first value,
        "transposed", so that runs cached before the field existed keep their keys."""
        found = asdict(self)
        if found["decoder"] == DECODERS[0]:
            del found["decoder"]
        return found


DECODERS = ("transposed", "resize")


def _stage(conv: nn.Module, channels: int, cfg: AEConfig) -> list[nn.Module]:
    layers = [conv]
    if cfg.batch_norm:
        layers.append(nn.BatchNorm2d(channels))
    layers.append(nn.ReLU(inplace=True))
    if cfg.dropout:
        layers.append(nn.Dropout(cfg.dropout))
    return layers


def _sizes(cfg: AEConfig, image_size: int) -> list[int]:
    """Spatial size before each stage and after the last one (stride 2, 'same' padding)."""
    sizes = [image_size]
    for _ in cfg.channels:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


class Encoder(nn.Module):
    """Image [B, 1, 28, 28] -> code [B, latent_dim]."""

    def __init__(self, cfg: AEConfig, image_size: int = 28) -> None:
        super().__init__()
        k, layers, previous = cfg.kernel_size, [], 1
        for width in cfg.channels:
            layers += _stage(nn.Conv2d(previous, width, k, stride=2, padding=k // 2, bias=not cfg.batch_norm),
                             width, cfg)
            previous = width
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.feature_dim = previous * _sizes(cfg, image_size)[-1] ** 2
        self.to_code = nn.Linear(self.feature_dim, cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.features(x))


class Decoder(nn.Module):
    """Code [B, latent_dim] -> image [B, 1, 28, 28] on [0, 1] (sigmoid output), or with `logits=True` the
    pixel logits before the sigmoid (a VAE's Bernoulli parameters)."""

    def __init__(self, cfg: AEConfig, image_size: int = 28, logits: bool = False) -> None:
        super().__init__()
        sizes = _sizes(cfg, image_size)
        widths = list(reversed(cfg.channels))
        self.from_code = nn.Sequential(nn.Linear(cfg.latent_dim, widths[0] * sizes[-1] ** 2), nn.ReLU(inplace=True),
                                       nn.Unflatten(1, (widths[0], sizes[-1], sizes[-1])))
        k, layers = cfg.kernel_size, []
        targets = list(reversed(sizes[:-1]))  # the sizes to grow back to, smallest first
        for i, target in enumerate(targets):
            last = i == len(targets) - 1
            out = 1 if last else widths[i + 1]
            bias = last or not cfg.batch_norm
            if cfg.decoder == "resize":
                layers.append(nn.Upsample(size=target, mode="nearest"))
                conv = nn.Conv2d(widths[i], out, k, padding=k // 2, bias=bias)
            else:
                grown = 2 * sizes[-1 - i] - 1  # what a stride-2 transposed conv with 'same' padding gives
                conv = nn.ConvTranspose2d(widths[i], out, k, stride=2, padding=k // 2, output_padding=target - grown,
                                          bias=bias)
            layers += ([conv] if logits else [conv, nn.Sigmoid()]) if last else _stage(conv, out, cfg)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.from_code(z))


class AutoEncoder(nn.Module):
    def __init__(self, cfg: AEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class VAE(nn.Module):
    """A convolutional VAE built from the autoencoder's own blocks: an `Encoder` with twice the code size gives
    the mean and log-variance of q(z|x), a `Decoder` without its sigmoid gives Bernoulli logits of p(x|z).
    Inputs are pixels on [0, 1] (no normalization: the same pixels the likelihood is about).

    `beta` weighs the KL term; with `warmup_epochs` the weight rises linearly from 0 to `beta` over that many
    epochs. The training loop calls `before_step(epochs_done)` before every optimizer step (see
    `training.fit`), which sets `kl_weight`; in eval mode the loss uses `beta` itself."""

    def __init__(self, cfg: AEConfig, beta: float = 1.0, warmup_epochs: float = 0.0) -> None:
        super().__init__()
        if beta <= 0 or warmup_epochs < 0:
            raise ValueError(f"VAE(beta={beta!r}, warmup_epochs={warmup_epochs!r}): beta > 0, warmup_epochs >= 0.")
        self.cfg, self.beta, self.warmup_epochs = cfg, beta, warmup_epochs
        self.encoder = Encoder(replace(cfg, latent_dim=2 * cfg.latent_dim))
        self.decoder = Decoder(cfg, logits=True)
        # a tensor (not saved with the weights) updated in place, so a training step replayed as a CUDA graph reads
        # the current weight
        self.register_buffer("kl_weight", torch.tensor(float(beta)), persistent=False)

    before_step_graph_safe = True  # before_step only writes tensors in place (see training.graphable)

    def before_step(self, epochs_done: float) -> None:
        ramp = min(1.0, epochs_done / self.warmup_epochs) if self.warmup_epochs else 1.0
        self.kl_weight.fill_(self.beta * ramp)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x), each [B, latent_dim] (log-variance clamped for stability)."""
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        return mean, log_var.clamp(-12.0, 8.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction from the mean code: pixel probabilities on [0, 1]."""
        return torch.sigmoid(self.decoder(self.encode(x)[0]))

    def mean_encoder(self) -> nn.Module:
        """A module mapping images to the mean code (what downstream tasks use as the VAE's representation)."""
        return _VAEPart(self, "mean")

    def image_decoder(self) -> nn.Module:
        """A module mapping codes to pixel probabilities on [0, 1] (the Bernoulli means)."""
        return _VAEPart(self, "decode")


class _VAEPart(nn.Module):
    """One direction of a VAE as a module (it holds the VAE, so eval mode and the device reach its layers)."""

    def __init__(self, vae: VAE, part: str) -> None:
        super().__init__()
        self.vae, self.part = vae, part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(x)[0] if self.part == "mean" else torch.sigmoid(self.vae.decoder(x))


class SimCLRNet(nn.Module):
    """SimCLR's networks: the autoencoder's `Encoder` (its representation: the code, `cfg.latent_dim` numbers)
    and a projection head (Linear, BatchNorm, ReLU, Linear) on which the contrastive loss is computed; the head
    is dropped after pretraining."""

    def __init__(self, cfg: AEConfig, projection_dim: int = 64, hidden: int = 256) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.head = nn.Sequential(nn.Linear(cfg.latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, projection_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def count_parameters(model: nn.Module, trainable: bool = True) -> int:
    """Parameters that train (`trainable`, the default) or all of them."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


class _BodyAndHead(nn.Module):
    """A classifier that is a body (`BODY`, the attribute holding it) and a head. A frozen body gets no gradients
    and stays in eval mode, so its batch-norm statistics do not move either."""

    BODY = "body"
    frozen = False

    def _freeze_body(self, frozen: bool) -> None:
        self.frozen = frozen
        if frozen:
            getattr(self, self.BODY).requires_grad_(False)

    def train(self, mode: bool = True) -> _BodyAndHead:
        super().train(mode)
        if self.frozen:
            getattr(self, self.BODY).eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(getattr(self, self.BODY)(x))


class HW1Net(_BodyAndHead):
    """The Homework 1 classifier: three Conv3x3-BN-ReLU-MaxPool blocks (32, 64, 128 channels), global
    average pooling, dropout 0.25 and a linear layer to 10 classes; Kaiming init; 94,410 parameters.

    With `freeze_features` the blocks get no gradients and stay in eval mode (batch-norm statistics fixed): only the
    last linear layer trains (1,290 parameters), a linear probe on whatever the blocks hold.
    """

    BODY = "features"

    def __init__(self, n_classes: int = 10, freeze_features: bool = False) -> None:
        super().__init__()
        blocks, previous = [], 1
        for width in (32, 64, 128):
            blocks += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(128, n_classes))
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        self._freeze_body(freeze_features)


class HW1Autoencoder(nn.Module):
    """Homework 1's network pretrained without labels: its three convolutional blocks and global average pooling
    (`HW1Net.features`, unchanged) encode an image to the 128 pooled numbers its classification head reads; a decoder
    mirrors the blocks back to 28 x 28. A linear layer spreads the 128 numbers over a 128 x 3 x 3 map (in place of the
    pooling); each max-pooling is mirrored by nearest-neighbour upsampling (3 -> 7 -> 14 -> 28) followed by a 3 x 3
    convolution, batch norm and ReLU (64, then 32 channels), and a last 3 x 3 convolution and a sigmoid give the
    image. Upsampling before convolving avoids the uneven kernel overlap of strided transposed convolutions, the
    usual source of checkerboard patterns. `encoder` is what a `HW1Net` loads into its
    `features`."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = HW1Net().features
        layers: list[nn.Module] = [nn.Linear(128, 128 * 3 * 3), nn.ReLU(inplace=True), nn.Unflatten(1, (128, 3, 3))]
        for size, (width_in, width_out) in zip((7, 14), ((128, 64), (64, 32))):
            layers += [nn.Upsample(size=size, mode="nearest"), nn.Conv2d(width_in, width_out, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width_out), nn.ReLU(inplace=True)]
        layers += [nn.Upsample(size=28, mode="nearest"), nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


HEADS = ("linear", "mlp")
TAPS = ("features", "code")


class EncoderClassifier(_BodyAndHead):
    """An autoencoder's encoder with a classification head on top; the encoder can be frozen.

    `tap="features"`: the head reads the encoder's last feature map (before the linear bottleneck);
    `tap="code"`: it reads the code itself. `head="linear"` is a linear probe, `"mlp"` two layers with
    ReLU and dropout. A frozen encoder gets no gradients and stays in eval mode (its batch-norm
    statistics do not move either).
    """

    BODY = "encoder"

    def __init__(self, encoder: Encoder, head: str = "mlp", *, tap: str = "features", freeze: bool = False,
                 hidden: int = 256, dropout: float = 0.2, n_classes: int = 10) -> None:
        super().__init__()
        if head not in HEADS or tap not in TAPS:
            raise ValueError(f"EncoderClassifier(head={head!r}, tap={tap!r}): head is one of {HEADS}, "
                             f"tap one of {TAPS}.")
        self.encoder = encoder.features if tap == "features" else encoder
        width = encoder.feature_dim if tap == "features" else encoder.to_code.out_features
        self.head = nn.Linear(width, n_classes) if head == "linear" else nn.Sequential(
            nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, n_classes))
        self._freeze_body(freeze)


# ----------------------------------------------------------------------------- the DCGAN (section 7)


@dataclass(frozen=True)
class GANConfig:
    """Shape and stabilizers of the DCGAN. `width` is the channel count of the first stage (doubled in the
    second); `real_label` < 1 is one-sided label smoothing (only the discriminator's real targets are lowered)."""

    z_dim: int = 64
    width: int = 32
    spectral_norm: bool = True  # on every discriminator layer: bounds how fast its outputs can change
    real_label: float = 0.9
    snapshot_count: int = 16  # fixed noise vectors whose images are kept after every epoch

    def __post_init__(self) -> None:
        if self.z_dim < 1 or self.width < 1 or self.snapshot_count < 1:
            raise ValueError(f"GANConfig: z_dim, width and snapshot_count must be >= 1, got {self}.")
        if not 0.5 < self.real_label <= 1.0:
            raise ValueError(f"GANConfig.real_label = {self.real_label!r}: allowed 0.5 < real_label <= 1.")

    def as_dict(self) -> dict:
        return asdict(self)


class Generator(nn.Module):
    """z -> linear -> (2w, 7, 7) -> transposed conv to (w, 14, 14) -> transposed conv to (1, 28, 28), tanh.
    Batch norm and ReLU between the stages (DCGAN)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        w = cfg.width
        self.project = nn.Sequential(nn.Linear(cfg.z_dim, 2 * w * 49, bias=False), nn.BatchNorm1d(2 * w * 49),
                                     nn.ReLU(inplace=True), nn.Unflatten(1, (2 * w, 7, 7)))
        self.up = nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w),
                                nn.ReLU(inplace=True), nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(z))


class Discriminator(nn.Module):
    """(1, 28, 28) -> strided conv to (w, 14, 14) -> strided conv to (2w, 7, 7) -> linear logit; LeakyReLU(0.2),
    no batch norm (spectral norm instead, when configured)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        w = cfg.width
        norm = nn.utils.parametrizations.spectral_norm if cfg.spectral_norm else (lambda m: m)
        self.net = nn.Sequential(norm(nn.Conv2d(1, w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),
                                 norm(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Flatten(), norm(nn.Linear(2 * w * 49, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class DCGAN(nn.Module):
    """Generator and discriminator with their own alternating training step (see `training.fit`: a model with a
    `training_step` gets one optimizer per entry of `parameter_sets()`).

    The step: the discriminator learns real (target `real_label`) from generated (target 0); then the generator
    learns to make the discriminator say real (target 1, the non-saturating loss). Images are on [-1, 1].
    `snapshot()` stores the generator's images of `snapshot_count` fixed noise vectors (uint8, one row per epoch,
    flattened pixels) in a buffer, so checkpoints carry them."""

    adam_betas = (0.5, 0.999)

    def __init__(self, cfg: GANConfig = GANConfig(), snapshots: int = 0, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator, self.discriminator = Generator(cfg), Discriminator(cfg)
        fixed = torch.randn(cfg.snapshot_count, cfg.z_dim, generator=torch.Generator().manual_seed(seed + 1))
        self.register_buffer("fixed_noise", fixed)
        # [epoch, image, pixel]: 3-D, so that moving the model to channels-last (which converts 4-D and 5-D
        # tensors) leaves it alone
        self.register_buffer("snapshots", torch.zeros(snapshots, cfg.snapshot_count, 28 * 28, dtype=torch.uint8))
        self.register_buffer("snapshots_taken", torch.zeros((), dtype=torch.long))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def noise(self, n: int, device: torch.device | str) -> torch.Tensor:
        return torch.randn(n, self.cfg.z_dim, device=device)

    def parameter_sets(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()), "generator": list(self.generator.parameters())}

    def training_step(self, batch, optimizers, autocast) -> dict[str, torch.Tensor]:
        real = batch.inputs
        with autocast():
            fake = self.generator(self.noise(len(real), real.device))
            d_real, d_fake = self.discriminator(real).float(), self.discriminator(fake.detach()).float()
        d_loss = (nn.functional.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, self.cfg.real_label))
                  + nn.functional.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimizers["discriminator"].step()
        with autocast():
            judged = self.discriminator(fake).float()
        g_loss = nn.functional.binary_cross_entropy_with_logits(judged, torch.ones_like(judged))
        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["generator"].step()
        return {"loss": d_loss.detach() + g_loss.detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": torch.sigmoid(d_real.detach()).mean(), "d_fake": torch.sigmoid(d_fake.detach()).mean()}

    @torch.no_grad()
    def snapshot(self) -> None:
        taken = int(self.snapshots_taken)
        if taken >= len(self.snapshots):
            raise RuntimeError(f"DCGAN: all {len(self.snapshots)} snapshot rows are used; build it with more.")
        was_training = self.training
        self.eval()
        images = self.generator(self.fixed_noise).float().mul(0.5).add(0.5).clamp(0, 1)
        self.snapshots[taken] = images.mul(255).round().to(torch.uint8).flatten(1)
        self.snapshots_taken += 1
        self.train(was_training)
