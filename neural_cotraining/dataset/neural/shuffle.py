"""The shuffled-responses control: responses moved to other images, each neuron's statistics unchanged.

Safarani et al. (NeurIPS 2021) co-train with monkey V1 responses and compare against "MTL-Shuffled": the same
responses, but paired with the wrong images. A robustness gain that survives the shuffle comes from having a second
task at all (a regulariser), not from what the neurons say about the images.

Within one session and one split, the images are permuted among those with the same number of trials (a seeded
permutation), and all trials of an image take the responses of its partner's trials, in order. Every response
vector appears exactly once, so each neuron's response distribution (and the joint distribution across neurons)
is unchanged; only the image-response pairing is destroyed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["shuffle_responses_across_images"]


def shuffle_responses_across_images(responses: np.ndarray, image_ids: np.ndarray, seed: int) -> np.ndarray:
    """``responses`` (trials x neurons) re-paired with the images of ``image_ids`` (one id per trial); see the
    module docstring. A new array; the input is not changed."""
    responses = np.asarray(responses)
    image_ids = np.asarray(image_ids)
    if len(responses) != len(image_ids):
        raise ValueError(f"{len(responses)} response rows but {len(image_ids)} image ids")
    _, inverse, counts = np.unique(image_ids, return_inverse=True, return_counts=True)
    trials_of_image = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.default_rng(seed)
    shuffled = responses.copy()
    for count in np.unique(counts):
        images = np.flatnonzero(counts == count)
        partners = images[rng.permutation(len(images))]
        targets = np.concatenate([trials_of_image[image] for image in images])
        sources = np.concatenate([trials_of_image[partner] for partner in partners])
        shuffled[targets] = responses[sources]
    return shuffled
