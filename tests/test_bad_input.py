"""Every command that takes files, against a catalogue of bad inputs. For each case: exit status 1, one line on
stderr naming the file or option and the problem, no traceback, nothing left at the destination or in the temp
folder, and no earlier work lost. A new case is one line in CASES."""

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

pytestmark = pytest.mark.slow

SIZE = 64
FRAMES_CSV = """frame_id,patient,view,phase,dice_LV,dice_MYO,dice_LA,hd_px_LV,hd_px_MYO,hd_px_LA,hd_mm_LV,hd_mm_MYO,hd_mm_LA
p1_4CH_ED,p1,4CH,ED,0.9100,0.8200,0.8800,5.0000,6.0000,7.0000,1.5000,1.8000,2.1000
p1_4CH_ES,p1,4CH,ES,0.9000,0.8100,0.8700,5.5000,6.5000,7.5000,1.6000,1.9000,2.2000
"""  # the oldest frames.csv that compare reads (Dice and Hausdorff of LV, MYO, LA)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Good and bad inputs side by side: data folders, a trained run, its export, and files that only pretend."""
    import keras

    from echolite.config import ModelConfig, TrainConfig
    from echolite.data.phantom import make_phantom
    from echolite.data.writers import write_png_export
    from echolite.inference import MaskSpec
    from echolite.models.layers import load_saved_model
    from echolite.training.trainer import train
    from echolite.workflows.evaluation import evaluate
    from echolite.workflows.export import ExportSettings, export_run

    root = tmp_path_factory.mktemp("world")
    frames = make_phantom(12, seed=0, size=SIZE)
    write_png_export(frames, root / "good")
    first = frames.frame_ids[0]

    def variant(name, change):
        shutil.copytree(root / "good", root / name)
        change(root / name)

    variant("corrupt", lambda d: (d / "img" / f"{first}.png").write_bytes(b"not a png at all"))
    variant(
        "truncated",
        lambda d: (d / "img" / f"{first}.png").write_bytes((root / "good" / "img" / f"{first}.png").read_bytes()[:120]),
    )
    variant("labels", lambda d: Image.fromarray(np.full((SIZE, SIZE), 7, np.uint8)).save(d / "ref" / f"{first}_gt.png"))
    variant("size", lambda d: Image.fromarray(np.zeros((SIZE, SIZE + 5), np.uint8)).save(d / "ref" / f"{first}_gt.png"))
    variant("bit32", lambda d: _as_folder_layout(d, first))
    variant("nomasks", lambda d: shutil.rmtree(d / "ref"))
    variant("dot", lambda d: Image.fromarray(np.zeros((1, 1), np.uint8)).save(d / "img" / f"{first}.png"))
    variant(
        "link", lambda d: (d / "img" / f"{first}.png").unlink() or (d / "img" / f"{first}.png").symlink_to("gone.png")
    )
    variant("nospacing", lambda d: (d / "img").rename(d / "images") or (d / "ref").rename(d / "masks"))
    variant("bomb", lambda d: (d / "img" / f"{first}.png").unlink() or _write_bomb(d / "img" / f"{first}.png"))
    variant("dupframe", lambda d: shutil.copy(d / "img" / f"{first}.png", d / "img" / f"{first}.PNG"))
    variant(
        "named",
        lambda d: [
            f.rename(f.with_name(f.name.replace("phantom", "patient")))  # a PNG export,
            for f in sorted(d.rglob("phantom*.png"))
        ],
    )  # whose pixel spacing is known
    variant(
        "partial", lambda d: [f.unlink() for f in sorted((d / "img").iterdir())[2:] + sorted((d / "ref").iterdir())[2:]]
    )
    (root / "empty" / "img").mkdir(parents=True)
    (root / "empty" / "ref").mkdir()
    (root / "text.keras").write_text("a model, honestly")
    (root / "garbage.tflite").write_bytes(b"not a flatbuffer")
    (root / "afile").write_text("a file where a folder should be")
    _write_foreign_models(root)
    shutil.copytree(root / "good" / "ref", root / "wrongpred")  # predictions: the expert masks, one of a wrong size
    Image.fromarray(np.zeros((32, 48), np.uint8)).save(root / "wrongpred" / f"{first}_gt.png")
    (root / "bad.yaml").write_text("train: [unclosed\n")
    for name, plan in {
        "epochs": "baseline: {epochs: 2.5}",
        "name": "name: ../out\nbaseline: {}",
        "norm": "baseline: {}\nsteps: [{name: s, variants: {a: {norm: nope}}}]",
    }.items():
        (root / f"plan_{name}.yaml").write_text(plan + ("" if "steps" in plan else "\nsteps: []") + "\n")
    (root / "count.yaml").write_text("train: 5\n")
    (root / "dupkey.yaml").write_text(f"train: [{frames.patients[0]}]\nval: []\ntrain: [{frames.patients[1]}]\n")
    (root / "plan_key.yaml").write_text("rulle: mean_hd_mm\nbaseline: {}\nsteps: []\n")
    _write_bomb(root / "bomb.png")
    with zipfile.ZipFile(root / "noconfig.keras", "w") as archive:  # a zip, but no Keras model in it
        archive.writestr("notes.txt", "weights elsewhere")
    (root / "single.yaml").write_text(f"train: {frames.patients[0]}\n")
    (root / "latin1.yaml").write_bytes("train: [Pati\xebnt]\n".encode("latin-1"))
    (root / "frames").mkdir()
    shutil.copy(root / "good" / "img" / f"{first}.png", root / "frames" / "a.png")
    (root / "frames" / "b.png").write_bytes(b"broken")
    (root / "earlier").mkdir()
    (root / "earlier" / "keep.png").write_bytes(b"earlier work")
    frame = np.asarray(Image.open(root / "good" / "img" / f"{first}.png"))
    (root / "collide").mkdir()  # two files, one frame name
    Image.fromarray(frame).save(root / "collide" / "f.png")
    Image.fromarray(frame).save(root / "collide" / "f.jpg")
    (root / "mixed").mkdir()  # a cine loop whose frames differ in size
    Image.fromarray(frame).save(root / "mixed" / "a.png")
    Image.fromarray(np.zeros((80, 72), np.uint8)).save(root / "mixed" / "b.png")
    np.save(root / "colour.npy", np.stack([frame] * 3, axis=-1))
    np.save(root / "noframes.npy", np.zeros((0, SIZE, SIZE), np.uint8))
    np.save(root / "stack.npy", np.stack([frame, frame]))
    np.save(root / "tiny.npy", np.zeros((4, 8, 8), np.uint8))
    np.save(root / "complex.npy", frame.astype(np.complex64))
    for animated in ("anim.gif", "pages.tif"):
        Image.fromarray(frame).save(root / animated, save_all=True, append_images=[Image.fromarray(frame[::-1])])
    Image.fromarray(frame[:1, :1]).save(root / "dot.png")
    (root / "side.json").mkdir()  # where an export's metadata would go
    for name, change in {
        "csvok": lambda t: t,
        "csvneg": lambda t: t.replace(",0.", ",-5.", 1),
        "csvcomma": lambda t: t.replace(".", ",", 8),
        "csvempty": lambda t: "",
        "csvdup": lambda t: t + t.splitlines()[1] + "\n",
    }.items():
        (root / name).mkdir()
        (root / name / "frames.csv").write_text(change(FRAMES_CSV))

    config = ModelConfig(
        encoder_channels=(8, 8, 16),
        decoder_channels=(8, 8),
        input_size=SIZE,
        norm="batch",
        activation="relu",
        deep_supervision=True,
    )
    train(
        TrainConfig(epochs=1, batch_size=4, data=str(root / "good"), jit_compile=False),
        root / "run",
        model_config=config,
    )
    export_run(root / "run", ExportSettings(mode="fp32"))
    shutil.copytree(root / "run", root / "badlast")  # an epoch's weights kept, the last checkpoint broken
    (root / "badlast" / "checkpoint" / "epochs").mkdir()
    load_saved_model(root / "run" / "model.keras").save_weights(
        root / "badlast" / "checkpoint" / "epochs" / "epoch_001.weights.h5"
    )
    (root / "badlast" / "checkpoint" / "last.keras").write_text("half a checkpoint")
    weights = (root / "badlast" / "checkpoint" / "epochs" / "epoch_001.weights.h5").read_bytes()
    for name, kept in {
        "truncepoch": {"epoch_001": weights[:2000]},
        "foreignepoch": {},  # damaged, another model's,
        "strayepoch": {"epoch_001": weights, "epoch_001 (1)": weights},
    }.items():  # a stray copy
        shutil.copytree(root / "run", root / name)
        (root / name / "checkpoint" / "epochs").mkdir()
        for stem, data in kept.items():
            (root / name / "checkpoint" / "epochs" / f"{stem}.weights.h5").write_bytes(data)
    foreign = keras.models.load_model(root / "foreign.keras")
    foreign.save_weights(root / "foreignepoch" / "checkpoint" / "epochs" / "epoch_001.weights.h5")
    shutil.copytree(root / "run", root / "moved")  # its training data moved away since
    saved = json.loads((root / "run" / "config.json").read_text())
    saved["train"]["data"] = str(root / "gone")
    (root / "moved" / "config.json").write_text(json.dumps(saved))
    shutil.copytree(root / "run", root / "badmeta")
    (root / "badmeta" / "model_fp32.json").write_text("{ not json")
    _damaged_runs(root, saved)
    shutil.copytree(root / "good" / "ref", root / "dupred")  # predictions: the expert masks, one frame given twice
    np.save(root / "dupred" / f"{first}.npy", np.zeros((SIZE, SIZE), np.uint8))
    (root / "mine").mkdir()  # somebody's folder with a log of their own
    (root / "mine" / "history.csv").write_text("epoch,note\nfirst,my own log\n")
    (root / "pvdir" / "preview.png").mkdir(parents=True)
    evaluate(MaskSpec(root / "run"), str(root / "good"), "all", out=root / "report")
    shutil.copytree(root / "report", root / "otherref")  # the same frame names, other reference masks
    summary = json.loads((root / "otherref" / "summary.json").read_text())
    (root / "otherref" / "summary.json").write_text(json.dumps({**summary, "reference_digest": "0" * 24}))
    shutil.copytree(root / "report", root / "othergrid")
    (root / "othergrid" / "summary.json").write_text(json.dumps({**summary, "grid": 128}))
    for name, factor in {
        "measured": 1,
        "measured8": 8,
    }.items():  # the same patients, expert volumes of another pixel size
        (root / name).mkdir()
        (root / name / "measurements.csv").write_text(
            "patient,edv_ml,esv_ml,ef,expert_edv_ml,expert_esv_ml,expert_ef\n"
            + "".join(
                f"p{i},{100 + i},{50 + i},{50 - i},{(98 + i) * factor},{(49 + i) * factor},{50 - i}\n" for i in range(6)
            )
        )
    return root


