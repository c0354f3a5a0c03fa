import numpy as np
import pytest

from echolite.training.losses import DiceScore, SegmentationLoss


def _example():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (2, 8, 8, 1)).astype(np.uint8)
    logits = rng.normal(size=(2, 8, 8, 4))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return labels, probs.astype(np.float32)


def _hand_dice_loss(labels, probs, smooth=1e-5):
    onehot = np.eye(4)[labels[..., 0]]
    dices = []
    for c in (1, 2, 3):
        inter = (onehot[..., c] * probs[..., c]).sum()
        dices.append((2 * inter + smooth) / (onehot[..., c].sum() + probs[..., c].sum() + smooth))
    return 1 - np.mean(dices)


def _hand_ce(labels, probs):
    return -np.mean(np.log(np.take_along_axis(probs, labels.astype(int), axis=-1)))


@pytest.mark.parametrize("kind", ["dice", "ce", "dice_ce"])
def test_losses_match_hand_computation(kind):
    labels, probs = _example()
    expected = {
        "dice": _hand_dice_loss(labels, probs),
        "ce": _hand_ce(labels, probs),
        "dice_ce": 0.5 * (_hand_dice_loss(labels, probs) + _hand_ce(labels, probs)),
    }[kind]
    assert float(SegmentationLoss(kind)(labels, probs)) == pytest.approx(expected, rel=1e-5)


def test_perfect_prediction_has_zero_dice_loss():
    labels, _ = _example()
    onehot = np.eye(4, dtype=np.float32)[labels[..., 0]]
    assert float(SegmentationLoss("dice")(labels, onehot)) == pytest.approx(0.0, abs=1e-6)


def test_deep_supervision_total_loss_is_final_plus_weighted_aux(tiny_config):
    """L = L_final + Σ 0.3·L_aux, checked against the model's own predictions."""
    import keras

    from echolite.config import TrainConfig
    from echolite.training.trainer import compiled_model

    model = compiled_model(tiny_config, TrainConfig(loss="dice_ce", ds_weight=0.3))
    rng = np.random.default_rng(1)
    x = rng.random((4, 64, 64, 1), dtype=np.float32)
    y = rng.integers(0, 4, (4, 64, 64, 1)).astype(np.uint8)
    outputs = model(x, training=False)
    expected = sum(
        (1.0 if name == "seg" else 0.3) * 0.5 * (_hand_dice_loss(y, np.asarray(p)) + _hand_ce(y, np.asarray(p)))
        for name, p in outputs.items()
    )
    assert len(outputs) == 2  # seg + ds_1 for a 3-level model
    result = model.evaluate(x, {n: y for n in model.output_names}, batch_size=4, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(expected, rel=1e-4)
    assert isinstance(model.loss["seg"], keras.losses.Loss)


def test_dice_metric_is_hard_dice_over_all_pixels():
    labels = np.zeros((1, 4, 4, 1), np.uint8)
    labels[0, :2, :, 0] = 1
    pred = np.zeros((1, 4, 4, 4), np.float32)
    pred[0, :, :, 0] = 1
    pred[0, :1, :, :] = [0, 1, 0, 0]  # half of the LV found, nothing else
    metric = DiceScore((1,))
    metric.update_state(labels, pred)
    assert float(metric.result()) == pytest.approx(2 * 4 / (8 + 4))
    metric.reset_state()  # each epoch starts from nothing
    metric.update_state(labels, np.eye(4, dtype=np.float32)[labels[..., 0]])
    assert float(metric.result()) == pytest.approx(1.0)


def test_size_term_is_the_mean_relative_area_error_per_frame_and_class():
    labels = np.zeros((2, 8, 8, 1), np.uint8)
    labels[0, :4, :4, 0] = 1  # frame 0: LV of 16 pixels, nothing else
    labels[1, :2, :, 0] = 3  # frame 1: LA of 16 pixels
    probs = np.eye(4, dtype=np.float32)[labels[..., 0]]
    probs[0, 4, :4] = [0, 1, 0, 0]  # frame 0 predicts 20 LV pixels
    # (frame, class) errors: frame 0 LV |20-16|/(36+1); every other pair agrees (0 or |0-0|/1).
    expected = (4 / 37) / 6
    plain = float(SegmentationLoss("ce")(labels, probs))
    assert float(SegmentationLoss("ce", size_weight=0.5)(labels, probs)) == pytest.approx(
        plain + 0.5 * expected, rel=1e-5
    )


def test_size_weight_survives_serialisation_and_is_checked():
    from echolite.config import TrainConfig
    from echolite.errors import EcholiteError

    loss = SegmentationLoss("dice_ce", size_weight=0.2)
    assert SegmentationLoss.from_config(loss.get_config()).size_weight == 0.2
    with pytest.raises(EcholiteError, match="size_weight"):
        TrainConfig(size_weight=-1)
