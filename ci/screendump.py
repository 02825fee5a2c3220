#!/usr/bin/env python3
"""Take a screenshot of a running QEMU through its monitor socket, as a PNG.

Start QEMU with `-monitor unix:/tmp/mon.sock,server,nowait`, then:

    ci/screendump.py /tmp/mon.sock shot.png            # screenshot -> PNG
    ci/screendump.py /tmp/mon.sock shot.png --not-blank  # exit 1 if one flat colour
    ci/screendump.py --convert shot.ppm shot.png       # PPM -> PNG only

As a module: `screendump(socket, png)`, `read_ppm(path)`, `write_png(path, w, h, rgb)`,
`is_blank(path)` (works on .ppm and on PNGs written here). Python 3 standard library only.
"""

import argparse
import os
import socket
import struct
import sys
import tempfile
import time
import zlib

PROMPT = b"(qemu) "


def _read_until_prompt(sock, timeout):
    """Reads monitor output until the `(qemu) ` prompt; returns it as text."""
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(PROMPT):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("QEMU monitor closed the connection")
        data += chunk
    return data.decode("utf-8", "replace")


def monitor_command(sock_path, command, timeout=10.0):
    """Runs one human-monitor command over a unix socket; returns its output text."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(sock_path)
        _read_until_prompt(sock, timeout)  # banner
        sock.sendall(command.encode() + b"\n")
        out = _read_until_prompt(sock, timeout)
    # The monitor echoes the command line (with terminal escapes) before the output.
    lines = out.replace("\r", "").split("\n")[1:-1]
    return "\n".join(lines)


def read_ppm(path):
    """Parses a binary PPM (P6, maxval 255). Returns (width, height, rgb bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic != b"P6" or maxval != 255:
        raise ValueError(f"{path}: only P6 PPM with maxval 255 is supported")
    pixels = data[pos + 1 : pos + 1 + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ValueError(f"{path}: truncated pixel data")
    return width, height, pixels


def write_png(path, width, height, rgb):
    """Writes 8-bit RGB pixels (rows top to bottom) as a PNG file."""
    row = width * 3
    raw = b"".join(b"\x00" + rgb[y * row : (y + 1) * row] for y in range(height))

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", header))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def read_png(path):
    """Reads a PNG written by write_png (8-bit RGB, filter 0). Returns (w, h, rgb)."""
    with open(path, "rb") as f:
        data = f.read()
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour) != (8, 2):
                raise ValueError(f"{path}: only 8-bit RGB PNGs are supported")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, row = zlib.decompress(idat), width * 3
    rows = []
    for y in range(height):
        start = y * (row + 1)
        if raw[start] != 0:
            raise ValueError(f"{path}: only unfiltered PNG rows are supported")
        rows.append(raw[start + 1 : start + 1 + row])
    return width, height, b"".join(rows)


def is_blank(path):
    """True if every pixel of the image (.ppm, or a PNG written here) has one colour."""
    reader = read_png if path.endswith(".png") else read_ppm
    _, _, rgb = reader(path)
    return len(rgb) == 0 or rgb == rgb[:3] * (len(rgb) // 3)


def convert(ppm_path, png_path):
    """Converts a P6 PPM file to PNG."""
    width, height, rgb = read_ppm(ppm_path)
    write_png(png_path, width, height, rgb)


def screendump(sock_path, png_path, keep_ppm=None, timeout=10.0):
    """Asks QEMU for a screendump and writes it as PNG. Returns (width, height)."""
    tmpdir = None if keep_ppm else tempfile.mkdtemp(prefix="screendump-")
    ppm = keep_ppm or os.path.join(tmpdir, "shot.ppm")
    if keep_ppm and os.path.exists(keep_ppm):
        os.remove(keep_ppm)  # so that waiting for the file below means something
    try:
        out = monitor_command(sock_path, f"screendump {os.path.abspath(ppm)}", timeout)
        deadline = time.monotonic() + timeout
        while not os.path.exists(ppm) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not os.path.exists(ppm):
            raise RuntimeError(f"QEMU wrote no screendump: {out.strip()!r}")
        width, height, rgb = read_ppm(ppm)
        write_png(png_path, width, height, rgb)
        return width, height
    finally:
        if tmpdir is not None:
            if os.path.exists(ppm):
                os.remove(ppm)
            os.rmdir(tmpdir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="QEMU monitor unix socket (or a .ppm with --convert)")
    parser.add_argument("png", help="PNG file to write")
    parser.add_argument("--convert", action="store_true", help="source is a PPM file")
    parser.add_argument("--ppm", help="also keep the raw PPM at this path")
    parser.add_argument("--not-blank", action="store_true", help="exit 1 if the image is blank")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    if args.convert:
        convert(args.source, args.png)
    else:
        try:
            width, height = screendump(args.source, args.png, args.ppm, args.timeout)
        except (OSError, RuntimeError, ValueError) as err:
            print(f"screendump via {args.source} failed: {err}", file=sys.stderr)
            return 2
        print(f"{args.png}: {width}x{height}")
    if is_blank(args.png):
        print(f"{args.png}: blank (one colour)")
        if args.not_blank:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
