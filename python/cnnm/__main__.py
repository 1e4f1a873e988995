"""python -m cnnm dump FILE — prints a model's header, tensor table and graph (like gguf-dump).

Exit codes as cnnconv's: 0 ok, 2 usage error, 3 invalid or corrupt input.
"""
import argparse
import sys

from . import FormatError, load


def _shape(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _attributes(node):
    if node.op == "tensor_op":
        parts = [f"{k}={v}" for k, v in sorted(node.attributes.items())]
        parts += [f"operand{i}={c}" for i, c in enumerate(node.operands) if c is not None]
        return " ".join(parts)
    parts = []
    for key, value in node.attributes.items():
        if isinstance(value, dict):
            value = "{" + ", ".join(f"{k}={v}" for k, v in value.items() if v not in (0, "", False, None, {})) + "}"
            if value == "{}":
                continue
        elif value in (0, "", False, None):
            continue
        parts.append(f"{key}={value}")
    return " ".join(parts)


def dump(path, out=None, checksums=True):
    m = load(path, verify_checksums=checksums)
    w = (out or sys.stdout).write  # looked up per call: a default bound at import misses redirection
    w(f"{path} — cnnconv format {m.version[0]}.{m.version[1]}, written by {m.producer or '(unknown)'}\n")
    w(f"name: {m.name}\n")
    for k, v in sorted(m.metadata.items()):
        w(f"metadata: {k} = {v}\n")
    if m.applied_passes:
        w(f"applied passes: {', '.join(m.applied_passes)}\n")
    for v in m.inputs:
        w(f"input:  {v.name} {_shape(v.shape)}\n")
    for v in m.outputs:
        w(f"output: {v.name} {_shape(v.shape)}\n")
    w(f"\ntensors: {len(m.tensors)}, {m.parameter_count:,} parameters"
      f"{'' if checksums else ' (checksums not verified)'}\n")
    rows = [("#", "name", "dtype", "encoding", "shape", "offset", "stored", "crc32")]
    for i, (name, values) in enumerate(m.tensors.items()):
        info = m.tensor_info(name)
        rows.append((str(i), name, info.dtype, info.encoding, _shape(values.shape), f"{info.file_offset:,}",
                     f"{info.stored_length:,}", f"0x{info.crc32:08x}"))
    _table(rows, w)
    w(f"\nnodes: {len(m.nodes)}\n")
    rows = [("#", "name", "op", "inputs -> outputs", "attributes")]
    for i, n in enumerate(m.nodes):
        rows.append((str(i), n.name, n.label, f"{', '.join(n.inputs)} -> {', '.join(n.outputs)}", _attributes(n)))
    _table(rows, w)
    return m


def _table(rows, w):
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        w("  " + "  ".join(cell.ljust(widths[c]) for c, cell in enumerate(r)).rstrip() + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnm", description="Inspect cnnconv model files.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="print the header, tensor table and graph of a model file")
    d.add_argument("file")
    d.add_argument("--no-checksums", action="store_true", help="skip the tensor CRC-32 checks")
    args = parser.parse_args(argv)
    try:
        dump(args.file, checksums=not args.no_checksums)
    except FormatError as error:
        print(f"cnnm: {error}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
