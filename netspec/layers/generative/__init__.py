"""Autoencoder and generative pieces: gaussian_noise, activity_regularization, sample (VAE).

Loss terms follow the auxiliary-loss convention (docs/ARCHITECTURE.md): during a training forward the
module stores its penalty in ``self.aux_loss`` (a scalar tensor, averaged over the batch); in eval it
is ``None``. ``netspec.layers.torch.generative.aux_losses(model)`` sums them for the trainer. Input dropout for
denoising autoencoders is the ordinary ``dropout`` layer placed first.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("gaussian_noise", "activity_regularization", "sample")
