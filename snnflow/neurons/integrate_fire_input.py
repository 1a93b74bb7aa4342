from .integrate_fire import IntegrateFire


class IntegrateFireInput(IntegrateFire):
    """IntegrateFire driven by the example's value per neuron in place of Isyn."""

    input_kind = "values"
