from .input import Input
from .leaky_integrate_fire import LeakyIntegrateFire


class LeakyIntegrateFireInput(Input, LeakyIntegrateFire):
    """LeakyIntegrateFire driven by the example's value per neuron in place of Isyn."""
