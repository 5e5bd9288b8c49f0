"""nnfabrik's ``examples/mnist_checkpoint/trainer.py``: the MNIST trainer saving a checkpoint after every epoch
through ``call_back(uid, epoch, model, state={"action": "save", ...})`` and resuming from the last one
(``{"action": "last", ...}``) when it starts. One line differs (see the package docstring): ``restore`` hands over
the optimiser itself."""

from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from .trainer import MNISTTrainer


class ChkptTrainer(MNISTTrainer):
    def __init__(self, model: nn.Module, dataloaders: Dict, seed: int, uid: Dict, call_back: Callable,
                 epochs: int = 5, chkpt_options: Optional[Dict] = None) -> None:
        super().__init__(model, dataloaders, seed, epochs)
        self.trained_model_cb = call_back
        self.uid = uid
        self.accs = []
        self.chkpt_options = chkpt_options if chkpt_options is not None else {}

    def save(self, epoch: int, score: float) -> None:
        state = {
            "action": "save",
            "score": score,
            "maximize_score": True,
            "tracker": self.accs,
            "optimizer": self.optimizer,
            **self.chkpt_options,
        }
        self.trained_model_cb(uid=self.uid, epoch=epoch, model=self.model, state=state)

    def restore(self) -> int:
        loaded_state = {
            "action": "last",
            "maximize_score": True,
            "tracker": self.accs,
            "optimizer": self.optimizer,  # nnfabrik: self.optimizer.state_dict(), which is never loaded back
        }
        self.trained_model_cb(uid=self.uid, epoch=-1, model=self.model, state=loaded_state)
        return loaded_state.get("epoch", -1) + 1

    def train(self) -> Tuple[float, Tuple[List[float], int], Dict]:
        torch.manual_seed(self.seed)
        start_epoch = self.restore()
        for epoch in range(start_epoch, self.epochs):
            print(f"Epoch {epoch}")
            correct = total = 0
            for x, y in self.trainloader:
                p, t = self.train_loop(x, y)
                correct += p
                total += t
            self.accs.append(100.0 * correct / total)
            self.save(epoch, self.accs[-1])
        return self.accs[-1], (self.accs, self.epochs), self.model.state_dict()


def chkpt_trainer_fn(model: torch.nn.Module, dataloaders: Dict, seed: int, uid: Dict, cb: Callable,
                     **config) -> Tuple[float, Any, Dict]:
    trainer = ChkptTrainer(model, dataloaders, seed, uid=uid, call_back=cb, epochs=config.get("epochs", 2),
                           chkpt_options=config.get("chkpt_options"))
    return trainer.train()
