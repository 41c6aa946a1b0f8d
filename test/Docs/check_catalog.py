#!/usr/bin/env python3
"""Keeps docs/Diagnostics.md (and other docs with the same markers) true.

Two checks:

examples  Every ```console block of the document is a scenario: the
          fenced blocks above it that follow a `<!-- file: NAME -->` line
          (the last one of each NAME) are written to a fresh directory, each `$ netc ...` (or
          `$ python3 ...`) line is run there, and what it prints (stderr
          and stdout) must equal the lines shown under it. A command whose
          expected output has an `error:` line must fail; others must
          succeed.

coverage  Every string literal in netc's sources that reads as text (it
          has a space and a word) is a diagnostic or part of one, unless
          it is listed in NOT_DIAGNOSTICS below with the reason. Each
          diagnostic literal, with its formatv placeholders as wildcards,
          must match the text of the document's code (inline `code` and
          non-YAML fenced blocks). A new diagnostic without a catalog
          entry fails; so does a NOT_DIAGNOSTICS entry that no source has
          any more.

files     With --files-from DIR, every `<!-- file: NAME -->` block must equal
          DIR/NAME (docs/Tutorial.md shows examples/tutorial's files).

--update rewrites the expected outputs of the examples with what netc
prints now (review the diff).
"""

import argparse
import difflib
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

# Files whose literals are checked, relative to the source root.
SOURCES = ["lib/**/*.cpp", "lib/**/*.h", "include/netc/**/*.h",
           "tools/netc/*.cpp"]

# Calls whose string arguments are never diagnostics.
NON_DIAGNOSTIC_CALLS = ["assert", "llvm_unreachable", "cl::desc",
                        "clEnumValN", "formulas.push_back", "getStringAttr",
                        "report_fatal_error"]

# Literals that read as text but are not diagnostics: ordinary output,
# explain's formulas, help text, generated code. Each must still occur in
# a source (a stale entry fails the check).
NOT_DIAGNOSTICS = {
    # --emit=loop-nest and --emit=halide-stmt: the line above each kernel.
    " (also runs ",
    " [in channel blocks of ",
    "; on a flat map",
    # netc tune's title of a kernel on a flat map.
    ", flat map",
    # netc explain's lines (its formulas are formulas.push_back's).
    "layer '{0}' ({1}) at {2}:{3}:{4}\\n",
    "  params: {0}\\n",
    "  buffers: {0}\\n",
    "  receptive field: {0}x{1}; stride so far (jump): {2}x{3}\\n",
    "  MACs per sample: {0}\\n",
    "depends on a symbolic size",
    "  {0}, line {1}\\n",
    "unknown until the errors above are fixed",
    "padding {0} on each side",
    "padding {0}+{1} rows and {2}+{3} columns",
    "padding: a {0}x{1} kernel{2} reaches dilation * (kernel - 1) = {3} and "
    "{4} past one output position; ",
    " with dilation {0}x{1}",
    "{0} gives them back, so the output keeps {1}x{2}",
    " (with padding 0 it would be {0}x{1})",
    "{0} adds {1} and {2}",
    "no padding gives them back",
    ", so {0}x{1} becomes {2}x{3}",
    "; `padding: {0}` would keep {1}x{2}",
    "; an odd reach cannot be split evenly: `padding: same` pads one more "
    "after than before and keeps {0}x{1}",
    "weight: [out_channels, in_channels / groups, kH, kW] = [{0}, {1}, {2}, "
    "{3}]",
    "bias: [out_channels] = [{0}]",
    "{0}: [num_features] = [{1}]",
    "{0}: [num_features] = [{1}] (a buffer)",
    "weight: [out_features, in_features] = [{0}, {1}]",
    "bias: [out_features] = [{0}]",
    # The fused-layer key (nn::FusedLayer::key), not a message.
    " lhs",
    " rhs",
    # netc summary.
    ", input '{0}' {1}",
    "Total params: {0} ({1:f2} MB as float32)\\n",
    "Buffers (running statistics): {0}\\n",
    "MACs per sample: {0} ({1} FLOPs)\\n",
    # netc run and bench.
    "output '{0}': largest difference from the reference schedule: {1:e} "
    "(relative to the output's scale)\\n",
    "output '{0}' {1}:",
    " ... ({0} values)",
    "model '{0}', batch {1}\\n",
    "compile: {0:f2} s\\n",
    "forward: {0:f3} ms (median of {1}), {2:f1} GFLOP/s\\n",
    "\\rnetc: compiling layers ",
    # netc summary's table.
    "Output shape",
    "Model '",
    "Outputs: ",
    "  input:  ",
    "  output: ",
    # netc tune's report and --list (docs/Tuning.md).
    "\\n  key: ",
    " (the rule)",
    "{0}: rule {1:f3} ms, chosen {2:f3} ms ({3:f2}x)\\n",
    "tuned {0} convolution kernels at batch {1}: {2} of {3} choices "
    "differ from the rule, {4:f2}x faster (geomean); wrote {5}\\n",
    # A tuning cache: its header, its choices and keys (TuningCache.h), and
    # the /proc/cpuinfo field a key reads.
    "# netc tuning cache: KEY<TAB>CHOICE per line, written by `netc tune` "
    "(docs/Tuning.md)",
    "{0:f3} ms",
    "vectors={0} pixels={1}x{2} chunk={3} band={4} block={5} inside={6}",
    "conv2d in={0}x{1}x{2} out={3} kernel={4} stride={5} padding={6}:{7} "
    "dilation={8} groups={9} layout={10}>{11} batch={15} threads={12} "
    "target={13} cpu={14}",
    "{0} ({1}, {2}) at batch {3}",
    "cpu family",
    "CPU implementer",
    "CPU architecture",
    "CPU part",
    # What the compile form and init-weights print.
    "wrote ",
    # --help's title of netc's options.
    "netc options",
    # Fallbacks for a kind of value or argument that does not occur (a
    # string argument with choices has its own "expects one of" message).
    "a value",
    "one of the listed strings",
    # netc --version.
    "netc ",
    " (LLVM/MLIR 14)\\n",
    # The header netc writes.
    "#ifndef ",
    "\\n#define ",
    "#include \\\"",
    "#define ",
    # The .npy header netc writes.
    "{'descr': '<f4', 'fortran_order': False, 'shape': (",
    # A comment in generated per-layer code.
    "// Generated by netc: layer '{0}' is identical to the layer compiled "
    "as {1}.\\n",
}

FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
FILE_MARK = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->\s*$")


# ---------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------

class Block:
    def __init__(self, info, start, lines, file_name):
        self.info = info          # the fence's info string
        self.start = start        # index of the first content line
        self.lines = lines        # content lines
        self.file_name = file_name  # from a preceding <!-- file: --> mark


def parse_blocks(lines):
    blocks = []
    pending_file = None
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            fence, info = m.group(1), m.group(2)
            j = i + 1
            while j < len(lines) and lines[j].rstrip() != fence:
                j += 1
            if j == len(lines):
                sys.exit(f"line {i + 1}: unterminated code block")
            blocks.append(Block(info, i + 1, lines[i + 1:j], pending_file))
            pending_file = None
            i = j + 1
            continue
        fm = FILE_MARK.match(lines[i])
        if fm:
            pending_file = fm.group(1)
        elif lines[i].strip() and pending_file:
            sys.exit(f"line {i + 1}: a `<!-- file: -->` mark must be "
                     f"followed by a code block")
        i += 1
    return blocks


# ---------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------

def split_commands(block):
    """[(command, [expected lines], index of first expected line)]."""
    cmds = []
    for k, line in enumerate(block.lines):
        if line.startswith("$ "):
            # The 0-based index of the command's first output line.
            cmds.append([line[2:], [], block.start + k + 1])
        elif not cmds:
            sys.exit(f"line {block.start + k + 1}: a console block must "
                     f"start with a `$ ` command")
        else:
            cmds[-1][1].append(line)
    return cmds


def run_command(command, cwd, netc):
    argv = shlex.split(command)
    if argv[0] == "netc":
        argv[0] = os.path.abspath(netc)
    elif argv[0] == "python3":
        argv[0] = sys.executable
    else:
        sys.exit(f"only netc and python3 commands can be run, not: {command}")
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, timeout=300)
    out = p.stdout.decode("utf-8", "replace").splitlines()
    return p.returncode, [l.rstrip() for l in out]


