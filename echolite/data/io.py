"""Read one 2D frame (or a sequence) from PNG/JPEG, NIfTI, MetaImage (.mhd), .npy, DICOM or video, with its
spacing. DICOM and video are read by the device package's readers (``echolite_edge.dicom``, ``.video``)."""

from __future__ import annotations

import codecs
import struct
import zlib
from pathlib import Path

import numpy as np
import yaml

from echolite.errors import EcholiteError
from echolite_edge.frames import read_loop
from echolite_edge.image import IMAGE_SUFFIXES, check_frame_size, load_npy, read_pixels
from echolite_edge.sources import Loop, is_loop_file

MEDICAL_SUFFIXES = (".nii.gz", ".nii", ".mhd")
ALL_SUFFIXES = MEDICAL_SUFFIXES + IMAGE_SUFFIXES + (".npy",)


def read_text(path: Path, what: str) -> str:
    """A settings file's text: UTF-8 (with or without a BOM) or UTF-16 with a BOM (Windows Notepad)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig")
    except UnicodeDecodeError:
        raise EcholiteError(f"{path}: not UTF-8 or UTF-16 text; save {what} as UTF-8") from None


def load_yaml(text: str):
    """YAML (or JSON) settings, a key given twice in one mapping being an error (plain YAML keeps the last)."""

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *anchor": merged keys may be overridden
                continue
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice", key_node.start_mark)
            seen.add(key if isinstance(key, (str, int, float, bool)) else id(key_node))
        return loader.construct_mapping(node, deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml.load(text, Loader=UniqueKeyLoader)


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in ALL_SUFFIXES if name.endswith(s)), "")


def stem_of(path: Path) -> str:
    return path.name[: len(path.name) - len(suffix_of(path))] if suffix_of(path) else path.stem


def stored_files(path: Path) -> list[Path]:
    """The files a frame's pixels live in: a MetaImage header (.mhd) and the data file it names, else the file."""
    data_file = _mhd_header(path).get("ElementDataFile", "") if suffix_of(path) == ".mhd" else ""
    return [path, path.parent / data_file] if data_file not in ("", "LOCAL", "LIST") else [path]


