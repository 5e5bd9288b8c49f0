"""nnfabrik's example builders (``nnfabrik.examples.mnist`` and ``nnfabrik.examples.mnist_checkpoint``), ported
so that nnfabrik's example notebooks run here without internet or torchvision.

What differs from nnfabrik's code, and why:
- ``dataset.mnist_dataset_fn`` reads scikit-learn's digits (1,797 real 8x8 handwritten digits, 10 classes, shipped
  with scikit-learn) instead of downloading MNIST with torchvision (no internet here, and torchvision does not
  import beside our torch wheel). Same signature, config keys, normalisation step and loaders; 1,297 training and
  500 test images (nnfabrik, too, validates on the test set).
- The trainers print no tqdm progress bars (output only).
- ``checkpoint_trainer.ChkptTrainer.restore`` hands the optimiser itself to ``call_back`` (as ``save`` does), not
  a copy of its state dict: nnfabrik's example passes ``self.optimizer.state_dict()``, which the restore replaces
  in the dict without reaching the optimiser, so a resumed run would restart Adam's moments.
- ``checkpoint_trainer.chkpt_trainer_fn`` passes the trainer config's ``chkpt_options`` (``save_every_n``,
  ``keep_last_n``, ...) on to ``ChkptTrainer``, which takes them; nnfabrik's function never does.
"""
