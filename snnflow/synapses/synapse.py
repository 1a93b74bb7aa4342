"""Synapse: how summed input (inSyn) becomes current in the target neurons."""


class Synapse:
    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"
