"""RPG Studio's PyTorch engine: the TypeScript core's PRNG, plans, models, data order and
optimizers reproduced bit for bit, trained with PyTorch on CUDA, MPS or all CPU cores, alone
or as a torchrun job. See python/README.md."""

__version__ = "0.1.0"
