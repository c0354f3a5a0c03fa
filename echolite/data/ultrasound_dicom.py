"""Write a loop as a scanner writes it: an Ultrasound (Multi-frame) Image Storage DICOM, uncompressed or JPEG
baseline, in any photometric interpretation the readers take, with a Sequence of Ultrasound Regions. The tests and
the real-frames check build their DICOM inputs with it (pydicom encodes no JPEG baseline: Pillow encodes each
frame and pydicom encapsulates them)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTI_FRAME = "1.2.840.10008.5.1.4.1.1.3.1"
PHOTOMETRICS = ("MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR")


@dataclass(frozen=True)
class Region:
    """One entry of the Sequence of Ultrasound Regions; bounds inclusive, deltas in ``units`` per pixel."""

    x0: int
    y0: int
    x1: int
    y1: int
    delta_x: float = 0.0
    delta_y: float = 0.0
    units: int = 3  # 3 = cm, 4 = seconds, 7 = cm/s, ...
    data_type: int = 1  # 1 tissue, 2 colour flow, 3 PW Doppler, ...
    spatial_format: int = 1  # 1 2D, 2 M-mode, 3 spectral


def write_ultrasound_dicom(
    path: Path,
    rgb: np.ndarray,
    photometric: str = "YBR_FULL_422",
    jpeg: bool = False,
    regions: tuple[Region, ...] = (),
    frame_time_ms: float | None = None,
    cine_rate: float | None = None,
    attributes: dict | None = None,
    jpeg_quality: int = 95,
) -> Path:
    """``rgb``: (T, H, W, 3) or, for MONOCHROME2 and PALETTE COLOR, (T, H, W) uint8. PALETTE COLOR stores the gray
    values as indices into a gray 16-bit palette. ``attributes``: more elements by keyword (e.g. a patient's name
    for a de-identification test). ``jpeg_quality``: Pillow's JPEG quality (scanners write about 80–95)."""

    if photometric not in PHOTOMETRICS:
        raise ValueError(f"photometric {photometric!r}: one of {', '.join(PHOTOMETRICS)}")
    frames = np.asarray(rgb, np.uint8)
    samples = 1 if photometric in ("MONOCHROME2", "PALETTE COLOR") else 3
    if frames.ndim != (3 if samples == 1 else 4) or (samples == 3 and frames.shape[-1] != 3):
        raise ValueError(f"{photometric} frames are (T, H, W{', 3' if samples == 3 else ''}), got {frames.shape}")
    if photometric == "YBR_FULL_422" and not jpeg and frames.shape[2] % 2:
        raise ValueError(f"YBR_FULL_422 stores pixels in pairs: {frames.shape[2]} columns is not an even number")
    multi = frames.shape[0] > 1
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = US_MULTI_FRAME if multi else US_IMAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns = frames.shape[1:3]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PhotometricInterpretation = photometric
    ds.SamplesPerPixel = samples
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    if multi:
        ds.NumberOfFrames = frames.shape[0]
        ds.FrameIncrementPointer = 0x00181063
    if photometric == "PALETTE COLOR":
        _gray_palette(ds)
    if frame_time_ms is not None:
        ds.FrameTime = frame_time_ms
    if cine_rate is not None:
        ds.CineRate = int(cine_rate)
    if regions:
        ds.SequenceOfUltrasoundRegions = [_region_item(r) for r in regions]
    for keyword, value in (attributes or {}).items():
        setattr(ds, keyword, value)
    if jpeg:
        ds.PixelData = encapsulate([_jpeg_frame(f, photometric, jpeg_quality) for f in frames])
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
    else:
        ds.PixelData = b"".join(_native_frame(f, photometric) for f in frames)
        ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


def _region_item(region: Region):

    item = Dataset()
    item.RegionSpatialFormat = region.spatial_format
    item.RegionDataType = region.data_type
    item.RegionFlags = 0
    item.RegionLocationMinX0, item.RegionLocationMinY0 = region.x0, region.y0
    item.RegionLocationMaxX1, item.RegionLocationMaxY1 = region.x1, region.y1
    item.PhysicalUnitsXDirection = item.PhysicalUnitsYDirection = region.units
    item.PhysicalDeltaX, item.PhysicalDeltaY = region.delta_x, region.delta_y
    return item


def _gray_palette(ds) -> None:
    lut = (np.arange(256, dtype=np.uint16) * 257).tobytes()  # 8-bit gray as 16-bit entries
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut)


def _native_frame(frame: np.ndarray, photometric: str) -> bytes:
    if photometric in ("MONOCHROME2", "PALETTE COLOR", "RGB"):
        return frame.tobytes()

    ybr = convert_color_space(frame, "RGB", "YBR_FULL")
    if photometric == "YBR_FULL":
        return ybr.tobytes()
    # YBR_FULL_422: per pair of pixels Y1 Y2 Cb Cr, the chroma of the pair averaged
    pairs = ybr.reshape(ybr.shape[0], -1, 2, 3).astype(np.uint16)
    chroma = ((pairs[:, :, 0, 1:] + pairs[:, :, 1, 1:] + 1) // 2).astype(np.uint8)
    return np.concatenate([pairs[:, :, :, 0].astype(np.uint8), chroma], axis=-1).tobytes()


def _jpeg_frame(frame: np.ndarray, photometric: str, quality: int) -> bytes:
    """One JPEG baseline frame: gray, or YCbCr (4:2:2 for YBR_FULL_422, 4:4:4 for YBR_FULL) as JFIF stores it."""

    if photometric not in ("MONOCHROME2", "YBR_FULL", "YBR_FULL_422"):
        raise ValueError(f"JPEG baseline frames are written as MONOCHROME2 or YBR, not {photometric}")
    buffer = io.BytesIO()
    subsampling = {"YBR_FULL_422": 1, "YBR_FULL": 0}.get(photometric, 0)
    Image.fromarray(frame).save(buffer, "JPEG", quality=quality, subsampling=subsampling)
    return buffer.getvalue()
