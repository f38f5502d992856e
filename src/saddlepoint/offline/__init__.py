"""Offline transition datasets (Minari, .npz, gen_dgrl and V-D4RL readers), augmentation and latent-diffusion upsampling."""
