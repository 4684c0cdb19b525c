#!/usr/bin/env python3
"""What takes the room in a function's binary, by crate (docs/deploying.md, "What is in a zip").

    python3 scripts/zip-contents.py BINARY [TOP]

BINARY must keep its symbols: the `release-symbols` profile (the release profile without
`strip`), e.g. scripts/zip-contents.sh builds both functions that way. Every function and data
symbol (`nm --size-sort -S`, demangled) is given to the crate its path starts with (for an impl
`<a::T as b::Trait>::f`, the type's crate: that is where a generic was instantiated from), so
code inlined into another crate's function counts for that one, as in cargo-bloat. Sizes are of
the uncompressed binary; the zip is roughly 40 % of it.
"""
import collections
import re
import subprocess
import sys

CRATE = re.compile(r"^[<&*\s]*(?:dyn\s+|mut\s+|const\s+)*([A-Za-z_][A-Za-z0-9_]*)::")


def crate_of(name: str) -> str:
    m = CRATE.match(name)
    if not m:
        return "(no crate path: C, std internals, linker)"
    crate = m.group(1)
    return "std/core/alloc" if crate in ("std", "core", "alloc") else crate


def main() -> None:
    binary = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    out = subprocess.run(["nm", "--size-sort", "-S", "--demangle", binary], check=True, capture_output=True, text=True).stdout
    sizes = collections.Counter()
    total = 0
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2].lower() not in ("t", "w", "r", "d", "b", "v"):
            continue
        size = int(parts[1], 16)
        total += size
        sizes[crate_of(parts[3])] += size
    print(f"{binary}: {total / 1e6:.2f} MB in symbols")
    print(f"{'crate':<44} {'KB':>8} {'share':>6}")
    for crate, size in sizes.most_common(top):
        print(f"{crate:<44} {size / 1e3:>8.0f} {100 * size / total:>5.1f}%")
    rest = sum(sizes.values()) - sum(s for _, s in sizes.most_common(top))
    print(f"{'(the other ' + str(max(0, len(sizes) - top)) + ' crates)':<44} {rest / 1e3:>8.0f} {100 * rest / total:>5.1f}%")


if __name__ == "__main__":
    main()
