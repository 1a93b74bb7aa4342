"""A bias-free ReLU network trained in plain NumPy and converted into weights for
integrate-and-fire neurons: what the conversion pipelines (digits_convert,
yinyang, sweep) share."""
from __future__ import annotations

import numpy as np

#: Percentile of a layer's positive training activations taken as its "maximum".
#: The true maximum is set by a handful of outliers; normalising by it makes
#: almost every neuron fire far below the one-spike-per-step ceiling, so more
#: timesteps are needed for the same precision (Rueckauer et al. 2017).
NORMALISATION_PERCENTILE = 99.9


def relu_activations(x, weights):
    """Every layer's output of the bias-free ReLU network, the input first.

    The last layer has no ReLU here: its outputs are the logits."""
    activations = [x]
    for index, w in enumerate(weights):
        z = activations[-1] @ w
        activations.append(z if index == len(weights) - 1 else np.maximum(z, 0.0))
    return activations


def accuracy(x, y, weights):
    return float(np.mean(np.argmax(relu_activations(x, weights)[-1], axis=1) == y))


def train(x, y, hidden_units, epochs, minibatch, learning_rate, seed):
    """Train inputs -> hidden_units -> classes with softmax cross-entropy and Adam;
    return the weights.

    No biases: an integrate-and-fire neuron has no bias current here, and a ReLU
    network without biases converts exactly up to rate quantisation."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], hidden_units, int(y.max()) + 1]
    # He initialisation keeps ReLU activations at a steady scale through the layers
    weights = [rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    moments = [(np.zeros_like(w), np.zeros_like(w)) for w in weights]
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), minibatch):
            batch = order[start:start + minibatch]
            activations = relu_activations(x[batch], weights)
            logits = activations[-1]
            # Gradient of the mean cross-entropy with respect to the logits
            delta = np.exp(logits - logits.max(axis=1, keepdims=True))
            delta /= delta.sum(axis=1, keepdims=True)
            delta[np.arange(len(batch)), y[batch]] -= 1.0
            delta /= len(batch)
            gradients = [None] * len(weights)
            for layer in reversed(range(len(weights))):
                gradients[layer] = activations[layer].T @ delta
                if layer > 0:
                    delta = (delta @ weights[layer].T) * (activations[layer] > 0.0)
            step += 1
            for w, g, (m, v) in zip(weights, gradients, moments):
                m[...] = beta1 * m + (1.0 - beta1) * g
                v[...] = beta2 * v + (1.0 - beta2) * g * g
                w -= learning_rate * (m / (1.0 - beta1 ** step)) / (
                    np.sqrt(v / (1.0 - beta2 ** step)) + epsilon)
    return weights


def normalise_weights(x_train, weights):
    """Data-based normalisation (Diehl et al. 2015) with a percentile maximum.

    With threshold 1 and reset by subtraction, an integrate-and-fire neuron's
    rate in spikes per step approximates its ReLU activation divided by the
    activation that should fire every step. Scaling layer l's weights by
    lambda_{l-1} / lambda_l, where lambda_l is layer l's (robust) maximum training
    activation, maps each layer's activations into [0, 1] spikes per step.
    lambda_0 = 1: the inputs lie in [0, 1] and drive the input neurons directly as
    current. Returns the float32 weights and the maxima lambda_1, lambda_2, ..."""
    scales = [1.0]
    for layer_output in relu_activations(x_train, weights)[1:]:
        positive = layer_output[layer_output > 0.0]
        scales.append(float(np.percentile(positive, NORMALISATION_PERCENTILE)))
    return [(w * scales[i] / scales[i + 1]).astype(np.float32)
            for i, w in enumerate(weights)], scales[1:]
