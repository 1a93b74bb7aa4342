from .synapse import Synapse


class Delta(Synapse):
    """Each step's delivered weight is injected once as current, then cleared."""
