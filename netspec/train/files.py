"""What a file given to the trainer is, read from its first bytes: for messages that say what a file is
and what was expected ("t.npz: not an .npz archive: it is a text file") instead of a loader's guess."""

from __future__ import annotations

from pathlib import Path

from netspec.core.errors import DataError

# what each suffix the trainer reads must start with (the format's magic bytes)
ZIP = b"PK\x03\x04"
NPY = b"\x93NUMPY"
PICKLE = b"\x80"  # pickle protocol 2+: torch.save's legacy format
EXPECTED = {
    ".npz": ((ZIP,), "an .npz archive (numpy.savez: a zip of .npy arrays)"),
    ".npy": ((NPY,), "an .npy array (numpy.save)"),
    ".pt": ((ZIP, PICKLE), "a torch file (torch.save)"),
    ".pth": ((ZIP, PICKLE), "a torch file (torch.save)"),
}
CHECKPOINT = ((ZIP, PICKLE), "a torch checkpoint (torch.save; netspec build writes best.pt and last.pt)")


def file_kind(path: str | Path) -> str:
    """What the file looks like: ``an empty file``, ``a zip archive``, ``a text file``, ... (never its bytes)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        return f"unreadable ({exc.strerror or type(exc).__name__})"
    if not head:
        return "an empty file"
    if len(head) > 9 and head[8:10] in (b'{"', b"{ ", b"{}"):  # a little-endian header length, then its JSON
        return "a safetensors file (weights alone: --weights reads it)"
    for magic, what in ((ZIP, "a zip archive"), (NPY, "an .npy array"), (b"\x89PNG", "a PNG image"),
                        (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"),
                        (b"\x1f\x8b", "a gzip file"), (PICKLE, "a Python pickle")):
        if head.startswith(magic):
            return what
    try:
        head[:-4].decode("utf-8") if len(head) == 4096 else head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of another kind"
    return "a text file"


def require_kind(path: str | Path, expected: tuple[tuple[bytes, ...], str] | None = None) -> None:
    """Refuse a file that does not start as its format must (``expected``: magic bytes and what they are;
    default: by the suffix, when the suffix is one the trainer reads).

    Raises:
        DataError: ``PATH: not <what was expected>: it is <what it is>``."""
    if expected is None:
        expected = EXPECTED.get(Path(path).suffix.lower())
        if expected is None:
            return
    magics, what = expected
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return  # the loader says why it cannot be read
    if not any(head.startswith(m) for m in magics):
        raise DataError(f"{path}: not {what}: it is {file_kind(path)}")