def _damaged_runs(root: Path, saved: dict) -> None:
    """Copies of the trained run, each damaged in one file a resume or a report reads."""

    def damaged(name, change):
        shutil.copytree(root / "run", root / name)
        change(root / name)

    def config(name, **changes):
        damaged(name, lambda d: (d / "config.json").write_text(json.dumps({**saved, **changes})))

    config("nosplit", split={})
    config("nullmodel", model=None)
    config("sizecfg", model={**saved["model"], "input_size": 2 * SIZE})
    state = json.loads((root / "run" / "checkpoint" / "state.json").read_text())
    damaged(
        "badstate", lambda d: (d / "checkpoint" / "state.json").write_text(json.dumps({**state, "epochs_done": -3}))
    )
    damaged("badhistory", lambda d: (d / "history.csv").write_bytes(b"\xff\xfe garbage\n"))
    damaged("nobest", lambda d: (d / "model.keras").unlink())
    damaged("noconfig", lambda d: (d / "config.json").unlink())


def _write_bomb(path: Path) -> None:
    """An image whose header claims 200 million pixels (a decompression bomb to Pillow)."""
    import struct

    header = struct.pack("<IiiHHIIiiII", 40, 20000, 10000, 1, 24, 0, 0, 0, 0, 0, 0)
    path.write_bytes(b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + header)


