"""Minimal NIfTI-1 reader (.nii / .nii.gz) with gzip + numpy only.

Parses the 348-byte header ourselves: dims, datatype, pixdim, scl_slope/scl_inter, sform and qform.
The returned affine maps voxel indices (i, j, k) to NIfTI world coordinates, which are RAS+ millimetres.
"""
import gzip
import struct
from dataclasses import dataclass

import numpy as np

# NIfTI-1 datatype codes we accept -> numpy dtype (byte order applied later).
_DTYPES = {
    2: np.uint8,
    4: np.int16,
    8: np.int32,
    16: np.float32,
    64: np.float64,
    256: np.int8,
    512: np.uint16,
    768: np.uint32,
    1024: np.int64,
    1280: np.uint64,
}


@dataclass
class NiftiImage:
    data: np.ndarray  # float32, indexed [i, j, k] (i fastest on disk)
    affine: np.ndarray  # 4x4, voxel index -> RAS+ mm
    pixdim: tuple
    affine_source: str  # "sform", "qform" or "pixdim"


def _quaternion_affine(b, c, d, qx, qy, qz, pixdim, qfac):
    a2 = 1.0 - (b * b + c * c + d * d)
    # Rounding can make a2 slightly negative for a 180 degree rotation; the standard says a = 0 then.
    a = np.sqrt(a2) if a2 > 0 else 0.0
    r = np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
    )
    scale = np.diag([pixdim[1], pixdim[2], pixdim[3] * qfac])
    affine = np.eye(4)
    affine[:3, :3] = r @ scale
    affine[:3, 3] = [qx, qy, qz]
    return affine


def parse_header(raw: bytes):
    if len(raw) < 348:
        raise ValueError("file too short for a NIfTI-1 header")
    for endian in ("<", ">"):
        (size,) = struct.unpack(endian + "i", raw[0:4])
        if size == 348:
            break
    else:
        raise ValueError("sizeof_hdr is not 348: not a NIfTI-1 file")
    magic = raw[344:348]
    if magic not in (b"n+1\x00", b"ni1\x00"):
        raise ValueError(f"bad NIfTI-1 magic {magic!r}")
    e = endian
    dim = struct.unpack(e + "8h", raw[40:56])
    datatype, bitpix = struct.unpack(e + "2h", raw[70:74])
    pixdim = struct.unpack(e + "8f", raw[76:108])
    vox_offset, scl_slope, scl_inter = struct.unpack(e + "3f", raw[108:120])
    qform_code, sform_code = struct.unpack(e + "2h", raw[252:256])
    qb, qc, qd, qx, qy, qz = struct.unpack(e + "6f", raw[256:280])
    srow = np.array(struct.unpack(e + "12f", raw[280:328]), dtype=np.float64).reshape(3, 4)
    return {
        "endian": e,
        "dim": dim,
        "datatype": datatype,
        "bitpix": bitpix,
        "pixdim": pixdim,
        "vox_offset": vox_offset,
        "scl_slope": scl_slope,
        "scl_inter": scl_inter,
        "qform_code": qform_code,
        "sform_code": sform_code,
        "quatern": (qb, qc, qd, qx, qy, qz),
        "srow": srow,
        "single_file": magic == b"n+1\x00",
    }


def read_nifti(path: str) -> NiftiImage:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    h = parse_header(raw)
    if not h["single_file"]:
        raise ValueError("only single-file NIfTI (.nii/.nii.gz) is supported")
    ndim = h["dim"][0]
    if ndim < 3:
        raise ValueError(f"expected a 3D volume, got {ndim} dimensions")
    shape = tuple(int(n) for n in h["dim"][1:4])
    if h["datatype"] not in _DTYPES:
        raise ValueError(f"unsupported NIfTI datatype {h['datatype']}")
    dtype = np.dtype(_DTYPES[h["datatype"]]).newbyteorder(h["endian"])
    count = shape[0] * shape[1] * shape[2]  # first 3D volume only
    offset = int(h["vox_offset"])
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    data = flat.reshape(shape, order="F").astype(np.float32)
    slope, inter = h["scl_slope"], h["scl_inter"]
    if slope != 0 and np.isfinite(slope) and not (slope == 1 and inter == 0):
        data = data * np.float32(slope) + np.float32(inter)

    pixdim = h["pixdim"]
    if h["sform_code"] > 0:
        affine = np.eye(4)
        affine[:3, :] = h["srow"]
        source = "sform"
    elif h["qform_code"] > 0:
        qfac = -1.0 if pixdim[0] < 0 else 1.0
        affine = _quaternion_affine(*h["quatern"], pixdim, qfac)
        source = "qform"
    else:
        affine = np.diag([pixdim[1], pixdim[2], pixdim[3], 1.0])
        source = "pixdim"
    return NiftiImage(data=data, affine=affine, pixdim=tuple(pixdim), affine_source=source)


def write_uint8_like(path: str, data: np.ndarray, template_path: str) -> None:
    """Writes `data` as a gzipped single-file uint8 NIfTI-1 on the grid of `template_path` (its header is kept for
    dims, pixdim, sform and qform; datatype, scaling and data offset are rewritten). Little-endian templates only."""
    opener = gzip.open if template_path.endswith(".gz") else open
    with opener(template_path, "rb") as f:
        header = bytearray(f.read(348))
    h = parse_header(bytes(header))
    if h["endian"] != "<":
        raise ValueError("template must be little-endian")
    if tuple(int(n) for n in h["dim"][1:4]) != data.shape:
        raise ValueError(f"data shape {data.shape} differs from the template's")
    struct.pack_into("<hh", header, 70, 2, 8)  # datatype uint8, bitpix 8
    struct.pack_into("<fff", header, 108, 352.0, 1.0, 0.0)  # vox_offset, scl_slope, scl_inter
    struct.pack_into("<ff", header, 124, float(data.max()), 0.0)  # cal_max, cal_min
    body = np.asarray(data, dtype=np.uint8).tobytes(order="F")
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as f:  # mtime 0: byte-identical reruns
        f.write(bytes(header) + b"\x00" * 4 + body)


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        img = read_nifti(p)
        print(p, img.data.shape, img.affine_source)
        print(img.affine)
        print("min/max", float(img.data.min()), float(img.data.max()))
