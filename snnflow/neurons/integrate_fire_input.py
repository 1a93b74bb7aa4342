from .input import Input
from .integrate_fire import IntegrateFire


class IntegrateFireInput(Input, IntegrateFire):
    """IntegrateFire driven by the example's value per neuron in place of Isyn."""