def _write_foreign_models(root: Path) -> None:
    """Models that load but are no echolite segmenters: RGB in, two classes out; a Keras model without ``image``."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    (root / "foreign.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    model.save(root / "foreign.keras")


def _as_folder_layout(folder: Path, first: str) -> None:
    """images/ + masks/ (a clinic's layout, which takes TIFF), the first image 32-bit with values past 16 bits."""
    (folder / "img").rename(folder / "images")
    (folder / "ref").rename(folder / "masks")
    (folder / "images" / f"{first}.png").unlink()
    Image.fromarray(np.full((SIZE, SIZE), 400000, np.int32)).save(folder / "images" / f"{first}.tif")


# (command line with {w} for the world folder, text the error line must hold, path that must not exist afterwards)
CASES = [
    # train: corrupt, truncated, empty, wrong labels, wrong size, wrong bit depth, missing masks, options, outputs
    ("train --data {w}/corrupt --out {w}/new", "not a readable image", "{w}/new"),
    ("train --data {w}/truncated --out {w}/new", "not a readable image", "{w}/new"),
    ("train --data {w}/empty --out {w}/new", "empty image folder", "{w}/new"),
    ("train --data {w}/labels --out {w}/new", "labels [7] outside", "{w}/new"),
    ("train --data {w}/size --out {w}/new", "differs from its image", "{w}/new"),
    ("train --data {w}/bit32 --out {w}/new", "neither 8-bit, 16-bit nor", "{w}/new"),
    ("train --data {w}/nomasks --out {w}/new", "masks missing", "{w}/new"),
    ("train --data {w}/dot --out {w}/new", "a 1×1 frame; an echo frame is at least 16 pixels", "{w}/new"),
    ("train --data {w}/link --out {w}/new", "ED.png: a broken symbolic link", "{w}/new"),
    ("train --data {w}/good --split-file {w}/bad.yaml --out {w}/new", "bad.yaml: not valid YAML", "{w}/new"),
    (
        "train --data {w}/good --split-file {w}/count.yaml --out {w}/new",
        "train must be a list of patient ids, got 5",
        "{w}/new",
    ),
    (
        "train --data {w}/good --split-file {w}/single.yaml --out {w}/new",
        "train must be a list of patient ids, got 'ph",
        "{w}/new",
    ),
    (
        "train --data {w}/good --split-file {w}/latin1.yaml --out {w}/new",
        "latin1.yaml: not UTF-8 or UTF-16 text",
        "{w}/new",
    ),
    ("train --data {w}/good --out {w}/afile/run", "is a file", "{w}/afile/run"),
    ("train --epochs 0 --out {w}/new", "epochs must be >= 1, got 0", "{w}/new"),
    ("train --ds-weight -1 --out {w}/new", "ds_weight must be >= 0", "{w}/new"),
    ("train --lr 0 --out {w}/new", "learning_rate must be > 0", "{w}/new"),
    ("train --lr nan --out {w}/new", "learning_rate must be a finite number, got nan", "{w}/new"),
    ("train --lr inf --out {w}/new", "learning_rate must be a finite number, got inf", "{w}/new"),
    ("train --ds-weight nan --out {w}/new", "ds_weight must be a finite number", "{w}/new"),
    ("train --seed -1 --out {w}/new", "seed must be >= 0 and <= 4294967295, got -1", "{w}/new"),
    ("train --seed 4294967296 --out {w}/new", "seed must be >= 0 and <= 4294967295", "{w}/new"),
    ("phantom --seed -1 --out {w}/ph", "'--seed': -1 is not in the range", "{w}/ph"),
    ("phantom -n 4 --size 32 --out {w}/good", "good/img: already holds files; choose an empty folder", None),
    ("train --image-size -32 --out {w}/new", "image size -32: must be a positive multiple", "{w}/new"),
    ("train --epochs many --out {w}/new", "'--epochs': 'many' is not a valid integer", "{w}/new"),
    ("train --out {w}/new --resume", "nothing to resume", "{w}/new"),
    ("train --data {w}/good --out {w}/run", "already holds a trained run", None),
    ("train --data {w}/bomb --out {w}/new", "ED.png: image too large to read", "{w}/new"),
    ("train --data {w}/dupframe --out {w}/new", "a second image of frame", "{w}/new"),
    ("train --data {w}/good --split-file {w}/dupkey.yaml --out {w}/new", "key 'train' given twice", "{w}/new"),
    ("train --data {w}/good --out {w}/mine", "history.csv: a row without an epoch number", "{w}/mine/config.json"),
    ("train --out {w}/nosplit --resume --epochs 2", "config.json: not a readable echolite run config (its split", None),
    ("train --out {w}/nullmodel --resume --epochs 2", "expected 'model' and 'train' mappings", None),
    ("train --out {w}/badstate --resume --epochs 2", "state.json: not a training state (epochs_done -3 is not a", None),
    ("train --out {w}/badhistory --resume --epochs 2", "history.csv: not a readable history", None),
    ("train --out {w}/nobest --resume --epochs 2", "model.keras: missing (the best model, of epoch 1)", None),
    ("phantom -n 2 --size 32 --out {w}/pvdir", "preview.png: is a folder", "{w}/pvdir/img"),
    # evaluate and compare
    ("evaluate {w}/text.keras --data {w}/good", "text.keras: not a Keras model file", "{w}/text-evaluation-test"),
    (
        "evaluate {w}/garbage.tflite --data {w}/good",
        "garbage.tflite: not a TFLite model",
        "{w}/garbage-evaluation-test",
    ),
    ("evaluate {w}/run --data {w}/corrupt --split all", "not a readable image", "{w}/run/evaluation-all"),
    ("evaluate {w}/run --data {w}/good --out {w}/afile/report", "is a file", "{w}/afile/report"),
    ("evaluate --predictions {w}/frames --data {w}/good --split all", "no prediction for", "{w}/frames-evaluation-all"),
    (
        "evaluate --predictions {w}/wrongpred --data {w}/good --split all",
        "mask of 48x32 pixels; its frame is 64x64",
        "{w}/wrongpred-evaluation-all",
    ),
    ("evaluate {w}/run --data {w}/good --split sideways", "'sideways' is not one of", None),
    ("compare {w}/run {w}/text.keras --data {w}/good --out {w}/cmp.png", "not a Keras model file", "{w}/cmp.png"),
    (
        "evaluate {w}/foreign.tflite --data {w}/good",
        "not an echolite segmentation model",
        "{w}/foreign-evaluation-test",
    ),
    ("evaluate {w}/foreign.keras --data {w}/good", "not an echolite model", "{w}/foreign-evaluation-test"),
    ("compare {w}/run {w}/run --data {w}/good --out {w}/cmp.jpgx", "cannot write a .jpgx figure", "{w}/cmp.jpgx"),
    ("evaluate {w}/noconfig.keras --data {w}/good", "noconfig.keras: cannot load the model", None),
    (
        "evaluate {w}/nullmodel --data {w}/good",
        "nullmodel/config.json: not a readable echolite run config",
        "{w}/nullmodel/evaluation-test",
    ),
    (
        "evaluate {w}/noconfig --data {w}/good",
        "noconfig: not a run folder (no config.json)",
        "{w}/noconfig/evaluation-test",
    ),
    ("evaluate {w}/run --data {w}/good --out {w}/run", "run: a run folder; write the report to a folder", None),
    ("evaluate {w}/run --data {w}/good --out {w}/measured", "holds another report (measurements.csv)", None),
    (
        "measure --ground-truth --data {w}/good --spacing 0.3 --out {w}/report",
        "holds another report (frames.csv)",
        None,
    ),
    (
        "evaluate --predictions {w}/dupred --data {w}/good --split all",
        "a second prediction for frame",
        "{w}/dupred-evaluation-all",
    ),
    ("compare {w}/report {w}/otherref --out {w}/cmp.png", "scored against different reference masks", "{w}/cmp.png"),
    ("compare {w}/report {w}/othergrid --out {w}/cmp.png", "were scored on 64 and 128 pixel grids", "{w}/cmp.png"),
    ("compare {w}/measured {w}/measured8", "measured different expert volumes (a factor of 8.00 apart", None),
    # export
    ("export {w}/good", "not a run folder", None),
    ("export {w}/run --out {w}/model.onnx", "give a name ending in .tflite", "{w}/model.onnx"),
    ("export {w}/run --out {w}/earlier", "is a folder", None),
    ("export {w}/run --out {w}/afile/m.tflite", "is a file", "{w}/afile/m.tflite"),
    ("export {w}/run --fp32 --qat 1", "--qat trains for int8", "{w}/run/model_fp32_qat.tflite"),
    ("export {w}/run --calib-samples 0 --out {w}/x.tflite", "--calib-samples (>= 1) out of range", "{w}/x.tflite"),
    (
        "export {w}/run --int8 --fp16 --out {w}/x.tflite",
        "give one export format, not --int8 and --fp16",
        "{w}/x.tflite",
    ),
    (
        "export {w}/run --parity-threshold nan --out {w}/x.tflite",
        "--parity-threshold (>= 0) out of range",
        "{w}/x.tflite",
    ),
    (
        "export {w}/run --out {w}/side.tflite",
        "side.json: is a folder where the export's metadata goes",
        "{w}/side.tflite",
    ),
    # average
    ("average {w}/run --last 1", "0 epoch weights kept", "{w}/run/model_averaged.keras"),
    (
        "average {w}/moved --last 1",
        "gone is not there (moved?); give the folder with --data",
        "{w}/moved/model_averaged.keras",
    ),
    ("export {w}/moved --int8", "give the folder with --calib-data", "{w}/moved/model_int8.tflite"),
    (
        "export {w}/run --fp32 --out {w}/run/config.tflite",
        "config.json: exists and is not an export's metadata",
        "{w}/run/config.tflite",
    ),
    ("export {w}/sizecfg --fp32 --out {w}/x.tflite", "model.keras: takes 64x64 frames, while", "{w}/x.tflite"),
    ("average {w}/badlast --last 1", "last.keras: cannot load the model", "{w}/badlast/model_averaged.keras"),
    (
        "average {w}/truncepoch --last 1",
        "epoch_001.weights.h5: unreadable weights file (Unable to",
        "{w}/truncepoch/model_averaged.keras",
    ),
    (
        "average {w}/foreignepoch --last 1",
        "epoch_001.weights.h5: not weights of this run's model",
        "{w}/foreignepoch/model_averaged.keras",
    ),
    ("average {w}/strayepoch --last 2", "1 epoch weights kept", "{w}/strayepoch/model_averaged.keras"),
    # measure, bench
    ("measure {w}/text.keras --data {w}/good", "not a Keras model file", None),
    ("measure --ground-truth --data {w}/empty", "empty image folder", None),
    ("measure {w}/run --sequence {w}/afile", "afile", None),
    ("measure {w}/run --sequence {w}/afile --data {w}/good", "leave out --data", None),
    ("measure {w}/run --data {w}/good --fps 30", "--fps: the frame rate is for a --sequence loop", None),
    ("measure {w}/run --sequence {w}/stack.npy --fps 0", "--fps: the frame rate must be a positive number", None),
    ("measure {w}/run --data {w}/good --qc lax --out {w}/meas", "--qc 'lax': unknown", "{w}/meas"),
    ("measure --ground-truth --data {w}/good --split-file {w}/bad.yaml", "bad.yaml: not valid YAML", None),
    ("measure --ground-truth --data {w}/nospacing --out {w}/meas", "carry no pixel spacing", "{w}/meas"),
    ("measure --ground-truth --data {w}/good --spacing -1", "pixel spacing must be a positive number", None),
    ("measure --ground-truth --data {w}/good --out {w}/afile/meas", "is a file", "{w}/afile/meas"),
    ("measure {w}/foreign.tflite --data {w}/good", "not an echolite segmentation model", None),
    ("compare {w}/run {w}/nothing --data {w}/good", "nothing: not found", None),
    ("compare {w}/csvok {w}/csvneg --out {w}/cmp.png", "csvneg/frames.csv: line 2: dice_LV is -5", "{w}/cmp.png"),
    ("compare {w}/csvok {w}/csvcomma --out {w}/cmp.png", "line 2 has more fields than the header", "{w}/cmp.png"),
    ("compare {w}/csvok {w}/csvempty --out {w}/cmp.png", "csvempty/frames.csv: an empty file", "{w}/cmp.png"),
    ("compare {w}/csvok {w}/csvdup --out {w}/cmp.png", "frame p1_4CH_ED appears twice", "{w}/cmp.png"),
    ("measure {w}/run --sequence {w}/mixed --spacing 0.3", "b.png: a 80×72 frame in a loop of 64×64 frames", None),
    ("measure {w}/run --sequence {w}/colour.npy --spacing 0.3", "expected a sequence of gray 2D frames", None),
    ("measure {w}/run --sequence {w}/tiny.npy --spacing 0.3", "tiny.npy: a 8×8 frame", None),
    ("measure {w}/run --sequence {w}/stack.npy --split test", "leave out --data, --ground-truth, --split and", None),
    (
        "measure --ground-truth --data {w}/named --spacing 0.3",
        "--spacing: every frame carries its own pixel spacing",
        None,
    ),
    ("bench {w}/run --runs 1 --image {w}/stack.npy", "stack.npy: a stack of 2 frames", None),
    ("average {w}/run --last 1 --data {w}/partial", "training patients (e.g. ", "{w}/run/model_averaged.keras"),
    ("measure {w}/run --sequence {w}/pages.tif --spacing 0.3", "pages.tif: 2 frames in one image file", None),
    ("bench {w}/run --runs 1 --json {w}/afile/b.json", "cannot write the JSON report there", None),
    ("bench {w}/afile", "not a run folder, .keras or .tflite", None),
    ("bench {w}/garbage.tflite", "garbage.tflite: not a TFLite model", None),
    ("bench {w}/foreign.tflite", "foreign.tflite: not an echolite segmentation model", None),
    ("bench {w}/run --image {w}/frames/b.png", "b.png: not a readable image", None),
    # data
    ("data inspect {w}/corrupt", "1 problem, listed above", None),
    ("data inspect {w}/afile", "afile: a file, not a data folder", None),
    ("data inspect {w}/nothing", "data folder not found", None),
    ("data preview {w}/good --augment heavy --out {w}/p.png", "'heavy' is not one of", "{w}/p.png"),
    ("data preview {w}/corrupt --out {w}/p.png", "not a readable image", "{w}/p.png"),
    ("data preview {w}/good --out {w}/p.jpgx", "cannot write a .jpgx figure", "{w}/p.jpgx"),
    ("data preview {w}/good --out {w}/earlier", "is a folder", None),
    ("data preview {w}/good --out {w}/afile/p.png", "is a file, not a folder", "{w}/afile/p.png"),
    ("data preview {w}/good -n 0 --out {w}/p.png", "0 is not in the range", "{w}/p.png"),
    # ablate, cross-evaluate
    ("ablate {w}/bad.yaml --out {w}/abl", "not valid YAML", "{w}/abl"),
    ("ablate nosuchplan --out {w}/abl", "no such plan file or built-in plan", "{w}/abl"),
    ("ablate {w}/plan_key.yaml --out {w}/abl", "plan_key.yaml: unknown key(s) rulle", "{w}/abl"),
    (
        "ablate {w}/plan_epochs.yaml --out {w}/abl",
        "plan_epochs.yaml: baseline: epochs 2.5 is not an integer",
        "{w}/abl",
    ),
    ("ablate {w}/plan_name.yaml", "plan name '../out' cannot name a folder under ablations/", None),
    ("ablate {w}/plan_norm.yaml --out {w}/abl", "step 's', variant 'a': unknown norm 'nope'", "{w}/abl"),
    ("ablate tiny --epochs 0 --out {w}/abl", "epochs must be a positive integer", "{w}/abl"),
    ("ablate tiny --workers 0 --out {w}/abl", "workers must be at least 1", "{w}/abl"),
    ("cross-evaluate {w}/run --test CAMUS --out {w}/cross", "expected NAME=PATH", "{w}/cross"),
    ("cross-evaluate {w}/good --test PH=phantom --out {w}/cross", "not a run folder", "{w}/cross"),
    (
        "cross-evaluate {w}/run --test A={w}/good --test A=phantom --out {w}/cross",
        "test set A: named twice",
        "{w}/cross",
    ),
    ("cross-evaluate {w}/run --test A={w}/good --out {w}/afile", "afile: is a file", None),
    # the device runner
    ("edge run {w}/garbage.tflite {w}/frames --out {w}/masks", "not a TFLite model", "{w}/masks"),
    (
        "edge run {w}/badmeta/model_fp32.tflite {w}/frames --out {w}/masks",
        "model_fp32.json: unreadable model metadata",
        "{w}/masks",
    ),
    ("edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/masks", "b.png: not a readable image", "{w}/masks"),
    ("edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/earlier", "earlier: holds other files", None),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames/a.png --out {w}/masks --spacing 0.3",
        "--spacing: the pixel size is for the volumes of a --cine loop",
        "{w}/masks",
    ),
    ("edge run {w}/run/model_fp32.tflite {w}/frames/a.png --out {w}/run", "run: holds other files", None),
    (
        "edge bench {w}/run/model_fp32.tflite --runs 1 --json {w}/run/config.json",
        "config.json: a file of the run",
        None,
    ),
    ("bench {w}/run --runs 1 --json {w}/run/model.keras", "model.keras: a file of the run", None),
    ("data preview {w}/good --out {w}/run/curves.png", "curves.png: a file of the run", None),
    ("compare {w}/report {w}/report --out {w}/run/curves.png", "curves.png: a file of the run", None),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/afile/masks",
        "is a file, not a folder",
        "{w}/afile/masks",
    ),
    ("edge run {w}/run/model_fp32.tflite {w}/nothing --out {w}/masks", "nothing: not found", "{w}/masks"),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/masks --threads 0",
        "--threads: must be at least 1",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/masks --qc lax",
        "argument --qc: invalid choice",
        "{w}/masks",
    ),
    (
        "edge run {w}/foreign.tflite {w}/frames --out {w}/masks",
        "foreign.tflite: not an echolite segmentation",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/masks --cine --spacing inf",
        "must be a positive number",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames/a.png --out {w}/masks --fps 30",
        "--fps: the frame rate is for the beats of a --cine loop",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/masks --cine --fps -5",
        "must be a positive",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/collide --out {w}/masks",
        "gives a frame named 'f', as f.jpg does",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/mixed --out {w}/masks --cine",
        "b.png: a 80×72 frame in a loop",
        "{w}/masks",
    ),
    ("edge run {w}/run/model_fp32.tflite {w}/colour.npy --out {w}/masks", "looks like one colour frame", "{w}/masks"),
    (
        "edge run {w}/run/model_fp32.tflite {w}/complex.npy --out {w}/masks",
        "complex64 values are not intensities",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/pages.tif --out {w}/masks",  # an animated GIF is a video loop
        "pages.tif: 2 frames in one image file",
        "{w}/masks",
    ),
    ("edge run {w}/run/model_fp32.tflite {w}/dot.png --out {w}/masks", "dot.png: a 1×1 frame", "{w}/masks"),
    ("edge run {w}/run/model_fp32.tflite {w}/frames --out {w}/frames", "the input folder", None),
    ("edge bench {w}/run/model_fp32.tflite --cine {w}/noframes.npy", "noframes.npy: a stack of no frames", None),
    ("edge bench {w}/run/model_fp32.tflite --runs 1 --json {w}/afile/b.json", "cannot write the JSON report", None),
    ("edge bench {w}/missing.tflite", "missing.tflite: not found", None),
    ("edge bench {w}/run/model_fp32.tflite --runs 0", "--runs: must be at least 1", None),
    ("edge bench {w}/run/model_fp32.tflite --image {w}/frames/b.png", "b.png: not a readable image", None),
    ("edge bench {w}/run/model_fp32.tflite --image {w}/bomb.png", "bomb.png: image too large to read", None),
    ("edge bench {w}/run/model_fp32.tflite --image {w}/stack.npy", "stack.npy: a stack of 2 frames", None),
    (
        "edge run {w}/run/model_fp32.tflite {w}/bomb.png --out {w}/masks",
        "bomb.png: image too large to read",
        "{w}/masks",
    ),
    (
        "edge run {w}/run/model_fp32.tflite {w}/frames/a.png --out {w}/masks --cine",
        "a.png: --cine needs a loop of at least 2 frames, got 1",
        "{w}/masks",
    ),
]