def check_examples(doc, lines, netc, update):
    blocks = parse_blocks(lines)
    files = {}
    failures = 0
    scenarios = 0
    replacements = []  # (first index, last index exclusive, new lines)
    for b in blocks:
        if b.file_name:
            files[b.file_name] = b.lines
            continue
        if b.info != "console":
            continue
        scenarios += 1
        with tempfile.TemporaryDirectory(prefix="netc-doc-") as tmp:
            for name, content in files.items():
                path = os.path.join(tmp, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write("\n".join(content) + "\n")
            for cmd, expected, first in split_commands(b):
                status, got = run_command(cmd, tmp, netc)
                want = [l.rstrip() for l in expected]
                says_error = any(
                    re.search(r'(^|: )error: |"severity": "error"', l)
                    for l in (got if update else want))
                if update:
                    replacements.append((first, first + len(expected), got))
                if not update and got != want:
                    failures += 1
                    print(f"{doc}:{first}: `{cmd}` printed something else:")
                    sys.stdout.writelines(
                        l + "\n" for l in difflib.unified_diff(
                            want, got, "documented", "printed", lineterm=""))
                elif (status != 0) != says_error:
                    failures += 1
                    print(f"{doc}:{first}: `{cmd}` exited with {status}, "
                          f"but its output {'has' if says_error else 'has no'}"
                          f" error")
    if update:
        for first, last, new in sorted(replacements, reverse=True):
            lines[first:last] = new
        with open(doc, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"updated {len(replacements)} outputs in {doc}")
    return scenarios, failures


# ---------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------

def literal_groups(src):
    """(line, text, start offset) of each run of adjacent string literals,
    with comments skipped; text keeps C++ escapes as written. Also returns
    the source with comments and literals blanked out."""
    out = []
    masked = list(src)

    def blank(a, b):
        for k in range(a, b):
            if masked[k] != "\n":
                masked[k] = " "

    i, n, line = 0, len(src), 1
    cur = None
    last_end = 0
    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            line += src.count("\n", i, j)
            blank(i, j + 2)
            i = j + 2
            continue
        c = src[i]
        if c == "'" and not (i > 0 and src[i - 1].isalnum()):
            j = i + 1
            while src[j] != "'":
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
            continue
        raw = src.startswith('R"', i) and not (i > 0 and
                                               src[i - 1].isalnum())
        if c == '"' or raw:
            if raw:
                d = src.index("(", i)
                delim = src[i + 2:d]
                end = src.index(")" + delim + '"', d)
                text, j = src[d + 1:end], end + len(delim) + 2
            else:
                j = i + 1
                while src[j] != '"':
                    j += 2 if src[j] == "\\" else 1
                text = src[i + 1:j]
                j += 1
            blank(i + 1, j - 1)
            if cur is not None and src[last_end:i].strip() == "":
                cur[1] += text
            else:
                if cur is not None:
                    out.append(tuple(cur))
                cur = [line, text, i]
            line += src.count("\n", i, j)
            i = j
            last_end = j
            continue
        if c == "\n":
            line += 1
        i += 1
    if cur is not None:
        out.append(tuple(cur))
    return out, "".join(masked)


def enclosing_calls(src, offset):
    """The names of the calls whose parentheses hold `offset`, innermost
    first, up to the start of the statement."""
    names = []
    depth = 0
    i = offset
    while i > 0:
        i -= 1
        ch = src[i]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            if depth == 0:
                if ch == "(":
                    m = re.search(r"([\w:.>-]+)\s*$", src[:i])
                    names.append(m.group(1) if m else "")
            else:
                depth -= 1
        elif ch in ";{}" and depth == 0:
            break
    return names


def is_non_diagnostic_call(name):
    return any(name == c or name.endswith("." + c) or name.endswith("::" + c)
               for c in NON_DIAGNOSTIC_CALLS)


# Literals that start so are not diagnostics either: netc --help.
NOT_DIAGNOSTIC_PREFIXES = ("netc: a static-analysis compiler",)


def reads_as_text(text):
    return " " in text and re.search(r"[A-Za-z]{2}", text) is not None


def source_literals(root):
    found = []
    for pattern in SOURCES:
        for path in sorted(glob.glob(os.path.join(root, pattern),
                                     recursive=True)):
            with open(path, encoding="utf-8") as f:
                src = f.read()
            lines = src.splitlines()
            groups, masked = literal_groups(src)
            for line, text, offset in groups:
                if lines[line - 1].lstrip().startswith("#"):
                    continue
                if not reads_as_text(text):
                    continue
                if any(is_non_diagnostic_call(c)
                       for c in enclosing_calls(masked, offset)):
                    continue
                found.append((os.path.relpath(path, root), line, text))
    return found


def unescape(text):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(
        m.group(1), m.group(1)), text)


