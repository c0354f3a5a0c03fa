"""Training: ``trainer.train`` (run folders, resumable checkpoints), the paper's ``losses``, ``distribute``
(where training runs, tf.distribute). Import the modules; this package imports nothing itself."""