def _mhd_header(path: Path) -> dict[str, str]:
    """A MetaImage header's ``key = value`` fields ({} when it cannot be read)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, sep, value in (line.partition("=") for line in lines) if sep}


def read_frame(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A 2D array (rows, columns) and its (row, column) pixel size in mm, or None when the format has none."""
    array, spacing = read_volume(path)
    while array.ndim > 2 and 1 in (array.shape[0], array.shape[-1]):  # (1, H, W) or (H, W, 1): one frame
        array = array[0] if array.shape[0] == 1 else array[..., 0]
    if array.ndim != 2:
        raise EcholiteError(f"{path}: expected a 2D frame, got an array of shape {array.shape}")
    try:
        return check_frame_size(array, path), spacing
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def read_volume(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Any supported file as an array (frames first for sequences) and its in-plane spacing."""
    suffix = suffix_of(path)
    if not path.exists():
        problem = "a broken symbolic link (no target, or a loop)" if path.is_symlink() else "file not found"
        raise EcholiteError(f"{path}: {problem}")
    if suffix in MEDICAL_SUFFIXES:
        return _read_medical(path)
    if suffix == ".npy":
        return _read_npy(path), None
    if suffix in IMAGE_SUFFIXES:
        return _read_image(path), None
    if is_loop_file(path):
        loop = read_loop_file(path)
        return loop.frames, loop.spacing_mm
    raise EcholiteError(f"{path}: unsupported file type (use PNG/JPEG, NIfTI, .mhd, .npy, DICOM or video)")


def read_loop_file(path: Path) -> Loop:
    """A DICOM or video file as a loop: gray frames (T, H, W), cropped to the scanner's tissue region, with the
    pixel size and frame rate the file carries and notes on what was decided."""
    try:
        return read_loop(path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def _read_medical(path: Path):
    import SimpleITK as sitk  # on use: only NIfTI and MetaImage files need it

    shortfall = _short_of_pixels(path)  # ITK would fill the missing pixels with zeros and say nothing
    if shortfall:
        raise EcholiteError(f"{path}: corrupt or truncated file ({shortfall})")
    try:
        image = sitk.ReadImage(str(path))
        array = sitk.GetArrayFromImage(image)  # (z,) rows, columns: upright as stored by CAMUS
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1][:160] if str(exc).strip() else "unreadable"
        raise EcholiteError(f"{path}: corrupt or truncated file ({reason})") from None
    sx, sy = image.GetSpacing()[:2]
    return array, (float(sy), float(sx))


_MET_BYTES = {
    "MET_CHAR": 1,
    "MET_UCHAR": 1,
    "MET_SHORT": 2,
    "MET_USHORT": 2,
    "MET_INT": 4,
    "MET_UINT": 4,
    "MET_FLOAT": 4,
    "MET_LONG": 4,
    "MET_ULONG": 4,
    "MET_LONG_LONG": 8,
    "MET_ULONG_LONG": 8,
    "MET_DOUBLE": 8,
}
_NIFTI_BYTES = {
    2: 1,
    4: 2,
    8: 4,
    16: 4,
    32: 8,
    64: 8,
    128: 3,
    256: 1,
    512: 2,
    768: 4,
    1024: 8,
    1280: 8,
    1536: 16,
    1792: 16,
    2048: 32,
    2304: 4,
}
"""Bytes per voxel of each NIfTI datatype code."""


def _short_of_pixels(path: Path) -> str | None:
    """Why a NIfTI or MetaImage file holds fewer pixel bytes than its header declares, or None (also when the
    header is not one this check reads: ITK judges those)."""
    if suffix_of(path) == ".mhd":
        return _mhd_shortfall(path)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the name says
        data, problem = _gunzip(data)
        if problem:
            return problem
    return _nifti_shortfall(data)


def _gunzip(data: bytes) -> tuple[bytes, str | None]:
    """Every gzip member of ``data`` (bytes after the last are ignored, as zlib does), or why it is cut short."""

    parts = []
    while data[:2] == b"\x1f\x8b":
        stream = zlib.decompressobj(31)
        try:
            parts.append(stream.decompress(data))
        except zlib.error as exc:
            return b"", f"damaged compressed data: {exc}"
        if not stream.eof:
            return b"", "the compressed stream is cut short"
        data = stream.unused_data
    return b"".join(parts), None


def _nifti_shortfall(data: bytes) -> str | None:
    for order in "<>":
        if len(data) >= 112 and struct.unpack(order + "i", data[:4])[0] == 348:  # NIfTI-1
            datatype, bitpix = struct.unpack(order + "hh", data[70:74])
            dims = struct.unpack(order + "8h", data[40:56])
            offset = int(struct.unpack(order + "f", data[108:112])[0])
            break
        if len(data) >= 176 and struct.unpack(order + "i", data[:4])[0] == 540:  # NIfTI-2
            datatype, bitpix = struct.unpack(order + "hh", data[12:16])
            dims = struct.unpack(order + "8q", data[16:80])
            offset = struct.unpack(order + "q", data[168:176])[0]
            break
    else:
        return None
    if not 1 <= dims[0] <= 7 or any(d < 1 for d in dims[1 : dims[0] + 1]):
        return None
    sizes = [b for b in (_NIFTI_BYTES.get(datatype), bitpix // 8 if bitpix > 0 else None) if b]
    if not sizes:
        return None
    needed = max(offset, 0) + int(np.prod(dims[1 : dims[0] + 1], dtype=np.int64)) * min(sizes)  # the lenient reading
    return f"{len(data)} bytes, the header declares {needed}" if len(data) < needed else None


def _mhd_shortfall(path: Path) -> str | None:
    fields = _mhd_header(path)
    name = fields.get("ElementDataFile", "")
    if fields.get("CompressedData", "False").lower() == "true" or name in ("", "LOCAL", "LIST"):
        return None
    try:
        size = int(np.prod([int(v) for v in fields["DimSize"].split()], dtype=np.int64))
        needed = size * int(fields.get("ElementNumberOfChannels", "1")) * _MET_BYTES[fields["ElementType"]]
        needed += max(int(fields.get("HeaderSize", "0")), 0)
        data_file = path.parent / name
        stored = data_file.stat().st_size
    except (KeyError, ValueError, OSError):
        return None  # ITK names what is wrong with the header or a missing data file
    return f"{data_file.name} holds {stored} bytes, the header declares {needed}" if stored < needed else None


def _read_npy(path: Path) -> np.ndarray:
    try:
        return load_npy(path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def _read_image(path: Path) -> np.ndarray:
    """Stored values: intensities are mapped by ``echolite_edge.image.to_gray8`` when a frame is loaded, masks
    are label values."""
    try:
        return read_pixels(path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None
