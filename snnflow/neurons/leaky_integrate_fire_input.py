from .leaky_integrate_fire import LeakyIntegrateFire


class LeakyIntegrateFireInput(LeakyIntegrateFire):
    """LeakyIntegrateFire driven by the example's value per neuron in place of Isyn."""

    input_kind = "values"