def _invoke(argv: list[str], capsys) -> tuple[int, str]:
    if argv[0] == "edge":
        from echolite_edge.cli import main as edge_main

        code = edge_main(argv[1:])
        return code, capsys.readouterr().err
    from echolite.cli.main import main

    result = CliRunner().invoke(main, argv)
    return result.exit_code, result.stderr


@pytest.mark.parametrize("command, message, dest", CASES, ids=[c[0].split(" {w}")[0] + ": " + c[1][:30] for c in CASES])
def test_bad_input(world, tmp_path, monkeypatch, capsys, command, message, dest):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = {p: p.stat().st_mtime_ns for p in world.rglob("*") if p.is_file()}
    code, stderr = _invoke(command.format(w=world).split(), capsys)
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note: decoded frames cached")]
    assert code == 1, stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], stderr
    assert "Traceback" not in stderr
    if dest is not None:
        assert not Path(dest.format(w=world)).exists(), f"{dest} was left behind"
    assert not list(scratch.iterdir()), "left files in the temp folder"
    after = {p: p.stat().st_mtime_ns for p in world.rglob("*") if p.is_file()}
    assert {p: t for p, t in after.items() if p in before} == before, "earlier work was changed or lost"
    assert not [p for p in after if p not in before and not _is_cache(p)], [p for p in after if p not in before]


def _is_cache(path: Path) -> bool:
    return "__pycache__" in path.parts


def test_a_copy_of_the_training_data_is_scored_on_the_run_split(world, tmp_path):
    """A copy (or a moved version) of the data a run was trained on counts as its own data set: scored on all
    its frames, cross-evaluate would score the training patients."""
    from echolite.workflows.cross_dataset import cross_evaluate

    shutil.copytree(world / "good", tmp_path / "copy")
    split = json.loads((world / "run" / "config.json").read_text())["split"]
    held_out = next(name for name in ("val", "test") if split[name])
    lines = []
    cross_evaluate([world / "run"], [("COPY", str(tmp_path / "copy"))], split=held_out, log=lines.append)
    assert f"on COPY ({held_out}, " in lines[0], lines
