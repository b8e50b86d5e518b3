"""The autoencoder's shapes, interface and configuration checks; the Homework 1 network's size."""
from __future__ import annotations

import pytest
import torch

from helpers.models import AEConfig, AutoEncoder, HW1Net, count_parameters


@pytest.mark.parametrize("cfg", [
    AEConfig(),
    AEConfig(channels=(16,), kernel_size=5, latent_dim=2, batch_norm=False),
    AEConfig(channels=(16, 32, 64), kernel_size=3, latent_dim=128, dropout=0.2),
    AEConfig(channels=(8, 16, 32), kernel_size=7, latent_dim=8, batch_norm=False, dropout=0.1),
])
def test_shapes_and_round_trip(cfg):
    model = AutoEncoder(cfg).eval()
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, cfg.latent_dim)
    x_hat = model.decode(z)
    assert x_hat.shape == x.shape
    assert torch.equal(x_hat, model(x))  # forward is decode(encode(x))
    assert x_hat.min() >= 0 and x_hat.max() <= 1  # sigmoid output: pixels on [0, 1]
    assert count_parameters(model) == count_parameters(model.encoder) + count_parameters(model.decoder)


def test_encoder_and_decoder_stand_alone():
    model = AutoEncoder(AEConfig(latent_dim=16))
    assert model.decoder(torch.randn(3, 16)).shape == (3, 1, 28, 28)  # a generator from codes
    assert model.encoder(torch.rand(3, 1, 28, 28)).shape == (3, 16)  # a feature extractor


@pytest.mark.parametrize("kwargs, field", [({"channels": ()}, "channels"), ({"kernel_size": 4}, "kernel_size"),
                                           ({"latent_dim": 0}, "latent_dim"), ({"dropout": 1.0}, "dropout")])
def test_config_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=f"AEConfig.{field}"):
        AEConfig(**kwargs)


def test_hw1_network_has_the_reported_size_and_ten_outputs():
    model = HW1Net()
    assert count_parameters(model) == 94410  # the size the report states
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
