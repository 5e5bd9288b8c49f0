"""nnfabrik's ``MNISTTrainer`` and ``mnist_trainer_fn``: Adam on the negative log-likelihood; the score is the last
epoch's training accuracy (%); it calls ``cb`` never, as nnfabrik's does."""

from typing import Any, Callable, Dict, List, Tuple

import torch
from torch import nn, optim


class MNISTTrainer:
    def __init__(self, model: nn.Module, dataloaders: Dict, seed: int, epochs: int = 5) -> None:
        self.model = model
        self.trainloader = dataloaders["train"]
        self.seed = seed
        self.epochs = epochs
        self.loss_fn = nn.NLLLoss()
        self.optimizer = optim.Adam(self.model.parameters())

    def train_loop(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[int, int]:
        self.optimizer.zero_grad()
        logits = self.model(x.flatten(1, -1))
        loss = self.loss_fn(logits, y)
        loss.backward()
        self.optimizer.step()
        _, predicted = logits.max(1)
        return predicted.eq(y).sum().item(), y.shape[0]

    def train(self) -> Tuple[float, Tuple[List[float], int], Dict]:
        torch.manual_seed(self.seed)
        accs = []
        for _ in range(self.epochs):
            correct = total = 0
            for x, y in self.trainloader:
                p, t = self.train_loop(x, y)
                correct += p
                total += t
            accs.append(100.0 * correct / total)
        return accs[-1], (accs, self.epochs), self.model.state_dict()


def mnist_trainer_fn(model: torch.nn.Module, dataloaders: Dict, seed: int, uid: Dict, cb: Callable,
                     **config) -> Tuple[float, Any, Dict]:
    return MNISTTrainer(model, dataloaders, seed, epochs=config.get("epochs", 2)).train()