def literal_regex(text):
    """A regex for a formatv (or printf) format string: {N...} and %s match
    anything."""
    text = unescape(text).strip()
    parts = re.split(r"(\{\d+(?:[,:][^}]*)?\}|%s)", text)
    rx = ""
    for k, part in enumerate(parts):
        if k % 2:
            rx += ".*?"
        else:
            rx += re.escape(part.replace("{{", "{").replace("}}", "}"))
    return re.compile(rx)


def catalog_text(lines):
    """The document's code: inline spans (which may wrap lines) and non-YAML
    fenced blocks."""
    chunks = []
    prose = []
    in_fence = None
    for line in lines:
        m = FENCE.match(line)
        if in_fence is not None:
            if line.rstrip() == in_fence[0]:
                in_fence = None
            elif in_fence[1] not in ("yaml", "yml"):
                chunks.append(line)
            continue
        if m:
            in_fence = (m.group(1), m.group(2))
            prose.append("")
            continue
        prose.append(line)
    # Paragraphs, each joined into one line, then their code spans.
    for para in "\n".join(prose).split("\n\n"):
        para = " ".join(para.split("\n"))
        for span in re.findall(r"(`+)(.+?)\1", para):
            chunks.append(span[1].strip())
    return "\n".join(chunks)


def check_coverage(doc, lines, root):
    text = catalog_text(lines)
    literals = source_literals(root)
    missing = []
    used_ignores = set()
    diagnostics = 0
    for path, line, lit in literals:
        if lit in NOT_DIAGNOSTICS:
            used_ignores.add(lit)
            continue
        if lit.startswith(NOT_DIAGNOSTIC_PREFIXES):
            continue
        diagnostics += 1
        if not literal_regex(lit).search(text):
            missing.append((path, line, lit))
    for path, line, lit in missing:
        print(f"{path}:{line}: diagnostic text not in {doc}: \"{lit}\"")
    if missing:
        print(f"add an entry for each to {doc} (or, if it is not a "
              f"diagnostic, to NOT_DIAGNOSTICS in {__file__})")
    stale = sorted(NOT_DIAGNOSTICS - used_ignores)
    for lit in stale:
        print(f"NOT_DIAGNOSTICS entry found in no source: \"{lit}\"")
    # A broken scanner would find nothing and pass: insist on a floor.
    if diagnostics < 200:
        print(f"only {diagnostics} diagnostic literals found; the scanner "
              f"is broken")
        return diagnostics, 1
    return diagnostics, len(missing) + len(stale)


def check_files(doc, lines, directory):
    bad = 0
    blocks = [b for b in parse_blocks(lines) if b.file_name]
    for b in blocks:
        path = os.path.join(directory, b.file_name)
        try:
            with open(path, encoding="utf-8") as f:
                want = f.read().splitlines()
        except OSError as e:
            print(f"{doc}:{b.start}: {e}")
            bad += 1
            continue
        if want != b.lines:
            bad += 1
            print(f"{doc}:{b.start}: the block differs from {path}:")
            sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
                want, b.lines, path, "documented", lineterm=""))
    return len(blocks), bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("doc")
    ap.add_argument("--netc", help="the netc binary (for the examples)")
    ap.add_argument("--src-root", help="netc's sources (for coverage)")
    ap.add_argument("--files-from", metavar="DIR",
                    help="check the file blocks against DIR's files")
    ap.add_argument("--update", action="store_true",
                    help="rewrite the examples' outputs")
    args = ap.parse_args()
    with open(args.doc, encoding="utf-8") as f:
        lines = f.read().splitlines()
    failures = 0
    if args.netc:
        n, bad = check_examples(args.doc, lines, args.netc, args.update)
        print(f"examples: {n} scenarios, {bad} failed")
        failures += bad
    if args.files_from:
        n, bad = check_files(args.doc, lines, args.files_from)
        print(f"files: {n} blocks, {bad} differ")
        failures += bad
    if args.src_root:
        n, bad = check_coverage(args.doc, lines, args.src_root)
        print(f"coverage: {n} diagnostic literals, {bad} problems")
        failures += bad
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
